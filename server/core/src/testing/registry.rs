//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a
//! loopback port with storage in a directory of its own, open or behind htpasswd basic
//! authentication, stopped when dropped. Helpers write what cosign and Notation write:
//! blobs, manifests, `.sig` tags, referrer manifests and the `sha256-<hex>` referrers
//! index (distribution 2.8 has no referrers API, so the tag schema is what clients use).
//!
//! A test that needs it fails when `docker-registry` is missing: `scripts/test` installs it.

use super::docker::unique;
use crate::registry::manifest::{Descriptor, Manifest, OCI_INDEX, OCI_MANIFEST};
use crate::signatures::cosign::{ANNOTATION_SIGNATURE, SIMPLE_SIGNING};
use crate::signatures::notation::{ARTIFACT_TYPE, ENVELOPE_JWS};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "/usr/bin/docker-registry";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub struct TestRegistry {
    port: u16,
    /// Serving HTTPS with a certificate of a test CA.
    tls: bool,
    dir: PathBuf,
    child: Option<Child>,
    /// `(user, password)` when it asks for basic authentication.
    credentials: Option<(String, String)>,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl TestRegistry {
    /// An open registry.
    pub async fn open() -> TestRegistry {
        TestRegistry::start(None, None).await
    }

    /// A registry behind basic authentication with one account.
    pub async fn with_password(user: &str, password: &str) -> TestRegistry {
        TestRegistry::start(Some((user.to_string(), password.to_string())), None).await
    }

    /// An open registry serving HTTPS with a certificate `ca` issued for 127.0.0.1.
    pub async fn with_tls(ca: &super::signing::TestCa) -> TestRegistry {
        TestRegistry::start(None, Some(ca)).await
    }

    async fn start(
        credentials: Option<(String, String)>,
        tls: Option<&super::signing::TestCa>,
    ) -> TestRegistry {
        assert!(
            std::path::Path::new(BINARY).exists(),
            "{BINARY} is missing: install Debian's docker-registry (scripts/test does)"
        );
        let dir = std::env::temp_dir().join(unique("registry"));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let port = free_port();
        let auth = match &credentials {
            Some((user, password)) => {
                let hash = bcrypt::hash(password, 4).expect("bcrypt");
                std::fs::write(dir.join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: coastguard-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        let mut http = reqwest::Client::builder();
        let tls_config = match tls {
            Some(ca) => {
                let cert = ca.server_leaf();
                std::fs::write(dir.join("cert.pem"), &cert.pem).unwrap();
                std::fs::write(dir.join("key.pem"), cert.key.private_pem()).unwrap();
                http = http.add_root_certificate(
                    reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap(),
                );
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    dir.join("cert.pem").display(),
                    dir.join("key.pem").display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: {}\n{tls_config}{auth}",
            dir.join("data").display(),
            unique("secret"),
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let registry = TestRegistry {
            port,
            tls: tls.is_some(),
            dir,
            child: Some(child),
            credentials,
            http: http.build().unwrap(),
        };
        registry.wait_ready().await;
        registry
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok(res) = self.http.get(format!("{}/v2/", self.base())).send().await {
                if res.status().is_success() || res.status() == 401 {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not answer on port {} (log: {})",
                self.port,
                std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:<port>`, as image references name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// Stops it (for "registry down" cases); its port then refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, url);
        match &self.credentials {
            Some((user, password)) => req.basic_auth(user, Some(password)),
            None => req,
        }
    }

    /// Uploads a blob (monolithically); returns its digest.
    pub async fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest_of(bytes);
        let res = self
            .request(
                reqwest::Method::POST,
                &format!("{}/v2/{repo}/blobs/uploads/", self.base()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "starting an upload to {repo}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base())
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let res = self
            .request(
                reqwest::Method::PUT,
                &format!("{location}{sep}digest={digest}"),
            )
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "uploading {digest} to {repo}");
        digest
    }

    /// Stores a manifest under `reference` (a tag or its digest); returns its digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let res = self
            .request(
                reqwest::Method::PUT,
                &format!("{}/v2/{repo}/manifests/{reference}", self.base()),
            )
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert_eq!(
            status,
            201,
            "storing manifest {reference} in {repo}: {}",
            res.text().await.unwrap_or_default()
        );
        digest_of(bytes)
    }

    /// A small image of its own (one layer of `content`), pushed without an engine, under
    /// `tag`; returns the manifest's descriptor.
    pub async fn push_image(&self, repo: &str, tag: &str, content: &[u8]) -> Descriptor {
        let layer = self.put_blob(repo, content).await;
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer]},
        })
        .to_string();
        let config_digest = self.put_blob(repo, config.as_bytes()).await;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            config: Some(descriptor(
                "application/vnd.oci.image.config.v1+json",
                &config_digest,
                config.len(),
            )),
            layers: vec![descriptor(
                "application/vnd.oci.image.layer.v1.tar",
                &layer,
                content.len(),
            )],
            ..Manifest::default()
        };
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = self.put_manifest(repo, tag, OCI_MANIFEST, &bytes).await;
        descriptor(OCI_MANIFEST, &digest, bytes.len())
    }

    /// Attaches cosign signatures to `image_digest` under its `sha256-<hex>.sig` tag, as
    /// `cosign sign` does: one layer per (payload, annotations).
    pub async fn attach_cosign(
        &self,
        repo: &str,
        image_digest: &str,
        signatures: &[(Vec<u8>, BTreeMap<String, String>)],
    ) {
        let mut layers = Vec::new();
        for (payload, annotations) in signatures {
            let digest = self.put_blob(repo, payload).await;
            let mut layer = descriptor(SIMPLE_SIGNING, &digest, payload.len());
            layer.annotations = annotations.clone();
            layers.push(layer);
        }
        let config = serde_json::json!({
            "architecture": "", "os": "", "config": {},
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>()},
        })
        .to_string();
        let config_digest = self.put_blob(repo, config.as_bytes()).await;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            config: Some(descriptor(
                "application/vnd.oci.image.config.v1+json",
                &config_digest,
                config.len(),
            )),
            layers,
            ..Manifest::default()
        };
        let tag = format!("{}.sig", image_digest.replacen(':', "-", 1));
        self.put_manifest(
            repo,
            &tag,
            OCI_MANIFEST,
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .await;
    }

    /// Attaches a Notation envelope to `subject` as a referrer, and lists it in the
    /// `sha256-<hex>` referrers index (the tag schema).
    pub async fn attach_notation(&self, repo: &str, subject: &Descriptor, envelope: &[u8]) {
        let empty = self.put_blob(repo, b"{}").await;
        let layer = self.put_blob(repo, envelope).await;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: Some(ARTIFACT_TYPE.into()),
            config: Some(descriptor(EMPTY_CONFIG, &empty, 2)),
            layers: vec![descriptor(ENVELOPE_JWS, &layer, envelope.len())],
            subject: Some(subject.clone()),
            ..Manifest::default()
        };
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = digest_of(&bytes);
        self.put_manifest(repo, &digest, OCI_MANIFEST, &bytes).await;
        let mut referrer = descriptor(OCI_MANIFEST, &digest, bytes.len());
        referrer.artifact_type = Some(ARTIFACT_TYPE.into());
        let tag = subject.digest.replacen(':', "-", 1);
        let mut index = match self.get_manifest(repo, &tag).await {
            Some(existing) => serde_json::from_slice::<Manifest>(&existing).unwrap(),
            None => Manifest {
                schema_version: 2,
                media_type: Some(OCI_INDEX.into()),
                ..Manifest::default()
            },
        };
        index.manifests.push(referrer);
        self.put_manifest(repo, &tag, OCI_INDEX, &serde_json::to_vec(&index).unwrap())
            .await;
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        let res = self
            .request(
                reqwest::Method::GET,
                &format!("{}/v2/{repo}/manifests/{reference}", self.base()),
            )
            .header("accept", format!("{OCI_INDEX}, {OCI_MANIFEST}"))
            .send()
            .await
            .unwrap();
        if res.status() == 404 {
            return None;
        }
        Some(res.bytes().await.unwrap().to_vec())
    }
}

pub fn descriptor(media_type: &str, digest: &str, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest.into(),
        size: size as u64,
        artifact_type: None,
        annotations: BTreeMap::new(),
        platform: None,
    }
}

/// The annotations of a key-signed cosign layer.
pub fn cosign_annotations(signature: &[u8]) -> BTreeMap<String, String> {
    BTreeMap::from([(
        ANNOTATION_SIGNATURE.to_string(),
        base64::engine::general_purpose::STANDARD.encode(signature),
    )])
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
