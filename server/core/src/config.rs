//! Settings: defaults, then an optional TOML file, then `COASTGUARD_*` environment
//! variables, then command-line flags; each later source wins. Every setting has the
//! same name in all three places (`listen`, `COASTGUARD_LISTEN`, `--listen`).
//! Unknown keys are reported as warnings; a malformed value is an error naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One documented setting. [`KEYS`] is the list README.md documents (a test checks it).
pub struct SettingDoc {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

pub const KEYS: &[SettingDoc] = &[
    SettingDoc { key: "data_dir", default: "data", help: "Directory for the SQLite database and other local state." },
    SettingDoc { key: "database_url", default: "sqlite://<data_dir>/coastguard.db", help: "sqlite://PATH or postgres://USER:PASSWORD@HOST/DB." },
    SettingDoc { key: "listen", default: "127.0.0.1:3000", help: "Address and port the web server binds." },
    SettingDoc { key: "admin_password", default: "(random, printed once)", help: "Password of the first admin, used only when the database has no users." },
    SettingDoc { key: "site_root", default: "target/site", help: "Directory holding the built UI assets (pkg/ with wasm, js, css); LEPTOS_SITE_ROOT when cargo-leptos runs the server." },
    SettingDoc { key: "public_url", default: "(none)", help: "External URL (https://coastguard.example.com) when behind a proxy; accepted as request origin." },
    SettingDoc { key: "cookie_secure", default: "true", help: "Send the session cookie only over HTTPS (browsers also allow http://localhost)." },
    SettingDoc { key: "session_idle_minutes", default: "480", help: "A browser session ends after this long without a request (each request renews it)." },
    SettingDoc { key: "session_max_days", default: "7", help: "A browser session ends this long after sign-in, however active." },
    SettingDoc { key: "trust_proxy", default: "false", help: "Take the client address from X-Forwarded-For (only behind a proxy you control)." },
    SettingDoc { key: "login_max_failures", default: "5", help: "Failed logins per user name and address within 15 minutes before that pair is locked (per address: 10x; per user name: 20x, then slowed, never locked)." },
    SettingDoc { key: "login_lockout_minutes", default: "15", help: "How long a locked user name and address, or address, stays locked." },
    SettingDoc { key: "request_timeout_seconds", default: "120", help: "A request that has not started its answer after this long gets 503; streamed pages and exports are not cut while they flow, but a stream with no next chunk for this long is ended." },
    SettingDoc { key: "max_concurrent_requests", default: "256", help: "Requests served at once; one more waits up to a second, then gets 503 (health checks are exempt)." },
    SettingDoc { key: "max_report_mb", default: "100", help: "Largest scan report accepted (after gunzip), in MiB." },
    SettingDoc { key: "docker_local", default: "true", help: "Watch the local engine (unix:///var/run/docker.sock) when the socket exists." },
    SettingDoc { key: "docker_sync_seconds", default: "300", help: "Full inventory sync of every Docker engine this often (events keep it current in between)." },
    SettingDoc { key: "docker_drift_seconds", default: "600", help: "Check running containers for changed files (docker diff) and an SSH daemon (docker top) this often." },
    SettingDoc { key: "secret_key", default: "(none)", help: "Key that encrypts stored cluster and registry credentials: 32 bytes as 64 hex characters or base64 (`openssl rand -hex 32`). Without it (or secret_key_file) clusters and registries with credentials cannot be added." },
    SettingDoc { key: "secret_key_file", default: "(none)", help: "File holding secret_key (read at start-up), for secrets mounted as files." },
    SettingDoc { key: "kube_resync_seconds", default: "600", help: "Full relist of every Kubernetes cluster this often (watches keep it current in between)." },
    SettingDoc { key: "kubeconfig_file", default: "(none)", help: "Kubeconfig read at start-up: each context becomes a cluster (or updates the one this file added before), held to the same rules as an upload (inline credentials only, no exec or file paths); needs secret_key." },
    SettingDoc { key: "kube_in_cluster", default: "false", help: "Also watch the cluster Coastguard runs in, as its pod's service account (KUBERNETES_SERVICE_HOST and _PORT, and the token and CA in kube_service_account_dir); nothing is stored, the token is read from its file." },
    SettingDoc { key: "kube_service_account_dir", default: "/var/run/secrets/kubernetes.io/serviceaccount", help: "Where the pod's service-account token, ca.crt and namespace are mounted (kube_in_cluster)." },
    SettingDoc { key: "log_format", default: "text", help: "text or json (one JSON object per line)." },
    SettingDoc { key: "log_level", default: "info", help: "tracing filter, e.g. info or coastguard=debug,sqlx=warn." },
];

/// Where Kubernetes mounts a pod's service-account token, CA and namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    pub admin_password: Option<String>,
    pub site_root: PathBuf,
    pub public_url: Option<url::Url>,
    pub cookie_secure: bool,
    pub session_idle_minutes: i64,
    pub session_max_days: i64,
    pub trust_proxy: bool,
    pub login_max_failures: i64,
    pub login_lockout_minutes: i64,
    pub request_timeout_seconds: i64,
    pub max_concurrent_requests: i64,
    pub max_report_mb: i64,
    pub docker_local: bool,
    pub docker_sync_seconds: i64,
    pub docker_drift_seconds: i64,
    pub secret_key: Option<crate::auth::sealing::SecretKey>,
    pub kube_resync_seconds: i64,
    pub kubeconfig_file: Option<PathBuf>,
    pub kube_in_cluster: bool,
    pub kube_service_account_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            admin_password: None,
            site_root: PathBuf::from("target/site"),
            public_url: None,
            cookie_secure: true,
            session_idle_minutes: 480,
            session_max_days: 7,
            trust_proxy: false,
            login_max_failures: 5,
            login_lockout_minutes: 15,
            request_timeout_seconds: 120,
            max_concurrent_requests: 256,
            max_report_mb: 100,
            docker_local: true,
            docker_sync_seconds: 300,
            docker_drift_seconds: 600,
            secret_key: None,
            kube_resync_seconds: 600,
            kubeconfig_file: None,
            kube_in_cluster: false,
            kube_service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            log_format: LogFormat::Text,
            log_level: "info".into(),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &crate::db::redact_url(&self.database_url()))
            .field("listen", &self.listen)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("site_root", &self.site_root)
            .field(
                "public_url",
                &self.public_url.as_ref().map(url::Url::as_str),
            )
            .field("cookie_secure", &self.cookie_secure)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_max_days", &self.session_max_days)
            .field("trust_proxy", &self.trust_proxy)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_lockout_minutes", &self.login_lockout_minutes)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_report_mb", &self.max_report_mb)
            .field("docker_local", &self.docker_local)
            .field("docker_sync_seconds", &self.docker_sync_seconds)
            .field("docker_drift_seconds", &self.docker_drift_seconds)
            .field("secret_key", &self.secret_key)
            .field("kube_resync_seconds", &self.kube_resync_seconds)
            .field("kubeconfig_file", &self.kubeconfig_file)
            .field("kube_in_cluster", &self.kube_in_cluster)
            .field("kube_service_account_dir", &self.kube_service_account_dir)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .finish()
    }
}

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for `{key}` (from {origin}): {reason}")]
    Invalid {
        key: String,
        origin: String,
        reason: String,
    },
    #[error("config file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Where settings come from, in increasing precedence after the defaults.
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    pub env: Vec<(String, String)>,
    /// `(key, value)` from command-line flags that were given.
    pub flags: Vec<(&'static str, String)>,
}

