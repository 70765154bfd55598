//! Input rules shared by the browser (instant feedback) and the server (the authority).

/// Shortest accepted password. Long passphrases beat complexity rules (NIST SP 800-63B).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Argon2 hashes any length, but an upper bound keeps a request from burning CPU.
pub const MAX_PASSWORD_LEN: usize = 256;

/// The characters `str::trim` removes (Unicode White_Space), spelled out so that a JSON
/// Schema pattern means the same to every regex engine (Python's `\s` also takes
/// U+001C–U+001F, which `trim` keeps).
macro_rules! trimmed {
    () => {
        r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// Control characters (`char::is_control`).
macro_rules! control {
    () => {
        r"\x00-\x1F\x7F-\x9F"
    };
}

/// What [`username`] accepts, as a JSON Schema pattern (tested to agree).
pub const USERNAME_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[A-Za-z0-9][A-Za-z0-9._-]{0,63}[",
    trimmed!(),
    "]*$"
);

/// What [`label`] accepts, as a JSON Schema pattern (tested to agree).
pub const LABEL_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[^",
    trimmed!(),
    control!(),
    "](?:[^",
    control!(),
    "]{0,98}[^",
    trimmed!(),
    control!(),
    "])?[",
    trimmed!(),
    "]*$"
);

/// What [`scope_name`] accepts, as a JSON Schema pattern (tested to agree).
pub const SCOPE_NAME_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*(?:[^",
    trimmed!(),
    control!(),
    "](?:[^",
    control!(),
    "]{0,198}[^",
    trimmed!(),
    control!(),
    "])?)?[",
    trimmed!(),
    "]*$"
);

/// An optional name that narrows something (a package, a host, a namespace): trimmed,
/// blank as none, at most 200 characters, no control characters.
pub fn scope_name(raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err("at most 200 characters, without control characters".into());
    }
    Ok(Some(value.to_string()))
}

/// What [`scope`] accepts, as a JSON Schema pattern (tested to agree).
pub const SCOPE_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[a-z0-9._/:*-]{1,256}[",
    trimmed!(),
    "]*$"
);

/// A signing key's scope: a glob over `registry/repository` names, 1 to 256 characters of
/// image names (`a-z 0-9 . _ - / :`) and `*`, around whitespace that is trimmed.
pub fn scope(raw: &str) -> Result<String, String> {
    let scope = raw.trim();
    if scope.is_empty() || scope.len() > 256 {
        return Err("a scope is 1 to 256 characters".into());
    }
    if let Some(c) = scope.chars().find(|c| {
        !(c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, '.' | '_' | '-' | '/' | ':' | '*'))
    }) {
        return Err(format!(
            "{c:?} cannot be in a scope: registry/repository names and '*' only (e.g. registry.example.com/team/*)"
        ));
    }
    Ok(scope.to_string())
}

/// What [`requirement`] accepts, as a JSON Schema pattern (tested to agree).
pub const REQUIREMENT_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[a-z0-9._/:*-]{1,256}(?: +(?:host=[A-Za-z0-9._:*-]{1,100}",
    "|cluster=[A-Za-z0-9._:*-]{1,100}(?: +namespace=[A-Za-z0-9._:*-]{1,100})?",
    "|namespace=[A-Za-z0-9._:*-]{1,100}))?[",
    trimmed!(),
    "]*$"
);

/// A signature requirement: an image pattern (as a [`scope`]), then where it applies,
/// if not everywhere: `host=GLOB` (Docker hosts), or `cluster=GLOB` and/or
/// `namespace=GLOB` (pods), each glob 1 to 100 characters of names and `*`. Returned
/// with single spaces between its parts.
pub fn requirement(raw: &str) -> Result<String, String> {
    let mut parts = raw.trim().split(' ').filter(|p| !p.is_empty());
    let images = parts.next().ok_or(
        "a requirement starts with the images it covers: a pattern over registry/repository",
    )?;
    if images.len() > 256
        || !images.chars().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, '.' | '_' | '-' | '/' | ':' | '*')
        })
    {
        return Err(format!(
            "{images:?} is not an image pattern: 1 to 256 characters of registry/repository names and '*'"
        ));
    }
    let mut out = vec![images.to_string()];
    let mut keys = Vec::new();
    for part in parts {
        let Some((key, glob)) = part.split_once('=') else {
            return Err(format!(
                "{part:?}: after the image pattern, only host=, cluster= or namespace= (e.g. registry.example.com/* cluster=prod-* namespace=payments)"
            ));
        };
        if glob.is_empty()
            || glob.len() > 100
            || !glob
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '*'))
        {
            return Err(format!(
                "{part:?}: a {key} pattern is 1 to 100 characters of names and '*'"
            ));
        }
        keys.push(key);
        out.push(part.to_string());
    }
    match keys.as_slice() {
        [] | ["host"] | ["cluster"] | ["namespace"] | ["cluster", "namespace"] => Ok(out.join(" ")),
        _ => Err(
            "where a requirement applies is host=, cluster=, namespace=, or cluster= then namespace=: a Docker host or a place in a cluster, once each".into(),
        ),
    }
}

