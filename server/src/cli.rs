//! The `coastguard` command line: `serve` (default), `migrate`, `user add`,
//! `token create`, `ingest`, `demo`, and the one-shot `audit docker` and `check-pod`. Settings flags are global and mirror the `COASTGUARD_*` variables.

use crate::startup;
use clap::{Args, Parser, Subcommand, ValueEnum};
use coastguard_core::auth::Authed;
use coastguard_core::config::{LogFormat, Sources};
use coastguard_core::kube::pss::{Level, Version};
use coastguard_core::{access, Settings};
use coastguard_model::docker::Policy;
use coastguard_model::{NewUser, Role, Severity};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "coastguard",
    version,
    about = "Container security posture dashboard"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One flag per setting (see `coastguard_core::config::KEYS`).
#[derive(Args, Debug, Default)]
pub struct SettingFlags {
    /// TOML config file (also COASTGUARD_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Prefer COASTGUARD_ADMIN_PASSWORD: flags show up in process listings.
    #[arg(long, global = true, value_name = "PASSWORD")]
    pub admin_password: Option<String>,
    #[arg(long, global = true, value_name = "DIR")]
    pub site_root: Option<String>,
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    #[arg(long, global = true, value_name = "BOOL")]
    pub cookie_secure: Option<String>,
    #[arg(long, global = true, value_name = "MINUTES")]
    pub session_idle_minutes: Option<String>,
    #[arg(long, global = true, value_name = "DAYS")]
    pub session_max_days: Option<String>,
    #[arg(long, global = true, value_name = "BOOL")]
    pub trust_proxy: Option<String>,
    #[arg(long, global = true, value_name = "N")]
    pub login_max_failures: Option<String>,
    #[arg(long, global = true, value_name = "MINUTES")]
    pub login_lockout_minutes: Option<String>,
    #[arg(long, global = true, value_name = "SECONDS")]
    pub request_timeout_seconds: Option<String>,
    #[arg(long, global = true, value_name = "N")]
    pub max_concurrent_requests: Option<String>,
    #[arg(long, global = true, value_name = "MIB")]
    pub max_report_mb: Option<String>,
    #[arg(long, global = true, value_name = "BOOL")]
    pub docker_local: Option<String>,
    #[arg(long, global = true, value_name = "SECONDS")]
    pub docker_sync_seconds: Option<String>,
    #[arg(long, global = true, value_name = "SECONDS")]
    pub docker_drift_seconds: Option<String>,
    /// Prefer COASTGUARD_SECRET_KEY or --secret-key-file: flags show up in process listings.
    #[arg(long, global = true, value_name = "KEY")]
    pub secret_key: Option<String>,
    #[arg(long, global = true, value_name = "FILE")]
    pub secret_key_file: Option<String>,
    #[arg(long, global = true, value_name = "SECONDS")]
    pub kube_resync_seconds: Option<String>,
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig_file: Option<String>,
    #[arg(long, global = true, value_name = "BOOL")]
    pub kube_in_cluster: Option<String>,
    #[arg(long, global = true, value_name = "DIR")]
    pub kube_service_account_dir: Option<String>,
    #[arg(long, global = true, value_name = "text|json")]
    pub log_format: Option<String>,
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

impl SettingFlags {
    fn given(&self) -> Vec<(&'static str, String)> {
        let all = [
            ("data_dir", &self.data_dir),
            ("database_url", &self.database_url),
            ("listen", &self.listen),
            ("admin_password", &self.admin_password),
            ("site_root", &self.site_root),
            ("public_url", &self.public_url),
            ("cookie_secure", &self.cookie_secure),
            ("session_idle_minutes", &self.session_idle_minutes),
            ("session_max_days", &self.session_max_days),
            ("trust_proxy", &self.trust_proxy),
            ("login_max_failures", &self.login_max_failures),
            ("login_lockout_minutes", &self.login_lockout_minutes),
            ("request_timeout_seconds", &self.request_timeout_seconds),
            ("max_concurrent_requests", &self.max_concurrent_requests),
            ("max_report_mb", &self.max_report_mb),
            ("docker_local", &self.docker_local),
            ("docker_sync_seconds", &self.docker_sync_seconds),
            ("docker_drift_seconds", &self.docker_drift_seconds),
            ("secret_key", &self.secret_key),
            ("secret_key_file", &self.secret_key_file),
            ("kube_resync_seconds", &self.kube_resync_seconds),
            ("kubeconfig_file", &self.kubeconfig_file),
            ("kube_in_cluster", &self.kube_in_cluster),
            ("kube_service_account_dir", &self.kube_service_account_dir),
            ("log_format", &self.log_format),
            ("log_level", &self.log_level),
        ];
        all.into_iter()
            .filter_map(|(key, value)| value.clone().map(|v| (key, v)))
            .collect()
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// One-shot audits that need no server or database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Judge Pod and workload manifests (YAML or JSON; several documents, Lists, and
    /// workloads through their pod template) against a Pod Security Standards level, as
    /// Kubernetes' pod-security admission would. One JSON object per pod; exit 0 when all
    /// are allowed, 1 when any is denied, 2 when an input cannot be read. No server or
    /// database needed.
    CheckPod {
        #[arg(long, value_enum)]
        level: CheckLevel,
        /// Policy version: v1.0 … v1.N, or latest.
        #[arg(long, default_value = "latest", value_parser = parse_version)]
        version: Version,
        /// Manifest files (`-` reads standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Verify one image's signatures (cosign by key or keyless, Notation) in its registry,
    /// with the server's own checks and no server or database. Registry credentials come
    /// from COASTGUARD_REGISTRY_USERNAME and COASTGUARD_REGISTRY_PASSWORD. Exit 0 when
    /// verified, 1 when not, 2 when it could not check.
    VerifyImage {
        /// The image: [registry/]repository[:tag][@digest].
        image: String,
        /// A public key (PEM) to trust; repeat for several.
        #[arg(long = "key", value_name = "FILE")]
        keys: Vec<PathBuf>,
        /// Keyless: a regular expression the certificate's identity (email or URI) must
        /// match whole.
        #[arg(long, value_name = "REGEX")]
        certificate_identity: Option<String>,
        /// Keyless: the OIDC issuer that vouched for the identity (matched exactly).
        #[arg(long, value_name = "URL")]
        certificate_oidc_issuer: Option<String>,
        /// Keyless: a Sigstore trusted_root.json (read from disk, never downloaded).
        #[arg(long, value_name = "FILE")]
        trust_root: Option<PathBuf>,
        /// Notation: a trusted CA certificate (PEM); repeat for several.
        #[arg(long = "notation-ca", value_name = "FILE")]
        notation_cas: Vec<PathBuf>,
        /// The registry's CA certificate (PEM), trusted beside the system's.
        #[arg(long, value_name = "FILE")]
        registry_ca: Option<PathBuf>,
        /// Speak plain HTTP to the registry.
        #[arg(long)]
        insecure_registry: bool,
        /// One JSON object on stdout: image, digest, status, signatures, error.
        #[arg(long)]
        json: bool,
    },
    /// The demo estate: invented hosts, images, containers, scans and ninety days of
    /// history, in a database of its own (never the configured one), for a look at
    /// Coastguard without an engine.
    Demo {
        #[command(subcommand)]
        action: DemoCommand,
        /// The demo's database (default: sqlite://<data_dir>/demo.db). It must be empty
        /// or hold the demo estate.
        #[arg(long, global = true, value_name = "URL")]
        demo_db: Option<String>,
    },
    /// Store scan reports (Trivy, Grype, SARIF, CycloneDX), VEX documents or exploit
    /// intelligence feeds (CISA KEV JSON, FIRST EPSS CSV) in the configured database, as an
    /// upload would.
    Ingest {
        /// Report files (`-` reads standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Tie the reports to this image: a digest, or a repository:tag the inventory knows.
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        /// One JSON object per file on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The levels `check-pod` judges (privileged allows every pod).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CheckLevel {
    Baseline,
    Restricted,
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum DemoCommand {
    /// Create the demo estate (again, if it exists) and print how to log in. The admin's
    /// password is COASTGUARD_ADMIN_PASSWORD, or a new one printed once.
    Load,
    /// Serve the demo estate: every page says "demo", no engine is collected.
    Serve,
    /// Delete the demo estate.
    Remove,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Collect from one Docker engine and run every check once. Exit status 1 when a
    /// finding at or above --fail-on exists, 2 when the audit could not run.
    Docker {
        /// Engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock).
        /// TLS material is read from DOCKER_CERT_PATH as the docker CLI does.
        #[arg(long, value_name = "URL")]
        host: Option<String>,
        /// One JSON object per finding on stdout.
        #[arg(long)]
        json: bool,
        /// Exit 1 when a finding of this severity or worse exists.
        #[arg(long, value_name = "SEVERITY", default_value = "critical")]
        fail_on: Severity,
        /// Registries images may come from (repeatable); none: the check is off.
        #[arg(long = "trusted-registry", value_name = "HOST")]
        trusted_registries: Vec<String>,
        #[arg(long, default_value_t = 180)]
        image_max_age_days: i64,
        #[arg(long, default_value_t = 1024)]
        image_max_size_mb: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "viewer")]
        role: Role,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print its secret once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Audit(audit)) => return run_audit(audit).await,
        Some(Command::CheckPod {
            level,
            version,
            ref files,
        }) => return check_pod(level, version, files),
        Some(Command::VerifyImage {
            image,
            keys,
            certificate_identity,
            certificate_oidc_issuer,
            trust_root,
            notation_cas,
            registry_ca,
            insecure_registry,
            json,
        }) => {
            let request = crate::verify_image::Request {
                image,
                keys,
                identity: certificate_identity,
                issuer: certificate_oidc_issuer,
                trust_root,
                notation_cas,
                registry_ca,
                insecure: insecure_registry,
                username: std::env::var("COASTGUARD_REGISTRY_USERNAME").ok(),
                password: std::env::var("COASTGUARD_REGISTRY_PASSWORD").ok(),
                json,
            };
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            return ExitCode::from(crate::verify_image::run(request, &mut out, &mut err).await);
        }
        _ => {}
    }
    let config_file = cli
        .settings
        .config
        .clone()
        .or_else(|| std::env::var_os("COASTGUARD_CONFIG").map(PathBuf::from));
    let loaded = Settings::load(Sources {
        file: config_file.as_deref(),
        env: std::env::vars().collect(),
        flags: cli.settings.given(),
    });
    let (settings, warnings) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("coastguard: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match run(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coastguard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => startup::serve(settings).await,
        Command::Demo { action, demo_db } => {
            let url = crate::demo::url(&settings, demo_db);
            match action {
                DemoCommand::Load => crate::demo::load(settings, &url).await,
                DemoCommand::Serve => crate::demo::serve(settings, &url).await,
                DemoCommand::Remove => crate::demo::remove(&url).await,
            }
        }
        Command::Audit(_) | Command::CheckPod { .. } | Command::VerifyImage { .. } => {
            unreachable!("audits run before settings are loaded")
        }
        Command::Migrate => {
            let state = startup::open(settings).await?;
            println!(
                "migrations applied to {}",
                coastguard_core::db::redact_url(&state.settings.database_url())
            );
            Ok(())
        }
        Command::User(UserCommand::Add { name, role }) => {
            let state = startup::open(settings).await?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let user = access::create_user(
                &state,
                &Authed::cli(),
                NewUser {
                    name,
                    role,
                    password,
                },
            )
            .await?;
            println!("created user {} with role {}", user.name, user.role);
            Ok(())
        }
        Command::Ingest { files, image, json } => ingest(settings, &files, image, json).await,
        Command::Token(TokenCommand::Create {
            name,
            role,
            expires_in_days,
        }) => {
            let state = startup::open(settings).await?;
            let created =
                access::create_token(&state, &Authed::cli(), &name, role, expires_in_days).await?;
            // The secret alone on stdout, so scripts can capture it.
            println!("{}", created.secret);
            eprintln!(
                "created token {} ({}) with role {}; store it now, it is not shown again",
                created.token.id, created.token.name, created.token.role
            );
            Ok(())
        }
    }
}

/// `coastguard ingest`: each file stored on its own; a failed one is reported and the
/// others still go in.
async fn ingest(
    settings: Settings,
    files: &[std::path::PathBuf],
    image: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let state = startup::open(settings).await?;
    let by = Authed::cli().as_analyst();
    let mut failed = 0;
    for file in files {
        let bytes = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf)?;
            buf
        } else {
            std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        };
        let stored =
            coastguard_core::scans::ingest::ingest(&state, &by, &bytes, image.clone(), "cli").await;
        match stored {
            Ok(summaries) => {
                for s in &summaries {
                    print_summary(file, s, json)?;
                }
            }
            Err(e) => {
                failed += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "file": file.display().to_string(), "error": e.body().error })
                    );
                } else {
                    eprintln!("{}: {}", file.display(), e.detailed());
                }
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be ingested", files.len());
    }
    Ok(())
}