impl Settings {
    /// Builds settings from all sources. Returns warnings (unknown keys) beside them.
    pub fn load(sources: Sources<'_>) -> Result<(Settings, Vec<String>), ConfigError> {
        let mut settings = Settings::default();
        let mut warnings = Vec::new();

        if let Some(path) = sources.file {
            let file_err = |reason: String| ConfigError::File {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
            let table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
            for (key, value) in table {
                let value = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    other => {
                        return Err(ConfigError::Invalid {
                            origin: format!("{}", path.display()),
                            reason: format!(
                                "expected a string, number or boolean, found {}",
                                other.type_str()
                            ),
                            key,
                        })
                    }
                };
                if KEYS.iter().any(|k| k.key == key) {
                    settings.set(&key, &value, &path.display().to_string())?;
                } else {
                    warnings.push(format!("unknown key `{key}` in {}", path.display()));
                }
            }
        }

        for (name, value) in &sources.env {
            let Some(rest) = name.strip_prefix("COASTGUARD_") else {
                continue;
            };
            let key = rest.to_ascii_lowercase();
            if KEYS.iter().any(|k| k.key == key) {
                settings.set(&key, value, name)?;
            } else if key != "config" {
                warnings.push(format!("unknown environment variable {name}"));
            }
        }

        for (key, value) in &sources.flags {
            settings.set(key, value, &format!("--{}", key.replace('_', "-")))?;
        }
        Ok((settings, warnings))
    }

