//! Input rules shared by the browser (instant feedback) and the server (the authority).

/// Shortest accepted password. Long passphrases beat complexity rules (NIST SP 800-63B).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Argon2 hashes any length, but an upper bound keeps a request from burning CPU.
pub const MAX_PASSWORD_LEN: usize = 256;

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

    #[test]
    fn redirects_stay_on_site() {
        assert_eq!(local_redirect("/images?page=2"), Some("/images?page=2"));
        assert_eq!(local_redirect("//evil.example"), None);
        assert_eq!(local_redirect("https://evil.example"), None);
        assert_eq!(local_redirect("/\\evil.example"), None);
        assert_eq!(local_redirect("/ok\r\nSet-Cookie: x"), None);
    }
}
