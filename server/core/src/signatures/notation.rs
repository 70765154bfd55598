//! Notary Project (Notation) signatures: a JWS envelope (JSON serialization, one
//! signature) stored as an OCI referrer of artifact type
//! `application/vnd.cncf.notary.signature`. The `notary.x509` scheme: the leaf of the
//! `x5c` chain signs, and the chain must end at a CA an admin put in the trust store.
//!
//! Without a timestamp countersignature (RFC 3161), the signing time in the envelope is
//! only the signer's claim, so the chain is checked as of now, as Notation does; an
//! expired signing certificate makes the signature invalid.

use super::keys::{PublicKey, Scheme};
use super::{chain_failure, parse_time, CODE_SIGNING};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use coastguard_model::signatures::{SignatureCheck, SignatureKind, SignatureVerdict};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Deserialize;
use std::time::Duration;
use x509_cert::der::{Decode, Encode};

pub const ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
pub const ENVELOPE_JWS: &str = "application/jose+json";
pub const PAYLOAD_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";
const SCHEME_X509: &str = "notary.x509";
const SIGNING_AUTHORITY: &str = "notary.x509.signingAuthority";
/// The protected header fields Notation defines; a `crit` entry outside them cannot be
/// honoured, so the envelope is refused, as the JWS rules require.
const KNOWN_CRITICAL: [&str; 3] = [
    "io.cncf.notary.signingScheme",
    "io.cncf.notary.expiry",
    "io.cncf.notary.authenticSigningTime",
];
const MAX_ENVELOPE: usize = 256 * 1024;

/// A CA certificate an admin trusts for Notation signatures.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    pub name: String,
    pub der: Vec<u8>,
}

#[derive(Deserialize)]
struct Envelope {
    payload: String,
    protected: String,
    #[serde(default)]
    header: Header,
    signature: String,
}

#[derive(Deserialize, Default)]
struct Header {
    #[serde(default)]
    x5c: Vec<String>,
}

#[derive(Deserialize)]
struct Protected {
    alg: String,
    cty: Option<String>,
    #[serde(default)]
    crit: Vec<String>,
    #[serde(rename = "io.cncf.notary.signingScheme")]
    scheme: Option<String>,
    #[serde(rename = "io.cncf.notary.signingTime")]
    signing_time: Option<String>,
    #[serde(rename = "io.cncf.notary.expiry")]
    expiry: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "targetArtifact")]
    target: Target,
}

#[derive(Deserialize)]
struct Target {
    digest: String,
}

/// Checks one envelope (the `application/jose+json` layer's bytes) for the manifest
/// `digest`, against the trust store, as of `now` (Unix seconds).
pub fn check(envelope: &[u8], digest: &str, trusted: &[TrustedCa], now: i64) -> SignatureCheck {
    let (verdict, signer, reason, signed_at, expires_at) =
        match verify(envelope, digest, trusted, now) {
            Ok(v) => (
                SignatureVerdict::Verified,
                Some(v.signer),
                String::new(),
                v.signed_at,
                v.until,
            ),
            Err(Failure {
                verdict,
                signer,
                reason,
                at,
            }) => {
                // A certificate not valid yet may be later: this verdict holds for now only.
                let until = (reason == super::NOT_YET_VALID).then_some(now);
                (verdict, signer, reason, at, until)
            }
        };
    SignatureCheck {
        kind: SignatureKind::Notation,
        verdict,
        signer,
        reason,
        signed_at,
        expires_at,
    }
}

/// A verified envelope: who signed, when they say, and until when it holds (the first
/// expiry among its certificates and the signature itself).
struct Verified {
    signer: String,
    signed_at: Option<i64>,
    until: Option<i64>,
}

/// When a certificate stops being valid, Unix seconds.
fn not_after(der: &[u8]) -> Option<i64> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let secs = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    i64::try_from(secs).ok()
}

struct Failure {
    verdict: SignatureVerdict,
    signer: Option<String>,
    reason: String,
    at: Option<i64>,
}

fn invalid(reason: impl Into<String>) -> Failure {
    Failure {
        verdict: SignatureVerdict::Invalid,
        signer: None,
        reason: reason.into(),
        at: None,
    }
}

