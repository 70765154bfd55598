//! Browser sessions live in the database (table `sessions`), so they survive restarts
//! and are shared by replicas. This wraps tower-sessions' sqlx stores for both backends.

use crate::db::Db;
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

pub const TABLE: &str = "sessions";
/// Session key holding [`SessionUser`].
pub const AUTH_KEY: &str = "auth";

/// What a browser session remembers: the user, and the user's session epoch at login
/// (a password change or disabling bumps the epoch and so ends older sessions).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionUser {
    pub user_id: i64,
    pub epoch: i64,
    /// When the user signed in: the session ends `session_max_days` later however active.
    #[serde(default)]
    pub signed_in_at: i64,
    /// When the session was last renewed (its idle expiry pushed back).
    #[serde(default)]
    pub renewed_at: i64,
}

/// Renewing a session writes it; busy sessions are renewed at most this often (seconds).
pub const RENEW_EVERY: i64 = 60;

/// What to do with a session at `now`.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// Past its absolute lifetime: end it.
    Expired,
    /// In use and due for renewal: write it back (which pushes its idle expiry back).
    Renew,
    Keep,
}

impl SessionUser {
    pub fn new(user_id: i64, epoch: i64, now: i64) -> SessionUser {
        SessionUser {
            user_id,
            epoch,
            signed_in_at: now,
            renewed_at: now,
        }
    }

    /// `max_secs`: the absolute lifetime. Sessions from before these fields existed
    /// (`signed_in_at` 0) count as signed in long ago.
    pub fn check(&self, now: i64, max_secs: i64) -> SessionCheck {
        if now - self.signed_in_at >= max_secs {
            SessionCheck::Expired
        } else if now - self.renewed_at >= RENEW_EVERY {
            SessionCheck::Renew
        } else {
            SessionCheck::Keep
        }
    }
}

/// The id a session is stored under: a hash of the cookie's id, so that a copy of the
/// sessions table (a backup, a replica, a leaked dump) holds no usable session.
pub fn stored_id(id: &Id) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    /// The table is created by Coastguard's own migrations.
    pub fn new(db: &Db) -> SessionBackend {
        match db {
            Db::Sqlite(pool) => SessionBackend::Sqlite(
                SqliteStore::new(pool.clone())
                    .with_table_name(TABLE)
                    .expect("valid table name"),
            ),
            Db::Postgres(pool) => SessionBackend::Postgres(
                PostgresStore::new(pool.clone())
                    .with_schema_name("public")
                    .expect("valid schema name")
                    .with_table_name(TABLE)
                    .expect("valid table name"),
            ),
        }
    }
}

impl SessionBackend {
    async fn inner_create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.create(record).await,
            SessionBackend::Postgres(s) => s.create(record).await,
        }
    }

    async fn inner_delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(id).await,
            SessionBackend::Postgres(s) => s.delete(id).await,
        }
    }
}

/// The record as stored: under [`stored_id`].
fn hashed(record: &Record) -> Record {
    let mut stored = record.clone();
    stored.id = stored_id(&record.id);
    stored
}

/// Sessions are stored under the hash of their id (see [`stored_id`]); the cookie holds
/// the id itself.
#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let mut stored = hashed(record);
            let wanted = stored.id;
            self.inner_create(&mut stored).await?;
            if stored.id == wanted {
                return Ok(());
            }
            // The store found the hash taken and stored the record under a fresh id
            // no cookie leads to: remove it and try another session id.
            self.inner_delete(&stored.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = hashed(record);
        match self {
            SessionBackend::Sqlite(s) => s.save(&stored).await,
            SessionBackend::Postgres(s) => s.save(&stored).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let key = stored_id(id);
        let found = match self {
            SessionBackend::Sqlite(s) => s.load(&key).await,
            SessionBackend::Postgres(s) => s.load(&key).await,
        }?;
        Ok(found.map(|mut record| {
            record.id = *id;
            record
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner_delete(&stored_id(id)).await
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete_expired().await,
            SessionBackend::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_renew_at_most_once_a_minute_and_end_after_their_lifetime() {
        let s = SessionUser::new(1, 0, 1_000);
        let week = 7 * 86_400;
        assert_eq!(s.check(1_000, week), SessionCheck::Keep);
        assert_eq!(s.check(1_059, week), SessionCheck::Keep);
        assert_eq!(s.check(1_060, week), SessionCheck::Renew);
        assert_eq!(s.check(1_000 + week - 1, week), SessionCheck::Renew);
        assert_eq!(s.check(1_000 + week, week), SessionCheck::Expired);
        // A session from before signed_in_at existed is past any lifetime.
        let old: SessionUser = serde_json::from_str(r#"{"user_id":1,"epoch":0}"#).unwrap();
        assert_eq!(old.check(1_000_000_000, week), SessionCheck::Expired);
    }

    #[test]
    fn stored_ids_are_hashes_not_the_cookie() {
        let id = Id(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        assert_ne!(stored_id(&id), id);
        assert_eq!(stored_id(&id), stored_id(&id));
        assert_ne!(stored_id(&id), stored_id(&Id(id.0 + 1)));
    }
}
