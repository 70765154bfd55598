//! `coastguard verify-image` against a real registry (Debian's docker-registry on a
//! loopback port): an image built FROM scratch by the real engine and pushed, signatures
//! written the way cosign and Notation write them, by test keys, a test CA and a test
//! transparency log.

use coastguard_core::signatures::cosign::{ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE};
use coastguard_core::testing::docker::{unique, Engine};
use coastguard_core::testing::registry::{cosign_annotations, TestRegistry};
use coastguard_core::testing::signing::{
    notation_envelope, simple_signing_payload, trust_root_json, TestCa, TestKey, TestLog,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const ISSUER: &str = "https://issuer.test.invalid";

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(unique("verify"));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `coastguard verify-image --json ARGS`; its exit code and its JSON.
fn verify(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_coastguard"))
        .arg("verify-image")
        .arg("--json")
        .args(args)
        .env_remove("COASTGUARD_REGISTRY_USERNAME")
        .env_remove("COASTGUARD_REGISTRY_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        Value::String(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    });
    (out.status.code().unwrap_or(-1), json)
}

/// `verify-image REFERENCE --insecure-registry --key KEY_FILE`.
fn verify_by_key(reference: &str, key_file: &str) -> (i32, Value) {
    verify(&[reference, "--insecure-registry", "--key", key_file], &[])
}

/// The reason the first signature gives.
fn first_reason(v: &Value) -> &str {
    v["signatures"][0]["reason"].as_str().unwrap_or_default()
}

fn key_signature(
    key: &TestKey,
    reference: &str,
    digest: &str,
) -> (Vec<u8>, std::collections::BTreeMap<String, String>) {
    let payload = simple_signing_payload(reference, digest);
    let annotations = cosign_annotations(&key.sign(&payload));
    (payload, annotations)
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn verify_image_by_key_keyless_and_notation_against_a_real_registry() {
    let mut registry = TestRegistry::open().await;
    let host = registry.host();
    let dir = Dir::new();
    let (release, other) = (TestKey::new(), TestKey::new());
    let release_pub = dir.file("release.pub", release.public_pem());
    let other_pub = dir.file("other.pub", other.public_pem());

    // An image built by the engine and pushed to the registry.
    let engine = Engine::local();
    let web = format!("{host}/shop/web");
    let tag = format!("{web}:1");
    engine.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    engine.docker(&["push", "-q", &tag]);
    let pushed = engine.docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RepoDigests 0}}",
        &tag,
    ]);
    let web_digest = pushed.rsplit_once('@').unwrap().1.to_string();
    registry
        .attach_cosign(
            "shop/web",
            &web_digest,
            &[key_signature(&release, &web, &web_digest)],
        )
        .await;

    let (code, v) = verify(&[&tag, "--insecure-registry", "--key", &release_pub], &[]);
    assert_eq!((code, v["status"].as_str()), (0, Some("verified")), "{v}");
    assert_eq!(v["digest"], web_digest.as_str());
    assert_eq!(v["signatures"][0]["kind"], "cosign_key");
    assert_eq!(v["signatures"][0]["signer"], "release.pub");
    // By digest as well as by tag.
    let (code, _) = verify_by_key(&format!("{web}@{web_digest}"), &release_pub);
    assert_eq!(code, 0);
    // Another key: signed, but not by anyone trusted.
    let (code, v) = verify(&[&tag, "--insecure-registry", "--key", &other_pub], &[]);
    assert_eq!((code, v["status"].as_str()), (1, Some("untrusted")), "{v}");

    // A signature copied from the web image onto another image: invalid.
    let api = registry.push_image("shop/api", "1", b"api layer").await;
    registry
        .attach_cosign(
            "shop/api",
            &api.digest,
            &[key_signature(&release, &web, &web_digest)],
        )
        .await;
    let (code, v) = verify_by_key(&format!("{host}/shop/api:1"), &release_pub);
    assert_eq!((code, v["status"].as_str()), (1, Some("invalid")), "{v}");
    assert!(first_reason(&v).contains("copied"), "{v}");

    // Signed for another repository (the docker-reference): invalid.
    let db = registry.push_image("shop/db", "1", b"db layer").await;
    registry
        .attach_cosign(
            "shop/db",
            &db.digest,
            &[key_signature(
                &release,
                &format!("{host}/elsewhere/db"),
                &db.digest,
            )],
        )
        .await;
    let (code, v) = verify_by_key(&format!("{host}/shop/db:1"), &release_pub);
    assert_eq!((code, v["status"].as_str()), (1, Some("invalid")), "{v}");
    assert!(first_reason(&v).contains("repository"), "{v}");

    // A payload altered after signing: no trusted key verifies it.
    let cache = registry.push_image("shop/cache", "1", b"cache layer").await;
    let (mut payload, annotations) =
        key_signature(&release, &format!("{host}/shop/cache"), &cache.digest);
    payload.extend_from_slice(b" ");
    registry
        .attach_cosign("shop/cache", &cache.digest, &[(payload, annotations)])
        .await;
    let (code, v) = verify_by_key(&format!("{host}/shop/cache:1"), &release_pub);
    assert_eq!((code, v["status"].as_str()), (1, Some("untrusted")), "{v}");

    // Keyless: a test CA, a test log and a trust root file naming both.
    let (ca, log) = (TestCa::new("fulcio test"), TestLog::new());
    let root = dir.file("trusted_root.json", &trust_root_json(&[&ca], &[&log]));
    let t = coastguard_core::now() - 86_400;
    let cert = ca.fulcio_leaf("dev@shop.test", ISSUER, t, t + 600);
    for (repo, logged) in [("shop/keyless", t + 60), ("shop/late", t + 3_600)] {
        let image = registry.push_image(repo, "1", repo.as_bytes()).await;
        let payload = simple_signing_payload(&format!("{host}/{repo}"), &image.digest);
        let signature = cert.key.sign(&payload);
        let mut annotations = cosign_annotations(&signature);
        annotations.insert(ANNOTATION_CERTIFICATE.into(), cert.pem.clone());
        annotations.insert(
            ANNOTATION_BUNDLE.into(),
            log.bundle(&payload, &signature, &cert.pem, logged),
        );
        registry
            .attach_cosign(repo, &image.digest, &[(payload, annotations)])
            .await;
    }
    let keyless = |repo: &str, identity: &str| {
        verify(
            &[
                &format!("{host}/{repo}:1"),
                "--insecure-registry",
                "--trust-root",
                &root,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                ISSUER,
            ],
            &[],
        )
    };
    let (code, v) = keyless("shop/keyless", r".*@shop\.test");
    assert_eq!((code, v["status"].as_str()), (0, Some("verified")), "{v}");
    assert_eq!(v["signatures"][0]["signed_at"], t + 60);
    let (code, v) = keyless("shop/keyless", r"ops@shop\.test");
    assert_eq!((code, v["status"].as_str()), (1, Some("untrusted")), "{v}");
    // Logged after its ten-minute certificate expired: invalid.
    let (code, v) = keyless("shop/late", r".*@shop\.test");
    assert_eq!((code, v["status"].as_str()), (1, Some("invalid")), "{v}");
    assert!(first_reason(&v).contains("expired"), "{v}");

    // Notation, found through the referrers tag schema (distribution 2.8 has no API).
    let notation_ca = TestCa::new("notation test");
    let ca_file = dir.file("notation-ca.pem", &notation_ca.pem());
    let now = coastguard_core::now();
    let signer = notation_ca.code_signing_leaf("shop release", now - 3_600, now + 86_400);
    let app = registry.push_image("shop/app", "1", b"app layer").await;
    let envelope = notation_envelope(&signer, &[], &app.digest, &app.media_type, app.size, None);
    registry.attach_notation("shop/app", &app, &envelope).await;
    let (code, v) = verify(
        &[
            &format!("{host}/shop/app:1"),
            "--insecure-registry",
            "--notation-ca",
            &ca_file,
        ],
        &[],
    );
    assert_eq!((code, v["status"].as_str()), (0, Some("verified")), "{v}");
    assert_eq!(v["signatures"][0]["kind"], "notation");
    assert!(
        v["signatures"][0]["signer"]
            .as_str()
            .unwrap()
            .contains("shop release"),
        "{v}"
    );
    let stranger = dir.file("stranger.pem", &TestCa::new("stranger").pem());
    let (code, v) = verify(
        &[
            &format!("{host}/shop/app:1"),
            "--insecure-registry",
            "--notation-ca",
            &stranger,
        ],
        &[],
    );
    assert_eq!((code, v["status"].as_str()), (1, Some("untrusted")), "{v}");

    // Unsigned.
    registry.push_image("shop/plain", "1", b"plain layer").await;
    let (code, v) = verify_by_key(&format!("{host}/shop/plain:1"), &release_pub);
    assert_eq!((code, v["status"].as_str()), (1, Some("unsigned")), "{v}");
    assert_eq!(v["signatures"].as_array().map(Vec::len), Some(0));

    // Nothing to verify with, or a key that is not a key: refused before any request.
    let (code, _) = verify(&[&tag, "--insecure-registry"], &[]);
    assert_eq!(code, 2);
    let (code, _) = verify(&[&tag, "--insecure-registry", "--key", &root], &[]);
    assert_eq!(code, 2);

    // The registry down: could not check.
    registry.stop();
    let (code, v) = verify(&[&tag, "--insecure-registry", "--key", &release_pub], &[]);
    assert_eq!((code, v["status"].as_str()), (2, Some("unknown")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("cannot reach"), "{v}");
}

