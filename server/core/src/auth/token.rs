//! API token secrets: `cg_` followed by 40 hex characters (160 random bits). The store
//! keeps the SHA-256 of the whole string; a fast hash is right for random secrets.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "cg_";

pub struct Generated {
    pub secret: String,
    pub hash: String,
    /// Shown in lists so people can tell tokens apart: `cg_1a2b3c4d`.
    pub display_prefix: String,
}

pub fn generate() -> Generated {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex::encode(bytes));
    Generated {
        hash: hash(&secret),
        display_prefix: secret[..PREFIX.len() + 8].to_string(),
        secret,
    }
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Cheap shape check before touching the database.
pub fn looks_valid(secret: &str) -> bool {
    secret
        .strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == 40 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let t = generate();
        assert!(looks_valid(&t.secret), "{}", t.secret);
        assert_eq!(t.hash, hash(&t.secret));
        assert_eq!(t.hash.len(), 64);
        assert!(t.secret.starts_with(&t.display_prefix));
        assert_ne!(generate().secret, t.secret);
    }

    #[test]
    fn rejects_malformed_tokens() {
        assert!(!looks_valid("cg_short"));
        assert!(!looks_valid(&format!("xx_{}", "a".repeat(40))));
        assert!(!looks_valid(&format!("cg_{}", "g".repeat(40))));
    }
}
