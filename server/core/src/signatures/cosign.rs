//! cosign signatures: the simple-signing payload a signature covers, read from the layer
//! and annotations cosign writes, and checked by key or keylessly (Fulcio + Rekor).

use super::fulcio::{self, IdentityRule, TrustRoot};
use super::keys::{PublicKey, Scheme};
use super::rekor;
use crate::registry::reference::ImageReference;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coastguard_model::signatures::{SignatureCheck, SignatureKind, SignatureVerdict};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The media type of a cosign signature layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// The `critical.type` every cosign image signature carries.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";

/// The payload is JSON of a few hundred bytes; a bigger one is not cosign's.
const MAX_PAYLOAD: usize = 64 * 1024;

/// A key an admin trusts, with the name statuses show.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub name: String,
    pub key: PublicKey,
}

/// One signature as cosign stores it: a layer of the `sha256-<hex>.sig` manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignSignature {
    /// The payload exactly as signed (the layer blob).
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    /// PEM, for keyless signatures.
    pub certificate: Option<String>,
    pub chain: Option<String>,
    /// Rekor's bundle (JSON), for keyless signatures and key-based ones logged there.
    pub bundle: Option<String>,
}

impl CosignSignature {
    /// From a layer's blob and its annotations; `None` when the layer carries no
    /// signature annotation (not a signature at all).
    pub fn from_layer(
        payload: Vec<u8>,
        annotations: &BTreeMap<String, String>,
    ) -> Option<Result<CosignSignature, String>> {
        let signature = annotations.get(ANNOTATION_SIGNATURE)?;
        Some(match B64.decode(signature.trim()) {
            Ok(signature) => Ok(CosignSignature {
                payload,
                signature,
                certificate: annotations.get(ANNOTATION_CERTIFICATE).cloned(),
                chain: annotations.get(ANNOTATION_CHAIN).cloned(),
                bundle: annotations.get(ANNOTATION_BUNDLE).cloned(),
            }),
            Err(e) => Err(format!("the signature annotation is not base64: {e}")),
        })
    }

    /// Checks this signature for the image `digest` in `repository`: by the keys, or,
    /// when it carries a certificate, keylessly against the trust root and identities.
    pub fn check(
        &self,
        digest: &str,
        repository: &ImageReference,
        keys: &[TrustedKey],
        keyless: Option<(&TrustRoot, &[IdentityRule])>,
    ) -> SignatureCheck {
        match &self.certificate {
            Some(pem) => self.check_keyless(pem, digest, repository, keyless),
            None => self.check_by_key(digest, repository, keys),
        }
    }

    fn check_by_key(
        &self,
        digest: &str,
        repository: &ImageReference,
        keys: &[TrustedKey],
    ) -> SignatureCheck {
        let format = SignatureKind::CosignKey;
        let signer = keys.iter().find(|k| {
            k.key
                .verify(Scheme::Cosign, &self.payload, &self.signature)
                .is_ok()
        });
        let Some(signer) = signer else {
            let reason = if keys.is_empty() {
                "signed by a key, and no key is configured for this image".to_string()
            } else {
                format!(
                    "verifies under none of the {} key(s) that apply: signed by another key, or altered after signing",
                    keys.len()
                )
            };
            return outcome(format, SignatureVerdict::Untrusted, None, reason, None);
        };
        let signer = Some(signer.name.clone());
        match check_payload(&self.payload, digest, repository) {
            Ok(()) => outcome(
                format,
                SignatureVerdict::Verified,
                signer,
                String::new(),
                None,
            ),
            Err(reason) => outcome(format, SignatureVerdict::Invalid, signer, reason, None),
        }
    }