#[tokio::test]
async fn verify_image_against_a_registry_behind_basic_authentication() {
    let registry = TestRegistry::with_password("ci", "right-password").await;
    let host = registry.host();
    let dir = Dir::new();
    let key = TestKey::new();
    let key_file = dir.file("ci.pub", key.public_pem());
    let image = registry.push_image("team/svc", "2", b"svc layer").await;
    let repo = format!("{host}/team/svc");
    registry
        .attach_cosign(
            "team/svc",
            &image.digest,
            &[key_signature(&key, &repo, &image.digest)],
        )
        .await;
    let reference = format!("{repo}:2");
    let args = [
        reference.as_str(),
        "--insecure-registry",
        "--key",
        key_file.as_str(),
    ];

    let (code, v) = verify(&args, &[]);
    assert_eq!(
        (code, v["status"].as_str()),
        (2, Some("unknown")),
        "no credentials: {v}"
    );
    let (code, v) = verify(
        &args,
        &[
            ("COASTGUARD_REGISTRY_USERNAME", "ci"),
            ("COASTGUARD_REGISTRY_PASSWORD", "wrong-password"),
        ],
    );
    assert_eq!((code, v["status"].as_str()), (2, Some("unknown")), "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("refused the credentials"),
        "{v}"
    );
    let (code, v) = verify(
        &args,
        &[
            ("COASTGUARD_REGISTRY_USERNAME", "ci"),
            ("COASTGUARD_REGISTRY_PASSWORD", "right-password"),
        ],
    );
    assert_eq!((code, v["status"].as_str()), (0, Some("verified")), "{v}");
    // The password never shows, whatever the outcome.
    assert!(!v.to_string().contains("right-password"));
}

