//! Rekor's signed entry timestamp (SET): the transparency log's signature over the
//! entry it logged, which proves when a keyless signature was made. cosign attaches it
//! as a bundle `{SignedEntryTimestamp, Payload{body, integratedTime, logIndex, logID}}`.
//! Checked offline against the log keys of the trust root, as of the time it proves.

use super::fulcio::Certificate;
use super::keys::{PublicKey, Scheme};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A transparency log's key, as `trusted_root.json` lists it.
#[derive(Debug, Clone)]
pub struct LogKey {
    /// Hex SHA-256 of the key's SubjectPublicKeyInfo: how bundles name their log.
    pub log_id: String,
    pub key: PublicKey,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
}

impl LogKey {
    pub fn new(key: PublicKey, valid_from: Option<i64>, valid_to: Option<i64>) -> LogKey {
        LogKey {
            log_id: hex::encode(Sha256::digest(key.spki_der())),
            key,
            valid_from,
            valid_to,
        }
    }

    fn valid_at(&self, at: i64) -> bool {
        self.valid_from.is_none_or(|from| at >= from) && self.valid_to.is_none_or(|to| at <= to)
    }
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "SignedEntryTimestamp")]
    set: String,
    #[serde(rename = "Payload")]
    payload: BundlePayload,
}

#[derive(Deserialize)]
struct BundlePayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// Verifies the bundle's SET and that the entry it logs is this signature, over this
/// payload, by this certificate. Returns the integrated time (Unix seconds).
pub fn verify_bundle(
    bundle: &str,
    logs: &[LogKey],
    payload: &[u8],
    signature: &[u8],
    cert: &Certificate,
) -> Result<i64, String> {
    let b: Bundle = serde_json::from_str(bundle)
        .map_err(|e| format!("its Rekor bundle cannot be read: {e}"))?;
    let p = &b.payload;
    let log = logs
        .iter()
        .find(|l| l.log_id.eq_ignore_ascii_case(&p.log_id))
        .ok_or_else(|| {
            format!(
                "its Rekor bundle comes from log {}, which the trust root does not list",
                p.log_id
            )
        })?;
    if !log.valid_at(p.integrated_time) {
        return Err(format!(
            "the Rekor log key was not valid at the entry's time ({})",
            p.integrated_time
        ));
    }
    let set = B64
        .decode(b.set.trim())
        .map_err(|e| format!("its signed entry timestamp is not base64: {e}"))?;
    if log
        .key
        .verify(Scheme::Cosign, canonical(p).as_bytes(), &set)
        .is_err()
    {
        return Err(
            "Rekor's signed entry timestamp does not verify: the bundle was altered or made up"
                .into(),
        );
    }
    check_entry(&p.body, payload, signature, cert)?;
    Ok(p.integrated_time)
}

/// RFC 8785 JSON of the bundle payload: keys sorted, no spaces. Every value is an ASCII
/// string without escapes (base64, hex) or an integer, so this is exact.
fn canonical(p: &BundlePayload) -> String {
    let text = |s: &str| serde_json::to_string(s).expect("a string serializes");
    format!(
        "{{\"body\":{},\"integratedTime\":{},\"logID\":{},\"logIndex\":{}}}",
        text(&p.body),
        p.integrated_time,
        text(&p.log_id),
        p.log_index
    )
}

/// The logged entry (`hashedrekord`, or the older `rekord`) must hold this signature,
/// the SHA-256 of this payload, and this certificate.
fn check_entry(
    body: &str,
    payload: &[u8],
    signature: &[u8],
    cert: &Certificate,
) -> Result<(), String> {
    let body = B64
        .decode(body.trim())
        .map_err(|e| format!("the logged entry is not base64: {e}"))?;
    let entry: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the logged entry is not JSON: {e}"))?;
    let kind = entry["kind"].as_str().unwrap_or_default();
    if !matches!(kind, "hashedrekord" | "rekord") {
        return Err(format!(
            "the logged entry is a {kind:?}, not a signature (hashedrekord)"
        ));
    }
    let spec = &entry["spec"];
    let hash = &spec["data"]["hash"];
    let payload_hash = hex::encode(Sha256::digest(payload));
    if hash["algorithm"].as_str() != Some("sha256")
        || hash["value"].as_str() != Some(payload_hash.as_str())
    {
        return Err("the logged entry is for other signed data than this payload".into());
    }
    let logged_signature = spec["signature"]["content"]
        .as_str()
        .and_then(|s| B64.decode(s).ok());
    if logged_signature.as_deref() != Some(signature) {
        return Err("the logged entry holds another signature than this one".into());
    }
    let logged_cert = spec["signature"]["publicKey"]["content"]
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .and_then(|pem| String::from_utf8(pem).ok())
        .and_then(|pem| Certificate::from_pem(&pem).ok());
    if logged_cert.as_ref().map(Certificate::der) != Some(cert.der()) {
        return Err("the logged entry names another certificate than this signature's".into());
    }
    Ok(())
}