/// What [`text`] accepts, as a JSON Schema pattern (tested to agree).
pub const TEXT_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[^",
    trimmed!(),
    "][\\s\\S]{1,998}[^",
    trimmed!(),
    "][",
    trimmed!(),
    "]*$"
);

/// What [`word`] accepts, as a JSON Schema pattern (tested to agree).
pub const WORD_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[^",
    trimmed!(),
    "]{1,200}[",
    trimmed!(),
    "]*$"
);

/// What [`registry`] accepts, as a JSON Schema pattern (tested to agree).
pub const REGISTRY_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*[^",
    trimmed!(),
    "/]{0,255}[",
    trimmed!(),
    "]*$"
);

/// What [`engine_address`] accepts, as a JSON Schema pattern (tested to agree). An
/// engine's address has rules across fields too (TLS paths for `https://`, no password).
pub const ENGINE_ENDPOINT_PATTERN: &str = concat!(
    "^[",
    trimmed!(),
    "]*(?:unix|tcp|http|https|ssh)://[\\s\\S]*[^",
    trimmed!(),
    "][",
    trimmed!(),
    "]*$"
);

/// The most trusted registries a policy lists.
pub const MAX_REGISTRIES: usize = 100;

/// The schemes an engine address may use.
pub const ENGINE_SCHEMES: [&str; 5] = ["unix://", "tcp://", "http://", "https://", "ssh://"];

/// An engine address (trimmed): one of [`ENGINE_SCHEMES`] and something after it.
pub fn engine_address(raw: &str) -> Option<&str> {
    let e = raw.trim();
    ENGINE_SCHEMES
        .iter()
        .any(|scheme| e.len() > scheme.len() && e.starts_with(scheme))
        .then_some(e)
}

/// A trusted registry host (`ghcr.io`, `registry.local:5000`), trimmed and lowercased;
/// `None` for a blank entry, which is skipped.
pub fn registry(raw: &str) -> Result<Option<String>, String> {
    let r = raw.trim().to_ascii_lowercase();
    if r.is_empty() {
        return Ok(None);
    }
    if r.contains('/') || r.contains(char::is_whitespace) || r.chars().count() > 255 {
        return Err(format!(
            "'{r}' is not a registry host (like ghcr.io or registry.local:5000)"
        ));
    }
    Ok(Some(r))
}

/// What [`id_cursor`] accepts, as a JSON Schema pattern (tested to agree).
pub const ID_CURSOR_PATTERN: &str = "^$|^[0-9]{1,18}$";

/// What [`key_cursor`] accepts, as a JSON Schema pattern (tested to agree).
pub const KEY_CURSOR_PATTERN: &str = "^$|^-?[0-9]{1,18}:[0-9]{1,18}$";

