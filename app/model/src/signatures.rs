//! Image signatures: what was found for an image digest, what each signature proved,
//! and the one status an image gets from them.

use serde::{Deserialize, Serialize};

/// The format a signature was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// cosign's simple signing, by a key.
    CosignKey,
    /// cosign's simple signing, keyless: a Fulcio certificate and a Rekor bundle.
    CosignKeyless,
    /// A Notary Project (Notation) JWS envelope.
    Notation,
}

impl SignatureKind {
    /// For people: `cosign key`, `cosign keyless`, `notation`.
    pub fn label(self) -> &'static str {
        match self {
            SignatureKind::CosignKey => "cosign key",
            SignatureKind::CosignKeyless => "cosign keyless",
            SignatureKind::Notation => "notation",
        }
    }
}

/// What one signature proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureVerdict {
    /// Signed by a trusted key or identity, over this very manifest and repository.
    Verified,
    /// Signed by a key or identity Coastguard does not trust (or altered after signing,
    /// which a key-based signature cannot tell apart).
    Untrusted,
    /// Present but wrong: altered, copied from another image, another repository, a
    /// certificate outside its validity, a malformed envelope.
    Invalid,
}

impl SignatureVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVerdict::Verified => "verified",
            SignatureVerdict::Untrusted => "untrusted",
            SignatureVerdict::Invalid => "invalid",
        }
    }
}

/// One signature and what checking it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureCheck {
    pub kind: SignatureKind,
    pub verdict: SignatureVerdict,
    /// The key (its name, or `sha256:` fingerprint) or identity (`subject` from
    /// `issuer`) that signed it, when known.
    pub signer: Option<String>,
    /// Why it is not verified; empty when it is.
    pub reason: String,
    /// When it was signed, when the signature proves it (Rekor's integrated time, or
    /// Notation's signing time), Unix seconds.
    pub signed_at: Option<i64>,
    /// Until when this verdict holds, when it depends on the time of checking: a
    /// verified Notation signature's first certificate (or the signature's own) expiry;
    /// the check itself for a certificate not valid yet. Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// The one status of an image digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    Verified,
    /// Signed, but by no trusted key or identity.
    Untrusted,
    /// A signature is present that fails its checks, and none is verified.
    Invalid,
    Unsigned,
    /// The registry could not be asked (unreachable, refused the credentials).
    Unknown,
}

impl SignatureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Verified => "verified",
            SignatureStatus::Untrusted => "untrusted",
            SignatureStatus::Invalid => "invalid",
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Unknown => "unknown",
        }
    }

    /// The status [`as_str`](Self::as_str) wrote; anything else is `unknown`.
    pub fn parse(text: &str) -> SignatureStatus {
        match text {
            "verified" => SignatureStatus::Verified,
            "untrusted" => SignatureStatus::Untrusted,
            "invalid" => SignatureStatus::Invalid,
            "unsigned" => SignatureStatus::Unsigned,
            _ => SignatureStatus::Unknown,
        }
    }

    /// The status of an image from its signatures' checks; `unreachable` when the
    /// registry could not be read, which only a verified signature outranks.
    pub fn of(checks: &[SignatureCheck], unreachable: bool) -> SignatureStatus {
        let has = |v: SignatureVerdict| checks.iter().any(|c| c.verdict == v);
        if has(SignatureVerdict::Verified) {
            SignatureStatus::Verified
        } else if unreachable {
            SignatureStatus::Unknown
        } else if has(SignatureVerdict::Invalid) {
            // A signature that fails is the louder news: someone may have tampered.
            SignatureStatus::Invalid
        } else if has(SignatureVerdict::Untrusted) {
            SignatureStatus::Untrusted
        } else {
            SignatureStatus::Unsigned
        }
    }
}

/// The latest signature check of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSignature {
    pub status: SignatureStatus,
    pub signatures: Vec<SignatureCheck>,
    /// Why the registry could not be read, when it could not.
    pub error: Option<String>,
    pub checked_at: i64,
}

/// A signer admins trust: a cosign public key, a Notation trust-store CA certificate, or a
/// cosign keyless (Fulcio) identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyView {
    pub id: i64,
    pub name: String,
    /// `ecdsa-p256`, `ecdsa-p384`, `ed25519` or `rsa` (a cosign key), `notation-ca` (a
    /// Notation trust-store CA) or `keyless` (a cosign keyless identity).
    pub kind: String,
    /// `sha256:` of a key's SubjectPublicKeyInfo or of a CA certificate's DER; `keyless:`
    /// and a hash of identity and issuer for an identity.
    pub fingerprint: String,
    /// The public key or CA certificate, PEM; empty for an identity.
    pub public_pem: String,
    /// A keyless identity: a regular expression the certificate's subject (email or URI)
    /// must match whole.
    pub identity: Option<String>,
    /// A keyless identity: the OIDC issuer URL, matched exactly.
    pub issuer: Option<String>,
    /// The images it applies to: a glob over `registry/repository` (`*` any run of
    /// characters), `*` for every image.
    pub scope: String,
    pub created_by: Option<String>,
    pub created_at: i64,
}

