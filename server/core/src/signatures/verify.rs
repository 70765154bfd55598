//! One image's signatures, found in its registry and checked: cosign's under the
//! `sha256-<hex>.sig` tag and as OCI referrers, Notation's as referrers. The server's
//! checks and `coastguard verify-image` both call [`verify_image`].

use super::cosign::{CosignSignature, TrustedKey, SIMPLE_SIGNING};
use super::fulcio::{IdentityRule, TrustRoot};
use super::notation::{self, TrustedCa};
use crate::registry::client::{Fetched, Referrers, Registry, RegistryError};
use crate::registry::reference::ImageReference;
use coastguard_model::signatures::{
    SignatureCheck, SignatureKind, SignatureStatus, SignatureVerdict,
};
use serde::{Deserialize, Serialize};

/// cosign's artifact type when it stores signatures as OCI 1.1 referrers.
pub const COSIGN_REFERRER: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// More signatures than this on one image are not read (each costs requests).
const MAX_SIGNATURES: usize = 16;
const MAX_PAYLOAD: usize = 64 * 1024;
const MAX_ENVELOPE: usize = 256 * 1024;

/// What signatures are trusted for an image.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub keys: Vec<TrustedKey>,
    /// The trust root and the identities trusted under it.
    pub keyless: Option<(TrustRoot, Vec<IdentityRule>)>,
    pub notation: Vec<TrustedCa>,
}

/// The outcome for one image.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub image: String,
    pub digest: Option<String>,
    pub status: SignatureStatus,
    pub signatures: Vec<SignatureCheck>,
    /// Why the registry could not be read, when it could not.
    pub error: Option<String>,
    /// What the registry held when this was decided.
    #[serde(skip)]
    pub evidence: Evidence,
    /// Whether an earlier outcome stood, its signatures unchanged (nothing read again).
    #[serde(skip)]
    pub reused: bool,
}

/// What an image's signatures were read from: the digest of cosign's signature manifest
/// (the `sha256-<hex>.sig` tag) and of its referrers list (the API's answer or the tag
/// schema's index); `None` where there was none. Both the same later: the same signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub signature_tag: Option<String>,
    pub referrers: Option<String>,
}

/// An earlier outcome, made with the same trust, that stands while its evidence is
/// unchanged and none of its verdicts has expired: two registry requests instead of
/// every signature's manifest and blobs.
#[derive(Debug, Clone)]
pub struct Previous {
    pub evidence: Evidence,
    pub signatures: Vec<SignatureCheck>,
}

impl Previous {
    fn stands(&self, evidence: &Evidence, now: i64) -> bool {
        self.evidence == *evidence
            && self
                .signatures
                .iter()
                .all(|s| s.expires_at.is_none_or(|t| t > now))
    }
}

impl Verification {
    /// An image whose registry could not be asked, and why.
    pub fn could_not_check(image: String, digest: Option<String>, error: String) -> Verification {
        Verification {
            image,
            digest,
            status: SignatureStatus::Unknown,
            signatures: Vec::new(),
            error: Some(error),
            evidence: Evidence::default(),
            reused: false,
        }
    }
}

/// Finds and checks `reference`'s signatures. With `previous` (an earlier outcome under
/// the same trust), only the signature tag and the referrers list are read when nothing
/// changed since.
pub async fn verify_image(
    registry: &Registry,
    reference: &ImageReference,
    trust: &Trust,
    now: i64,
    previous: Option<&Previous>,
) -> Verification {
    let repo = &reference.repository;
    let mut out = Verification {
        image: reference.to_string(),
        digest: reference.digest.clone(),
        status: SignatureStatus::Unknown,
        signatures: Vec::new(),
        error: None,
        evidence: Evidence::default(),
        reused: false,
    };
    let digest = match &reference.digest {
        Some(d) => d.clone(),
        None => {
            let tag = reference.tag.as_deref().unwrap_or("latest");
            match registry.manifest(repo, tag).await {
                Ok(fetched) => fetched.digest,
                Err(e) => {
                    out.error = Some(e.to_string());
                    return out;
                }
            }
        }
    };
    out.digest = Some(digest.clone());
    let found = find(registry, reference, &digest, trust, now, previous).await;
    out.signatures = found.checks;
    out.error = found.error;
    out.evidence = found.evidence;
    out.reused = found.reused;
    out.status = SignatureStatus::of(&out.signatures, out.error.is_some());
    out
}

#[derive(Default)]
struct Found {
    checks: Vec<SignatureCheck>,
    error: Option<String>,
    evidence: Evidence,
    reused: bool,
}

