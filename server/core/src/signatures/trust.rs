//! The signers admins trust: cosign public keys, Notation trust-store CA certificates and
//! cosign keyless identities (each for the images its scope names), and the Sigstore trust
//! root keyless certificates chain to. Stored, listed, added and removed, each change in
//! one commit with its audit record; and what applies to an image.

use super::cosign::TrustedKey;
use super::fulcio::{IdentityRule, TrustRoot};
use super::keys::PublicKey;
use super::notation::TrustedCa;
use super::verify::Trust;
use crate::access::audit_by;
use crate::auth::{Admin, Authed, Viewer};
use crate::error::{Error, Result};
use crate::registry::client::sha256;
use crate::store::{StoreResult, Write};
use crate::{now, validate_field, with_db, with_tx, AppState, Store, StoreError};
use coastguard_model::signatures::{
    scope_matches, validate_scope, NewSigningKey, SigningKeyView, TrustRootView, TrustedAuthority,
};
use coastguard_model::validate;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The setting that holds when the trusted signers last changed: every check made before
/// then is done again (by the signatures job, within ten minutes).
pub const KEYS_CHANGED: &str = "signatures.keys_changed_at";
/// The setting that holds the Sigstore trust root ([`StoredRoot`]).
pub const TRUSTED_ROOT: &str = "signatures.trusted_root";

/// A PEM public key is a few hundred bytes (RSA-4096: 800), a CA certificate a few
/// kilobytes; more is not one key or one certificate.
const MAX_PEM: usize = 16 * 1024;
/// Sigstore's public `trusted_root.json` is about 8 KiB.
pub const MAX_TRUST_ROOT: usize = 1024 * 1024;
/// Kinds that are not a cosign public key.
pub const NOTATION_CA: &str = "notation-ca";
pub const KEYLESS: &str = "keyless";

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    kind: String,
    fingerprint: String,
    public_pem: String,
    identity: Option<String>,
    issuer: Option<String>,
    scope: String,
    created_by: Option<String>,
    created_at: i64,
}