fn digits(s: &str) -> Option<i64> {
    let ok = (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// A cursor that is the last id of the previous page; `Ok(None)` when empty.
pub fn id_cursor(raw: &str) -> Result<Option<i64>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    digits(raw)
        .map(Some)
        .ok_or_else(|| "malformed cursor".into())
}

/// A cursor `KEY:ID` (a sort key and the last id of the previous page); `Ok(None)` when
/// empty.
pub fn key_cursor(raw: &str) -> Result<Option<(i64, i64)>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let parsed = raw.split_once(':').and_then(|(k, id)| {
        let key = match k.strip_prefix('-') {
            Some(n) => -digits(n)?,
            None => digits(k)?,
        };
        Some((key, digits(id)?))
    });
    parsed.map(Some).ok_or_else(|| "malformed cursor".into())
}

/// User names: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
/// Names are case-insensitive and stored lowercase, so `Alice` and `alice` are one user.
pub fn username(raw: &str) -> Result<String, String> {
    let name = raw.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err("user name is required".into());
    }
    if name.len() > 64 {
        return Err("user name is longer than 64 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("user name must start with a letter or digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "user name may only contain letters, digits, '.', '_' and '-' (found {bad:?})"
        ));
    }
    Ok(name)
}

pub fn password(raw: &str) -> Result<(), String> {
    let len = raw.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(format!(
            "password must be at most {MAX_PASSWORD_LEN} characters"
        ));
    }
    Ok(())
}

