//! What the benchmarks share: memory readings from /proc, medians, and writing their
//! section of docs/benchmarks.md.

#![allow(dead_code)] // each benchmark uses its own part

use std::time::Duration;

/// Peak resident memory since the last reset, and a reset (Linux /proc).
pub fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Replaces the section between `<!-- NAME:start -->` and `<!-- NAME:end -->` in
/// docs/benchmarks.md, or appends it.
pub fn write_section(section: &str, name: &str) {
    let manifest = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo bench"),
    );
    // The workspace root, whichever crate's benchmark this is.
    let path = manifest
        .ancestors()
        .find(|p| p.join("docs/benchmarks.md").exists())
        .expect("docs/benchmarks.md above the crate")
        .join("docs/benchmarks.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(s), Some(e)) => format!("{}{section}{}", &current[..s], &current[e + end.len()..]),
        _ => format!("{}\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write docs/benchmarks.md");
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh database on `backend` ("SQLite" or "Postgres").
pub async fn fresh(backend: &str) -> coastguard_core::testing::TestDb {
    match backend {
        "SQLite" => coastguard_core::testing::sqlite().await,
        _ => coastguard_core::testing::postgres()
            .await
            .expect("COASTGUARD_TEST_POSTGRES_URL"),
    }
}

/// Test databases on Postgres outlive the process; a benchmark's are large, so drop them.
pub async fn dispose(db: coastguard_core::testing::TestDb) {
    use coastguard_core::db::Db;
    if db.url.starts_with("postgres") {
        let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
        db.store.db().close().await;
        let admin = Db::connect(&std::env::var("COASTGUARD_TEST_POSTGRES_URL").unwrap())
            .await
            .unwrap();
        coastguard_core::with_db!(&admin, |pool| sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        ))
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
    }
}
