//! Scan history (suppressions are exceptions now: `crate::exceptions`).

use crate::error::{Error, Result};
use crate::AppState;
use coastguard_model::validate;

/// Scans received, newest first; `image` narrows to one image's scan history. `cursor`
/// is the `next_cursor` of the previous page.
pub async fn list_scans(
    state: &AppState,
    image: Option<i64>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<coastguard_model::Page<coastguard_model::vulns::ScanView>> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let before = validate::id_cursor(cursor.unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    Ok(state.store.list_scans(image, before, limit).await?)
}
