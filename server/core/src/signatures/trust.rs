//! The keys admins trust for cosign signatures: stored, listed, added and removed, each
//! change in one commit with its audit record; and the keys that apply to an image.

use super::cosign::TrustedKey;
use super::keys::PublicKey;
use crate::access::audit_by;
use crate::auth::{Admin, Authed, Viewer};
use crate::error::{Error, Result};
use crate::store::{StoreResult, Write};
use crate::{now, validate_field, with_db, with_tx, AppState, Store, StoreError};
use coastguard_model::signatures::{scope_matches, validate_scope, NewSigningKey, SigningKeyView};
use coastguard_model::validate;
use serde_json::json;

/// The setting that holds when the trusted keys last changed: every check made before
/// then is done again (by the signatures job, within ten minutes).
pub const KEYS_CHANGED: &str = "signatures.keys_changed_at";

/// A PEM public key is a few hundred bytes (RSA-4096: 800); more is not one key.
const MAX_PEM: usize = 16 * 1024;

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    kind: String,
    fingerprint: String,
    public_pem: String,
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
            scope: r.scope,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, name, kind, fingerprint, public_pem, scope, created_by, created_at";

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
            "INSERT INTO signing_keys (name, kind, fingerprint, public_pem, scope, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        )
        .bind(&key.name)
        .bind(&key.kind)
        .bind(&key.fingerprint)
        .bind(&key.public_pem)
        .bind(&key.scope)
        .bind(&key.created_by)
        .bind(key.created_at)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, format!("a key named '{}', or this very key, is already trusted", key.name)))
    }

    async fn remove_signing_key(&mut self, id: i64) -> StoreResult<SigningKeyView> {
        let sql = format!("DELETE FROM signing_keys WHERE id = $1 RETURNING {COLUMNS}");
        let row: Option<KeyRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut **t)
            .await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }
}

/// Every trusted key (public material: any signed-in user may read them).
pub async fn list_keys(state: &AppState, _by: &Authed<Viewer>) -> Result<Vec<SigningKeyView>> {
    Ok(state.store.signing_keys().await?)
}

/// Trusts a key, after reading it: a private key, a certificate or garbage is refused.
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
    if input.public_pem.len() > MAX_PEM {
        return Err(Error::invalid_at(
            "public_pem",
            "a public key PEM is at most 16 KiB",
        ));
    }
    if input.public_pem.contains("PRIVATE KEY") {
        return Err(Error::invalid_at(
            "public_pem",
            "this is a private key: give the public key (cosign.pub), and keep the private one secret",
        ));
    }
    let key = PublicKey::from_pem(&input.public_pem)
        .map_err(|e| Error::invalid_at("public_pem", e.to_string()))?;
    let at = now();
    let mut view = SigningKeyView {
        id: 0,
        name,
        kind: key.kind().to_string(),
        fingerprint: key.fingerprint(),
        public_pem: input.public_pem.trim().to_string() + "\n",
        scope,
        created_by: Some(by.principal.name.clone()),
        created_at: at,
    };
    let mut w = state.store.begin().await?;
    view.id = w.add_signing_key(&view).await?;
    w.put_setting(KEYS_CHANGED, &at, &by.principal.name, at)
        .await?;
    let record = audit_by(
        by,
        "signing_key.add",
        Some(format!("signing_key:{}", view.id)),
        Some(
            json!({ "name": view.name, "kind": view.kind, "fingerprint": view.fingerprint, "scope": view.scope }),
        ),
    );
    w.commit_with(&record, at).await?;
    Ok(view)
}

/// Stops trusting a key.
pub async fn remove_key(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<SigningKeyView> {
    let at = now();
    let mut w = state.store.begin().await?;
    let removed = w.remove_signing_key(id).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!("no signing key with id {id}")),
        other => other.into(),
    })?;
    w.put_setting(KEYS_CHANGED, &at, &by.principal.name, at)
        .await?;
    let record = audit_by(
        by,
        "signing_key.remove",
        Some(format!("signing_key:{id}")),
        Some(json!({ "name": removed.name, "fingerprint": removed.fingerprint })),
    );
    w.commit_with(&record, at).await?;
    Ok(removed)
}

/// The keys whose scope covers `name` (`registry/repository`), ready to verify with. A
/// stored key that no longer reads (it was checked when added) is left out.
pub fn keys_for(keys: &[SigningKeyView], name: &str) -> Vec<TrustedKey> {
    keys.iter()
        .filter(|k| scope_matches(&k.scope, name))
        .filter_map(|k| {
            PublicKey::from_pem(&k.public_pem)
                .ok()
                .map(|key| TrustedKey {
                    name: k.name.clone(),
                    key,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, scope: &str, pem: &str) -> SigningKeyView {
        SigningKeyView {
            id: 1,
            name: name.into(),
            kind: "ecdsa-p256".into(),
            fingerprint: String::new(),
            public_pem: pem.into(),
            scope: scope.into(),
            created_by: None,
            created_at: 0,
        }
    }

    #[test]
    fn the_keys_of_an_image_are_those_whose_scope_covers_it() {
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/signatures/cosign/containers-image/cosign.pub"
        ))
        .unwrap();
        let keys = [
            view("everyone", "*", &pem),
            view("team", "registry.example.com/team/*", &pem),
            view(
                "broken",
                "*",
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ),
        ];
        let names = |image: &str| -> Vec<String> {
            keys_for(&keys, image).into_iter().map(|k| k.name).collect()
        };
        assert_eq!(names("registry.example.com/team/api"), ["everyone", "team"]);
        assert_eq!(names("docker.io/library/busybox"), ["everyone"]);
    }
}