#[tokio::test]
async fn verify_image_over_tls_trusts_the_registry_ca_it_is_given() {
    let ca = TestCa::new("registry CA");
    let registry = TestRegistry::with_tls(&ca).await;
    let host = registry.host();
    let dir = Dir::new();
    let key = TestKey::new();
    let key_file = dir.file("k.pub", key.public_pem());
    let ca_file = dir.file("registry-ca.pem", &ca.pem());
    let image = registry.push_image("tls/app", "1", b"tls layer").await;
    let repo = format!("{host}/tls/app");
    registry
        .attach_cosign(
            "tls/app",
            &image.digest,
            &[key_signature(&key, &repo, &image.digest)],
        )
        .await;
    let reference = format!("{repo}:1");

    // The system's CAs do not know the test CA: the registry cannot be read.
    let (code, v) = verify(&[&reference, "--key", &key_file], &[]);
    assert_eq!((code, v["status"].as_str()), (2, Some("unknown")), "{v}");
    let (code, v) = verify(
        &[&reference, "--key", &key_file, "--registry-ca", &ca_file],
        &[],
    );
    assert_eq!((code, v["status"].as_str()), (0, Some("verified")), "{v}");
    // A CA file that holds no certificate is refused before any request.
    let (code, _) = verify(
        &[&reference, "--key", &key_file, "--registry-ca", &key_file],
        &[],
    );
    assert_eq!(code, 2);
}

