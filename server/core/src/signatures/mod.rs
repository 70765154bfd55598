//! Image signatures: cosign (by key, and keyless with Fulcio and Rekor) and Notation,
//! verified offline with the crypto already in the build (ring, rustls-webpki, RustCrypto
//! DER types). Why not the `sigstore` crate: `docs/design/signatures.md`.
//!
//! Everything here is plain code over bytes the caller fetched: it decides, it never
//! reaches a network or a database. Errors are `String` reasons meant for people: each
//! ends up in a signature's status.

pub mod checks;
pub mod cosign;
pub mod fulcio;
pub mod keys;
pub mod notation;
pub mod rekor;
pub mod trust;
pub mod verify;

use coastguard_model::signatures::SignatureVerdict;

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER contents: the usage signing certificates
/// must allow.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// An RFC 3339 time (as trust roots and envelopes write them), in Unix seconds.
fn parse_time(s: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// Why a chain fails whose signing certificate is not valid yet: the one failure time
/// can mend.
const NOT_YET_VALID: &str = "the signing certificate was not yet valid when it signed";

/// What a failed certificate chain says about a signature: made by a certificate no
/// trusted authority issued (untrusted), or by one that was not valid when it signed
/// (invalid).
fn chain_failure(e: webpki::Error) -> (SignatureVerdict, String) {
    use SignatureVerdict::{Invalid, Untrusted};
    match e {
        webpki::Error::UnknownIssuer => (
            Untrusted,
            "issued by no trusted certificate authority".into(),
        ),
        webpki::Error::CertExpired { .. } => (
            Invalid,
            "the signing certificate had expired when it signed".into(),
        ),
        webpki::Error::CertNotValidYet { .. } => (Invalid, NOT_YET_VALID.into()),
        webpki::Error::RequiredEkuNotFoundContext(_) => (
            Invalid,
            "the signing certificate is not for code signing".into(),
        ),
        other => (Invalid, format!("the certificate chain fails: {other:?}")),
    }
}

#[cfg(test)]
mod tests;
