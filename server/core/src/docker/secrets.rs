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

const RANDOM_LOOKING: &str = "a long random-looking value";

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
        return Some(RANDOM_LOOKING.to_string());
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

/// Flags whose next word is a secret: `--password hunter2`, `--token abc`.
fn secret_flag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^--?[a-z0-9_-]*(passw(or)?d|passwd|token|secret|api-?key|access-?key|private-?key|credentials?)$")
            .expect("valid pattern")
    })
}

/// `scheme://user:password@`: the password goes, the rest of the URL stays readable.
fn url_password() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:)[^/\s@]+@").expect("valid pattern")
    })
}

/// `KEY=value`, `--key=value`, `-Dkey=value`: the key as a secret-name check sees it.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (key, value) = word.split_once('=')?;
    let bare = key.trim_start_matches('-');
    let bare = bare
        .strip_prefix('D')
        .filter(|_| key.starts_with("-D"))
        .unwrap_or(bare);
    let ok = !bare.is_empty()
        && bare
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some((bare, value))
}

/// The one redactor for text an engine or a registry gives us (build history, `Cmd`,
/// `Entrypoint`, healthcheck commands, label values): suspected secrets become `***`
/// before anything is stored. It finds
/// - assignments whose value looks secret (`API_TOKEN=…`, `--db-password=…`,
///   `-Djavax.net.ssl.keyStorePassword=…`), whatever whitespace separates them (build
///   history indents continuation lines with tabs);
/// - the word after a secret flag (`--password hunter2`), after `-u`/`--user` when it
///   holds `user:password`, and after `Authorization: Bearer|Basic|token`;
/// - `-pSECRET` in a MySQL or MariaDB client command;
/// - passwords in URLs (`scheme://user:***@host`) and known credential formats anywhere.
///
/// Returns the text and what was found (what, why); never the secret itself.
pub fn redact_text(text: &str) -> (String, Vec<(String, String)>) {
    let mut hits = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mysql = ["mysql", "mariadb"].iter().any(|m| lower.contains(m));
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    // What the previous words make of this one.
    #[derive(PartialEq)]
    enum Next {
        Plain,
        Secret(&'static str),
        UserPass,
        AuthScheme,
    }
    let mut next = Next::Plain;
    for m in word_regex().find_iter(text) {
        out.push_str(&text[last..m.start()]);
        last = m.end();
        let raw = m.as_str();
        if raw == COMMAND_SEP {
            // Between the parts of a command: not a word, and changes nothing.
            out.push_str(raw);
            continue;
        }
        // Quotes around a word (`'Authorization:`, `secret'`) stay where they were.
        let lead = raw.len() - raw.trim_start_matches(['\'', '"']).len();
        let trail = raw.len() - raw.trim_end_matches(['\'', '"', ';', ',']).len();
        let word = &raw[lead..raw.len().saturating_sub(trail).max(lead)];
        let (head, tail) = (
            &raw[..lead],
            &raw[raw.len() - trail.min(raw.len() - lead)..],
        );
        let mut replaced: Option<String> = None;
        match std::mem::replace(&mut next, Next::Plain) {
            Next::Secret(why) if !word.is_empty() && !word.starts_with('-') => {
                hits.push((
                    why.to_string(),
                    "a value given to a secret flag".to_string(),
                ));
                replaced = Some("***".into());
            }
            Next::UserPass => {
                if let Some((user, _)) = word.split_once(':') {
                    hits.push((
                        "user:password".into(),
                        "a password given with -u/--user".into(),
                    ));
                    replaced = Some(format!("{user}:***"));
                }
            }
            Next::AuthScheme => {
                if ["bearer", "basic", "token", "digest"]
                    .contains(&word.to_ascii_lowercase().as_str())
                {
                    next = Next::Secret("Authorization header");
                } else if !word.is_empty() {
                    hits.push((
                        "Authorization header".into(),
                        "a credential in an Authorization header".into(),
                    ));
                    replaced = Some("***".into());
                }
            }
            _ => {}
        }
        if replaced.is_none() && next == Next::Plain {
            let secret_assignment = assignment(word)
                .and_then(|(key, value)| classify(key, value).map(|why| (key, value, why)));
            if let Some((key, value, reason)) = secret_assignment {
                hits.push((key.to_string(), reason));
                let kept = &word[..word.len() - value.len()];
                replaced = Some(format!("{kept}***"));
            } else if mysql && word.len() > 2 && word.starts_with("-p") {
                hits.push(("-p".into(), "a password given to a MySQL client".into()));
                replaced = Some("-p***".into());
            } else if secret_flag().is_match(word) {
                next = Next::Secret("secret flag");
            } else if word == "-u" || word == "--user" {
                next = Next::UserPass;
            } else if word.eq_ignore_ascii_case("authorization:") {
                next = Next::AuthScheme;
            } else if let Some(rest) = word.strip_prefix("--user=").filter(|r| r.contains(':')) {
                let user = rest.split_once(':').map_or(rest, |(u, _)| u);
                hits.push((
                    "user:password".into(),
                    "a password given with --user".into(),
                ));
                replaced = Some(format!("--user={user}:***"));
            }
        }
        match replaced {
            Some(r) => {
                out.push_str(head);
                out.push_str(&r);
                out.push_str(tail);
            }
            None => out.push_str(raw),
        }
    }
    out.push_str(&text[last..]);
    if url_password().is_match(&out) {
        hits.push(("password in URL".into(), "password in URL".into()));
        out = url_password().replace_all(&out, "${1}***@").into_owned();
    }
    for p in patterns().iter().filter(|p| p.name != "password in URL") {
        if p.regex.is_match(&out) {
            hits.push((p.name.to_string(), p.name.to_string()));
            out = p.regex.replace_all(&out, "***").into_owned();
        }
    }
    (out, hits)
}

/// What [`redact_command`] puts between a command's parts (ASCII unit separator).
const COMMAND_SEP: &str = "\u{1f}";

fn word_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\S+").expect("valid pattern"))
}

