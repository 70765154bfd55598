//! Finding secrets in environment variables and image build history, and redacting them.
//!
//! Three signals, from strongest to weakest: a value matching a known credential format
//! (AWS keys, GitHub/Slack/Stripe tokens, private keys, JWTs, URLs with passwords); a
//! variable whose name says it holds a secret (`DB_PASSWORD`, `API_TOKEN`); a long
//! random-looking value (Shannon entropy), unless the name says it is a checksum, key
//! fingerprint, version or path. Values are never stored: callers keep only the hits.

use regex::Regex;
use std::sync::OnceLock;

/// One suspected secret: where (a variable name or a history line) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    pub location: String,
    pub reason: String,
}

struct Pattern {
    name: &'static str,
    regex: Regex,
}

fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            ("AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
            ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
            (
                "GitHub fine-grained token",
                r"\bgithub_pat_[A-Za-z0-9_]{60,}\b",
            ),
            ("GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
            ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
            ("Stripe secret key", r"\b[sr]k_live_[A-Za-z0-9]{20,}\b"),
            ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
            ("private key", r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
            (
                "JSON web token",
                r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            ),
            (
                "password in URL",
                r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:[^/\s@]+@",
            ),
        ]
        .into_iter()
        .map(|(name, re)| Pattern {
            name,
            regex: Regex::new(re).expect("valid pattern"),
        })
        .collect()
    })
}

fn secret_name() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(passw(or)?d|passwd|_pass$|^pass$|secret|token|api_?key|access_?key|private_?key|credential|auth_?key|client_?secret|signing_?key|encryption_?key)")
            .expect("valid pattern")
    })
}

/// Names whose long random values are expected and public (checksums, fingerprints).
fn benign_name() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(sha\d*|checksum|digest|fingerprint|gpg|pgp|_keys?$|version|_path$|^path$|_dir$|_home$|_url$|_uri$|hash|_file$)")
            .expect("valid pattern")
    })
}

/// Bits of entropy per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

fn looks_random(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if v.len() < 20 || v.contains(char::is_whitespace) || v.starts_with('/') {
        return false;
    }
    let is_hex = v.bytes().all(|b| b.is_ascii_hexdigit());
    let is_b64 = v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = v.bytes().any(|b| b.is_ascii_alphabetic());
    if is_hex {
        v.len() >= 32 && entropy(v) >= 3.0 && has_digit && has_alpha
    } else {
        is_b64 && has_digit && has_alpha && entropy(v) >= 4.0
    }
}

/// Why `value` (of variable `name`) looks like a secret, if it does.
pub fn classify(name: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(p) = patterns().iter().find(|p| p.regex.is_match(value)) {
        return Some(p.name.to_string());
    }
    let reference = value.starts_with('/')
        || value.starts_with("${")
        || name.to_ascii_uppercase().ends_with("_FILE");
    if secret_name().is_match(name) && !reference && !benign_name().is_match(name) {
        return Some("the variable name says it holds a secret".to_string());
    }
    if !benign_name().is_match(name) && looks_random(value) {
        return Some("a long random-looking value".to_string());
    }
    None
}

/// Checks `KEY=value` environment entries; returns one hit per suspicious key.
pub fn scan_env<'a>(entries: impl IntoIterator<Item = &'a str>) -> Vec<SecretHit> {
    entries
        .into_iter()
        .filter_map(|entry| {
            let (key, value) = entry.split_once('=')?;
            classify(key, value).map(|reason| SecretHit {
                location: key.to_string(),
                reason,
            })
        })
        .collect()
}

/// Redacts one build-history line (`ENV A=b`, `ARG`, `RUN |2 A=b B=c /bin/sh -c …`):
/// assignments whose value looks secret become `KEY=***`, and any known credential
/// format anywhere in the line becomes `***`. Returns the line and what was found.
pub fn redact_history_line(line: &str) -> (String, Vec<(String, String)>) {
    let mut hits = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for word in line.split(' ') {
        match word.split_once('=') {
            Some((key, value))
                if !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                match classify(key, value) {
                    Some(reason) => {
                        hits.push((key.to_string(), reason));
                        words.push(format!("{key}=***"));
                    }
                    None => words.push(word.to_string()),
                }
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut out = words.join(" ");
    for p in patterns() {
        if p.regex.is_match(&out) {
            hits.push((p.name.to_string(), p.name.to_string()));
            out = p.regex.replace_all(&out, "***").into_owned();
        }
    }
    (out, hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_formats_are_found_whatever_the_name() {
        assert_eq!(
            classify("X", "AKIAIOSFODNN7EXAMPLE").as_deref(),
            Some("AWS access key id")
        );
        assert_eq!(
            classify("UPSTREAM", "postgres://app:s3cr3t@db:5432/app").as_deref(),
            Some("password in URL")
        );
        assert_eq!(
            classify("GH", "ghp_abcdefghijklmnopqrstuvwxyz0123456789").as_deref(),
            Some("GitHub token")
        );
    }

    #[test]
    fn names_and_randomness_count_but_public_values_do_not() {
        assert!(classify("DB_PASSWORD", "hunter2").is_some());
        assert!(classify("API_TOKEN", "abc").is_some());
        assert!(classify("SESSION_KEY_MATERIAL", "q8Zr4LkP0vX2mN7tY5wB3cJ9").is_some());
        // References to secrets are not secrets.
        assert!(classify("DB_PASSWORD_FILE", "/run/secrets/db").is_none());
        assert!(classify("DB_PASSWORD", "/run/secrets/db").is_none());
        // Official images carry checksums and GPG fingerprints.
        assert!(classify(
            "PHP_SHA256",
            "c8f8d7d7c5bd0f9e2a4c4e9f5a1a3c6b7e9d2f4a6b8c0d2e4f6a8b0c2d4e6f80"
        )
        .is_none());
        assert!(classify("GPG_KEYS", "39B641343D8C104B2B146DC3F9C39DC0B9698544").is_none());
        assert!(classify("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin").is_none());
        assert!(classify("NGINX_VERSION", "1.25.3").is_none());
        assert!(classify("GREETING", "hello world").is_none());
    }

    #[test]
    fn history_lines_are_redacted() {
        let (line, hits) = redact_history_line("/bin/sh -c #(nop)  ENV API_TOKEN=abc123 MODE=prod");
        assert_eq!(line, "/bin/sh -c #(nop)  ENV API_TOKEN=*** MODE=prod");
        assert_eq!(hits.len(), 1);
        let (line, hits) = redact_history_line(
            "RUN |1 NPM_TOKEN=npm_Zx81kq2LmN0pQ7rT5vW3yB9 /bin/sh -c curl -H 'Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789' x",
        );
        assert!(!line.contains("npm_Zx81"), "{line}");
        assert!(!line.contains("ghp_"), "{line}");
        assert_eq!(hits.len(), 2, "{hits:?}");
        let (line, hits) = redact_history_line("/bin/sh -c apk add --no-cache curl");
        assert_eq!(line, "/bin/sh -c apk add --no-cache curl");
        assert!(hits.is_empty());
    }
}
