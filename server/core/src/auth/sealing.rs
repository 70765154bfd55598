//! Sealing secrets Coastguard must keep (cluster credentials): ChaCha20-Poly1305 with a
//! 32-byte key from the configuration (`secret_key` or `secret_key_file`), a fresh
//! random nonce per seal, and a purpose string bound in as associated data, so a sealed
//! value copied to another purpose does not open. Stored form: `cg1:` + base64 of nonce
//! and ciphertext. The key never leaves this module in clear (`Debug` shows `***`).

use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;

const PREFIX: &str = "cg1:";

/// The key that seals stored secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Box<[u8; 32]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// How to make a key, for the error messages that ask for one.
pub const HOW_TO_MAKE_ONE: &str =
    "32 random bytes as 64 hex characters or base64, e.g. from `openssl rand -hex 32`";

impl SecretKey {
    /// Reads a key written as 64 hex characters or as base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| format!("not a key: expected {HOW_TO_MAKE_ONE}"))?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "a key is 32 bytes, this is {}: expected {HOW_TO_MAKE_ONE}",
                b.len()
            )
        })?;
        if key.iter().all(|b| *b == key[0]) {
            return Err(format!(
                "this key is one byte repeated: expected {HOW_TO_MAKE_ONE}"
            ));
        }
        Ok(SecretKey(Box::new(key)))
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, self.0.as_slice()).expect("a 32-byte key"),
        )
    }

    /// Seals `plain` for `purpose` (e.g. `"cluster-credentials"`).
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source");
        let mut data = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut data,
            )
            .expect("sealing cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// Opens a value sealed for `purpose`; fails on another key, another purpose, or any
    /// change to the stored text.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|raw| raw.len() > NONCE_LEN)
            .ok_or(SealError::Malformed)?;
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut data = data.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut data)
            .map_err(|_| SealError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the stored secret is not in Coastguard's sealed form")]
    Malformed,
    #[error(
        "the stored secret does not open with the configured secret_key (was the key changed?)"
    )]
    WrongKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        let mut k = [byte; 32];
        k[0] = 0;
        SecretKey::parse(&hex::encode(k)).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_purpose_only() {
        let k = key(7);
        let sealed = k.seal("cluster-credentials", b"token-abc");
        assert!(sealed.starts_with("cg1:"));
        assert!(!sealed.contains("token-abc"));
        assert_eq!(
            k.open("cluster-credentials", &sealed).unwrap(),
            b"token-abc"
        );
        assert_eq!(k.open("registry", &sealed), Err(SealError::WrongKey));
        assert_eq!(
            key(8).open("cluster-credentials", &sealed),
            Err(SealError::WrongKey)
        );
        // Two seals of one value differ (fresh nonce).
        assert_ne!(sealed, k.seal("cluster-credentials", b"token-abc"));
        // Any change is detected.
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(k.open("cluster-credentials", &tampered).is_err());
        assert_eq!(
            k.open("cluster-credentials", "plain"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn keys_are_32_bytes_in_hex_or_base64() {
        let hex_key = "7f".repeat(31) + "00";
        assert!(SecretKey::parse(&hex_key).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD
            .encode([3u8; 31].iter().chain(&[9u8]).copied().collect::<Vec<_>>());
        assert!(SecretKey::parse(&b64).is_ok());
        assert!(SecretKey::parse("short")
            .unwrap_err()
            .contains("openssl rand -hex 32"));
        assert!(SecretKey::parse(&"00".repeat(32))
            .unwrap_err()
            .contains("repeated"));
        assert!(SecretKey::parse(&hex::encode([1u8; 16])).is_err());
        assert_eq!(format!("{:?}", key(5)), "SecretKey(***)");
    }
}