fn verify(
    envelope: &[u8],
    digest: &str,
    trusted: &[TrustedCa],
    now: i64,
) -> Result<Verified, Failure> {
    if envelope.len() > MAX_ENVELOPE {
        return Err(invalid(format!(
            "the envelope is {} bytes; Notation's are small",
            envelope.len()
        )));
    }
    let env: Envelope = serde_json::from_slice(envelope)
        .map_err(|e| invalid(format!("not a JWS envelope: {e}")))?;
    let protected_bytes = B64URL
        .decode(&env.protected)
        .map_err(|e| invalid(format!("the protected header is not base64url: {e}")))?;
    let protected: Protected = serde_json::from_slice(&protected_bytes)
        .map_err(|e| invalid(format!("the protected header cannot be read: {e}")))?;
    if protected.cty.as_deref() != Some(PAYLOAD_TYPE) {
        return Err(invalid(format!(
            "its content type is {:?}, not Notation's payload",
            protected.cty
        )));
    }
    if let Some(unknown) = protected
        .crit
        .iter()
        .find(|c| !KNOWN_CRITICAL.contains(&c.as_str()))
    {
        return Err(invalid(format!(
            "it marks {unknown:?} critical, which Coastguard does not know"
        )));
    }
    match protected.scheme.as_deref() {
        Some(SCHEME_X509) => {}
        Some(SIGNING_AUTHORITY) => {
            return Err(invalid("the notary.x509.signingAuthority scheme needs a signing authority, which Coastguard does not check yet"))
        }
        other => return Err(invalid(format!("signing scheme {other:?} is not notary.x509"))),
    }
    let signed_at = protected
        .signing_time
        .as_deref()
        .and_then(|t| parse_time(t).ok());
    let scheme = match protected.alg.as_str() {
        "ES256" => Scheme::JwsEs(256),
        "ES384" => Scheme::JwsEs(384),
        "PS256" => Scheme::JwsPs(256),
        "PS384" => Scheme::JwsPs(384),
        "PS512" => Scheme::JwsPs(512),
        other => {
            return Err(invalid(format!(
                "algorithm {other:?} is not one Notation allows"
            )))
        }
    };
    let chain = env
        .header
        .x5c
        .iter()
        .map(|c| B64.decode(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("its x5c certificates are not base64: {e}")))?;
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(invalid("it carries no signing certificate (x5c)"));
    };
    let (key, subject) = leaf_key(leaf).map_err(invalid)?;
    let signature = B64URL
        .decode(&env.signature)
        .map_err(|e| invalid(format!("the signature is not base64url: {e}")))?;
    let signing_input = format!("{}.{}", env.protected, env.payload);
    let fail = |verdict, reason: String| Failure {
        verdict,
        signer: Some(subject.clone()),
        reason,
        at: signed_at,
    };
    key.verify(scheme, signing_input.as_bytes(), &signature)
        .map_err(|e| {
            fail(
                SignatureVerdict::Invalid,
                format!("{e}: altered after signing"),
            )
        })?;
    let mut expires = None;
    if let Some(expiry) = protected.expiry.as_deref() {
        match parse_time(expiry) {
            Ok(t) if t < now => {
                return Err(fail(
                    SignatureVerdict::Invalid,
                    format!("the signature expired at {expiry}"),
                ))
            }
            Ok(t) => expires = Some(t),
            Err(e) => return Err(fail(SignatureVerdict::Invalid, format!("its expiry: {e}"))),
        }
    }
    let payload = B64URL.decode(&env.payload).map_err(|e| {
        fail(
            SignatureVerdict::Invalid,
            format!("the payload is not base64url: {e}"),
        )
    })?;
    let payload: Payload = serde_json::from_slice(&payload).map_err(|e| {
        fail(
            SignatureVerdict::Invalid,
            format!("the payload names no target artifact: {e}"),
        )
    })?;
    if payload.target.digest != digest {
        return Err(fail(
            SignatureVerdict::Invalid,
            format!(
                "it signs {}, not this image's {digest}: a signature copied from another image",
                payload.target.digest
            ),
        ));
    }
    chain_to_trust_store(leaf, intermediates, trusted, now).map_err(|(v, r)| fail(v, r))?;
    let until = chain
        .iter()
        .filter_map(|der| not_after(der))
        .chain(expires)
        .min();
    Ok(Verified {
        signer: subject,
        signed_at,
        until,
    })
}

/// The leaf's key, and its subject for people.
fn leaf_key(der: &[u8]) -> Result<(PublicKey, String), String> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("its signing certificate cannot be read: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let key = PublicKey::from_spki_der(&spki)
        .map_err(|e| format!("its signing certificate's key: {e}"))?;
    Ok((key, tbs.subject.to_string()))
}

fn chain_to_trust_store(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    trusted: &[TrustedCa],
    now: i64,
) -> Result<(), (SignatureVerdict, String)> {
    if trusted.is_empty() {
        return Err((
            SignatureVerdict::Untrusted,
            "no Notation trust store applies to this image".into(),
        ));
    }
    let leaf = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf).map_err(|e| {
        (
            SignatureVerdict::Invalid,
            format!("its signing certificate cannot be used: {e:?}"),
        )
    })?;
    let roots: Vec<CertificateDer<'_>> = trusted
        .iter()
        .map(|t| CertificateDer::from(t.der.as_slice()))
        .collect();
    let anchors = roots
        .iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect::<Vec<_>>();
    // The x5c chain ends with its root; only the trust store's copy is trusted.
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        webpki::KeyUsage::required_if_present(CODE_SIGNING),
        None,
        None,
    )
    .map(|_| ())
    .map_err(chain_failure)
}