/// Redacts each part of a command (`Cmd`, `Entrypoint`, a healthcheck's test), taking
/// the parts together so that `["--password", "x"]` is caught as well as `"--password x"`.
pub fn redact_command(parts: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    // Joined with a separator no part contains, redacted as one text, split again.
    const SEP: &str = COMMAND_SEP;
    if parts.iter().any(|p| p.contains(SEP)) {
        let mut hits = Vec::new();
        let out = parts
            .iter()
            .map(|p| {
                let (r, h) = redact_text(p);
                hits.extend(h);
                r
            })
            .collect();
        return (out, hits);
    }
    let joined = parts.join(&format!(" {SEP} "));
    let (redacted, hits) = redact_text(&joined);
    let out = redacted
        .split(&format!(" {SEP} "))
        .map(str::to_string)
        .collect();
    (out, hits)
}

/// A label's value, redacted when its key says it holds credentials or the value holds
/// a secret. Returns the value to keep and why it was redacted.
pub fn redact_label(key: &str, value: &str) -> (String, Option<String>) {
    static AUTH_KEY: OnceLock<Regex> = OnceLock::new();
    let auth_key = AUTH_KEY.get_or_init(|| {
        Regex::new(r"(?i)(^|[._-])(auth|basic-?auth|authorization|htpasswd|credentials?)$")
            .expect("valid pattern")
    });
    if auth_key.is_match(key) && !value.trim().is_empty() {
        return (
            "***".into(),
            Some("the label's name says it holds credentials".into()),
        );
    }
    let (out, hits) = redact_text(value);
    if let Some((_, why)) = hits.into_iter().next() {
        return (out, Some(why));
    }
    // Labels carry commit hashes and generated ids: randomness alone says nothing here.
    match classify(key, value) {
        Some(reason) if reason != RANDOM_LOOKING => ("***".into(), Some(reason)),
        _ => (value.to_string(), None),
    }
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

    /// Each shape, with the secret that must go and what must stay.
    #[test]
    fn every_shape_of_secret_is_redacted() {
        let cases: [(&str, &str, &str); 12] = [
            (
                "RUN |1 NPM_TOKEN=s3cretNpmValue /bin/sh -c npm ci",
                "s3cretNpmValue",
                "NPM_TOKEN=***",
            ),
            (
                "/bin/sh -c set -e \\\n\tNPM_TOKEN=tabIndentedSecret99 npm ci",
                "tabIndentedSecret99",
                "\tNPM_TOKEN=***",
            ),
            (
                "/bin/sh -c ./configure --password=buildPassw0rd",
                "buildPassw0rd",
                "--password=***",
            ),
            (
                "/app/server --db-password=cmdPassw0rd --port 80",
                "cmdPassw0rd",
                "--db-password=*** --port 80",
            ),
            (
                "/app/server --password hunter2hunter2 -v",
                "hunter2hunter2",
                "--password *** -v",
            ),
            (
                "mysqladmin ping -uroot -pHealthPassw0rd",
                "HealthPassw0rd",
                "-uroot -p***",
            ),
            (
                "curl -u admin:curlPassw0rd https://x",
                "curlPassw0rd",
                "-u admin:***",
            ),
            (
                "curl --user=admin:curlPassw0rd2 https://x",
                "curlPassw0rd2",
                "--user=admin:***",
            ),
            (
                "curl -H 'Authorization: Bearer abc.def.ghi' https://x",
                "abc.def.ghi",
                "'Authorization: Bearer ***'",
            ),
            (
                "curl -H \"Authorization: Basic YWRtaW46cGFzcw==\" x",
                "YWRtaW46cGFzcw==",
                "Basic ***\"",
            ),
            (
                "wget https://bob:urlPassw0rd@example.com/x",
                "urlPassw0rd",
                "https://bob:***@example.com/x",
            ),
            (
                "java -Djavax.net.ssl.keyStorePassword=jksPassw0rd -jar app.jar",
                "jksPassw0rd",
                "-Djavax.net.ssl.keyStorePassword=***",
            ),
        ];
        for (text, secret, kept) in cases {
            let (out, hits) = redact_text(text);
            assert!(!out.contains(secret), "{text} -> {out}");
            assert!(out.contains(kept), "{text} -> {out}, expected {kept}");
            assert!(!hits.is_empty(), "{text}");
            assert!(hits
                .iter()
                .all(|(a, b)| !a.contains(secret) && !b.contains(secret)));
        }
    }

    #[test]
    fn ordinary_commands_are_left_alone() {
        for text in [
            "/bin/sh -c apk add --no-cache curl",
            "nginx -g daemon off;",
            "docker run -p8080:80 web",
            "/bin/sh -c mkdir -p /var/run/app",
            "CMD [\"redis-server\", \"--port\", \"6379\"]",
            "curl -u admin https://x",
            "ls --color=auto",
        ] {
            let (out, hits) = redact_text(text);
            assert_eq!(out, text);
            assert!(hits.is_empty(), "{text}: {hits:?}");
        }
    }

    #[test]
    fn commands_and_labels_are_redacted_part_by_part() {
        let cmd: Vec<String> = [
            "/app/server",
            "--password",
            "partSecret1",
            "--db-password=partSecret2",
            "-v",
        ]
        .map(String::from)
        .to_vec();
        let (out, hits) = redact_command(&cmd);
        assert_eq!(
            out,
            [
                "/app/server",
                "--password",
                "***",
                "--db-password=***",
                "-v"
            ]
        );
        assert_eq!(hits.len(), 2);
        let health: Vec<String> = ["CMD-SHELL", "mysqladmin ping -uroot -pHealthSecret"]
            .map(String::from)
            .to_vec();
        assert_eq!(redact_command(&health).0[1], "mysqladmin ping -uroot -p***");

        assert_eq!(redact_label("auth", "admin:labelSecret").0, "***");
        assert_eq!(redact_label("app.db_password", "labelSecret").0, "***");
        assert_eq!(
            redact_label("db.url", "postgres://app:labelPw@db/app").0,
            "postgres://app:***@db/app"
        );
        assert_eq!(
            redact_label("maintainer", "ops@example.com").0,
            "ops@example.com"
        );
        assert_eq!(
            redact_label("org.opencontainers.image.version", "1.2.3").0,
            "1.2.3"
        );
        let revision = "3f9c2b7e8d1a4c6b9e0f2a3d5c7b8e9f0a1b2c3d";
        assert_eq!(
            redact_label("org.opencontainers.image.revision", revision).0,
            revision
        );
    }

    #[test]
    fn history_lines_are_redacted() {
        let (line, hits) = redact_text("/bin/sh -c #(nop)  ENV API_TOKEN=abc123 MODE=prod");
        assert_eq!(line, "/bin/sh -c #(nop)  ENV API_TOKEN=*** MODE=prod");
        assert_eq!(hits.len(), 1);
        let (line, hits) = redact_text(
            "RUN |1 NPM_TOKEN=npm_Zx81kq2LmN0pQ7rT5vW3yB9 /bin/sh -c curl -H 'Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789' x",
        );
        assert!(!line.contains("npm_Zx81"), "{line}");
        assert!(!line.contains("ghp_"), "{line}");
        assert_eq!(hits.len(), 2, "{hits:?}");
        let (line, hits) = redact_text("/bin/sh -c apk add --no-cache curl");
        assert_eq!(line, "/bin/sh -c apk add --no-cache curl");
        assert!(hits.is_empty());
    }
}
