//! `coastguard verify-image`: one image's signatures, checked with the server's own code,
//! without a server or database. Exit 0 when verified, 1 when not, 2 when it could not
//! check (registry unreachable or refusing, unreadable key files, a bad reference).

use coastguard_core::registry::client::{Registry, RegistryAccess};
use coastguard_core::registry::reference::ImageReference;
use coastguard_core::signatures::cosign::TrustedKey;
use coastguard_core::signatures::fulcio::{IdentityRule, TrustRoot};
use coastguard_core::signatures::keys::PublicKey;
use coastguard_core::signatures::notation::TrustedCa;
use coastguard_core::signatures::verify::{verify_image, Trust, Verification};
use coastguard_model::signatures::SignatureStatus;
use std::io::Write;
use std::path::PathBuf;

/// What the command line gave.
pub struct Request {
    pub image: String,
    pub keys: Vec<PathBuf>,
    pub identity: Option<String>,
    pub issuer: Option<String>,
    pub trust_root: Option<PathBuf>,
    pub notation_cas: Vec<PathBuf>,
    pub registry_ca: Option<PathBuf>,
    pub insecure: bool,
    /// From `COASTGUARD_REGISTRY_USERNAME` / `_PASSWORD`, never from flags (which `ps`
    /// shows).
    pub username: Option<String>,
    pub password: Option<String>,
    pub json: bool,
}

fn read(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The trust the flags describe; an error names the file or flag at fault.
fn trust(req: &Request) -> Result<Trust, String> {
    let mut trust = Trust::default();
    for path in &req.keys {
        let key = PublicKey::from_pem(&read(path, "key")?)
            .map_err(|e| format!("key {}: {e}", path.display()))?;
        trust.keys.push(TrustedKey {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            key,
        });
    }
    match (&req.identity, &req.issuer) {
        (Some(identity), Some(issuer)) => {
            let path = req
                .trust_root
                .as_ref()
                .ok_or("--certificate-identity needs --trust-root (a Sigstore trusted_root.json; never downloaded)")?;
            let root = TrustRoot::from_json(&read(path, "trust root")?)
                .map_err(|e| format!("trust root {}: {e}", path.display()))?;
            let rule = IdentityRule::with_issuer(identity, issuer)?;
            trust.keyless = Some((root, vec![rule]));
        }
        (None, None) => {}
        _ => return Err("--certificate-identity and --certificate-oidc-issuer go together".into()),
    }
    for path in &req.notation_cas {
        let certs = coastguard_core::signatures::fulcio::certificates_from_pem(&read(
            path,
            "CA certificate",
        )?)?;
        if certs.is_empty() {
            return Err(format!("{} holds no CERTIFICATE", path.display()));
        }
        for der in certs {
            trust.notation.push(TrustedCa {
                name: path.display().to_string(),
                der,
            });
        }
    }
    if trust.keys.is_empty() && trust.keyless.is_none() && trust.notation.is_empty() {
        return Err("nothing to verify with: give --key, --certificate-identity with --trust-root, or --notation-ca".into());
    }
    Ok(trust)
}

/// Runs the check; writes the outcome (text or JSON) to `out` and problems to `err`.
pub async fn run(req: Request, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let prepared = (|| {
        let reference =
            ImageReference::parse(&req.image).map_err(|e| format!("{}: {e}", req.image))?;
        let trust = trust(&req)?;
        let ca_pem = req
            .registry_ca
            .as_ref()
            .map(|p| read(p, "registry CA"))
            .transpose()?;
        let registry = Registry::new(RegistryAccess {
            host: reference.registry.clone(),
            username: req.username.clone(),
            password: req.password.clone(),
            ca_pem,
            insecure: req.insecure,
        })?;
        Ok::<_, String>((reference, trust, registry))
    })();
    let (reference, trust, registry) = match prepared {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(err, "coastguard: {e}");
            return 2;
        }
    };
    let v = verify_image(&registry, &reference, &trust, coastguard_core::now(), None).await;
    let _ = if req.json {
        serde_json::to_writer(&mut *out, &v)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        write_text(&v, out)
    };
    match v.status {
        SignatureStatus::Verified => 0,
        SignatureStatus::Unknown => 2,
        _ => 1,
    }
}

fn write_text(v: &Verification, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {}: {}",
        v.image,
        v.digest
            .as_deref()
            .map(|d| format!("({d})"))
            .unwrap_or_default(),
        v.status.as_str()
    )?;
    if let Some(e) = &v.error {
        writeln!(out, "  could not check: {e}")?;
    }
    for s in &v.signatures {
        write!(out, "  {:<15} {:<10}", s.kind.label(), s.verdict.as_str())?;
        if let Some(signer) = &s.signer {
            write!(out, " by {signer}")?;
        }
        if !s.reason.is_empty() {
            write!(out, ": {}", s.reason)?;
        }
        writeln!(out)?;
    }
    if v.signatures.is_empty() && v.error.is_none() {
        writeln!(out, "  no cosign or Notation signature found")?;
    }
    Ok(())
}