#[tokio::test]
async fn signing_keys_are_managed_by_admins_and_read_by_everyone() {
    use coastguard_model::Role;
    use reqwest::Method;
    use serde_json::json;
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let viewer = srv.token(Role::Viewer).await;
        let key = TestKey::new();
        let body = json!({"name": "release", "public_pem": key.public_pem(), "scope": "registry.example.com/team/*"});

        let res = srv
            .call(Method::POST, "/api/v1/signing-keys", &viewer, &body)
            .await;
        assert_eq!(res.status(), 403);
        let res = srv
            .call(Method::POST, "/api/v1/signing-keys", &admin, &body)
            .await;
        assert_eq!(res.status(), 201);
        let added: Value = res.json().await.unwrap();
        assert_eq!(added["kind"], "ecdsa-p256");
        assert_eq!(added["scope"], "registry.example.com/team/*");
        // Named by the hash of the key's SubjectPublicKeyInfo.
        assert_eq!(
            added["fingerprint"],
            coastguard_core::testing::registry::digest_of(key.spki_der())
        );
        let id = added["id"].as_i64().unwrap();

        // The same key under another name, or another key under the same name: refused.
        let again = json!({"name": "again", "public_pem": key.public_pem()});
        assert_eq!(
            srv.call(Method::POST, "/api/v1/signing-keys", &admin, &again)
                .await
                .status(),
            409
        );
        let other = json!({"name": "release", "public_pem": TestKey::new().public_pem()});
        assert_eq!(
            srv.call(Method::POST, "/api/v1/signing-keys", &admin, &other)
                .await
                .status(),
            409
        );
        // A private key, a bundle of certificates, garbage, half an identity, both forms,
        // a bad pattern or issuer, a bad scope: 422 naming the field.
        let ca = TestCa::new("a bundle");
        for (bad, field) in [
            (
                json!({"name": "x", "public_pem": key.private_pem()}),
                "public_pem",
            ),
            (
                json!({"name": "x", "public_pem": ca.pem().repeat(2)}),
                "public_pem",
            ),
            (json!({"name": "x", "identity": ".*"}), "identity"),
            (
                json!({"name": "x", "public_pem": TestKey::new().public_pem(), "identity": ".*", "issuer": ISSUER}),
                "public_pem",
            ),
            (
                json!({"name": "x", "identity": "(", "issuer": ISSUER}),
                "identity",
            ),
            (
                json!({"name": "x", "identity": ".*", "issuer": "not a url"}),
                "issuer",
            ),
            (json!({"name": "x"}), "public_pem"),
            (
                json!({"name": "x", "public_pem": "not a key"}),
                "public_pem",
            ),
            (
                json!({"name": "x", "public_pem": TestKey::new().public_pem(), "scope": "Team A/*"}),
                "scope",
            ),
            (
                json!({"name": "", "public_pem": TestKey::new().public_pem()}),
                "name",
            ),
        ] {
            let res = srv
                .call(Method::POST, "/api/v1/signing-keys", &admin, &bad)
                .await;
            assert_eq!(res.status(), 422, "{bad}");
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["location"],
                field,
                "{bad}"
            );
        }
        // The private key is never echoed back or stored.
        let listed = srv.get_json("/api/v1/signing-keys", &viewer).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed["items"][0]["name"], "release");
        assert!(!listed.to_string().contains("PRIVATE"));

        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("signing_key.add"), "{audit}");

        let path = format!("/api/v1/signing-keys/{id}");
        assert_eq!(
            srv.call(Method::DELETE, &path, &viewer, &Value::Null)
                .await
                .status(),
            403
        );
        assert_eq!(
            srv.call(Method::DELETE, &path, &admin, &Value::Null)
                .await
                .status(),
            200
        );
        assert_eq!(
            srv.call(Method::DELETE, &path, &admin, &Value::Null)
                .await
                .status(),
            404
        );
        let listed = srv.get_json("/api/v1/signing-keys", &viewer).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 0);
        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("signing_key.remove"), "{audit}");
    });
}