impl SigningKeyView {
    /// What signs under it, for people: the identity and issuer, or the fingerprint.
    pub fn signer(&self) -> String {
        match (&self.identity, &self.issuer) {
            (Some(identity), Some(issuer)) => format!("{identity} (issuer {issuer})"),
            _ => self.fingerprint.clone(),
        }
    }
}

/// A signer to trust: `public_pem` alone (a `PUBLIC KEY` PEM as `cosign.pub`, or a
/// `CERTIFICATE` PEM: a Notation trust-store CA), or `identity` with `issuer` (a cosign
/// keyless identity, as `--certificate-identity-regexp` with `--certificate-oidc-issuer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSigningKey {
    pub name: String,
    #[serde(default)]
    pub public_pem: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    /// Default `*`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A Sigstore trust root to check keyless signatures against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetTrustRoot {
    /// The text of a `trusted_root.json` (media type
    /// `application/vnd.dev.sigstore.trustedroot+json`), as `cosign trusted-root create`
    /// writes it or as Sigstore's TUF repository publishes it; at most 1 MiB.
    pub trusted_root: String,
}

/// The Sigstore trust root keyless signatures are checked against, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustRootView {
    /// `sha256:` of the document as given.
    pub sha256: String,
    /// Its certificate authorities (Fulcio), by URI.
    pub authorities: Vec<TrustedAuthority>,
    /// How many transparency logs (Rekor) it trusts.
    pub transparency_logs: usize,
    pub set_by: String,
    pub set_at: i64,
}

/// One certificate authority of a trust root and when it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedAuthority {
    pub name: String,
    pub certificates: usize,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
}

/// Where a running image runs: on a Docker host, or in a pod of a cluster's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    Host(String),
    Pod { cluster: String, namespace: String },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Host(h) => write!(f, "host {h}"),
            Place::Pod { cluster, namespace } => {
                write!(f, "namespace {namespace} of cluster {cluster}")
            }
        }
    }
}

/// One line of the image policy's `require_signatures`: the images that must carry a
/// verified signature (a glob over `registry/repository`), and where, if not everywhere:
/// Docker hosts whose name matches `host`, or pods whose cluster and namespace match
/// `cluster` and `namespace` (either may be left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRequirement {
    pub images: String,
    pub host: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

impl SignatureRequirement {
    /// Reads a line as [`crate::validate::requirement`] accepts it.
    pub fn parse(line: &str) -> Result<SignatureRequirement, String> {
        let line = crate::validate::requirement(line)?;
        let mut parts = line.split(' ');
        let mut r = SignatureRequirement {
            images: parts.next().unwrap_or_default().to_string(),
            host: None,
            cluster: None,
            namespace: None,
        };
        for part in parts {
            match part.split_once('=') {
                Some(("host", g)) => r.host = Some(g.into()),
                Some(("cluster", g)) => r.cluster = Some(g.into()),
                Some(("namespace", g)) => r.namespace = Some(g.into()),
                _ => unreachable!("validate::requirement admits these keys only"),
            }
        }
        Ok(r)
    }

    /// Whether an image named `name` that runs at `place` must be verified.
    pub fn covers(&self, name: &str, place: &Place) -> bool {
        if !scope_matches(&self.images, name) {
            return false;
        }
        let fits = |glob: &Option<String>, value: &str| {
            glob.as_deref().is_none_or(|g| scope_matches(g, value))
        };
        match place {
            Place::Host(host) => {
                self.cluster.is_none() && self.namespace.is_none() && fits(&self.host, host)
            }
            Place::Pod { cluster, namespace } => {
                self.host.is_none()
                    && fits(&self.cluster, cluster)
                    && fits(&self.namespace, namespace)
            }
        }
    }

    /// Whether it applies everywhere the images run.
    pub fn everywhere(&self) -> bool {
        self.host.is_none() && self.cluster.is_none() && self.namespace.is_none()
    }
}

impl std::fmt::Display for SignatureRequirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.images)?;
        for (key, glob) in [
            ("host", &self.host),
            ("cluster", &self.cluster),
            ("namespace", &self.namespace),
        ] {
            if let Some(g) = glob {
                write!(f, " {key}={g}")?;
            }
        }
        Ok(())
    }
}

pub use crate::validate::scope as validate_scope;