impl From<KeyRow> for SigningKeyView {
    fn from(r: KeyRow) -> Self {
        SigningKeyView {
            id: r.id,
            name: r.name,
            kind: r.kind,
            fingerprint: r.fingerprint,
            public_pem: r.public_pem,
            identity: r.identity,
            issuer: r.issuer,
            scope: r.scope,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str =
    "id, name, kind, fingerprint, public_pem, identity, issuer, scope, created_by, created_at";

/// The trust root as an admin gave it, with who and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRoot {
    pub document: String,
    pub sha256: String,
    pub set_by: String,
    pub set_at: i64,
}

impl Store {
    pub async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyView>> {
        let sql = format!("SELECT {COLUMNS} FROM signing_keys ORDER BY name");
        let rows: Vec<KeyRow> =
            with_db!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

impl Write {
    async fn add_signing_key(&mut self, key: &SigningKeyView) -> StoreResult<i64> {
        with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO signing_keys (name, kind, fingerprint, public_pem, identity, issuer, scope, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
        )
        .bind(&key.name)
        .bind(&key.kind)
        .bind(&key.fingerprint)
        .bind(&key.public_pem)
        .bind(&key.identity)
        .bind(&key.issuer)
        .bind(&key.scope)
        .bind(&key.created_by)
        .bind(key.created_at)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, format!("a signer named '{}', or this very signer, is already trusted", key.name)))
    }

    async fn remove_signing_key(&mut self, id: i64) -> StoreResult<SigningKeyView> {
        let sql = format!("DELETE FROM signing_keys WHERE id = $1 RETURNING {COLUMNS}");
        let row: Option<KeyRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut **t)
            .await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// Notes that what is trusted changed now: every earlier check is due again.
    async fn trust_changed(&mut self, by: &str, at: i64) -> StoreResult<()> {
        self.put_setting(KEYS_CHANGED, &at, by, at).await
    }
}

/// Every trusted signer (public material: any signed-in user may read them).
pub async fn list_keys(state: &AppState, _by: &Authed<Viewer>) -> Result<Vec<SigningKeyView>> {
    Ok(state.store.signing_keys().await?)
}

/// What a new signer is, after reading it: its kind, fingerprint and stored PEM.
struct Signer {
    kind: String,
    fingerprint: String,
    public_pem: String,
    identity: Option<String>,
    issuer: Option<String>,
}

/// Reads what an admin gave: a public key, a CA certificate, or an identity and issuer.
/// A private key, several certificates, a bad pattern or a mix of forms is refused.
fn read_signer(input: &NewSigningKey) -> Result<Signer> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.trim().is_empty())
    }
    match (
        given(&input.public_pem),
        given(&input.identity),
        given(&input.issuer),
    ) {
        (Some(pem), None, None) => read_pem(pem),
        (None, Some(identity), Some(issuer)) => {
            let (identity, issuer) = (identity.trim(), issuer.trim());
            if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
                || issuer.len() > 1024
                || issuer.chars().any(char::is_whitespace)
            {
                return Err(Error::invalid_at(
                    "issuer",
                    "the OIDC issuer is a URL (https://token.actions.githubusercontent.com, https://accounts.google.com), at most 1024 characters",
                ));
            }
            IdentityRule::with_issuer(identity, issuer)
                .map_err(|e| Error::invalid_at("identity", e))?;
            Ok(Signer {
                kind: KEYLESS.into(),
                fingerprint: format!(
                    "keyless:{}",
                    sha256(format!("{identity}\n{issuer}").as_bytes())
                        .trim_start_matches("sha256:")
                ),
                public_pem: String::new(),
                identity: Some(identity.into()),
                issuer: Some(issuer.into()),
            })
        }
        (None, Some(_), None) | (None, None, Some(_)) => Err(Error::invalid_at(
            "identity",
            "a keyless identity needs both identity (a pattern) and issuer (a URL)",
        )),
        _ => Err(Error::invalid_at(
            "public_pem",
            "give public_pem (a public key or a Notation CA certificate), or identity with issuer (a keyless identity): one of the two",
        )),
    }
}

fn read_pem(pem: &str) -> Result<Signer> {
    if pem.len() > MAX_PEM {
        return Err(Error::invalid_at(
            "public_pem",
            "a public key or CA certificate PEM is at most 16 KiB",
        ));
    }
    if pem.contains("PRIVATE KEY") {
        return Err(Error::invalid_at(
            "public_pem",
            "this is a private key: give the public key (cosign.pub), and keep the private one secret",
        ));
    }
    let public_pem = pem.trim().to_string() + "\n";
    if pem.contains("-----BEGIN CERTIFICATE-----") {
        let certs = crate::registry::certificates_from_pem(pem)
            .map_err(|e| Error::invalid_at("public_pem", e))?;
        let [der] = certs.as_slice() else {
            return Err(Error::invalid_at(
                "public_pem",
                "one CA certificate per trusted signer: add each certificate of a bundle by itself",
            ));
        };
        let der_ref = rustls_pki_types::CertificateDer::from(der.as_slice());
        webpki::anchor_from_trusted_cert(&der_ref).map_err(|e| {
            Error::invalid_at(
                "public_pem",
                format!("this certificate cannot anchor a chain: {e:?}"),
            )
        })?;
        return Ok(Signer {
            kind: NOTATION_CA.into(),
            fingerprint: sha256(der),
            public_pem,
            identity: None,
            issuer: None,
        });
    }
    let key =
        PublicKey::from_pem(pem).map_err(|e| Error::invalid_at("public_pem", e.to_string()))?;
    Ok(Signer {
        kind: key.kind().to_string(),
        fingerprint: key.fingerprint(),
        public_pem,
        identity: None,
        issuer: None,
    })
}