/// Labels such as token names: 1–100 printable characters, trimmed.
pub fn label(field: &str, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(format!("{field} is required"));
    }
    if value.chars().count() > 100 {
        return Err(format!("{field} is longer than 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(value.to_string())
}

/// Free text such as a reason or a justification: 3–1000 characters once trimmed.
pub fn text(what: &str, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if !(3..=1000).contains(&value.chars().count()) {
        return Err(format!("give {what} of 3 to 1000 characters"));
    }
    Ok(value.to_string())
}

/// One word such as a vulnerability id: 1–200 characters once trimmed, no whitespace.
pub fn word(raw: &str) -> Option<&str> {
    let value = raw.trim();
    let ok = (1..=200).contains(&value.chars().count()) && !value.contains(char::is_whitespace);
    ok.then_some(value)
}

/// A post-login redirect target: only same-site absolute paths, so that `?next=` can't be
/// turned into an open redirect (`//evil.example`, `https://…`, `/\evil`).
pub fn local_redirect(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(username("  Alice.Smith ").unwrap(), "alice.smith");
        assert!(username("").is_err());
        assert!(username("-dash").is_err());
        assert!(username("bob smith").unwrap_err().contains("' '"));
        assert!(username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(password("short").is_err());
        assert!(password("correct horse battery").is_ok());
        assert!(password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn labels_reject_blank_and_control_characters() {
        assert_eq!(label("name", "  ci token ").unwrap(), "ci token");
        assert!(label("name", "   ")
            .unwrap_err()
            .contains("name is required"));
        assert!(label("name", "a\u{7}b").is_err());
    }

    /// Strings at every edge the rules have: blanks of each kind, lengths either side of
    /// each bound, control characters inside and at the ends, non-ASCII letters.
    fn corpus() -> Vec<String> {
        let mut out: Vec<String> = [
            "",
            " ",
            "a",
            "ab",
            "abc",
            " a ",
            "  ab  ",
            " a b ",
            "\u{1c}ab",
            "ab\u{1c}",
            "a\u{1c}b",
            "\u{85}abc\u{85}",
            "a\u{85}b",
            "\u{a0}x\u{3000}",
            "é",
            "Alice",
            "alice.smith",
            "-dash",
            "_x",
            "a b",
            "CVE-2024-1234",
            "\tabc\n",
            "a\tb",
            "a\u{7}b",
            "a\u{9f}",
            "\u{2028}ok\u{2029}",
            "x\u{200b}y",
            "\u{feff}",
            "日本語",
            "ghcr.io/x",
            "ghcr.io/acme/*",
            "ghcr.io/acme/* host=edge-*",
            "* cluster=prod namespace=payments",
            "*  namespace=Kube-System ",
            "* namespace=a cluster=b",
            "* host=a cluster=b",
            "* host=",
            "* host=a=b",
            "* hosts=a",
            "* host=a\tb",
            "img\u{a0} host=x",
            "img \u{a0}host=x",
            "* cluster=prod  namespace=x*",
            " * ",
            "team a/*",
            "Registry.Local:5000",
            "tcp://h:2375",
            " unix:///var/run/docker.sock ",
            "https://",
            "ssh:// ",
            "ftp://x",
            "tcp://",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for n in [
            62, 63, 64, 65, 98, 99, 100, 101, 199, 200, 201, 998, 999, 1000, 1001,
        ] {
            out.push("a".repeat(n));
            out.push(format!(" {} ", "b".repeat(n)));
            out.push(format!("x{}y", " ".repeat(n.saturating_sub(2))));
            out.push("é".repeat(n));
        }
        out
    }

    fn agree(pattern: &str, rule: impl Fn(&str) -> bool) {
        let re = regex::Regex::new(pattern).unwrap();
        for s in corpus() {
            assert_eq!(re.is_match(&s), rule(&s), "{pattern} on {s:?}");
        }
    }

    #[test]
    fn the_documented_patterns_say_what_the_rules_accept() {
        agree(USERNAME_PATTERN, |s| username(s).is_ok());
        agree(LABEL_PATTERN, |s| label("x", s).is_ok());
        agree(SCOPE_NAME_PATTERN, |s| scope_name(s).is_ok());
        agree(SCOPE_PATTERN, |s| scope(s).is_ok());
        agree(REQUIREMENT_PATTERN, |s| requirement(s).is_ok());
        agree(TEXT_PATTERN, |s| text("x", s).is_ok());
        agree(WORD_PATTERN, |s| word(s).is_some());
        agree(REGISTRY_PATTERN, |s| registry(s).is_ok());
        agree(ENGINE_ENDPOINT_PATTERN, |s| engine_address(s).is_some());
        agree(ID_CURSOR_PATTERN, |s| id_cursor(s).is_ok());
        agree(KEY_CURSOR_PATTERN, |s| key_cursor(s).is_ok());
    }

    #[test]
    fn requirements_are_an_image_pattern_and_where_it_applies() {
        assert_eq!(requirement("  ghcr.io/acme/*  ").unwrap(), "ghcr.io/acme/*");
        assert_eq!(
            requirement("*   cluster=prod-*  namespace=payments").unwrap(),
            "* cluster=prod-* namespace=payments"
        );
        assert_eq!(requirement("* host=edge-*").unwrap(), "* host=edge-*");
        for bad in [
            "",
            "Team/*",
            "* host=a cluster=b",
            "* namespace=a cluster=b",
            "* zone=a",
            "* host=",
            "* host=a b=c",
        ] {
            assert!(requirement(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_and_words_are_trimmed_and_bounded() {
        assert_eq!(text("a reason", "  ok!  ").unwrap(), "ok!");
        assert!(text("a reason", "   ab   ")
            .unwrap_err()
            .contains("3 to 1000"));
        assert!(
            text("x", &"é".repeat(1000)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(word(" CVE-2024-1 "), Some("CVE-2024-1"));
        assert_eq!(word("CVE-1 CVE-2"), None);
        assert_eq!(word(&"é".repeat(200)).map(str::len), Some(400));
    }

    #[test]
    fn redirects_stay_on_site() {
        assert_eq!(local_redirect("/images?page=2"), Some("/images?page=2"));
        assert_eq!(local_redirect("//evil.example"), None);
        assert_eq!(local_redirect("https://evil.example"), None);
        assert_eq!(local_redirect("/\\evil.example"), None);
        assert_eq!(local_redirect("/ok\r\nSet-Cookie: x"), None);
    }
}