/// Whether `name` (`registry/repository`) falls under `scope`, where `*` matches any run
/// of characters, slashes included.
pub fn scope_matches(scope: &str, name: &str) -> bool {
    let parts: Vec<&str> = scope.split('*').collect();
    if parts.len() == 1 {
        return scope == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requirement_covers_its_images_where_it_says() {
        let host = |h: &str| Place::Host(h.into());
        let pod = |c: &str, n: &str| Place::Pod {
            cluster: c.into(),
            namespace: n.into(),
        };
        let everywhere = SignatureRequirement::parse("registry.example.com/prod/*").unwrap();
        assert!(everywhere.everywhere());
        assert!(everywhere.covers("registry.example.com/prod/api", &host("edge-1")));
        assert!(everywhere.covers("registry.example.com/prod/api", &pod("prod", "payments")));
        assert!(!everywhere.covers("registry.example.com/dev/api", &host("edge-1")));

        let edge = SignatureRequirement::parse("* host=edge-*").unwrap();
        assert!(edge.covers("docker.io/library/nginx", &host("edge-1")));
        assert!(!edge.covers("docker.io/library/nginx", &host("build-1")));
        assert!(!edge.covers("docker.io/library/nginx", &pod("edge-1", "default")));

        let payments = SignatureRequirement::parse("* cluster=prod-* namespace=payments").unwrap();
        assert!(payments.covers("ghcr.io/x/y", &pod("prod-eu", "payments")));
        assert!(!payments.covers("ghcr.io/x/y", &pod("prod-eu", "default")));
        assert!(!payments.covers("ghcr.io/x/y", &pod("dev", "payments")));
        assert!(!payments.covers("ghcr.io/x/y", &host("prod-eu")));
        assert_eq!(payments.to_string(), "* cluster=prod-* namespace=payments");

        let any_cluster = SignatureRequirement::parse("* namespace=kube-*").unwrap();
        assert!(any_cluster.covers("a/b", &pod("dev", "kube-system")));
        assert!(SignatureRequirement::parse("* host=a cluster=b").is_err());
    }

    fn check(verdict: SignatureVerdict) -> SignatureCheck {
        SignatureCheck {
            kind: SignatureKind::CosignKey,
            verdict,
            signer: None,
            reason: String::new(),
            signed_at: None,
            expires_at: None,
        }
    }

    #[test]
    fn one_verified_signature_is_enough_and_the_rest_rank_by_what_they_say() {
        use SignatureStatus as S;
        use SignatureVerdict as V;
        assert_eq!(S::of(&[], false), S::Unsigned);
        assert_eq!(S::of(&[], true), S::Unknown);
        assert_eq!(
            S::of(&[check(V::Invalid), check(V::Verified)], true),
            S::Verified
        );
        assert_eq!(
            S::of(&[check(V::Invalid), check(V::Untrusted)], false),
            S::Invalid
        );
        assert_eq!(S::of(&[check(V::Untrusted)], false), S::Untrusted);
        assert_eq!(S::of(&[check(V::Invalid)], true), S::Unknown);
    }

    #[test]
    fn scopes_are_globs_over_repository_names() {
        assert!(scope_matches("*", "docker.io/library/busybox"));
        assert!(scope_matches(
            "registry.example.com/team/*",
            "registry.example.com/team/api"
        ));
        assert!(scope_matches(
            "registry.example.com/team/*",
            "registry.example.com/team/a/b"
        ));
        assert!(!scope_matches(
            "registry.example.com/team/*",
            "registry.example.com/other/api"
        ));
        assert!(scope_matches("*/shop/web", "127.0.0.1:5000/shop/web"));
        assert!(scope_matches("a*b*c", "axxbyyc"));
        assert!(!scope_matches("a*b*c", "axxcyyb"));
        assert!(
            !scope_matches("ab*ba", "aba"),
            "the two ends may not overlap"
        );
        assert!(scope_matches(
            "docker.io/library/busybox",
            "docker.io/library/busybox"
        ));
        assert!(!scope_matches(
            "docker.io/library/busybox",
            "docker.io/library/busybox2"
        ));
        assert_eq!(
            validate_scope(" ghcr.io/acme/* ").as_deref(),
            Ok("ghcr.io/acme/*")
        );
        for bad in ["", "Shop/*", "a b", "x?", &"a".repeat(300)] {
            assert!(validate_scope(bad).is_err(), "{bad:?}");
        }
    }
}

/// The signature status of the images that run now (Docker containers' and running pods'),
/// each image once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureCoverage {
    pub running_images: i64,
    /// With a verified signature.
    pub verified: i64,
    /// Signed, but invalid or by no trusted key or identity.
    pub failing: i64,
    pub unsigned: i64,
    /// Checked, but the registry could not be asked.
    pub unknown: i64,
    /// Not checked (yet, or never: no registry names it by digest).
    pub unchecked: i64,
}

impl SignatureCoverage {
    /// The share verified, 0–1; none when nothing runs.
    pub fn verified_share(&self) -> Option<f64> {
        (self.running_images > 0).then(|| self.verified as f64 / self.running_images as f64)
    }
}