/// The server's own check of a running image: the engine's image pushed to a registry,
/// signed there, checked with the keys admins trust for its repository.
#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn the_server_checks_an_inventory_images_signature_with_the_trusted_keys() {
    use coastguard_model::Role;
    use reqwest::Method;
    use serde_json::json;
    let registry = TestRegistry::open().await;
    let host = registry.host();
    let engine = Engine::local();
    let name = unique("sigsrv");
    let repo = format!("shop/{name}");
    let tag = format!("{host}/{repo}:1");
    engine.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    engine.docker(&["push", "-q", &tag]);
    let pushed = engine.docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RepoDigests 0}}",
        &tag,
    ]);
    let digest = pushed.rsplit_once('@').unwrap().1.to_string();
    let key = TestKey::new();
    registry
        .attach_cosign(
            &repo,
            &digest,
            &[key_signature(&key, &format!("{host}/{repo}"), &digest)],
        )
        .await;

    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        srv.watch_local_engine(&admin).await;
        let images = srv
            .get_json(&format!("/api/v1/images?q={name}"), &viewer)
            .await;
        let id = images["items"][0]["id"].as_i64().unwrap();
        let image_path = format!("/api/v1/images/{id}");
        let check_path = format!("{image_path}/signature-check");
        assert!(srv.get_json(&image_path, &viewer).await["signature"].is_null());

        // Signed, but no key is trusted for it yet.
        assert_eq!(
            srv.call(Method::POST, &check_path, &viewer, &Value::Null)
                .await
                .status(),
            403
        );
        let res = srv
            .call(Method::POST, &check_path, &analyst, &Value::Null)
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "untrusted", "{v}");

        // A key trusted for another team's images changes nothing; one for this
        // repository's verifies it.
        let other = json!({"name": "other team", "public_pem": key.public_pem(), "scope": format!("{host}/other/*")});
        let res = srv
            .call(Method::POST, "/api/v1/signing-keys", &admin, &other)
            .await;
        let other_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let v: Value = srv
            .call(Method::POST, &check_path, &analyst, &Value::Null)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "untrusted", "{v}");
        srv.call(
            Method::DELETE,
            &format!("/api/v1/signing-keys/{other_id}"),
            &admin,
            &Value::Null,
        )
        .await;
        let shop = json!({"name": "shop", "public_pem": key.public_pem(), "scope": format!("{host}/shop/*")});
        assert_eq!(
            srv.call(Method::POST, "/api/v1/signing-keys", &admin, &shop)
                .await
                .status(),
            201
        );
        let v: Value = srv
            .call(Method::POST, &check_path, &analyst, &Value::Null)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "verified", "{v}");
        assert_eq!(v["signatures"][0]["signer"], "shop", "{v}");
        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("image.signature_check"), "{audit}");
        // The image's detail shows it from then on.
        let detail = srv.get_json(&image_path, &viewer).await;
        assert_eq!(detail["signature"]["status"], "verified", "{detail}");

        // Removing the key that verified it makes every check made before due again: the
        // job's next run finds the image no longer verified; trusting the key again
        // verifies it again. (A second apart: a check in the very second of a change
        // counts as after it.)
        let checks = coastguard_core::signatures::checks::check_due;
        let keys = srv.get_json("/api/v1/signing-keys", &viewer).await;
        let shop_id = keys["items"][0]["id"].as_i64().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        srv.call(
            Method::DELETE,
            &format!("/api/v1/signing-keys/{shop_id}"),
            &admin,
            &Value::Null,
        )
        .await;
        let soon = coastguard_core::now();
        assert!(checks(&srv.state, soon, 100).await.unwrap().checked >= 1);
        let detail = srv.get_json(&image_path, &viewer).await;
        assert_eq!(detail["signature"]["status"], "untrusted", "{detail}");
        assert_eq!(detail["signature"]["checked_at"], soon, "{detail}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        srv.call(Method::POST, "/api/v1/signing-keys", &admin, &shop)
            .await;
        let pass = checks(&srv.state, coastguard_core::now(), 100)
            .await
            .unwrap();
        assert!(pass.checked >= 1);
        let detail = srv.get_json(&image_path, &viewer).await;
        assert_eq!(detail["signature"]["status"], "verified", "{detail}");

        // The scheduled job checks what is due: nothing now, the image again once its
        // check is old.
        let now = coastguard_core::now();
        // (Other tests' images on the shared engine may be due; this one is not.)
        let checked_at = detail["signature"]["checked_at"].clone();
        checks(&srv.state, now, 100).await.unwrap();
        let detail = srv.get_json(&image_path, &viewer).await;
        assert_eq!(detail["signature"]["checked_at"], checked_at, "{detail}");
        let later = now + coastguard_core::signatures::checks::RECHECK_AFTER_SECS + 60;
        assert!(checks(&srv.state, later, 100).await.unwrap().checked >= 1);
        let detail = srv.get_json(&image_path, &viewer).await;
        assert_eq!(detail["signature"]["status"], "verified", "{detail}");
        assert_eq!(detail["signature"]["checked_at"], later, "{detail}");
    });
}

