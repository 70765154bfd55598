//! The handle a user action writes through: its changes and the audit record of them
//! commit together or not at all.
//!
//! ```text
//! let mut w = store.begin().await?;
//! let user = w.create_user(...).await?;          // changes, in the transaction
//! w.audit(&record, now).await?;                  // its record, in the same one
//! w.commit().await?;                             // refused without a record
//! ```
//!
//! A change can't commit without its record: [`Write::commit`] refuses a transaction
//! that wrote none, and dropping a `Write` rolls everything back. Actions move onto it
//! one by one (issue 12); users and API tokens are on it.

use super::audit::{audit_in, AuditRecord};
use super::{Store, StoreError, StoreResult};
use crate::db::Tx;

pub struct Write {
    pub(super) tx: Tx,
    audited: bool,
}

impl Store {
    /// Opens the transaction of one action.
    pub async fn begin(&self) -> StoreResult<Write> {
        Ok(Write {
            tx: self.db.begin().await?,
            audited: false,
        })
    }
}

impl Write {
    /// Records what this action did, in its transaction.
    pub async fn audit(&mut self, record: &AuditRecord, now: i64) -> StoreResult<()> {
        crate::with_tx!(&mut self.tx, |t| audit_in!(*t, record, now).map(|_| ()))?;
        self.audited = true;
        Ok(())
    }

    /// Commits the action's changes with its audit record; without one, nothing commits.
    pub async fn commit(self) -> StoreResult<()> {
        if !self.audited {
            return Err(StoreError::Unaudited);
        }
        Ok(self.tx.commit().await?)
    }
}