/// One stored document's summary, as a JSON line or as text.
fn print_summary(
    file: &std::path::Path,
    s: &coastguard_model::vulns::IngestSummary,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(s)?;
        v["file"] = serde_json::Value::String(file.display().to_string());
        println!("{v}");
        return Ok(());
    }
    if s.kind == "feed" {
        println!(
            "{}: {} ({}) {} CVEs",
            file.display(),
            s.format,
            s.scanner,
            s.entries
        );
    } else {
        println!(
            "{}: {} ({}) {} entries, {} findings: {} new, {} updated, {} unchanged, {} reopened, {} fixed{}",
            file.display(),
            s.format,
            s.scanner,
            s.entries,
            s.findings,
            s.created,
            s.updated,
            s.unchanged,
            s.reopened,
            s.fixed,
            s.image.as_ref().map(|i| format!(" on {}", i.name)).unwrap_or_default()
        );
    }
    for note in &s.notes {
        println!("  note: {note}");
    }
    Ok(())
}

/// Audits need neither settings nor a database: a pipeline runs them anywhere.
fn check_pod(level: CheckLevel, version: Version, files: &[PathBuf]) -> ExitCode {
    let level = match level {
        CheckLevel::Baseline => Level::Baseline,
        CheckLevel::Restricted => Level::Restricted,
    };
    let files: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    let read = |file: &std::path::Path| {
        if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            Ok(text)
        } else {
            std::fs::read_to_string(file)
        }
    };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match crate::check_pod::run(level, version, &files, read, &mut out, &mut err) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("coastguard: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run_audit(command: AuditCommand) -> ExitCode {
    let AuditCommand::Docker {
        host,
        json,
        fail_on,
        trusted_registries,
        image_max_age_days,
        image_max_size_mb,
    } = command;
    let policy = Policy {
        trusted_registries,
        image_max_age_days,
        image_max_size_mb,
        ..Policy::default()
    };
    let policy = match policy.validated() {
        Ok(p) => p,
        Err((field, message)) => {
            eprintln!("coastguard: --{}: {message}", field.replace('_', "-"));
            return ExitCode::from(2);
        }
    };
    let config = crate::audit::engine_config(host);
    match crate::audit::run(&config, &policy).await {
        Ok(findings) => {
            let printed = if json {
                crate::audit::print_json(&findings)
            } else {
                crate::audit::print_text(&findings)
            };
            if let Err(e) = printed {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("coastguard: writing the report: {e}");
                    return ExitCode::from(2);
                }
            }
            if findings.iter().any(|f| f.severity >= fail_on) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("coastguard: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_setting_has_a_global_flag() {
        let cmd = Cli::command();
        for doc in coastguard_core::config::KEYS {
            let flag = doc.key.replace('_', "-");
            assert!(
                cmd.get_arguments()
                    .any(|a| a.get_long() == Some(flag.as_str())),
                "no --{flag} flag"
            );
        }
        assert!(SettingFlags::default().given().is_empty());
    }

    #[test]
    fn every_flag_reaches_the_settings() {
        let mut argv = vec!["coastguard".to_string()];
        for doc in coastguard_core::config::KEYS {
            argv.push(format!("--{}", doc.key.replace('_', "-")));
            argv.push("x".into());
        }
        let cli = Cli::try_parse_from(argv).unwrap();
        let keys: Vec<_> = cli.settings.given().into_iter().map(|(k, _)| k).collect();
        let documented: Vec<_> = coastguard_core::config::KEYS
            .iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, documented);
    }

    #[test]
    fn flags_map_to_their_keys() {
        let cli = Cli::try_parse_from([
            "coastguard",
            "--listen",
            "0.0.0.0:9",
            "--log-format",
            "json",
            "migrate",
        ])
        .unwrap();
        assert_eq!(
            cli.settings.given(),
            vec![
                ("listen", "0.0.0.0:9".to_string()),
                ("log_format", "json".to_string())
            ]
        );
        assert!(matches!(cli.command, Some(Command::Migrate)));
    }
}
