//! A client for the OCI distribution API, as much of it as Coastguard reads: manifests
//! (by tag or digest, checked against their digest), blobs (bounded, checked), referrers
//! (the OCI 1.1 API, or the `sha256-<hex>` tag schema where a registry lacks it), tags and
//! the catalog, with anonymous, Basic or Bearer-token authentication.
//!
//! Why not the `oci-client` crate: 0.18 builds on reqwest 0.13 beside the 0.12 already in
//! the build, and every request here is counted (`requests`), which the benchmark needs.

use super::manifest::{Descriptor, Manifest};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Manifests are small; a registry answering megabytes is not answering a manifest.
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;
/// Every manifest type Coastguard reads.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";
const TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach a registry.
#[derive(Clone, Default)]
pub struct RegistryAccess {
    /// `host[:port]`, as image references name the registry.
    pub host: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Extra CA certificates (PEM) to trust, beside the system's.
    pub ca_pem: Option<String>,
    /// Plain HTTP (only for registries an admin marked insecure).
    pub insecure: bool,
}

impl fmt::Debug for RegistryAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAccess")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("insecure", &self.insecure)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {0}: {1}")]
    Unreachable(String, String),
    #[error("registry {0} refused the credentials (or asks for some)")]
    Unauthorized(String),
    #[error("{0} was not found in the registry")]
    NotFound(String),
    #[error("registry {0}: {1}")]
    Protocol(String, String),
}

impl RegistryError {
    /// Whether the registry itself could not be asked (as opposed to answering "no").
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable(..) | RegistryError::Unauthorized(_)
        )
    }
}

/// A manifest as fetched: its digest (checked), media type and bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl Fetched {
    pub fn manifest(&self) -> Result<Manifest, String> {
        serde_json::from_slice(&self.bytes)
            .map_err(|e| format!("manifest {} cannot be read: {e}", self.digest))
    }
}

pub struct Registry {
    access: RegistryAccess,
    base: String,
    http: reqwest::Client,
    /// Bearer tokens by scope, as the registry's token service gave them.
    tokens: Mutex<HashMap<String, String>>,
    requests: AtomicU64,
    /// Set once the registry answered that it has no referrers API: from then on its
    /// tag-schema index is read directly, one request instead of two.
    no_referrers_api: AtomicBool,
}

/// What refers to an image, and the digest of the list it was read from (`None`: no list
/// at all), which tells whether it changed since it was last read.
#[derive(Debug, Clone, Default)]
pub struct Referrers {
    pub digest: Option<String>,
    pub manifests: Vec<Descriptor>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({})", self.base)
    }
}

