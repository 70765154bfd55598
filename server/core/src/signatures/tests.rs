//! The verifier against real signatures from public projects (containers/image,
//! sigstore-rs; see `tests/fixtures/PROVENANCE.md`). Signatures made with a test CA and
//! a test transparency log, for the cases no public fixture shows, are tested in
//! `tests/signatures.rs`.

use super::cosign::{CosignSignature, TrustedKey};
use super::fulcio::{IdentityRule, TrustRoot};
use super::keys::{KeyKind, PublicKey};
use crate::registry::reference::ImageReference;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coastguard_model::signatures::{SignatureKind, SignatureVerdict};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn fixture(path: &str) -> String {
    let full = format!(
        "{}/tests/fixtures/signatures/cosign/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn key(name: &str, path: &str) -> TrustedKey {
    TrustedKey {
        name: name.into(),
        key: PublicKey::from_pem(&fixture(path)).unwrap(),
    }
}

/// The digest and repository a payload names, read here with serde_json alone.
fn claims(payload: &[u8]) -> (String, ImageReference) {
    let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
    let digest = v["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap()
        .to_string();
    let repo = ImageReference::parse(
        v["critical"]["identity"]["docker-reference"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    (digest, repo)
}

/// containers/image's stored form: {payload (base64), annotations}.
fn stored(path: &str) -> CosignSignature {
    let v: serde_json::Value = serde_json::from_str(&fixture(path)).unwrap();
    let payload = B64.decode(v["payload"].as_str().unwrap()).unwrap();
    let annotations: BTreeMap<String, String> =
        serde_json::from_value(v["annotations"].clone()).unwrap();
    CosignSignature::from_layer(payload, &annotations)
        .unwrap()
        .unwrap()
}

#[test]
fn public_keys_of_every_kind_cosign_uses_are_read() {
    for (path, kind) in [
        ("containers-image/cosign.pub", KeyKind::EcdsaP256),
        ("containers-image/cosign2.pub", KeyKind::EcdsaP256),
        ("containers-image/rekor.pub", KeyKind::EcdsaP256),
        ("containers-image/cosign-rsa.pub", KeyKind::Rsa),
        ("sigstore-rs/ecdsa_p256_public.pem", KeyKind::EcdsaP256),
        ("sigstore-rs/rsa-suse-toolbox/key.pub", KeyKind::Rsa),
        ("cosign/google-rsa.pub", KeyKind::Rsa),
        ("cosign/rsa-pkcs1.pub", KeyKind::Rsa),
    ] {
        let k = PublicKey::from_pem(&fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(k.kind(), kind, "{path}");
    }
    // Two different keys, two names; one key, one name.
    let a = PublicKey::from_pem(&fixture("containers-image/cosign.pub")).unwrap();
    let b = PublicKey::from_pem(&fixture("containers-image/cosign2.pub")).unwrap();
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(
        a.fingerprint(),
        PublicKey::from_pem(&fixture("containers-image/cosign.pub"))
            .unwrap()
            .fingerprint()
    );
    // A certificate or garbage is not a public key.
    assert!(PublicKey::from_pem(&fixture("containers-image/fulcio-cert.pem")).is_err());
    assert!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
}

#[test]
fn a_key_signed_cosign_signature_verifies_for_its_image_only() {
    let sig = stored("containers-image/dir-img-cosign-valid-signature.json");
    let (digest, repo) = claims(&sig.payload);
    let right = key("release", "containers-image/cosign.pub");
    let wrong = key("other", "containers-image/cosign2.pub");

    let ok = sig.check(&digest, &repo, &[wrong.clone(), right.clone()], None);
    assert_eq!(ok.verdict, SignatureVerdict::Verified, "{ok:?}");
    assert_eq!(
        (ok.kind, ok.signer.as_deref()),
        (SignatureKind::CosignKey, Some("release"))
    );

    // Another key: untrusted. No key at all: untrusted, and says so.
    let other = sig.check(&digest, &repo, std::slice::from_ref(&wrong), None);
    assert_eq!(other.verdict, SignatureVerdict::Untrusted);
    assert!(sig
        .check(&digest, &repo, &[], None)
        .reason
        .contains("no key is configured"));

    // Altered payload (one byte): the right key no longer verifies it.
    let mut tampered = sig.clone();
    let at = tampered.payload.iter().position(|b| *b == b'a').unwrap();
    tampered.payload[at] = b'b';
    assert_eq!(
        tampered
            .check(&digest, &repo, std::slice::from_ref(&right), None)
            .verdict,
        SignatureVerdict::Untrusted
    );

    // The same signature presented for another image, or another repository: invalid.
    let elsewhere = format!("sha256:{}", "0".repeat(64));
    let copied = sig.check(&elsewhere, &repo, std::slice::from_ref(&right), None);
    assert_eq!(copied.verdict, SignatureVerdict::Invalid);
    assert!(
        copied.reason.contains("copied from another image"),
        "{}",
        copied.reason
    );
    assert_eq!(repo.registry, "192.168.64.2:5000");
    let other_repo = ImageReference::parse("192.168.64.2:5000/someone/else").unwrap();
    let moved = sig.check(&digest, &other_repo, std::slice::from_ref(&right), None);
    assert_eq!(moved.verdict, SignatureVerdict::Invalid);
    assert!(moved.reason.contains("repository"), "{}", moved.reason);
}

#[test]
fn a_stored_signature_names_the_manifest_it_was_stored_with() {
    // containers/image keeps the manifest beside its signature: its sha256 is the digest.
    let manifest = fixture("containers-image/dir-img-cosign-valid-manifest.json");
    let digest = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(manifest.as_bytes()))
    );
    let sig = stored("containers-image/dir-img-cosign-valid-signature.json");
    let (_, repo) = claims(&sig.payload);
    let check = sig.check(
        &digest,
        &repo,
        &[key("ci", "containers-image/cosign.pub")],
        None,
    );
    assert_eq!(check.verdict, SignatureVerdict::Verified, "{check:?}");
}

#[test]
fn sigstore_rs_signatures_verify_with_ecdsa_and_rsa_keys() {
    for dir in ["ecdsa-busybox", "rsa-suse-toolbox"] {
        let payload = fixture(&format!("sigstore-rs/{dir}/payload.json")).into_bytes();
        let signature = B64
            .decode(fixture(&format!("sigstore-rs/{dir}/payload.sig.b64")).trim())
            .unwrap();
        let sig = CosignSignature {
            payload: payload.clone(),
            signature,
            certificate: None,
            chain: None,
            bundle: None,
        };
        let (digest, repo) = claims(&payload);
        let check = sig.check(
            &digest,
            &repo,
            &[key(dir, &format!("sigstore-rs/{dir}/key.pub"))],
            None,
        );
        assert_eq!(
            check.verdict,
            SignatureVerdict::Verified,
            "{dir}: {check:?}"
        );
    }
}

fn public_good() -> TrustRoot {
    TrustRoot::from_json(&fixture("sigstore-rs/trusted_root.json")).unwrap()
}

#[test]
fn the_trust_root_file_is_read_whole() {
    let text = fixture("sigstore-rs/trusted_root.json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let root = public_good();
    assert_eq!(
        root.authorities.len(),
        v["certificateAuthorities"].as_array().unwrap().len()
    );
    assert_eq!(root.tlogs.len(), v["tlogs"].as_array().unwrap().len());
    // The log id is the key id the file gives (base64 there, hex in bundles).
    let key_id = B64
        .decode(v["tlogs"][0]["logId"]["keyId"].as_str().unwrap())
        .unwrap();
    assert_eq!(root.tlogs[0].log_id, hex::encode(key_id));
    assert!(TrustRoot::from_json("{}").is_err());
    assert!(TrustRoot::from_json(r#"{"mediaType":"text/plain"}"#).is_err());
}

fn mitr() -> IdentityRule {
    IdentityRule::new(r"mitr@redhat\.com", r"https://github\.com/login/oauth").unwrap()
}

#[test]
fn a_keyless_signature_verifies_at_the_time_rekor_proves() {
    // Signed in January 2023 by a certificate valid for ten minutes: it verifies today
    // only because its chain is checked at Rekor's integrated time.
    let sig = stored("containers-image/dir-img-cosign-fulcio-rekor-valid-signature.json");
    let (digest, repo) = claims(&sig.payload);
    let root = public_good();
    let check = sig.check(&digest, &repo, &[], Some((&root, &[mitr()])));
    assert_eq!(check.verdict, SignatureVerdict::Verified, "{check:?}");
    assert_eq!(check.kind, SignatureKind::CosignKeyless);
    assert_eq!(
        check.signer.as_deref(),
        Some("mitr@redhat.com (issuer https://github.com/login/oauth)")
    );
    let bundle: serde_json::Value = serde_json::from_str(sig.bundle.as_deref().unwrap()).unwrap();
    assert_eq!(
        check.signed_at,
        bundle["Payload"]["integratedTime"].as_i64()
    );

    // Another identity, or another issuer: untrusted, naming who signed.
    for rule in [
        IdentityRule::new(r".*@example\.com", r"https://github\.com/login/oauth").unwrap(),
        IdentityRule::new(r"mitr@redhat\.com", r"https://accounts\.google\.com").unwrap(),
        // Patterns match the whole value: a prefix is not enough.
        IdentityRule::new(r"mitr", r"https://github\.com/login/oauth").unwrap(),
    ] {
        let c = sig.check(&digest, &repo, &[], Some((&root, &[rule])));
        assert_eq!(c.verdict, SignatureVerdict::Untrusted, "{c:?}");
        assert!(c.reason.contains("mitr@redhat.com"), "{}", c.reason);
    }
    // No trust root configured: untrusted, not verified.
    assert_eq!(
        sig.check(&digest, &repo, &[], None).verdict,
        SignatureVerdict::Untrusted
    );
    // A trust root without that CA: untrusted.
    let mut other = public_good();
    other.authorities.clear();
    let c = sig.check(&digest, &repo, &[], Some((&other, &[mitr()])));
    assert_eq!(c.verdict, SignatureVerdict::Untrusted, "{c:?}");
}

#[test]
fn a_keyless_signature_with_an_altered_bundle_or_payload_is_invalid() {
    let sig = stored("containers-image/dir-img-cosign-fulcio-rekor-valid-signature.json");
    let (digest, repo) = claims(&sig.payload);
    let root = public_good();
    let trusted = [mitr()];

    // A later integrated time (to stretch the certificate's life): the SET fails.
    let mut moved = sig.clone();
    let mut bundle: serde_json::Value =
        serde_json::from_str(moved.bundle.as_deref().unwrap()).unwrap();
    let t = bundle["Payload"]["integratedTime"].as_i64().unwrap();
    bundle["Payload"]["integratedTime"] = (t + 3600).into();
    moved.bundle = Some(bundle.to_string());
    let c = moved.check(&digest, &repo, &[], Some((&root, &trusted)));
    assert_eq!(c.verdict, SignatureVerdict::Invalid);
    assert!(c.reason.contains("signed entry timestamp"), "{}", c.reason);

    // An altered payload: its certificate's key does not verify it.
    let mut tampered = sig.clone();
    let at = tampered.payload.iter().position(|b| *b == b'9').unwrap();
    tampered.payload[at] = b'8';
    let c = tampered.check(&digest, &repo, &[], Some((&root, &trusted)));
    assert_eq!(c.verdict, SignatureVerdict::Invalid, "{c:?}");

    // No bundle: nothing proves when it was signed.
    let mut bare = sig.clone();
    bare.bundle = None;
    assert_eq!(
        bare.check(&digest, &repo, &[], Some((&root, &trusted)))
            .verdict,
        SignatureVerdict::Invalid
    );

    // Another image's bundle (the containers/image "rekor-set" entry) on this signature:
    // the SET is genuine, but the entry it logs is not this signature.
    let mut swapped = sig.clone();
    swapped.bundle = Some(fixture("containers-image/rekor-bundle.json"));
    let c = swapped.check(&digest, &repo, &[], Some((&root, &trusted)));
    assert_eq!(c.verdict, SignatureVerdict::Invalid);
    assert!(c.reason.contains("logged entry"), "{}", c.reason);
}

#[test]
fn the_rekor_set_fixture_verifies_with_its_certificate() {
    // containers/image's internal test data: a payload, its signature, the Fulcio
    // certificate (valid 18:48:18–18:58:18 on 12 December 2022) and the Rekor bundle.
    let sig = CosignSignature {
        payload: fixture("containers-image/simplesigning-payload.json").into_bytes(),
        signature: B64
            .decode(fixture("containers-image/simplesigning-payload.sig.b64").trim())
            .unwrap(),
        certificate: Some(fixture("containers-image/fulcio-cert.pem")),
        chain: None,
        bundle: Some(fixture("containers-image/rekor-bundle.json")),
    };
    let (digest, repo) = claims(&sig.payload);
    let c = sig.check(&digest, &repo, &[], Some((&public_good(), &[mitr()])));
    assert_eq!(c.verdict, SignatureVerdict::Verified, "{c:?}");
}
