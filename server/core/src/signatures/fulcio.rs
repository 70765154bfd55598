//! Keyless signing: Fulcio certificates, the identity in them, and the offline trust
//! root (`trusted_root.json`, Sigstore's format) they are checked against. A Fulcio
//! certificate lives ten minutes, so its chain is checked at the time Rekor proves the
//! signature was made, never at the time of checking.

use super::keys::PublicKey;
use super::rekor::LogKey;
use super::{chain_failure, parse_time, CODE_SIGNING};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coastguard_model::signatures::SignatureVerdict;
use regex::Regex;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

/// Fulcio's extension holding the OIDC issuer: v1 (raw text) and v2 (DER UTF8String).
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const OID_SAN: &str = "2.5.29.17";

/// Who a keyless certificate was issued to: the SAN (an email or URI) and the OIDC
/// issuer that vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub issuer: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (issuer {})", self.subject, self.issuer)
    }
}

/// A trusted identity: both patterns must match the whole value, as cosign's
/// `--certificate-identity-regexp` and `--certificate-oidc-issuer-regexp` do.
#[derive(Debug, Clone)]
pub struct IdentityRule {
    subject: Regex,
    issuer: Regex,
}

impl IdentityRule {
    pub fn new(subject: &str, issuer: &str) -> Result<IdentityRule, String> {
        let anchored = |p: &str, what: &str| {
            if p.is_empty() || p.len() > 1024 {
                return Err(format!("the {what} pattern is 1 to 1024 characters"));
            }
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("the {what} pattern is not a regular expression: {e}"))
        };
        Ok(IdentityRule {
            subject: anchored(subject, "identity")?,
            issuer: anchored(issuer, "issuer")?,
        })
    }

    /// An identity pattern under one issuer URL, matched exactly (cosign's
    /// `--certificate-identity-regexp` with `--certificate-oidc-issuer`).
    pub fn with_issuer(subject: &str, issuer_url: &str) -> Result<IdentityRule, String> {
        IdentityRule::new(subject, &regex::escape(issuer_url))
    }

    pub fn matches(&self, identity: &Identity) -> bool {
        self.subject.is_match(&identity.subject) && self.issuer.is_match(&identity.issuer)
    }
}

/// A signing certificate, parsed only as far as verification needs.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    key: PublicKey,
    identity: Identity,
}

impl Certificate {
    pub fn from_pem(text: &str) -> Result<Certificate, String> {
        let first = certificates_from_pem(text)?
            .into_iter()
            .next()
            .ok_or("no CERTIFICATE block")?;
        Certificate::from_der(first)
    }

