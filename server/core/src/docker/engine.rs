//! Connecting to a Docker engine: a unix socket, TCP (plain or mutual TLS) or SSH.

use bollard::Docker;
use coastguard_model::docker::Transport;
use serde::{Deserialize, Serialize};

/// Per-request timeout for the engine API (seconds). Event streams are not cut by it:
/// it bounds the wait for response headers.
const TIMEOUT_SECS: u64 = 30;

/// How to reach one engine. TLS material and SSH keys are paths on the Coastguard
/// server, never key contents: secrets stay in files the operator controls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`.
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<String>,
}

impl EngineConfig {
    pub fn new(endpoint: impl Into<String>) -> EngineConfig {
        EngineConfig {
            endpoint: endpoint.into(),
            ..EngineConfig::default()
        }
    }

    fn tls(&self) -> Option<(&str, &str, &str)> {
        match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (Some(ca), Some(cert), Some(key)) => Some((ca, cert, key)),
            _ => None,
        }
    }

    /// Checks the endpoint's form and that TLS settings come complete.
    pub fn validate(&self) -> Result<(), String> {
        let Some(e) = coastguard_model::validate::engine_address(&self.endpoint) else {
            return Err(format!(
                "'{}' is not an engine address: use unix:///path/docker.sock, tcp://host:port or ssh://user@host",
                self.endpoint.trim()
            ));
        };
        let tls_parts = [&self.tls_ca, &self.tls_cert, &self.tls_key]
            .iter()
            .filter(|p| p.is_some())
            .count();
        if tls_parts != 0 && tls_parts != 3 {
            return Err("TLS needs all three of the CA, certificate and key paths".into());
        }
        if let Ok(url) = url::Url::parse(e) {
            if url.password().is_some() {
                return Err("the address holds a password: Coastguard keeps no credentials in addresses; use TLS client certificates or an SSH key file".into());
            }
        }
        if e.starts_with("https://") && tls_parts == 0 {
            return Err("https:// needs the TLS CA, certificate and key paths".into());
        }
        Ok(())
    }

    pub fn transport(&self) -> Transport {
        let e = self.endpoint.as_str();
        if e.starts_with("unix://") {
            Transport::Unix
        } else if e.starts_with("ssh://") {
            Transport::Ssh
        } else if self.tls().is_some() {
            Transport::TcpTls
        } else {
            Transport::TcpPlain
        }
    }
}

/// The longest engine error kept (characters).
const ERROR_MAX_CHARS: usize = 240;

/// An engine's error as it may be stored and shown: its first line, without control
/// characters, with anything that looks like a secret redacted, cut to
/// [`ERROR_MAX_CHARS`]. A remote engine's answer body is never kept verbatim.
pub fn engine_error(message: &str) -> String {
    let first = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let clean: String = first.chars().filter(|c| !c.is_control()).collect();
    let (redacted, _) = super::secrets::redact_text(clean.trim());
    match redacted.char_indices().nth(ERROR_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &redacted[..cut]),
        None => redacted,
    }
}

/// Opens a client and agrees on an API version with the engine.
pub async fn connect(config: &EngineConfig) -> Result<Docker, bollard::errors::Error> {
    let version = bollard::API_DEFAULT_VERSION;
    let e = config.endpoint.trim();
    let docker = match config.transport() {
        Transport::Unix => Docker::connect_with_unix(e, TIMEOUT_SECS, version)?,
        Transport::Ssh => {
            Docker::connect_with_ssh(e, TIMEOUT_SECS, version, config.ssh_key.clone())?
        }
        Transport::TcpTls => {
            let (ca, cert, key) = config.tls().expect("TLS transport has TLS paths");
            Docker::connect_with_ssl(
                e,
                std::path::Path::new(key),
                std::path::Path::new(cert),
                std::path::Path::new(ca),
                TIMEOUT_SECS,
                version,
            )?
        }
        Transport::TcpPlain => Docker::connect_with_http(e, TIMEOUT_SECS, version)?,
    };
    docker.negotiate_version().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_validated() {
        assert!(EngineConfig::new("unix:///var/run/docker.sock")
            .validate()
            .is_ok());
        assert!(EngineConfig::new("tcp://10.0.0.5:2375").validate().is_ok());
        assert!(EngineConfig::new("docker.example.com").validate().is_err());
        assert!(EngineConfig::new("https://h:2376").validate().is_err());
        let partial = EngineConfig {
            tls_ca: Some("/ca.pem".into()),
            ..EngineConfig::new("tcp://h:2376")
        };
        assert!(partial.validate().unwrap_err().contains("all three"));
    }

    #[test]
    fn credentials_in_addresses_are_refused() {
        for e in [
            "tcp://admin:hunter2@h:2375",
            "https://u:p@h:2376",
            "ssh://u:pw@h",
        ] {
            let err = EngineConfig::new(e).validate().unwrap_err();
            assert!(
                err.contains("password") && !err.contains("hunter2"),
                "{e}: {err}"
            );
        }
        assert!(EngineConfig::new("ssh://deploy@h").validate().is_ok());
    }

    #[test]
    fn engine_errors_are_cut_and_cleaned() {
        let body = format!(
            "Docker responded with status code 500: <html>\u{1b}[31m{}\nsecond line with token=abc</html>",
            "x".repeat(500)
        );
        let kept = engine_error(&body);
        assert!(kept.chars().count() <= ERROR_MAX_CHARS + 1, "{kept}");
        assert!(kept.ends_with('…'));
        assert!(!kept.contains('\u{1b}') && !kept.contains("second line"));
        assert_eq!(
            engine_error("error connecting to tcp://ops:s3cret@h:2375: refused"),
            "error connecting to tcp://ops:***@h:2375: refused"
        );
        assert_eq!(
            engine_error("API_TOKEN=abc123 rejected"),
            "API_TOKEN=*** rejected"
        );
    }

    #[test]
    fn transport_follows_scheme_and_tls() {
        assert_eq!(
            EngineConfig::new("tcp://h:2375").transport(),
            Transport::TcpPlain
        );
        let tls = EngineConfig {
            tls_ca: Some("a".into()),
            tls_cert: Some("b".into()),
            tls_key: Some("c".into()),
            ..EngineConfig::new("tcp://h:2376")
        };
        assert_eq!(tls.transport(), Transport::TcpTls);
        assert_eq!(EngineConfig::new("ssh://u@h").transport(), Transport::Ssh);
    }
}
