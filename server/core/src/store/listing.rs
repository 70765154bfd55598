//! What every list shares: paging bounds, sort keys mapped to fixed SQL, text search
//! patterns, and open findings counted per severity. Request values are always bound.

use super::StoreError;
use coastguard_model::inventory::MAX_PAGE;
use coastguard_model::SeverityCounts;

/// `SUM(CASE ...)` columns counting open findings per severity, from a derived table `x`
/// with a `severity` column.
pub(crate) const SEVERITY_SUMS: &str = "SUM(CASE WHEN x.severity = 'critical' THEN 1 ELSE 0 END) AS critical, \
     SUM(CASE WHEN x.severity = 'high' THEN 1 ELSE 0 END) AS high, \
     SUM(CASE WHEN x.severity = 'medium' THEN 1 ELSE 0 END) AS medium, \
     SUM(CASE WHEN x.severity = 'low' THEN 1 ELSE 0 END) AS low, \
     SUM(CASE WHEN x.severity = 'negligible' THEN 1 ELSE 0 END) AS negligible, \
     SUM(CASE WHEN x.severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible') THEN 1 ELSE 0 END) AS unknown";

pub(crate) const SEVERITY_COLUMNS: &str = "COALESCE(f.critical, 0) AS critical, COALESCE(f.high, 0) AS high, \
     COALESCE(f.medium, 0) AS medium, COALESCE(f.low, 0) AS low, COALESCE(f.unknown, 0) AS unknown, \
     COALESCE(f.negligible, 0) AS negligible";

/// Orders rows by their worst open findings.
pub(crate) const FINDINGS_RANK: &str =
    "(COALESCE(f.critical, 0) * 1000000 + COALESCE(f.high, 0) * 10000 \
     + COALESCE(f.medium, 0) * 100 + COALESCE(f.low, 0))";

/// `Severity::rank` of a configuration finding's severity word (tested against it below).
pub(crate) const SEVERITY_RANK: &str =
    "(CASE cf.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 \
     WHEN 'medium' THEN 2 WHEN 'low' THEN 1 WHEN 'negligible' THEN -1 ELSE 0 END)";

/// A list's sort keys: (key, SQL, default direction); the first is the default. The API
/// documents the keys of each list from these.
pub type Sort = (&'static str, &'static str, &'static str);

/// Page and size from a query: 1 ≤ page ≤ [`MAX_PAGE`], 1 ≤ per_page ≤ 500, so the
/// offset `(page - 1) * per_page` can never overflow.
pub(crate) fn paging(page: Option<i64>, per_page: Option<i64>) -> Result<(i64, i64), StoreError> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(StoreError::Invalid(
            "page",
            format!("page must be between 1 and {MAX_PAGE}"),
        ));
    }
    if !(1..=500).contains(&per_page) {
        return Err(StoreError::Invalid(
            "per_page",
            "per_page must be between 1 and 500".into(),
        ));
    }
    Ok((page, per_page))
}

/// The ORDER BY for `q.sort`/`q.dir` among `allowed` (key, SQL, default direction).
pub(crate) fn order_by(
    sort: Option<&str>,
    dir: Option<&str>,
    allowed: &[Sort],
    tiebreak: &str,
) -> Result<String, StoreError> {
    // An empty value is no value, as an HTML form sends it.
    let key = sort.filter(|s| !s.is_empty()).unwrap_or(allowed[0].0);
    let Some((_, sql, default_dir)) = allowed.iter().find(|(k, _, _)| *k == key) else {
        let keys: Vec<&str> = allowed.iter().map(|(k, _, _)| *k).collect();
        return Err(StoreError::Invalid(
            "sort",
            format!("unknown sort '{key}': use one of {}", keys.join(", ")),
        ));
    };
    let dir = match dir.filter(|d| !d.is_empty()).unwrap_or(default_dir) {
        "asc" => "ASC",
        "desc" => "DESC",
        other => {
            return Err(StoreError::Invalid(
                "dir",
                format!("unknown direction '{other}': use asc or desc"),
            ))
        }
    };
    Ok(format!("ORDER BY {sql} {dir}, {tiebreak}"))
}

/// A LIKE pattern for values starting with `prefix` (its wildcards escaped).
pub(crate) fn starts_with(prefix: &str) -> String {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

pub(crate) fn like(q: &str) -> String {
    let escaped = q
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[derive(sqlx::FromRow)]
pub(crate) struct Counts {
    pub(crate) critical: i64,
    pub(crate) high: i64,
    pub(crate) medium: i64,
    pub(crate) low: i64,
    pub(crate) unknown: i64,
    pub(crate) negligible: i64,
}

impl From<&Counts> for SeverityCounts {
    fn from(c: &Counts) -> Self {
        SeverityCounts {
            critical: c.critical,
            high: c.high,
            medium: c.medium,
            low: c.low,
            unknown: c.unknown,
            negligible: c.negligible,
        }
    }
}