    pub fn from_der(der: Vec<u8>) -> Result<Certificate, String> {
        let cert = x509_cert::Certificate::from_der(&der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        let key = PublicKey::from_spki_der(&spki).map_err(|e| e.to_string())?;
        let mut subject = None;
        let mut issuer = None;
        for ext in tbs.extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id.to_string().as_str() {
                OID_SAN => {
                    let san = SubjectAltName::from_der(value)
                        .map_err(|e| format!("its subjectAltName cannot be read: {e}"))?;
                    subject = san.0.iter().find_map(|name| match name {
                        GeneralName::Rfc822Name(s) => Some(s.to_string()),
                        GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                        _ => None,
                    });
                }
                OID_ISSUER_V2 => {
                    let text = x509_cert::der::asn1::Utf8StringRef::from_der(value)
                        .map_err(|e| format!("its issuer extension cannot be read: {e}"))?;
                    issuer = Some(text.as_str().to_string());
                }
                OID_ISSUER_V1 if issuer.is_none() => {
                    issuer = Some(String::from_utf8_lossy(value).into_owned());
                }
                _ => {}
            }
        }
        let subject = subject.ok_or("the certificate names no email or URI identity")?;
        let issuer = issuer.ok_or("the certificate names no OIDC issuer (not issued by Fulcio)")?;
        Ok(Certificate {
            der,
            key,
            identity: Identity { subject, issuer },
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

pub use crate::registry::certificates_from_pem;

/// A certificate authority of the trust root: its chain (issuing certificate first,
/// root last) and when it issued.
#[derive(Debug, Clone)]
pub struct Authority {
    pub name: String,
    pub chain: Vec<Vec<u8>>,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
}

/// What keyless verification trusts, read from a local file: never downloaded.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    pub authorities: Vec<Authority>,
    pub tlogs: Vec<LogKey>,
}

#[derive(Deserialize)]
struct RootFile {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    tlogs: Vec<TlogEntry>,
    #[serde(rename = "certificateAuthorities", default)]
    authorities: Vec<AuthorityEntry>,
}

#[derive(Deserialize)]
struct TlogEntry {
    #[serde(rename = "publicKey")]
    public_key: KeyEntry,
    #[serde(rename = "logId")]
    log_id: Option<LogId>,
}

#[derive(Deserialize)]
struct LogId {
    #[serde(rename = "keyId")]
    key_id: String,
}

#[derive(Deserialize)]
struct KeyEntry {
    #[serde(rename = "rawBytes")]
    raw_bytes: String,
    #[serde(rename = "validFor")]
    valid_for: Option<Validity>,
}

#[derive(Deserialize)]
struct Validity {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct AuthorityEntry {
    #[serde(default)]
    uri: String,
    #[serde(rename = "certChain")]
    cert_chain: CertChain,
    #[serde(rename = "validFor")]
    valid_for: Option<Validity>,
}

#[derive(Deserialize)]
struct CertChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
struct RawCert {
    #[serde(rename = "rawBytes")]
    raw_bytes: String,
}

fn rfc3339(s: &Option<String>) -> Result<Option<i64>, String> {
    s.as_deref().map(parse_time).transpose()
}

fn validity(v: &Option<Validity>) -> Result<(Option<i64>, Option<i64>), String> {
    match v {
        Some(v) => Ok((rfc3339(&v.start)?, rfc3339(&v.end)?)),
        None => Ok((None, None)),
    }
}

impl TrustRoot {
    /// Reads Sigstore's `trusted_root.json` (media type
    /// `application/vnd.dev.sigstore.trustedroot+json`).
    pub fn from_json(text: &str) -> Result<TrustRoot, String> {
        let file: RootFile = serde_json::from_str(text)
            .map_err(|e| format!("not a Sigstore trusted_root.json: {e}"))?;
        if !file
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(format!(
                "media type {:?} is not a Sigstore trust root",
                file.media_type
            ));
        }
        let mut root = TrustRoot::default();
        for (n, ca) in file.authorities.iter().enumerate() {
            let chain = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| {
                    B64.decode(&c.raw_bytes)
                        .map_err(|e| format!("certificate authority {n}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if chain.is_empty() {
                return Err(format!("certificate authority {n} has no certificates"));
            }
            let (valid_from, valid_to) = validity(&ca.valid_for)?;
            root.authorities.push(Authority {
                name: if ca.uri.is_empty() {
                    format!("authority {n}")
                } else {
                    ca.uri.clone()
                },
                chain,
                valid_from,
                valid_to,
            });
        }
        for (n, log) in file.tlogs.iter().enumerate() {
            let der = B64
                .decode(&log.public_key.raw_bytes)
                .map_err(|e| format!("transparency log {n}: {e}"))?;
            let key =
                PublicKey::from_spki_der(&der).map_err(|e| format!("transparency log {n}: {e}"))?;
            let (from, to) = validity(&log.public_key.valid_for)?;
            let entry = LogKey::new(key, from, to);
            if let Some(id) = &log.log_id {
                let id = B64
                    .decode(&id.key_id)
                    .map_err(|e| format!("transparency log {n}: {e}"))?;
                if hex::encode(&id) != entry.log_id {
                    return Err(format!("transparency log {n}: its logId is not its key's"));
                }
            }
            root.tlogs.push(entry);
        }
        if root.authorities.is_empty() && root.tlogs.is_empty() {
            return Err(
                "the trust root lists no certificate authority and no transparency log".into(),
            );
        }
        Ok(root)
    }

    /// Checks `cert` chains, for code signing, to an authority that was issuing at `at`,
    /// with every certificate valid at `at`. `extra` are intermediates the signature
    /// carried (they are never trusted by themselves). A failure says whether the
    /// certificate is untrusted (no authority issued it) or invalid (not valid then).
    pub fn verify_certificate(
        &self,
        cert: &Certificate,
        extra: &[Vec<u8>],
        at: i64,
    ) -> Result<(), (SignatureVerdict, String)> {
        let invalid = |why: String| (SignatureVerdict::Invalid, why);
        let at_u = u64::try_from(at).map_err(|_| invalid("a signing time before 1970".into()))?;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(at_u));
        let leaf = CertificateDer::from(cert.der());
        let ee = webpki::EndEntityCert::try_from(&leaf)
            .map_err(|e| invalid(format!("the certificate cannot be used: {e:?}")))?;
        let mut last: Option<(SignatureVerdict, String)> = None;
        for ca in &self.authorities {
            if ca.valid_from.is_some_and(|from| at < from) || ca.valid_to.is_some_and(|to| at > to)
            {
                continue;
            }
            let (root, intermediates) = ca.chain.split_last().expect("chains are not empty");
            let root = CertificateDer::from(root.as_slice());
            let Ok(anchor) = webpki::anchor_from_trusted_cert(&root) else {
                last.get_or_insert(invalid(format!(
                    "{}: its root certificate cannot be used",
                    ca.name
                )));
                continue;
            };
            let intermediates: Vec<CertificateDer<'_>> = intermediates
                .iter()
                .chain(extra)
                .map(|d| CertificateDer::from(d.as_slice()))
                .collect();
            let anchors = [anchor];
            let checked = ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                &intermediates,
                time,
                webpki::KeyUsage::required(CODE_SIGNING),
                None,
                None,
            );
            match checked {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let (verdict, why) = chain_failure(e);
                    // An authority that did issue it explains best why it fails.
                    if last
                        .as_ref()
                        .is_none_or(|(v, _)| *v == SignatureVerdict::Untrusted)
                    {
                        last = Some((
                            verdict,
                            format!("{} (at the time Rekor proves): {why}", ca.name),
                        ));
                    }
                }
            }
        }
        Err(last.unwrap_or((
            SignatureVerdict::Untrusted,
            "no certificate authority of the trust root was issuing at the signing time".into(),
        )))
    }
}