    fn check_keyless(
        &self,
        pem: &str,
        digest: &str,
        repository: &ImageReference,
        keyless: Option<(&TrustRoot, &[IdentityRule])>,
    ) -> SignatureCheck {
        let format = SignatureKind::CosignKeyless;
        let invalid = |signer: Option<String>, reason: String, at: Option<i64>| {
            outcome(format, SignatureVerdict::Invalid, signer, reason, at)
        };
        let cert = match fulcio::Certificate::from_pem(pem) {
            Ok(cert) => cert,
            Err(e) => return invalid(None, format!("its certificate cannot be read: {e}"), None),
        };
        let signer = Some(cert.identity().to_string());
        // The certificate's own key must have made the signature, whoever issued it.
        if cert
            .key()
            .verify(Scheme::Cosign, &self.payload, &self.signature)
            .is_err()
        {
            return invalid(
                signer,
                "the signature does not match its certificate's key: altered after signing".into(),
                None,
            );
        }
        if let Err(reason) = check_payload(&self.payload, digest, repository) {
            return invalid(signer, reason, None);
        }
        let Some((root, identities)) = keyless else {
            return outcome(
                format,
                SignatureVerdict::Untrusted,
                signer,
                "keyless signature, and no Sigstore trust root is configured".into(),
                None,
            );
        };
        // When it was signed is what Rekor's signed entry timestamp proves, nothing else.
        let Some(bundle) = &self.bundle else {
            return invalid(
                signer,
                "keyless signature without a Rekor bundle: nothing proves when it was made".into(),
                None,
            );
        };
        let signed_at = match rekor::verify_bundle(
            bundle,
            &root.tlogs,
            &self.payload,
            &self.signature,
            &cert,
        ) {
            Ok(at) => at,
            Err(reason) => return invalid(signer, reason, None),
        };
        let chain = match self
            .chain
            .as_deref()
            .map(fulcio::certificates_from_pem)
            .transpose()
        {
            Ok(chain) => chain.unwrap_or_default(),
            Err(e) => {
                return invalid(
                    signer,
                    format!("its certificate chain cannot be read: {e}"),
                    Some(signed_at),
                )
            }
        };
        if let Err((verdict, reason)) = root.verify_certificate(&cert, &chain, signed_at) {
            return outcome(format, verdict, signer, reason, Some(signed_at));
        }
        if !identities.iter().any(|rule| rule.matches(cert.identity())) {
            let reason = if identities.is_empty() {
                "no certificate identity is trusted for this image".to_string()
            } else {
                format!("{} matches none of the trusted identities", cert.identity())
            };
            return outcome(
                format,
                SignatureVerdict::Untrusted,
                signer,
                reason,
                Some(signed_at),
            );
        }
        outcome(
            format,
            SignatureVerdict::Verified,
            signer,
            String::new(),
            Some(signed_at),
        )
    }
}

fn outcome(
    format: SignatureKind,
    verdict: SignatureVerdict,
    signer: Option<String>,
    reason: String,
    signed_at: Option<i64>,
) -> SignatureCheck {
    SignatureCheck {
        kind: format,
        verdict,
        signer,
        reason,
        signed_at,
        expires_at: None,
    }
}

#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// What a signed payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub docker_reference: String,
    pub manifest_digest: String,
}

pub fn parse_payload(bytes: &[u8]) -> Result<Payload, String> {
    if bytes.len() > MAX_PAYLOAD {
        return Err(format!(
            "the signed payload is {} bytes; cosign's are small JSON",
            bytes.len()
        ));
    }
    let p: SimpleSigning = serde_json::from_slice(bytes)
        .map_err(|e| format!("the signed payload is not cosign's simple signing JSON: {e}"))?;
    if p.critical.kind != PAYLOAD_TYPE {
        return Err(format!(
            "the signed payload's type is {:?}, not {PAYLOAD_TYPE:?}",
            p.critical.kind
        ));
    }
    Ok(Payload {
        docker_reference: p.critical.identity.docker_reference,
        manifest_digest: p.critical.image.docker_manifest_digest,
    })
}

/// The payload must name this manifest (a signature copied from another image names
/// that image) and this repository (a signature copied from another repository names
/// that one). The docker-reference is compared as a repository: a tag or digest on it
/// is ignored, as cosign ignores it.
pub fn check_payload(
    bytes: &[u8],
    digest: &str,
    repository: &ImageReference,
) -> Result<(), String> {
    let payload = parse_payload(bytes)?;
    if payload.manifest_digest != digest {
        return Err(format!(
            "it signs manifest {}, not this image's {digest}: a signature copied from another image",
            payload.manifest_digest
        ));
    }
    let signed = ImageReference::parse(&payload.docker_reference).map_err(|e| {
        format!(
            "its docker-reference {:?} is not a reference: {e}",
            payload.docker_reference
        )
    })?;
    if signed.name() != repository.name() {
        return Err(format!(
            "it was made for repository {}, not {}",
            signed.name(),
            repository.name()
        ));
    }
    Ok(())
}
