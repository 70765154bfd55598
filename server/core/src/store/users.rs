//! Users and their credentials.

use super::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::{Role, UserView};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub session_epoch: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

impl UserRow {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            name: self.name.clone(),
            role: self.role,
            disabled: self.disabled,
            created_at: self.created_at,
            last_login_at: self.last_login_at,
        }
    }
}

const COLUMNS: &str = "id, name, role, password_hash, disabled, session_epoch, created_at, \
                       updated_at, last_login_at";

/// Counts the enabled admins other than `$1`: the guard against locking everyone out.
const OTHER_ENABLED_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1";

/// What an admin may change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

impl Store {
    pub async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE name = $1");
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<_, UserRow>(
            &sql
        )
        .bind(name)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn user(&self, id: i64) -> StoreResult<UserRow> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        with_db!(&self.db, |pool| sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    pub async fn list_users(&self) -> StoreResult<Vec<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY name");
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<_, UserRow>(
            &sql
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(pool)
        .await)?)
    }

    pub async fn record_login(&self, id: i64, now: i64) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "UPDATE users SET last_login_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Changes to users, within an action's [`Write`].
impl Write {
    pub async fn create_user(
        &mut self,
        name: &str,
        role: Role,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<UserRow> {
        let sql = format!(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        with_tx!(&mut self.tx, |t| sqlx::query_as::<_, UserRow>(&sql)
            .bind(name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut **t)
            .await)
        .map_err(|e| StoreError::on_unique(e, format!("a user named '{name}' already exists")))
    }

    /// Changes role and/or disabled flag. Refuses to leave the system without an enabled
    /// admin. Disabling bumps the session epoch so the user's sessions end at once.
    pub async fn update_user(
        &mut self,
        id: i64,
        change: &UserChange,
        now: i64,
    ) -> StoreResult<UserRow> {
        with_tx!(&mut self.tx, |t| {
            let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
            let current = sqlx::query_as::<_, UserRow>(&sql)
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
                .ok_or(StoreError::NotFound)?;
            let role = change.role.unwrap_or(current.role);
            let disabled = change.disabled.unwrap_or(current.disabled);
            let loses_admin = current.role == Role::Admin
                && !current.disabled
                && (role != Role::Admin || disabled);
            if loses_admin {
                let others: i64 = sqlx::query_scalar(OTHER_ENABLED_ADMINS)
                    .bind(id)
                    .fetch_one(&mut **t)
                    .await?;
                if others == 0 {
                    return Err(StoreError::Conflict(
                        "this is the last enabled admin: make another user admin first".into(),
                    ));
                }
            }
            let epoch_bump = i64::from(disabled && !current.disabled);
            let sql = format!(
                "UPDATE users SET role = $2, disabled = $3, session_epoch = session_epoch + $4, \
                 updated_at = $5 WHERE id = $1 RETURNING {COLUMNS}"
            );
            let row = sqlx::query_as::<_, UserRow>(&sql)
                .bind(id)
                .bind(role.as_str())
                .bind(disabled)
                .bind(epoch_bump)
                .bind(now)
                .fetch_one(&mut **t)
                .await?;
            Ok::<_, StoreError>(row)
        })
    }

    /// Stores a new password hash and ends every existing session of the user.
    pub async fn set_password(
        &mut self,
        id: i64,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<()> {
        let done = with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1, \
             updated_at = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(password_hash)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a user and, in the same transaction, revokes the API tokens they created
    /// (a token must not outlive the person answerable for it). Returns the user and how
    /// many tokens were revoked. The last enabled admin can't be deleted.
    pub async fn delete_user(&mut self, id: i64, now: i64) -> StoreResult<(UserRow, u64)> {
        with_tx!(&mut self.tx, |t| {
            let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
            let current = sqlx::query_as::<_, UserRow>(&sql)
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
                .ok_or(StoreError::NotFound)?;
            if current.role == Role::Admin && !current.disabled {
                let others: i64 = sqlx::query_scalar(OTHER_ENABLED_ADMINS)
                    .bind(id)
                    .fetch_one(&mut **t)
                    .await?;
                if others == 0 {
                    return Err(StoreError::Conflict(
                        "this is the last enabled admin and can't be deleted".into(),
                    ));
                }
            }
            let revoked = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut **t)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut **t)
                .await?;
            Ok::<_, StoreError>((current, revoked))
        })
    }
}