/// The server verifies keyless signatures against the trust root an admin gives and the
/// identities trusted for the image, and Notation signatures against the CA certificates
/// trusted for it: images a registry holds, synced into the inventory, checked now.
#[tokio::test]
async fn the_server_verifies_keyless_and_notation_signatures_with_the_trust_admins_give() {
    use coastguard_model::Role;
    use reqwest::Method;
    use serde_json::json;
    let registry = TestRegistry::open().await;
    let host = registry.host();
    // Keyless: signed a day ago under a ten-minute certificate, logged a minute later.
    let (fulcio, log) = (TestCa::new("fulcio test"), TestLog::new());
    let root = trust_root_json(&[&fulcio], &[&log]);
    let t = coastguard_core::now() - 86_400;
    let cert = fulcio.fulcio_leaf("dev@shop.test", ISSUER, t, t + 600);
    let keyless = registry.push_image("shop/keyless", "1", b"keyless").await;
    let payload = simple_signing_payload(&format!("{host}/shop/keyless"), &keyless.digest);
    let signature = cert.key.sign(&payload);
    let mut annotations = cosign_annotations(&signature);
    annotations.insert(ANNOTATION_CERTIFICATE.into(), cert.pem.clone());
    annotations.insert(
        ANNOTATION_BUNDLE.into(),
        log.bundle(&payload, &signature, &cert.pem, t + 60),
    );
    registry
        .attach_cosign("shop/keyless", &keyless.digest, &[(payload, annotations)])
        .await;
    // Notation, by a leaf of a test CA.
    let notary = TestCa::new("notation test");
    let now = coastguard_core::now();
    let leaf = notary.code_signing_leaf("shop release", now - 3_600, now + 86_400);
    let app = registry.push_image("shop/notary", "1", b"notary").await;
    let envelope = notation_envelope(&leaf, &[], &app.digest, &app.media_type, app.size, None);
    registry
        .attach_notation("shop/notary", &app, &envelope)
        .await;

    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let new = json!({"name": "local", "url": host, "insecure": true});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &new)
            .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let res = srv
            .call(
                Method::POST,
                &format!("/api/v1/registries/{id}/sync"),
                &analyst,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 200);
        let image = |repo: &'static str| {
            let srv = &srv;
            let viewer = &viewer;
            async move {
                let list = srv
                    .get_json(&format!("/api/v1/images?q={repo}"), viewer)
                    .await;
                list["items"][0]["id"].as_i64().unwrap()
            }
        };
        let check = |id: i64| {
            let srv = &srv;
            let analyst = &analyst;
            async move {
                let res = srv
                    .call(
                        Method::POST,
                        &format!("/api/v1/images/{id}/signature-check"),
                        analyst,
                        &Value::Null,
                    )
                    .await;
                let status = res.status();
                let v: Value = res.json().await.unwrap();
                assert_eq!(status, 200, "{v}");
                v
            }
        };
        let (keyless_id, notary_id) = (image("shop/keyless").await, image("shop/notary").await);

        // Nothing trusted: both are signed by nobody Coastguard trusts.
        let v = check(keyless_id).await;
        assert_eq!(v["status"], "untrusted", "{v}");
        assert!(
            v["signatures"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("trust root"),
            "{v}"
        );
        assert_eq!(check(notary_id).await["status"], "untrusted");

        // The trust root: admins set it, anyone reads it, garbage is refused.
        assert_eq!(
            srv.status(
                Method::GET,
                "/api/v1/signing-trust-root",
                &viewer,
                &Value::Null
            )
            .await,
            404
        );
        let body = json!({ "trusted_root": root });
        assert_eq!(
            srv.status(Method::PUT, "/api/v1/signing-trust-root", &viewer, &body)
                .await,
            403
        );
        for bad in [
            "{}",
            "not json",
            r#"{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
        ] {
            let res = srv
                .call(
                    Method::PUT,
                    "/api/v1/signing-trust-root",
                    &admin,
                    &json!({ "trusted_root": bad }),
                )
                .await;
            assert_eq!(res.status(), 422, "{bad}");
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["location"],
                "trusted_root"
            );
        }
        let res = srv
            .call(Method::PUT, "/api/v1/signing-trust-root", &admin, &body)
            .await;
        assert_eq!(res.status(), 200);
        let set: Value = res.json().await.unwrap();
        assert_eq!(set["authorities"].as_array().unwrap().len(), 1, "{set}");
        assert_eq!(set["transparency_logs"], 1, "{set}");
        assert_eq!(
            set["sha256"],
            coastguard_core::testing::registry::digest_of(root.as_bytes())
        );
        assert_eq!(
            srv.get_json("/api/v1/signing-trust-root", &viewer).await,
            set
        );
        // A trust root alone trusts nobody: an identity must be trusted for the image.
        assert_eq!(check(keyless_id).await["status"], "untrusted");
        let identity = |pattern: &str, scope: String| json!({"name": format!("dev {pattern}"), "identity": pattern, "issuer": ISSUER, "scope": scope});
        let res = srv
            .call(
                Method::POST,
                "/api/v1/signing-keys",
                &admin,
                &identity(r"ops@shop\.test", format!("{host}/shop/*")),
            )
            .await;
        assert_eq!(res.status(), 201);
        let added: Value = res.json().await.unwrap();
        assert_eq!(added["kind"], "keyless", "{added}");
        assert_eq!(added["public_pem"], "", "{added}");
        assert_eq!(
            check(keyless_id).await["status"],
            "untrusted",
            "another identity"
        );
        let res = srv
            .call(
                Method::POST,
                "/api/v1/signing-keys",
                &admin,
                &identity(r".*@shop\.test", format!("{host}/other/*")),
            )
            .await;
        let other = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(
            check(keyless_id).await["status"],
            "untrusted",
            "another scope"
        );
        // One identity is trusted once, whatever its scope.
        let here = identity(r".*@shop\.test", format!("{host}/shop/*"));
        let res = srv
            .call(Method::POST, "/api/v1/signing-keys", &admin, &here)
            .await;
        assert_eq!(res.status(), 409);
        let res = srv
            .call(
                Method::DELETE,
                &format!("/api/v1/signing-keys/{other}"),
                &admin,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 200);
        let res = srv
            .call(Method::POST, "/api/v1/signing-keys", &admin, &here)
            .await;
        assert_eq!(res.status(), 201);
        let v = check(keyless_id).await;
        assert_eq!(v["status"], "verified", "{v}");
        assert_eq!(v["signatures"][0]["kind"], "cosign_keyless", "{v}");
        assert_eq!(v["signatures"][0]["signed_at"], t + 60, "{v}");

        // Notation: its CA certificate, trusted for the image, verifies it.
        let res = srv
            .call(
                Method::POST,
                "/api/v1/signing-keys",
                &admin,
                &json!({"name": "notary", "public_pem": notary.pem()}),
            )
            .await;
        let status = res.status();
        let ca: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{ca}");
        assert_eq!(ca["kind"], "notation-ca", "{ca}");
        assert_eq!(
            ca["fingerprint"],
            coastguard_core::testing::registry::digest_of(&notary.der())
        );
        let v = check(notary_id).await;
        assert_eq!(v["status"], "verified", "{v}");
        assert_eq!(v["signatures"][0]["kind"], "notation", "{v}");

        // Six hours on, the job checks both again (last checked after the last change of
        // trust): neither signature changed, so only the `.sig` manifest and the
        // referrers were read, and the verdicts stand.
        assert_eq!(check(keyless_id).await["status"], "verified");
        let checks = coastguard_core::signatures::checks::check_due;
        let recheck = coastguard_core::signatures::checks::RECHECK_AFTER_SECS + 60;
        let later = coastguard_core::now() + recheck;
        let pass = checks(&srv.state, later, 100).await.unwrap();
        assert_eq!((pass.checked, pass.unchanged), (2, 2));
        let detail = srv
            .get_json(&format!("/api/v1/images/{notary_id}"), &viewer)
            .await;
        assert_eq!(detail["signature"]["status"], "verified", "{detail}");
        assert_eq!(detail["signature"]["checked_at"], later, "{detail}");
        // A second signature changes the referrers: that image is read again, whole.
        let envelope = notation_envelope(&leaf, &[], &app.digest, &app.media_type, app.size, None);
        registry
            .attach_notation("shop/notary", &app, &envelope)
            .await;
        let later = later + recheck;
        let pass = checks(&srv.state, later, 100).await.unwrap();
        assert_eq!((pass.checked, pass.unchanged), (2, 1));
        let detail = srv
            .get_json(&format!("/api/v1/images/{notary_id}"), &viewer)
            .await;
        let signatures = detail["signature"]["signatures"].as_array().unwrap();
        // (Two or more: the registry outlives each backend's server, and each adds one.)
        assert!(signatures.len() >= 2, "{detail}");
        // A verified Notation signature holds until its certificate expires (a day after it
        // was made here); a check after that reads it again and finds it expired.
        assert!(
            signatures
                .iter()
                .all(|s| s["expires_at"].as_i64() == Some(now + 86_400)),
            "{detail}"
        );
        let pass = checks(&srv.state, now + 2 * 86_400, 100).await.unwrap();
        assert_eq!((pass.checked, pass.unchanged), (2, 1));
        let detail = srv
            .get_json(&format!("/api/v1/images/{notary_id}"), &viewer)
            .await;
        assert_eq!(detail["signature"]["status"], "invalid", "{detail}");
        let detail = srv
            .get_json(&format!("/api/v1/images/{keyless_id}"), &viewer)
            .await;
        assert_eq!(detail["signature"]["status"], "verified", "{detail}");

        // Without the trust root, keyless signatures are untrusted again.
        assert_eq!(
            srv.status(
                Method::DELETE,
                "/api/v1/signing-trust-root",
                &viewer,
                &Value::Null
            )
            .await,
            403
        );
        assert_eq!(
            srv.status(
                Method::DELETE,
                "/api/v1/signing-trust-root",
                &admin,
                &Value::Null
            )
            .await,
            204
        );
        assert_eq!(
            srv.status(
                Method::DELETE,
                "/api/v1/signing-trust-root",
                &admin,
                &Value::Null
            )
            .await,
            404
        );
        assert_eq!(check(keyless_id).await["status"], "untrusted");
        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        for action in [
            "signature_trust_root.set",
            "signature_trust_root.remove",
            "signing_key.add",
        ] {
            assert!(audit.contains(action), "{action}: {audit}");
        }
    });
}