/// `sha256:<hex>` of `bytes`, as OCI digests are written.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// rustls with ring, trusting the system's CA certificates and `extra` (PEM).
pub(crate) fn tls(extra: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as browsers skip it.
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra {
        let certs = super::certificates_from_pem(pem)?;
        if certs.is_empty() {
            return Err("the CA file holds no CERTIFICATE".into());
        }
        for der in certs {
            roots
                .add(rustls_pki_types::CertificateDer::from(der))
                .map_err(|e| format!("a CA certificate cannot be used: {e}"))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

impl Registry {
    pub fn new(access: RegistryAccess) -> Result<Registry, String> {
        if access.host.is_empty() || access.host.contains('/') {
            return Err(format!("{:?} is not a registry host[:port]", access.host));
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls(access.ca_pem.as_deref())?)
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("coastguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let scheme = if access.insecure { "http" } else { "https" };
        // Docker Hub's API lives on another host than its name.
        let api_host = if access.host == super::reference::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            access.host.as_str()
        };
        Ok(Registry {
            base: format!("{scheme}://{api_host}"),
            access,
            http,
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            no_referrers_api: AtomicBool::new(false),
        })
    }

    pub fn host(&self) -> &str {
        &self.access.host
    }

    /// HTTP requests made so far (token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn unreachable(&self, e: impl fmt::Display) -> RegistryError {
        RegistryError::Unreachable(self.access.host.clone(), e.to_string())
    }

    fn protocol(&self, why: impl Into<String>) -> RegistryError {
        RegistryError::Protocol(self.access.host.clone(), why.into())
    }

    /// Sends a request, authenticating once if the registry asks: Basic with the
    /// credentials, or a Bearer token from the realm it names for `scope`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        scope: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let url = format!("{}{path}", self.base);
        let build = |auth: Option<String>| {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(accept) = accept {
                req = req.header(ACCEPT, accept);
            }
            if let Some(auth) = auth {
                req = req.header(AUTHORIZATION, auth);
            }
            req
        };
        let cached = self.tokens.lock().expect("token cache").get(scope).cloned();
        let auth = cached
            .map(|t| format!("Bearer {t}"))
            .or_else(|| self.basic());
        self.requests.fetch_add(1, Ordering::Relaxed);
        let res = build(auth.clone())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if res.status() != StatusCode::UNAUTHORIZED {
            return Ok(res);
        }
        let challenge = res
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let auth = if challenge.to_ascii_lowercase().starts_with("bearer ") {
            let token = self.token(&challenge, scope).await?;
            self.tokens
                .lock()
                .expect("token cache")
                .insert(scope.to_string(), token.clone());
            Some(format!("Bearer {token}"))
        } else {
            match self.basic() {
                // Sent already and refused.
                Some(_) if auth.is_some() => {
                    return Err(RegistryError::Unauthorized(self.access.host.clone()))
                }
                Some(basic) => Some(basic),
                None => return Err(RegistryError::Unauthorized(self.access.host.clone())),
            }
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let res = build(auth).send().await.map_err(|e| self.unreachable(e))?;
        if res.status() == StatusCode::UNAUTHORIZED || res.status() == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized(self.access.host.clone()));
        }
        Ok(res)
    }

    fn basic(&self) -> Option<String> {
        use base64::Engine as _;
        let user = self.access.username.as_deref()?;
        let pass = self.access.password.as_deref().unwrap_or_default();
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        ))
    }

    /// A token from the realm of a `Bearer realm="…",service="…"` challenge.
    async fn token(&self, challenge: &str, scope: &str) -> Result<String, RegistryError> {
        let params = challenge_params(challenge);
        let realm = params
            .get("realm")
            .ok_or_else(|| self.protocol("a Bearer challenge without a realm"))?;
        let mut url = url::Url::parse(realm)
            .map_err(|e| self.protocol(format!("token realm {realm:?}: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                q.append_pair("service", service);
            }
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
        }
        // Credentials go to the token service as they would to Docker's; never in clear
        // over plain HTTP unless the admin marked the registry itself insecure.
        if url.scheme() != "https" && !self.access.insecure && self.basic().is_some() {
            return Err(self.protocol(format!(
                "its token service {realm} is not HTTPS: credentials are not sent there"
            )));
        }
        let mut req = self.http.get(url);
        if let Some(basic) = self.basic() {
            req = req.header(AUTHORIZATION, basic);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let res = req.send().await.map_err(|e| self.unreachable(e))?;
        if !res.status().is_success() {
            return Err(RegistryError::Unauthorized(self.access.host.clone()));
        }
        let body: serde_json::Value = res
            .json()
            .await
            .map_err(|e| self.protocol(format!("the token answer is not JSON: {e}")))?;
        body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| self.protocol("the token answer holds no token"))
    }

    /// Reads a body up to `limit` bytes.
    async fn body(
        &self,
        mut res: reqwest::Response,
        limit: usize,
        what: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        if res.content_length().is_some_and(|n| n as usize > limit) {
            return Err(self.protocol(format!("{what} is larger than {limit} bytes")));
        }
        let mut out = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| self.unreachable(e))? {
            if out.len() + chunk.len() > limit {
                return Err(self.protocol(format!("{what} is larger than {limit} bytes")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn check_status(&self, res: &reqwest::Response, what: &str) -> Result<(), RegistryError> {
        match res.status() {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound(what.to_string())),
            s => Err(self.protocol(format!("{what}: HTTP {s}"))),
        }
    }

    /// The manifest `reference` (a tag or a digest) of `repository`. A manifest asked for
    /// by digest must hash to it; one asked for by tag is named by its own hash.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Fetched, RegistryError> {
        let what = format!("{repository}:{reference}");
        let res = self
            .send(
                Method::GET,
                &format!("/v2/{repository}/manifests/{reference}"),
                Some(MANIFEST_TYPES),
                &pull_scope(repository),
            )
            .await?;
        self.check_status(&res, &what)?;
        let media_type = content_type(res.headers());
        let bytes = self.body(res, MAX_MANIFEST, &what).await?;
        let digest = sha256(&bytes);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(self.protocol(format!(
                "manifest {reference} hashes to {digest}: altered in transit or at rest"
            )));
        }
        let media_type = media_type.unwrap_or_else(|| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                .unwrap_or_default()
        });
        Ok(Fetched {
            digest,
            media_type,
            bytes,
        })
    }

    /// The digest `reference` (a tag) of `repository` names now: one HEAD request, read
    /// from `Docker-Content-Digest`; where the registry does not say, the manifest is
    /// fetched and hashed.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<String, RegistryError> {
        let what = format!("{repository}:{reference}");
        let res = self
            .send(
                Method::HEAD,
                &format!("/v2/{repository}/manifests/{reference}"),
                Some(MANIFEST_TYPES),
                &pull_scope(repository),
            )
            .await?;
        self.check_status(&res, &what)?;
        let said = res
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| super::reference::check_digest(d).is_ok())
            .map(str::to_string);
        match said {
            Some(digest) => Ok(digest),
            None => Ok(self.manifest(repository, reference).await?.digest),
        }
    }

    /// A blob of `repository`, at most `limit` bytes, checked against its digest.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        limit: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob {digest} of {repository}");
        let res = self
            .send(
                Method::GET,
                &format!("/v2/{repository}/blobs/{digest}"),
                None,
                &pull_scope(repository),
            )
            .await?;
        self.check_status(&res, &what)?;
        let bytes = self.body(res, limit, &what).await?;
        if sha256(&bytes) != digest {
            return Err(self.protocol(format!("{what} does not hash to its digest")));
        }
        Ok(bytes)
    }

    /// What refers to `digest` (signatures, attestations, SBOMs): the referrers API, or
    /// where the registry has none (404), the `sha256-<hex>` tag schema's index.
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Referrers, RegistryError> {
        if !self.no_referrers_api.load(Ordering::Relaxed) {
            let path = format!("/v2/{repository}/referrers/{digest}");
            let res = self
                .send(
                    Method::GET,
                    &path,
                    Some("application/vnd.oci.image.index.v1+json"),
                    &pull_scope(repository),
                )
                .await?;
            if res.status().is_success()
                && content_type(res.headers())
                    .is_some_and(|t| t.starts_with("application/vnd.oci.image.index.v1+json"))
            {
                let bytes = self.body(res, MAX_MANIFEST, "the referrers list").await?;
                let index = serde_json::from_slice::<Manifest>(&bytes).map_err(|e| {
                    self.protocol(format!("the referrers list cannot be read: {e}"))
                })?;
                return Ok(Referrers {
                    digest: Some(sha256(&bytes)),
                    manifests: index.manifests,
                });
            }
            if !(res.status() == StatusCode::NOT_FOUND || res.status().is_success()) {
                return Err(self.protocol(format!("the referrers list: HTTP {}", res.status())));
            }
            self.no_referrers_api.store(true, Ordering::Relaxed);
        }
        let tag = digest.replacen(':', "-", 1);
        match self.manifest(repository, &tag).await {
            Ok(fetched) => Ok(Referrers {
                manifests: fetched.manifest().map_err(|e| self.protocol(e))?.manifests,
                digest: Some(fetched.digest),
            }),
            Err(RegistryError::NotFound(_)) => Ok(Referrers::default()),
            Err(e) => Err(e),
        }
    }

    /// Every tag of `repository` (following the registry's pages), at most `limit`.
    pub async fn tags(&self, repository: &str, limit: usize) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut path = format!("/v2/{repository}/tags/list?n=1000");
        loop {
            let res = self
                .send(Method::GET, &path, None, &pull_scope(repository))
                .await?;
            self.check_status(&res, &format!("the tags of {repository}"))?;
            let next = next_page(res.headers());
            let body: serde_json::Value = res
                .json()
                .await
                .map_err(|e| self.protocol(format!("the tag list is not JSON: {e}")))?;
            for tag in body["tags"].as_array().into_iter().flatten() {
                if let Some(tag) = tag.as_str() {
                    out.push(tag.to_string());
                }
            }
            match next {
                Some(next) if out.len() < limit => path = next,
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The registry's repositories, where it lists them (`/v2/_catalog`), at most `limit`.
    pub async fn catalog(&self, limit: usize) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut path = "/v2/_catalog?n=1000".to_string();
        loop {
            let res = self
                .send(Method::GET, &path, None, "registry:catalog:*")
                .await?;
            self.check_status(&res, "the repository catalog")?;
            let next = next_page(res.headers());
            let body: serde_json::Value = res
                .json()
                .await
                .map_err(|e| self.protocol(format!("the catalog is not JSON: {e}")))?;
            for repo in body["repositories"].as_array().into_iter().flatten() {
                if let Some(repo) = repo.as_str() {
                    out.push(repo.to_string());
                }
            }
            match next {
                Some(next) if out.len() < limit => path = next,
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
}

/// The path of a `Link: </v2/…?last=…>; rel="next"` header.
fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let (target, rel) = link.split_once(';')?;
    if !rel.contains("next") {
        return None;
    }
    let target = target.trim().trim_start_matches('<').trim_end_matches('>');
    let path = match url::Url::parse(target) {
        Ok(u) => format!("{}?{}", u.path(), u.query().unwrap_or_default()),
        Err(_) => target.to_string(),
    };
    path.starts_with("/v2/").then_some(path)
}

/// `key="value"` pairs of a `WWW-Authenticate` challenge.
fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge.split_once(' ').map_or("", |(_, r)| r);
    let mut out = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_string();
        if key.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            let v = chars.by_ref().take_while(|c| *c != '"').collect();
            // Skip to the next comma.
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
            }
            v
        } else {
            chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string()
        };
        out.insert(key.to_ascii_lowercase(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/busybox:pull");
        let p = challenge_params(r#"Basic realm="Registry Realm""#);
        assert_eq!(p["realm"], "Registry Realm");
    }

    #[test]
    fn next_pages_follow_link_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            r#"</v2/_catalog?last=b&n=2>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(next_page(&h).as_deref(), Some("/v2/_catalog?last=b&n=2"));
        h.insert(
            reqwest::header::LINK,
            r#"<https://evil.example/x>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            next_page(&h),
            None,
            "a page off the registry's API is not followed"
        );
    }

    /// A registry that wants a Bearer token from its token service (as Docker Hub, GHCR
    /// and Harbor do), in-process on loopback: the token service takes Basic credentials.
    async fn token_registry() -> (String, tokio::task::JoinHandle<()>) {
        use axum::http::{HeaderMap as Headers, StatusCode as Status, Uri};
        use axum::response::IntoResponse;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let realm = format!("http://{addr}/token");
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        let app = axum::Router::new().fallback(move |uri: Uri, headers: Headers| {
            let realm = realm.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if uri.path() == "/token" {
                    // Basic ci:pw, and the scope the registry asked for.
                    let query = uri.query().unwrap_or_default();
                    if auth == "Basic Y2k6cHc="
                        && query.contains("scope=repository%3Ashop%2Fweb%3Apull")
                        && query.contains("service=test")
                    {
                        return axum::Json(serde_json::json!({"token": "good-token"}))
                            .into_response();
                    }
                    return Status::UNAUTHORIZED.into_response();
                }
                if auth != "Bearer good-token" {
                    let challenge = format!(
                        r#"Bearer realm="{realm}",service="test",scope="repository:shop/web:pull""#
                    );
                    return (Status::UNAUTHORIZED, [("www-authenticate", challenge)])
                        .into_response();
                }
                (
                    [("content-type", "application/vnd.oci.image.manifest.v1+json")],
                    manifest.to_vec(),
                )
                    .into_response()
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (addr.to_string(), task)
    }

    #[tokio::test]
    async fn bearer_tokens_are_fetched_once_and_reused() {
        let (host, task) = token_registry().await;
        let registry = |password: &str| {
            Registry::new(RegistryAccess {
                host: host.clone(),
                username: Some("ci".into()),
                password: Some(password.into()),
                insecure: true,
                ..RegistryAccess::default()
            })
            .unwrap()
        };
        let r = registry("pw");
        let m = r.manifest("shop/web", "1").await.unwrap();
        assert!(m.digest.starts_with("sha256:"));
        // Refused, the token, asked again.
        assert_eq!(r.requests(), 3);
        r.manifest("shop/web", "1").await.unwrap();
        assert_eq!(r.requests(), 4, "the token is kept for its scope");
        // Wrong credentials: the token service refuses, and the error says so.
        let wrong = registry("nope")
            .manifest("shop/web", "1")
            .await
            .unwrap_err();
        assert_eq!(wrong, RegistryError::Unauthorized(host.clone()));
        assert!(wrong.is_unavailable());
        task.abort();
    }

    #[test]
    fn credentials_stay_out_of_debug_output() {
        let access = RegistryAccess {
            host: "r.example".into(),
            username: Some("ci".into()),
            password: Some("s3cret-pass".into()),
            ..RegistryAccess::default()
        };
        assert!(!format!("{access:?}").contains("s3cret"));
    }
}
