//! API tokens. Only a SHA-256 of each secret is stored.

use super::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::{Role, TokenView};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The user who created it is disabled: it answers nothing until they are enabled.
    pub owner_disabled: bool,
}

impl TokenRow {
    pub fn view(&self, now: i64) -> TokenView {
        TokenView {
            active: self.is_active(now),
            id: self.id,
            name: self.name.clone(),
            role: self.role,
            prefix: self.prefix.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
            owner_disabled: self.owner_disabled,
        }
    }

    /// Usable now: not revoked, not expired, and its creator not disabled. (Deleting a
    /// user revokes their tokens.)
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|at| at > now)
            && !self.owner_disabled
    }

    /// Whether a use at `now` is worth recording: `last_used_at` moves at most once a
    /// minute. A request that need not record it writes nothing (on SQLite a write, even
    /// one that changes no row, waits for the database's single write lock).
    pub fn needs_touch(&self, now: i64) -> bool {
        self.last_used_at
            .is_none_or(|t| t < now - LAST_USED_GRANULARITY)
    }
}

const SELECT: &str = "SELECT t.id, t.name, t.role, t.prefix, u.name AS created_by, t.created_at, \
                      t.expires_at, t.last_used_at, t.revoked_at, \
                      COALESCE(u.disabled, FALSE) AS owner_disabled \
                      FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by";

/// How often `last_used_at` is written for a busy token (seconds): a token used by a
/// scraper every few seconds must not turn every read into a write.
const LAST_USED_GRANULARITY: i64 = 60;

pub struct NewTokenRow<'a> {
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: Option<i64>,
    pub expires_at: Option<i64>,
}

impl Store {
    pub async fn token(&self, id: i64) -> StoreResult<TokenRow> {
        let sql = format!("{SELECT} WHERE t.id = $1");
        with_db!(&self.db, |pool| sqlx::query_as::<_, TokenRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Finds a token by the hash of its secret, whatever its state; callers check
    /// [`TokenRow::is_active`].
    pub async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRow>> {
        let sql = format!("{SELECT} WHERE t.token_hash = $1");
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<_, TokenRow>(
            &sql
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
        let sql =
            format!("{SELECT} ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC");
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<_, TokenRow>(
            &sql
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)"
        )
        .bind(id)
        .bind(now)
        .bind(now - LAST_USED_GRANULARITY)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Changes to API tokens, within an action's [`Write`].
impl Write {
    pub async fn create_token(&mut self, new: &NewTokenRow<'_>, now: i64) -> StoreResult<TokenRow> {
        let id: i64 = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO api_tokens (name, role, token_hash, prefix, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        )
        .bind(new.name)
        .bind(new.role.as_str())
        .bind(new.token_hash)
        .bind(new.prefix)
        .bind(new.created_by)
        .bind(now)
        .bind(new.expires_at)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, "token collision, try again"))?;
        self.token(id).await
    }

    /// Revokes a token for good. Revoking twice is not an error; revoking a token that
    /// does not exist is.
    pub async fn revoke_token(&mut self, id: i64, now: i64) -> StoreResult<TokenRow> {
        let changed = with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        self.token(id).await
    }

    /// A token as this transaction sees it.
    async fn token(&mut self, id: i64) -> StoreResult<TokenRow> {
        let sql = format!("{SELECT} WHERE t.id = $1");
        with_tx!(&mut self.tx, |t| sqlx::query_as::<_, TokenRow>(&sql)
            .bind(id)
            .fetch_optional(&mut **t)
            .await)?
        .ok_or(StoreError::NotFound)
    }
}