    fn set(&mut self, key: &str, value: &str, source: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            key: key.to_string(),
            origin: source.to_string(),
            reason,
        };
        let value = value.trim();
        match key {
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => {
                crate::db::Backend::of_url(value).map_err(|e| invalid(e.reason))?;
                self.database_url = Some(value.to_string());
            }
            "listen" => {
                self.listen = value.parse().map_err(|_| {
                    invalid(format!("'{value}' is not an address like 127.0.0.1:3000"))
                })?
            }
            "admin_password" => {
                coastguard_model::validate::password(value).map_err(invalid)?;
                self.admin_password = Some(value.to_string());
            }
            "site_root" => self.site_root = PathBuf::from(value),
            "public_url" => {
                let url = url::Url::parse(value).map_err(|e| invalid(format!("'{value}': {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(invalid("must be an http:// or https:// URL".into()));
                }
                self.public_url = Some(url);
            }
            "cookie_secure" => self.cookie_secure = parse_bool(value).map_err(invalid)?,
            "session_idle_minutes" => {
                self.session_idle_minutes = parse_positive(value).map_err(invalid)?
            }
            "session_max_days" => self.session_max_days = parse_positive(value).map_err(invalid)?,
            "trust_proxy" => self.trust_proxy = parse_bool(value).map_err(invalid)?,
            "login_max_failures" => {
                self.login_max_failures = parse_positive(value).map_err(invalid)?
            }
            "login_lockout_minutes" => {
                self.login_lockout_minutes = parse_positive(value).map_err(invalid)?
            }
            "request_timeout_seconds" => {
                self.request_timeout_seconds = parse_positive(value).map_err(invalid)?
            }
            "max_concurrent_requests" => {
                self.max_concurrent_requests = parse_positive(value).map_err(invalid)?
            }
            "max_report_mb" => self.max_report_mb = parse_positive(value).map_err(invalid)?,
            "docker_local" => self.docker_local = parse_bool(value).map_err(invalid)?,
            "docker_sync_seconds" => {
                self.docker_sync_seconds = parse_positive(value).map_err(invalid)?
            }
            "docker_drift_seconds" => {
                self.docker_drift_seconds = parse_positive(value).map_err(invalid)?
            }
            "secret_key" => {
                let key = crate::auth::sealing::SecretKey::parse(value).map_err(invalid)?;
                self.secret_key = Some(key);
            }
            "secret_key_file" => {
                let text = std::fs::read_to_string(value)
                    .map_err(|e| invalid(format!("cannot read {value}: {e}")))?;
                let key = crate::auth::sealing::SecretKey::parse(&text)
                    .map_err(|e| invalid(format!("{value}: {e}")))?;
                self.secret_key = Some(key);
            }
            "kube_resync_seconds" => {
                self.kube_resync_seconds = parse_positive(value).map_err(invalid)?
            }
            "kubeconfig_file" => self.kubeconfig_file = Some(PathBuf::from(value)),
            "kube_in_cluster" => self.kube_in_cluster = parse_bool(value).map_err(invalid)?,
            "kube_service_account_dir" => self.kube_service_account_dir = PathBuf::from(value),
            "log_format" => {
                self.log_format = match value {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => return Err(invalid(format!("'{value}': expected text or json"))),
                }
            }
            "log_level" => self.log_level = value.to_string(),
            _ => return Err(invalid("unknown setting".into())),
        }
        Ok(())
    }

    /// The configured database URL, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("coastguard.db").display()),
        }
    }

    pub fn login_policy(&self) -> crate::auth::login::LoginPolicy {
        crate::auth::login::LoginPolicy::new(
            self.login_max_failures,
            15 * 60,
            self.login_lockout_minutes * 60,
        )
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{value}': expected true or false")),
    }
}

fn parse_positive(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{value}': expected a positive whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn later_sources_win() {
        let dir = std::env::temp_dir().join(format!("cg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("coastguard.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:8080\"\nsession_idle_minutes = 60\nfrobnicate = 1\n",
        )
        .unwrap();
        let (s, warnings) = Settings::load(Sources {
            file: Some(&file),
            env: env(&[
                ("COASTGUARD_SESSION_IDLE_MINUTES", "30"),
                ("COASTGUARD_NOPE", "x"),
                ("PATH", "/bin"),
            ]),
            flags: vec![("log_format", "json".into())],
        })
        .unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(s.session_idle_minutes, 30);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("frobnicate"));
        assert!(warnings[1].contains("COASTGUARD_NOPE"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_values_name_the_key_and_source() {
        let err = Settings::load(Sources {
            file: None,
            env: env(&[("COASTGUARD_LISTEN", "not-an-address")]),
            flags: vec![],
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`listen`") && err.contains("COASTGUARD_LISTEN"),
            "{err}"
        );

        let err = Settings::load(Sources {
            file: None,
            env: vec![],
            flags: vec![("cookie_secure", "maybe".into())],
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`cookie_secure`") && err.contains("--cookie-secure"),
            "{err}"
        );
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let (s, _) = Settings::load(Sources {
            file: None,
            env: env(&[("COASTGUARD_DATA_DIR", "/var/lib/coastguard")]),
            flags: vec![],
        })
        .unwrap();
        assert_eq!(
            s.database_url(),
            "sqlite:///var/lib/coastguard/coastguard.db"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let (s, _) = Settings::load(Sources {
            file: None,
            env: env(&[
                ("COASTGUARD_ADMIN_PASSWORD", "super-secret-passphrase"),
                (
                    "COASTGUARD_DATABASE_URL",
                    "postgres://cg:pgsecret@localhost/cg",
                ),
            ]),
            flags: vec![],
        })
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("super-secret-passphrase"), "{shown}");
        assert!(!shown.contains("pgsecret"), "{shown}");
    }
}
