//! What the notifications job is to announce, written in the commit that made it.

use super::{StoreResult, Write};
use crate::with_tx;

/// What kind of finding a notice names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    Vulnerability,
    Configuration,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vulnerability => "vulnerability",
            FindingKind::Configuration => "configuration",
        }
    }

    pub fn parse(s: &str) -> Option<FindingKind> {
        match s {
            "vulnerability" => Some(FindingKind::Vulnerability),
            "configuration" => Some(FindingKind::Configuration),
            _ => None,
        }
    }
}

impl Write {
    /// Records the findings this batch made, in its commit (nothing when it made none).
    pub(crate) async fn finding_notice(
        &mut self,
        kind: FindingKind,
        ids: &[i64],
        now: i64,
    ) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = serde_json::to_string(ids).expect("ids serialize");
        with_tx!(&mut self.tx, |t| sqlx::query(
            "INSERT INTO finding_notices (kind, ids, at) VALUES ($1, $2, $3)"
        )
        .bind(kind.as_str())
        .bind(&ids)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}
