//! Reaching the cluster Coastguard runs in, as its pod's service account: the API server
//! from the `KUBERNETES_SERVICE_HOST`/`_PORT` variables Kubernetes sets in every pod, the
//! CA and token from the files it mounts. Nothing is stored: the token file is read again
//! as it rotates (bound tokens live an hour), and the CA file likewise.

use base64::Engine;
use std::path::Path;

pub use crate::config::SERVICE_ACCOUNT_DIR;
/// The name and source of the cluster Coastguard runs in.
pub const NAME: &str = "in-cluster";
pub const SOURCE: &str = "in-cluster";

/// The API server's URL from the pod's environment.
pub fn api_url(host: Option<&str>, port: Option<&str>) -> Result<String, String> {
    let host = host.map(str::trim).filter(|h| !h.is_empty()).ok_or(
        "KUBERNETES_SERVICE_HOST is not set: Coastguard is not running in a Kubernetes pod, which kube_in_cluster needs",
    )?;
    let port = port
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or("KUBERNETES_SERVICE_PORT is not set")?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("KUBERNETES_SERVICE_PORT {port:?} is not a port number"))?;
    if host.contains(['/', '@', '?', '#', ' ']) {
        return Err(format!(
            "KUBERNETES_SERVICE_HOST {host:?} is not a host name or address"
        ));
    }
    // An IPv6 address goes in brackets.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(format!("https://{host}:{port}"))
}

/// The API server's URL from this process's environment.
pub fn api_url_from_env() -> Result<String, String> {
    api_url(
        std::env::var("KUBERNETES_SERVICE_HOST").ok().as_deref(),
        std::env::var("KUBERNETES_SERVICE_PORT").ok().as_deref(),
    )
}

/// The DER certificates of a PEM bundle.
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (line, body.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", None) => body = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(b)) => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|e| format!("a certificate is not valid base64: {e}"))?;
                certs.push(der);
                body = None;
            }
            (_, Some(b)) => b.push_str(line),
            _ => {}
        }
    }
    if body.is_some() {
        return Err("a certificate has no END line".into());
    }
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

/// A client configuration for the API server at `api_url` with the service account
/// mounted in `dir`.
pub fn client_config(dir: &Path, api_url: &str) -> Result<::kube::Config, String> {
    let token = dir.join("token");
    let readable = std::fs::read_to_string(&token).map_err(|e| {
        format!(
            "cannot read the service-account token {}: {e}",
            token.display()
        )
    })?;
    if readable.trim().is_empty() {
        return Err(format!(
            "the service-account token {} is empty",
            token.display()
        ));
    }
    // The client sends the file as it is, and a header cannot hold a newline: a token
    // written by hand with one would fail every request with a puzzling error.
    if readable.trim() != readable {
        return Err(format!(
            "the service-account token {} ends or starts with whitespace (a newline?); Kubernetes writes it without",
            token.display()
        ));
    }
    let ca = dir.join("ca.crt");
    let pem = std::fs::read_to_string(&ca)
        .map_err(|e| format!("cannot read the cluster CA {}: {e}", ca.display()))?;
    let roots = pem_certificates(&pem).map_err(|e| format!("{}: {e}", ca.display()))?;
    let url = api_url
        .parse()
        .map_err(|e| format!("the API server URL {api_url:?} is not valid: {e}"))?;
    let mut config = ::kube::Config::new(url);
    config.root_cert = Some(roots);
    config.root_cert_file = Some(ca);
    config.auth_info.token_file = Some(token.to_string_lossy().into_owned());
    if let Ok(ns) = std::fs::read_to_string(dir.join("namespace")) {
        if !ns.trim().is_empty() {
            config.default_namespace = ns.trim().to_string();
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_comes_from_the_pod_environment() {
        assert_eq!(
            api_url(Some("10.96.0.1"), Some("443")).unwrap(),
            "https://10.96.0.1:443"
        );
        assert_eq!(
            api_url(Some("fd00::1"), Some("6443")).unwrap(),
            "https://[fd00::1]:6443"
        );
        assert!(api_url(None, Some("443"))
            .unwrap_err()
            .contains("not running in a Kubernetes pod"));
        assert!(api_url(Some("10.96.0.1"), None).is_err());
        assert!(api_url(Some("10.96.0.1"), Some("https")).is_err());
        assert!(api_url(Some("evil.example/x?"), Some("443")).is_err());
    }

    #[test]
    fn pem_bundles_are_read_certificate_by_certificate() {
        let one = "-----BEGIN CERTIFICATE-----\nAAEC\nAwQ=\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(one).unwrap(), vec![vec![0, 1, 2, 3, 4]]);
        let two = format!("comment\n{one}{one}");
        assert_eq!(pem_certificates(&two).unwrap().len(), 2);
        assert!(pem_certificates("").is_err());
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nAAEC\n").is_err());
        assert!(
            pem_certificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err()
        );
    }

    #[test]
    fn the_configuration_reads_the_mounted_files_and_says_which_is_missing() {
        let dir = std::env::temp_dir().join(format!("coastguard-sa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = client_config(&dir, "https://10.96.0.1:443").unwrap_err();
        assert!(e.contains("token"), "{e}");
        std::fs::write(dir.join("token"), "eyJ.token\n").unwrap();
        let e = client_config(&dir, "https://10.96.0.1:443").unwrap_err();
        assert!(e.contains("whitespace"), "{e}");
        std::fs::write(dir.join("token"), "eyJ.token").unwrap();
        let e = client_config(&dir, "https://10.96.0.1:443").unwrap_err();
        assert!(e.contains("ca.crt"), "{e}");
        std::fs::write(
            dir.join("ca.crt"),
            "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(dir.join("namespace"), "coastguard\n").unwrap();
        let c = client_config(&dir, "https://10.96.0.1:443").unwrap();
        assert_eq!(c.default_namespace, "coastguard");
        assert_eq!(c.root_cert.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            c.auth_info.token_file.as_deref(),
            Some(dir.join("token").to_str().unwrap())
        );
        // The token itself is never copied into the configuration.
        assert!(c.auth_info.token.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
