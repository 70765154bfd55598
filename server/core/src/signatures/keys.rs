//! Public keys that verify signatures, read from the PEM forms cosign and admins use
//! (`PUBLIC KEY`, a SubjectPublicKeyInfo; `RSA PUBLIC KEY`, PKCS #1) or from a
//! certificate's key. Verification is ring's; nothing here parses more than it needs.

use sha2::{Digest, Sha256};
use spki::der::Decode;
use spki::SubjectPublicKeyInfoRef;
use std::fmt;

/// The key types Coastguard verifies with (cosign's, and Notation's certificate keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::EcdsaP384 => "ecdsa-p384",
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Rsa => "rsa",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a signature's bytes are laid out and hashed. cosign signs with ASN.1 (DER)
/// ECDSA and PKCS #1 v1.5 or PSS RSA; JWS (Notation) with fixed-size ECDSA `r‖s` and PSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// What cosign produces for this key: SHA-256 (SHA-384 for P-384) ASN.1 ECDSA,
    /// Ed25519, or RSA with SHA-256 in PKCS #1 v1.5 or PSS.
    Cosign,
    /// JWS `ES256`/`ES384`/`ES512`: fixed-size ECDSA.
    JwsEs(u16),
    /// JWS `PS256`/`PS384`/`PS512`: RSA-PSS.
    JwsPs(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM public key: {0}")]
    Pem(String),
    #[error("the key is not valid DER: {0}")]
    Der(String),
    #[error("unsupported key type (algorithm {0}); ECDSA P-256/P-384, Ed25519 and RSA are")]
    Unsupported(String),
    #[error("RSA keys shorter than 2048 bits are refused")]
    WeakRsa,
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature does not match the signed data under this key")]
    Mismatch,
    #[error("{0} cannot verify a {1} signature")]
    WrongScheme(KeyKind, String),
}

/// A public key: its type, the SubjectPublicKeyInfo it came from (which names it) and
/// the key bytes ring takes.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    spki: Vec<u8>,
    key: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.kind, self.fingerprint())
    }
}

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";
const OID_RSA: &str = "1.2.840.113549.1.1.1";

impl PublicKey {
    /// The first `PUBLIC KEY` or `RSA PUBLIC KEY` block of a PEM text.
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let blocks = pem::parse_many(text).map_err(|e| KeyError::Pem(e.to_string()))?;
        let block = blocks
            .iter()
            .find(|b| matches!(b.tag(), "PUBLIC KEY" | "RSA PUBLIC KEY"))
            .ok_or_else(|| {
                KeyError::Pem("no PUBLIC KEY block (a private key or certificate?)".into())
            })?;
        match block.tag() {
            "RSA PUBLIC KEY" => PublicKey::rsa_pkcs1(block.contents()),
            _ => PublicKey::from_spki_der(block.contents()),
        }
    }

    /// A DER SubjectPublicKeyInfo (as in certificates).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let info =
            SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Der(e.to_string()))?;
        let key = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Der("the key bit string has unused bits".into()))?
            .to_vec();
        let algorithm = info.algorithm.oid.to_string();
        let kind = match algorithm.as_str() {
            OID_EC => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| KeyError::Der(e.to_string()))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => KeyKind::EcdsaP256,
                    OID_P384 => KeyKind::EcdsaP384,
                    other => return Err(KeyError::Unsupported(format!("EC curve {other}"))),
                }
            }
            OID_ED25519 => KeyKind::Ed25519,
            OID_RSA => {
                check_rsa_size(&key)?;
                KeyKind::Rsa
            }
            other => return Err(KeyError::Unsupported(other.to_string())),
        };
        Ok(PublicKey {
            kind,
            spki: der.to_vec(),
            key,
        })
    }

    /// A bare PKCS #1 RSAPublicKey: named by the same SubjectPublicKeyInfo a `PUBLIC
    /// KEY` block of the same key would have, so both forms get one fingerprint.
    fn rsa_pkcs1(der: &[u8]) -> Result<PublicKey, KeyError> {
        check_rsa_size(der)?;
        let spki = rsa_spki(der);
        Ok(PublicKey {
            kind: KeyKind::Rsa,
            spki,
            key: der.to_vec(),
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// `sha256:<hex>` of the SubjectPublicKeyInfo: how keys are named in statuses.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki)))
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Checks `signature` over `message` (the bytes signed, not a hash of them).
    pub fn verify(
        &self,
        scheme: Scheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        use ring::signature as s;
        let algorithms: &[&'static dyn s::VerificationAlgorithm] = match (self.kind, scheme) {
            (KeyKind::EcdsaP256, Scheme::Cosign) => &[&s::ECDSA_P256_SHA256_ASN1],
            (KeyKind::EcdsaP384, Scheme::Cosign) => &[&s::ECDSA_P384_SHA384_ASN1],
            (KeyKind::Ed25519, Scheme::Cosign) => &[&s::ED25519],
            (KeyKind::Rsa, Scheme::Cosign) => {
                &[&s::RSA_PKCS1_2048_8192_SHA256, &s::RSA_PSS_2048_8192_SHA256]
            }
            (KeyKind::EcdsaP256, Scheme::JwsEs(256)) => &[&s::ECDSA_P256_SHA256_FIXED],
            (KeyKind::EcdsaP384, Scheme::JwsEs(384)) => &[&s::ECDSA_P384_SHA384_FIXED],
            (KeyKind::Rsa, Scheme::JwsPs(256)) => &[&s::RSA_PSS_2048_8192_SHA256],
            (KeyKind::Rsa, Scheme::JwsPs(384)) => &[&s::RSA_PSS_2048_8192_SHA384],
            (KeyKind::Rsa, Scheme::JwsPs(512)) => &[&s::RSA_PSS_2048_8192_SHA512],
            (kind, scheme) => return Err(VerifyError::WrongScheme(kind, scheme_name(scheme))),
        };
        let ok = algorithms.iter().any(|alg| {
            s::UnparsedPublicKey::new(*alg, &self.key)
                .verify(message, signature)
                .is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

fn scheme_name(scheme: Scheme) -> String {
    match scheme {
        Scheme::Cosign => "cosign".into(),
        Scheme::JwsEs(n) => format!("ES{n}"),
        Scheme::JwsPs(n) => format!("PS{n}"),
    }
}

/// Refuses RSA moduli under 2048 bits (ring would too, later and less clearly).
fn check_rsa_size(pkcs1: &[u8]) -> Result<(), KeyError> {
    let modulus =
        rsa_modulus(pkcs1).ok_or_else(|| KeyError::Der("not an RSA public key".into()))?;
    let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < 2048 {
        return Err(KeyError::WeakRsa);
    }
    Ok(())
}

/// The modulus (without leading zeros) of a DER RSAPublicKey `SEQUENCE { n, e }`.
fn rsa_modulus(pkcs1: &[u8]) -> Option<&[u8]> {
    let (tag, body, _) = der_tlv(pkcs1)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, n, _) = der_tlv(body)?;
    if tag != 0x02 {
        return None;
    }
    let start = n.iter().position(|b| *b != 0)?;
    Some(&n[start..])
}

/// One DER tag-length-value: (tag, value, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The SubjectPublicKeyInfo DER of a PKCS #1 RSA key (rsaEncryption, NULL parameters).
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut body = ALGORITHM.to_vec();
    body.extend(der_header(0x03, bits.len()));
    body.extend(bits);
    let mut out = der_header(0x30, body.len());
    out.extend(body);
    out
}

fn der_header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out
}
