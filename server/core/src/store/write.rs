//! The handle every write goes through: an action's changes, its audit record, the
//! vulnerability counts of the images it touched and the "scores are stale" mark commit
//! together or not at all.
//!
//! ```text
//! let mut w = store.begin().await?;              // a person's action
//! let user = w.create_user(...).await?;          // changes, in the transaction
//! w.audit(&record, now).await?;                  // its record, in the same one
//! w.commit().await?;                             // refused without a record
//!
//! let mut w = store.begin_pass().await?;         // a collector's or housekeeping pass
//! w.apply_docker_snapshot(...).await?;           // what the source says; no record
//! w.commit().await?;
//! ```
//!
//! Store functions that change data are methods of `Write`; reads stay on the pool.
//! A function that changes findings calls [`Write::findings_changed`] with the images
//! concerned, and [`Write::commit`] recounts them and marks scores stale in the same
//! transaction, so no caller can forget either. Dropping a `Write` rolls it back.

use super::audit::{audit_in, AuditRecord};
use super::query::{push_list, IDS_PER_LIST};
use super::{Store, StoreError, StoreResult};
use crate::db::Tx;
use std::collections::BTreeSet;

/// How long a SQLite writer waits for its turn: SQLite's own busy timeout.
const WRITE_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Write {
    pub(crate) tx: Tx,
    /// SQLite: this process's write turn, given back when the transaction ends.
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
    /// A person's action must record itself; a pass need not.
    needs_audit: bool,
    audited: bool,
    /// Images whose findings changed: their counts are redone before commit.
    recount: BTreeSet<i64>,
    /// Evidence of risk changed: scores are marked stale before commit.
    stale: bool,
}

impl Store {
    /// Opens the transaction of one person's action: it commits only with its audit record.
    pub async fn begin(&self) -> StoreResult<Write> {
        self.open(true).await
    }

    /// Opens the transaction of a pass (a sync, housekeeping): it changes what the sources
    /// say, records no action, and commits with the counts and the stale mark it implies.
    pub async fn begin_pass(&self) -> StoreResult<Write> {
        self.open(false).await
    }

    async fn open(&self, needs_audit: bool) -> StoreResult<Write> {
        // SQLite has one writer at a time, and its busy handler retries by polling: a
        // steady stream of large writes (alert batches) could starve a small one for
        // seconds (measured: 6.6 s). Writers of this process queue here instead, first
        // come first served (tokio's semaphore is fair), bounded by the busy timeout.
        let turn = match self.db {
            crate::db::Db::Sqlite(_) => Some(
                tokio::time::timeout(WRITE_TURN_WAIT, self.writers.clone().acquire_owned())
                    .await
                    .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))?
                    .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?,
            ),
            crate::db::Db::Postgres(_) => None,
        };
        Ok(Write {
            tx: self.db.begin().await?,
            _turn: turn,
            needs_audit,
            audited: false,
            recount: BTreeSet::new(),
            stale: false,
        })
    }
}

impl Write {
    /// Bound parameters worth putting in one multi-row statement on this backend.
    pub(crate) fn batch_params(&self) -> usize {
        self.tx.backend().batch_params()
    }

    /// Records what this action did, in its transaction.
    pub async fn audit(&mut self, record: &AuditRecord, now: i64) -> StoreResult<()> {
        crate::with_tx!(&mut self.tx, |t| audit_in!(*t, record, now).map(|_| ()))?;
        self.audited = true;
        Ok(())
    }

    /// Findings of these images changed (state, severity, existence): their counts are
    /// recounted, and scores marked stale, when this commits.
    pub fn findings_changed(&mut self, images: impl IntoIterator<Item = i64>) {
        self.recount.extend(images);
        self.stale = true;
    }

    /// Evidence of risk changed (configuration findings, acceptances, inventory): scores
    /// are marked stale when this commits.
    pub fn risk_changed(&mut self) {
        self.stale = true;
    }

    /// `UPDATE <table> SET <fixed>column = value, … WHERE id IN (ids)`, in batches: how
    /// the findings tables take a plan's touches and resolutions. `fixed` is SQL of the
    /// caller's own (ending in ", " when values follow); the values are bound.
    pub(crate) async fn update_ids(
        &mut self,
        table: &'static str,
        fixed: &str,
        values: &[(&str, i64)],
        ids: &[i64],
    ) -> StoreResult<()> {
        for chunk in ids.chunks(IDS_PER_LIST) {
            crate::with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(format!("UPDATE {table} SET "));
                q.push(fixed);
                let mut set = q.separated(", ");
                for (column, value) in values {
                    set.push(format_args!("{column} = "))
                        .push_bind_unseparated(*value);
                }
                q.push(" WHERE id IN ");
                push_list(&mut q, chunk);
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Records what this action did and commits it: the end of every action.
    pub async fn commit_with(mut self, record: &AuditRecord, now: i64) -> StoreResult<()> {
        self.audit(record, now).await?;
        self.commit().await
    }

    /// Commits the changes with what they imply (counts, the stale mark) and, for an
    /// action, its audit record; an action without one commits nothing.
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.needs_audit && !self.audited {
            return Err(StoreError::Unaudited);
        }
        let images = std::mem::take(&mut self.recount);
        self.recount_images(images).await?;
        if self.stale {
            self.mark_risk_stale().await?;
        }
        Ok(self.tx.commit().await?)
    }
}