/// Trusts a signer, after reading it.
pub async fn add_key(
    state: &AppState,
    by: &Authed<Admin>,
    input: NewSigningKey,
) -> Result<SigningKeyView> {
    let name = validate_field("name", validate::label("key name", &input.name))?;
    let scope = validate_field(
        "scope",
        validate_scope(input.scope.as_deref().unwrap_or("*")),
    )?;
    let signer = read_signer(&input)?;
    let at = now();
    let mut view = SigningKeyView {
        id: 0,
        name,
        kind: signer.kind,
        fingerprint: signer.fingerprint,
        public_pem: signer.public_pem,
        identity: signer.identity,
        issuer: signer.issuer,
        scope,
        created_by: Some(by.principal.name.clone()),
        created_at: at,
    };
    let mut w = state.store.begin().await?;
    view.id = w.add_signing_key(&view).await?;
    w.trust_changed(&by.principal.name, at).await?;
    let record = audit_by(
        by,
        "signing_key.add",
        Some(format!("signing_key:{}", view.id)),
        Some(
            json!({ "name": view.name, "kind": view.kind, "fingerprint": view.fingerprint,
                    "identity": view.identity, "issuer": view.issuer, "scope": view.scope }),
        ),
    );
    w.commit_with(&record, at).await?;
    Ok(view)
}

/// Stops trusting a signer.
pub async fn remove_key(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<SigningKeyView> {
    let at = now();
    let mut w = state.store.begin().await?;
    let removed = w.remove_signing_key(id).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!("no trusted signer with id {id}")),
        other => other.into(),
    })?;
    w.trust_changed(&by.principal.name, at).await?;
    let record = audit_by(
        by,
        "signing_key.remove",
        Some(format!("signing_key:{id}")),
        Some(
            json!({ "name": removed.name, "kind": removed.kind, "fingerprint": removed.fingerprint }),
        ),
    );
    w.commit_with(&record, at).await?;
    Ok(removed)
}

fn root_view(stored: &StoredRoot, root: &TrustRoot) -> TrustRootView {
    TrustRootView {
        sha256: stored.sha256.clone(),
        authorities: root
            .authorities
            .iter()
            .map(|a| TrustedAuthority {
                name: a.name.clone(),
                certificates: a.chain.len(),
                valid_from: a.valid_from,
                valid_to: a.valid_to,
            })
            .collect(),
        transparency_logs: root.tlogs.len(),
        set_by: stored.set_by.clone(),
        set_at: stored.set_at,
    }
}

/// The stored trust root, read. One that no longer reads (it was read when set) is
/// logged and treated as none: keyless signatures are then untrusted, not errors.
async fn stored_root(state: &AppState) -> Result<Option<(StoredRoot, TrustRoot)>> {
    let Some(stored) = state.store.setting::<StoredRoot>(TRUSTED_ROOT).await? else {
        return Ok(None);
    };
    match TrustRoot::from_json(&stored.document) {
        Ok(root) => Ok(Some((stored, root))),
        Err(e) => {
            tracing::warn!(error = %e, "the stored Sigstore trust root no longer reads");
            Ok(None)
        }
    }
}

/// The trust root keyless signatures are checked against, if one is set.
pub async fn trust_root(state: &AppState, _by: &Authed<Viewer>) -> Result<Option<TrustRootView>> {
    Ok(stored_root(state).await?.map(|(s, r)| root_view(&s, &r)))
}

/// Sets the Sigstore trust root (`trusted_root.json`, as given: never downloaded),
/// replacing any earlier one.
pub async fn set_trust_root(
    state: &AppState,
    by: &Authed<Admin>,
    document: &str,
) -> Result<TrustRootView> {
    if document.len() > MAX_TRUST_ROOT {
        return Err(Error::invalid_at(
            "trusted_root",
            "a trust root is at most 1 MiB",
        ));
    }
    let root = TrustRoot::from_json(document).map_err(|e| Error::invalid_at("trusted_root", e))?;
    let at = now();
    let stored = StoredRoot {
        document: document.to_string(),
        sha256: sha256(document.as_bytes()),
        set_by: by.principal.name.clone(),
        set_at: at,
    };
    let view = root_view(&stored, &root);
    let mut w = state.store.begin().await?;
    w.put_setting(TRUSTED_ROOT, &stored, &by.principal.name, at)
        .await?;
    w.trust_changed(&by.principal.name, at).await?;
    let record = audit_by(
        by,
        "signature_trust_root.set",
        Some("signature_trust_root".into()),
        Some(
            json!({ "sha256": view.sha256, "authorities": view.authorities.len(),
                     "transparency_logs": view.transparency_logs }),
        ),
    );
    w.commit_with(&record, at).await?;
    Ok(view)
}

