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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(verdict: SignatureVerdict) -> SignatureCheck {
        SignatureCheck {
            kind: SignatureKind::CosignKey,
            verdict,
            signer: None,
            reason: String::new(),
            signed_at: None,
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
}
