//! Docker's `config.json` (what `docker login` writes): each `auths` entry becomes a
//! registry to add, with its credentials; what cannot be imported is named with why.

use base64::Engine as _;
use coastguard_model::registries::NewRegistry;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A `config.json` is a few kilobytes; more is not one.
pub const MAX_CONFIG: usize = 256 * 1024;

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    auths: BTreeMap<String, Auth>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Auth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The registries a `config.json` names (by host, over HTTPS), and the entries skipped
/// with why. Docker Hub is skipped: it lists no catalog, so it is added by hand with its
/// repositories.
pub fn registries_of(text: &str) -> Result<(Vec<NewRegistry>, Vec<String>), String> {
    if text.len() > MAX_CONFIG {
        return Err("a Docker config.json is at most 256 KiB".into());
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a Docker config.json: {e}"))?;
    if !value.is_object() {
        return Err("not a Docker config.json: it is a JSON object".into());
    }
    let config: Config =
        serde_json::from_value(value).map_err(|e| format!("not a Docker config.json: {e}"))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (key, auth) in config.auths {
        let host = key
            .split_once("://")
            .map_or(key.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if host.is_empty() {
            skipped.push(format!("{key:?}: no registry host"));
            continue;
        }
        if matches!(
            host.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        ) {
            skipped.push(format!(
                "{host}: Docker Hub lists no catalog; add it by hand with its repositories"
            ));
            continue;
        }
        if auth.identitytoken.is_some() {
            skipped.push(format!(
                "{host}: an identity token (an OAuth refresh token) is not a password; add it with a username and token"
            ));
            continue;
        }
        let (username, password) = match (&auth.auth, &auth.username, &auth.password) {
            (Some(encoded), _, _) if !encoded.is_empty() => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                    None => {
                        skipped.push(format!("{host}: its auth is not base64 of user:password"));
                        continue;
                    }
                }
            }
            (_, Some(u), Some(p)) => (Some(u.clone()), Some(p.clone())),
            _ => (None, None),
        };
        out.push(NewRegistry {
            name: host.clone(),
            url: format!("https://{host}"),
            username,
            password,
            ..NewRegistry::default()
        });
    }
    if let Some(store) = config.creds_store {
        skipped.push(format!(
            "credentials kept by the helper docker-credential-{store} cannot be read from the file: add those registries by hand"
        ));
    }
    for (host, helper) in config.cred_helpers {
        skipped.push(format!(
            "{host}: its credentials are kept by docker-credential-{helper}; add it by hand"
        ));
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_auth_becomes_a_registry_and_helpers_are_named() {
        let basic = base64::engine::general_purpose::STANDARD.encode("ci:s3cret:with-colon");
        let text = serde_json::json!({
            "auths": {
                "registry.example.com": {"auth": basic},
                "https://ghcr.io/v2/": {"username": "bot", "password": "tok"},
                "reg.local:5000": {},
                "https://index.docker.io/v1/": {"auth": basic},
                "sso.example.com": {"identitytoken": "refresh"},
                "bad.example.com": {"auth": "not base64!"}
            },
            "credsStore": "desktop",
            "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"}
        })
        .to_string();
        let (registries, skipped) = registries_of(&text).unwrap();
        let names: Vec<&str> = registries.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ghcr.io", "reg.local:5000", "registry.example.com"]);
        let example = &registries[2];
        assert_eq!(example.url, "https://registry.example.com");
        assert_eq!(example.username.as_deref(), Some("ci"));
        assert_eq!(example.password.as_deref(), Some("s3cret:with-colon"));
        assert_eq!(registries[0].username.as_deref(), Some("bot"));
        assert_eq!(registries[1].username, None, "no credentials: anonymous");
        assert_eq!(skipped.len(), 5, "{skipped:?}");
        for word in [
            "Docker Hub",
            "identity token",
            "not base64",
            "docker-credential-desktop",
            "ecr-login",
        ] {
            assert!(
                skipped.iter().any(|s| s.contains(word)),
                "{word}: {skipped:?}"
            );
        }
        assert!(
            skipped.iter().all(|s| !s.contains("s3cret")),
            "no secret in what is reported: {skipped:?}"
        );
        assert!(registries_of("[]").is_err());
        assert!(registries_of(&" ".repeat(MAX_CONFIG + 1)).is_err());
    }
}