impl Found {
    /// Notes a registry failure; one that is not about reaching the registry makes the
    /// signature it concerns invalid instead.
    fn failed(&mut self, format: SignatureKind, e: RegistryError) {
        if e.is_unavailable() {
            self.error.get_or_insert(e.to_string());
        } else {
            self.checks.push(SignatureCheck {
                kind: format,
                verdict: SignatureVerdict::Invalid,
                signer: None,
                reason: format!("its stored form cannot be read: {e}"),
                signed_at: None,
                expires_at: None,
            });
        }
    }

    fn full(&self) -> bool {
        self.checks.len() >= MAX_SIGNATURES
    }
}

async fn find(
    registry: &Registry,
    reference: &ImageReference,
    digest: &str,
    trust: &Trust,
    now: i64,
    previous: Option<&Previous>,
) -> Found {
    let repo = &reference.repository;
    let mut found = Found::default();
    // cosign's tag convention.
    let sig_tag = format!("{}.sig", digest.replacen(':', "-", 1));
    let signature_tag: Option<Fetched> = match registry.manifest(repo, &sig_tag).await {
        Ok(fetched) => Some(fetched),
        Err(RegistryError::NotFound(_)) => None,
        Err(e) => {
            found.failed(SignatureKind::CosignKey, e);
            None
        }
    };
    if found.error.is_some() {
        return found;
    }
    // OCI referrers (or their tag-schema stand-in).
    let referrers = match registry.referrers(repo, digest).await {
        Ok(r) => r,
        Err(e) => {
            found.failed(SignatureKind::Notation, e);
            Referrers::default()
        }
    };
    found.evidence = Evidence {
        signature_tag: signature_tag.as_ref().map(|f| f.digest.clone()),
        referrers: referrers.digest.clone(),
    };
    if found.error.is_some() {
        return found;
    }
    if let Some(previous) =
        previous.filter(|p| found.checks.is_empty() && p.stands(&found.evidence, now))
    {
        found.checks = previous.signatures.clone();
        found.reused = true;
        return found;
    }
    if let Some(fetched) = signature_tag {
        match fetched.manifest() {
            Ok(m) => cosign_layers(registry, reference, digest, &m.layers, trust, &mut found).await,
            Err(e) => found.checks.push(unreadable(SignatureKind::CosignKey, e)),
        }
    }
    for r in referrers.manifests {
        if found.full() || found.error.is_some() {
            break;
        }
        let format = match r.artifact_type.as_deref() {
            Some(notation::ARTIFACT_TYPE) => SignatureKind::Notation,
            Some(COSIGN_REFERRER) => SignatureKind::CosignKey,
            _ => continue,
        };
        let manifest = match registry
            .manifest(repo, &r.digest)
            .await
            .map(|f| f.manifest())
        {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                found.checks.push(unreadable(format, e));
                continue;
            }
            Err(e) => {
                found.failed(format, e);
                continue;
            }
        };
        if format == SignatureKind::Notation {
            for layer in manifest
                .layers
                .iter()
                .filter(|l| l.media_type == notation::ENVELOPE_JWS)
                .take(1)
            {
                match registry.blob(repo, &layer.digest, MAX_ENVELOPE).await {
                    Ok(envelope) => {
                        found
                            .checks
                            .push(notation::check(&envelope, digest, &trust.notation, now))
                    }
                    Err(e) => found.failed(format, e),
                }
            }
        } else {
            cosign_layers(
                registry,
                reference,
                digest,
                &manifest.layers,
                trust,
                &mut found,
            )
            .await;
        }
    }
    found
}

async fn cosign_layers(
    registry: &Registry,
    reference: &ImageReference,
    digest: &str,
    layers: &[crate::registry::manifest::Descriptor],
    trust: &Trust,
    found: &mut Found,
) {
    for layer in layers.iter().filter(|l| l.media_type == SIMPLE_SIGNING) {
        if found.full() || found.error.is_some() {
            return;
        }
        let payload = match registry
            .blob(&reference.repository, &layer.digest, MAX_PAYLOAD)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                found.failed(SignatureKind::CosignKey, e);
                continue;
            }
        };
        match CosignSignature::from_layer(payload, &layer.annotations) {
            None => {}
            Some(Err(e)) => found.checks.push(unreadable(SignatureKind::CosignKey, e)),
            Some(Ok(sig)) => {
                let keyless = trust
                    .keyless
                    .as_ref()
                    .map(|(root, ids)| (root, ids.as_slice()));
                found
                    .checks
                    .push(sig.check(digest, reference, &trust.keys, keyless));
            }
        }
    }
}

fn unreadable(format: SignatureKind, reason: String) -> SignatureCheck {
    SignatureCheck {
        kind: format,
        verdict: SignatureVerdict::Invalid,
        signer: None,
        reason,
        signed_at: None,
        expires_at: None,
    }
}
