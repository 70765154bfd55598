//! The signature verifier on signatures made here with a test CA and a test transparency
//! log, for what public fixtures do not show: certificates outside their time, foreign
//! CAs and logs, Notation envelopes. (Real public signatures: the unit tests in
//! `src/signatures/tests.rs`.)

use coastguard_core::registry::reference::ImageReference;
use coastguard_core::signatures::cosign::CosignSignature;
use coastguard_core::signatures::fulcio::{IdentityRule, TrustRoot};
use coastguard_core::signatures::notation::{self, TrustedCa};
use coastguard_core::testing::signing::{
    notation_envelope, simple_signing_payload, trust_root_json, TestCa, TestCert, TestLog,
};
use coastguard_model::signatures::{SignatureKind, SignatureVerdict};

const REPO: &str = "127.0.0.1:5000/shop/web";
const ISSUER: &str = "https://issuer.test.invalid";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

struct Keyless {
    ca: TestCa,
    log: TestLog,
}

impl Keyless {
    fn new() -> Keyless {
        Keyless {
            ca: TestCa::new("fulcio test"),
            log: TestLog::new(),
        }
    }

    fn root(&self) -> TrustRoot {
        TrustRoot::from_json(&trust_root_json(&[&self.ca], &[&self.log])).unwrap()
    }

    /// A keyless signature by a certificate valid `[from, to]`, logged at `logged`.
    fn sign(&self, cert: &TestCert, log: &TestLog, digest: &str, logged: i64) -> CosignSignature {
        let payload = simple_signing_payload(REPO, digest);
        let signature = cert.key.sign(&payload);
        let bundle = log.bundle(&payload, &signature, &cert.pem, logged);
        CosignSignature {
            payload,
            signature,
            certificate: Some(cert.pem.clone()),
            chain: None,
            bundle: Some(bundle),
        }
    }
}

fn rule() -> IdentityRule {
    IdentityRule::new(r"dev@shop\.test", ISSUER).unwrap()
}

#[test]
fn keyless_certificates_count_only_within_their_life_at_the_logged_time() {
    let k = Keyless::new();
    let root = k.root();
    let repo = ImageReference::parse(REPO).unwrap();
    let t = coastguard_core::now() - 86_400;
    let cert = k.ca.fulcio_leaf("dev@shop.test", ISSUER, t, t + 600);
    let check = |sig: &CosignSignature| sig.check(&digest(1), &repo, &[], Some((&root, &[rule()])));

    let ok = check(&k.sign(&cert, &k.log, &digest(1), t + 60));
    assert_eq!(ok.verdict, SignatureVerdict::Verified, "{ok:?}");
    assert_eq!(ok.signed_at, Some(t + 60));
    assert_eq!(
        ok.signer.as_deref(),
        Some(format!("dev@shop.test (issuer {ISSUER})").as_str())
    );

    // Logged an hour after the certificate expired: invalid, and says why.
    let late = check(&k.sign(&cert, &k.log, &digest(1), t + 3_600));
    assert_eq!(late.verdict, SignatureVerdict::Invalid, "{late:?}");
    assert!(late.reason.contains("expired"), "{}", late.reason);
    // Logged before the certificate existed: invalid.
    let early = check(&k.sign(&cert, &k.log, &digest(1), t - 3_600));
    assert_eq!(early.verdict, SignatureVerdict::Invalid, "{early:?}");

    // A certificate from another CA: untrusted.
    let stranger = TestCa::new("someone else").fulcio_leaf("dev@shop.test", ISSUER, t, t + 600);
    let c = check(&k.sign(&stranger, &k.log, &digest(1), t + 60));
    assert_eq!(c.verdict, SignatureVerdict::Untrusted, "{c:?}");
    // Logged in a log the trust root does not list: invalid (nothing proves the time).
    let c = check(&k.sign(&cert, &TestLog::new(), &digest(1), t + 60));
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");
    assert!(c.reason.contains("does not list"), "{}", c.reason);
    // The right signature shown for another image: invalid.
    let c = k.sign(&cert, &k.log, &digest(1), t + 60).check(
        &digest(2),
        &repo,
        &[],
        Some((&root, &[rule()])),
    );
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");
}

fn trusted(ca: &TestCa) -> Vec<TrustedCa> {
    vec![TrustedCa {
        name: "release CA".into(),
        der: ca.der(),
    }]
}

#[test]
fn notation_envelopes_verify_against_the_trust_store() {
    let ca = TestCa::new("notation test");
    let now = coastguard_core::now();
    let leaf = ca.code_signing_leaf("release signer", now - 3_600, now + 86_400);
    let env = notation_envelope(&leaf, &[], &digest(1), MANIFEST, 512, None);

    let ok = notation::check(&env, &digest(1), &trusted(&ca), now);
    assert_eq!(
        (ok.kind, ok.verdict),
        (SignatureKind::Notation, SignatureVerdict::Verified),
        "{ok:?}"
    );
    assert!(
        ok.signer.as_deref().unwrap().contains("release signer"),
        "{ok:?}"
    );
    assert!(ok.signed_at.is_some_and(|t| (t - now).abs() < 60), "{ok:?}");

    // Another CA's trust store, or none: untrusted.
    let other = TestCa::new("not ours");
    assert_eq!(
        notation::check(&env, &digest(1), &trusted(&other), now).verdict,
        SignatureVerdict::Untrusted
    );
    assert_eq!(
        notation::check(&env, &digest(1), &[], now).verdict,
        SignatureVerdict::Untrusted
    );
    // Shown for another image: invalid.
    let copied = notation::check(&env, &digest(2), &trusted(&ca), now);
    assert_eq!(copied.verdict, SignatureVerdict::Invalid);
    assert!(copied.reason.contains("copied"), "{}", copied.reason);
    // The payload altered after signing: invalid.
    let mut v: serde_json::Value = serde_json::from_slice(&env).unwrap();
    let forged = notation_envelope(&leaf, &[], &digest(2), MANIFEST, 512, None);
    let forged: serde_json::Value = serde_json::from_slice(&forged).unwrap();
    v["payload"] = forged["payload"].clone();
    let c = notation::check(v.to_string().as_bytes(), &digest(2), &trusted(&ca), now);
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");
    assert!(c.reason.contains("altered"), "{}", c.reason);
    // An expiry in the past: invalid.
    let env = notation_envelope(&leaf, &[], &digest(1), MANIFEST, 512, Some(now - 60));
    let c = notation::check(&env, &digest(1), &trusted(&ca), now);
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");
    // A signing certificate that has expired: invalid.
    let old = ca.code_signing_leaf("old signer", now - 10 * 86_400, now - 86_400);
    let env = notation_envelope(&old, &[], &digest(1), MANIFEST, 512, None);
    let c = notation::check(&env, &digest(1), &trusted(&ca), now);
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");
    assert!(c.reason.contains("expired"), "{}", c.reason);
    // Not an envelope at all.
    assert_eq!(
        notation::check(b"{}", &digest(1), &trusted(&ca), now).verdict,
        SignatureVerdict::Invalid
    );
}