/// Removes the trust root: keyless signatures are untrusted from the next check on.
pub async fn remove_trust_root(state: &AppState, by: &Authed<Admin>) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    if !w.delete_setting(TRUSTED_ROOT).await? {
        return Err(Error::NotFound("no Sigstore trust root is set".into()));
    }
    w.trust_changed(&by.principal.name, at).await?;
    let record = audit_by(
        by,
        "signature_trust_root.remove",
        Some("signature_trust_root".into()),
        None,
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// Everything trusted, read once for a pass of checks.
#[derive(Debug, Clone, Default)]
pub struct Trusted {
    pub signers: Vec<SigningKeyView>,
    pub root: Option<TrustRoot>,
    /// When it last changed (Unix seconds): checks made before are due again, and
    /// their verdicts do not stand.
    pub since: i64,
}

impl Trusted {
    pub async fn load(state: &AppState) -> Result<Trusted> {
        Ok(Trusted {
            signers: state.store.signing_keys().await?,
            root: stored_root(state).await?.map(|(_, r)| r),
            since: state.store.setting(KEYS_CHANGED).await?.unwrap_or(0),
        })
    }

    /// What applies to `name` (`registry/repository`): the signers whose scope covers
    /// it, ready to verify with. A stored signer that no longer reads (it was read when
    /// added) is left out. Keyless identities count only under a trust root.
    pub fn for_image(&self, name: &str) -> Trust {
        let mut trust = Trust::default();
        let mut identities = Vec::new();
        for s in self
            .signers
            .iter()
            .filter(|s| scope_matches(&s.scope, name))
        {
            match s.kind.as_str() {
                KEYLESS => {
                    if let (Some(identity), Some(issuer)) = (&s.identity, &s.issuer) {
                        identities.extend(IdentityRule::with_issuer(identity, issuer).ok());
                    }
                }
                NOTATION_CA => trust.notation.extend(
                    crate::registry::certificates_from_pem(&s.public_pem)
                        .ok()
                        .and_then(|c| c.into_iter().next())
                        .map(|der| TrustedCa {
                            name: s.name.clone(),
                            der,
                        }),
                ),
                _ => trust
                    .keys
                    .extend(
                        PublicKey::from_pem(&s.public_pem)
                            .ok()
                            .map(|key| TrustedKey {
                                name: s.name.clone(),
                                key,
                            }),
                    ),
            }
        }
        if let Some(root) = self.root.as_ref().filter(|_| !identities.is_empty()) {
            trust.keyless = Some((root.clone(), identities));
        }
        trust
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/signatures/cosign/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn new(
        name: &str,
        pem: Option<&str>,
        identity: Option<&str>,
        issuer: Option<&str>,
    ) -> NewSigningKey {
        NewSigningKey {
            name: name.into(),
            public_pem: pem.map(Into::into),
            identity: identity.map(Into::into),
            issuer: issuer.map(Into::into),
            scope: None,
        }
    }

    fn stored(name: &str, scope: &str, input: NewSigningKey) -> SigningKeyView {
        let s = read_signer(&input).unwrap();
        SigningKeyView {
            id: 1,
            name: name.into(),
            kind: s.kind,
            fingerprint: s.fingerprint,
            public_pem: s.public_pem,
            identity: s.identity,
            issuer: s.issuer,
            scope: scope.into(),
            created_by: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_signer_is_a_public_key_a_ca_certificate_or_an_identity_with_its_issuer() {
        let key = read_signer(&new(
            "k",
            Some(&fixture("containers-image/cosign.pub")),
            None,
            None,
        ))
        .unwrap();
        assert_eq!(key.kind, "ecdsa-p256");
        assert!(key.fingerprint.starts_with("sha256:"));
        let ca = read_signer(&new(
            "ca",
            Some(&fixture("containers-image/fulcio-cert.pem")),
            None,
            None,
        ))
        .unwrap();
        assert_eq!(ca.kind, NOTATION_CA);
        assert!(ca.fingerprint.starts_with("sha256:"));
        let id = read_signer(&new(
            "ci",
            None,
            Some(".*@example\\.com"),
            Some("https://accounts.google.com"),
        ))
        .unwrap();
        assert_eq!(id.kind, KEYLESS);
        assert!(id.fingerprint.starts_with("keyless:"));
        assert_eq!(id.public_pem, "");
        let refused = |input: NewSigningKey, field: &str, says: &str| {
            let e = read_signer(&input).err().unwrap().to_string();
            assert!(e.contains(says), "{field}: {e}");
        };
        refused(
            new("none", None, None, None),
            "public_pem",
            "one of the two",
        );
        refused(
            new(
                "both",
                Some(&fixture("containers-image/cosign.pub")),
                Some("a"),
                Some("https://x"),
            ),
            "public_pem",
            "one of the two",
        );
        refused(new("half", None, Some(".*"), None), "identity", "both");
        refused(
            new("bad-issuer", None, Some(".*"), Some("accounts.google.com")),
            "issuer",
            "URL",
        );
        refused(
            new("bad-pattern", None, Some("(unclosed"), Some("https://x")),
            "identity",
            "regular expression",
        );
        refused(
            new(
                "private",
                Some("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"),
                None,
                None,
            ),
            "public_pem",
            "private key",
        );
        let two = fixture("containers-image/fulcio-cert.pem").repeat(2);
        refused(
            new("bundle", Some(&two), None, None),
            "public_pem",
            "one CA certificate",
        );
    }

    #[test]
    fn what_applies_to_an_image_is_what_its_scope_covers_and_identities_need_a_root() {
        let pem = fixture("containers-image/cosign.pub");
        let mut broken = stored("broken", "*", new("b", Some(&pem), None, None));
        broken.public_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into();
        let identity = new(
            "ci",
            None,
            Some(".*"),
            Some("https://token.actions.githubusercontent.com"),
        );
        let mut trusted = Trusted {
            signers: vec![
                stored("everyone", "*", new("e", Some(&pem), None, None)),
                stored(
                    "team",
                    "registry.example.com/team/*",
                    new("t", Some(&pem), None, None),
                ),
                broken,
                stored(
                    "team ca",
                    "registry.example.com/team/*",
                    new(
                        "c",
                        Some(&fixture("containers-image/fulcio-cert.pem")),
                        None,
                        None,
                    ),
                ),
                stored("ci", "registry.example.com/team/*", identity),
            ],
            root: None,
            since: 0,
        };
        let names = |t: &Trust| -> Vec<String> { t.keys.iter().map(|k| k.name.clone()).collect() };
        let team = trusted.for_image("registry.example.com/team/api");
        assert_eq!(names(&team), ["everyone", "team"]);
        assert_eq!(team.notation.len(), 1);
        assert_eq!(team.notation[0].name, "team ca");
        assert!(team.keyless.is_none(), "no trust root: no keyless trust");
        let other = trusted.for_image("docker.io/library/busybox");
        assert_eq!(names(&other), ["everyone"]);
        assert!(other.notation.is_empty());

        trusted.root =
            Some(TrustRoot::from_json(&fixture("sigstore-rs/trusted_root.json")).unwrap());
        let team = trusted.for_image("registry.example.com/team/api");
        let (_, rules) = team.keyless.expect("identities under a trust root");
        assert_eq!(rules.len(), 1);
        assert!(
            trusted
                .for_image("docker.io/library/busybox")
                .keyless
                .is_none(),
            "no identity covers it"
        );
    }
}
