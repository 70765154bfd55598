//! `COASTGUARD_TEST_SKIP_DOCKER` set at build time turns the tests that need a Docker
//! engine into ignored ones (reported as such), instead of letting them pass unrun.
fn main() {
    println!("cargo::rerun-if-env-changed=COASTGUARD_TEST_SKIP_DOCKER");
    println!("cargo::rustc-check-cfg=cfg(skip_docker)");
    if std::env::var_os("COASTGUARD_TEST_SKIP_DOCKER").is_some() {
        println!("cargo::rustc-cfg=skip_docker");
    }
}
