//! Vulnerability findings: ingesting normalised reports (deduplicated, with lifecycle),
//! suppressions, and the read models (keyset-paged lists, details, scan history).

use crate::store::audit::AuditRecord;
use crate::store::query::{bind_all, push_list, Arg, Filter};
use crate::store::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::vulns::ImageBrief;
use coastguard_model::Severity;
use std::collections::{HashMap, HashSet};

/// Active vulnerability exceptions that match a finding (any alias of its vulnerability,
/// optionally limited to an image and a package).
const MATCHING_SUPPRESSION: &str = "EXISTS (SELECT 1 FROM exceptions s \
     JOIN vulnerability_aliases a ON a.alias = s.target \
     WHERE a.vulnerability_id = findings.vulnerability_id AND s.kind = 'vulnerability' \
       AND s.effective_at IS NOT NULL AND s.revoked_at IS NULL \
       AND (s.expires_at IS NULL OR s.expires_at > $1) \
       AND (s.image_id = findings.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) \
       AND (s.package IS NULL OR s.package = findings.pkg_name))";

/// Ties exceptions waiting for an image (a VEX statement naming a digest not seen then)
/// to that image once it is known, by config or manifest digest.
/// Findings an exception row `s` suppresses now (its `$1` is the time).
pub(crate) const SUPPRESSED_BY: &str = "(SELECT COUNT(*) FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
     WHERE a.alias = s.target AND f.state = 'suppressed' AND (s.expires_at IS NULL OR s.expires_at > $1) \
     AND (f.image_id = s.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) \
     AND (s.package IS NULL OR f.pkg_name = s.package))";

const RESOLVE_PENDING: &str = "UPDATE exceptions SET image_id = \
     (SELECT i.id FROM images i WHERE i.digest = exceptions.image_digest \
      UNION ALL SELECT d.image_id FROM image_digests d WHERE d.digest = exceptions.image_digest LIMIT 1) \
     WHERE image_id IS NULL AND image_digest IS NOT NULL AND revoked_at IS NULL \
       AND (EXISTS (SELECT 1 FROM images i WHERE i.digest = exceptions.image_digest) \
            OR EXISTS (SELECT 1 FROM image_digests d WHERE d.digest = exceptions.image_digest))";

impl Write {
    /// Puts findings into `suppressed` or back to `open` as the active suppressions say
    /// (for one image, or everywhere), first tying suppressions that wait for an image
    /// to it. Returns (suppressed, reopened).
    pub async fn apply_suppressions(
        &mut self,
        image_id: Option<i64>,
        now: i64,
    ) -> StoreResult<(u64, u64)> {
        let scope = if image_id.is_some() {
            " AND image_id = $2"
        } else {
            ""
        };
        let suppress = format!("UPDATE findings SET state = 'suppressed' WHERE state = 'open' AND {MATCHING_SUPPRESSION}{scope} RETURNING image_id");
        let reopen = format!("UPDATE findings SET state = 'open' WHERE state = 'suppressed' AND NOT {MATCHING_SUPPRESSION}{scope} RETURNING image_id");
        with_tx!(&mut self.tx, |t| sqlx::query(RESOLVE_PENDING)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        let mut counts = [0u64; 2];
        for (i, sql) in [suppress, reopen].iter().enumerate() {
            let images: Vec<i64> = with_tx!(&mut self.tx, |t| {
                let q = sqlx::query_scalar(sql).bind(now);
                match image_id {
                    Some(id) => q.bind(id).fetch_all(&mut **t).await,
                    None => q.fetch_all(&mut **t).await,
                }
            })?;
            counts[i] = images.len() as u64;
            if !images.is_empty() {
                self.findings_changed(images);
            }
        }
        Ok((counts[0], counts[1]))
    }
}

impl Store {
    /// [`Write::apply_suppressions`] as a housekeeping pass of its own.
    pub async fn apply_suppressions(
        &self,
        image_id: Option<i64>,
        now: i64,
    ) -> StoreResult<(u64, u64)> {
        let mut w = self.begin_pass().await?;
        let changed = w.apply_suppressions(image_id, now).await?;
        w.commit().await?;
        Ok(changed)
    }

    /// Replaces the VEX suppressions of each statement's vulnerability and product with
    /// what the statements say; returns how many suppressions are now in force from them.
    /// Stores VEX statements that matched something: each replaces the earlier VEX
    /// suppression of the same vulnerability and scope, and a `not_affected` one
    /// suppresses (the others only withdraw). Returns the suppressions now active.
    pub async fn apply_vex(
        &self,
        statements: &[VexRow<'_>],
        by: &str,
        record: impl Fn(i64) -> AuditRecord,
        now: i64,
    ) -> StoreResult<i64> {
        let mut w = self.begin().await?;
        let mut active = 0;
        for s in statements {
            let replaced: Vec<i64> = with_tx!(&mut w.tx, |t| {
                sqlx::query_scalar(
                "UPDATE exceptions SET revoked_at = $5, revoked_by = 'vex' WHERE source = 'vex' AND revoked_at IS NULL \
                 AND kind = 'vulnerability' AND target = $1 \
                 AND image_id IS NOT DISTINCT FROM $2 AND package IS NOT DISTINCT FROM $3 \
                 AND image_digest IS NOT DISTINCT FROM $4 AND verdict = 'not_affected' RETURNING id",
            )
            .bind(s.vuln_id)
            .bind(s.target.image_id)
            .bind(&s.target.pkg_name)
            .bind(&s.target.image_digest)
            .bind(now)
            .fetch_all(&mut **t)
            .await
            })?;
            for id in replaced {
                w.exception_event(
                    id,
                    now,
                    by,
                    "revoked",
                    Some("replaced by a newer VEX statement"),
                )
                .await?;
            }
            if s.suppresses {
                let id: i64 = with_tx!(&mut w.tx, |t| {
                    sqlx::query_scalar(
                    "INSERT INTO exceptions (kind, target, image_id, package, image_digest, verdict, reason, owner, source, \
                       created_by, created_at, effective_at) \
                     VALUES ('vulnerability', $1, $2, $3, $4, 'not_affected', $5, $6, 'vex', $6, $7, $7) RETURNING id",
                )
                .bind(s.vuln_id)
                .bind(s.target.image_id)
                .bind(&s.target.pkg_name)
                .bind(&s.target.image_digest)
                .bind(s.justification.unwrap_or("not affected (VEX)"))
                .bind(by)
                .bind(now)
                .fetch_one(&mut **t)
                .await
                })?;
                w.exception_event(id, now, by, "created", Some("a VEX statement"))
                    .await?;
                active += 1;
            }
        }
        // The findings the statements suppress or release, and the record (with how
        // many statements suppress), commit with them.
        w.apply_suppressions(None, now).await?;
        w.commit_with(&record(active), now).await?;
        Ok(active)
    }

    /// The newest image tagged `repository:tag`.
    pub async fn image_by_tag(&self, repository: &str, tag: &str) -> StoreResult<Option<i64>> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT image_id FROM image_tags WHERE repository = $1 AND tag = $2 \
             ORDER BY last_seen_at DESC LIMIT 1"
        )
        .bind(repository)
        .bind(tag)
        .fetch_optional(pool)
        .await)?)
    }

    /// The image a digest names (config or manifest digest), if known.
    pub async fn image_by_digest(&self, digest: &str) -> StoreResult<Option<i64>> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM images WHERE digest = $1 \
             UNION ALL SELECT image_id FROM image_digests WHERE digest = $1 LIMIT 1"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await)?)
    }
}

/// Where a VEX statement applies: an image (known, or by a digest not seen yet), a
/// package (in one image or in all), never nothing at all: a statement that matched
/// nothing is not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexTarget {
    pub image_id: Option<i64>,
    /// The digest a statement named when no image had it yet.
    pub image_digest: Option<String>,
    pub pkg_name: Option<String>,
}

/// One VEX statement to store.
#[derive(Debug, Clone)]
pub struct VexRow<'a> {
    pub vuln_id: &'a str,
    pub target: VexTarget,
    pub justification: Option<&'a str>,
    /// `not_affected`: suppresses; any other status only withdraws an earlier statement.
    pub suppresses: bool,
}

// ------------------------------------------------------------------ read models

use coastguard_model::vulns::{
    ScanView, SuppressionBrief, SuppressionKind, SuppressionView, VulnFindingView, VulnPage,
    VulnQuery, VulnState, VulnerabilityDetail,
};
use coastguard_model::Page;

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    vuln_id: String,
    title: Option<String>,
    cvss_score: Option<f64>,
    epss: Option<f64>,
    known_exploited: bool,
    pkg_type: String,
    pkg_name: String,
    installed_version: String,
    fixed_version: Option<String>,
    layer_digest: Option<String>,
    image_id: i64,
    digest: String,
    image_name: Option<String>,
    state: String,
    first_seen_at: i64,
    last_seen_at: i64,
    fixed_at: Option<i64>,
    reopened_at: Option<i64>,
    severity_rank: i64,
    scanner_severity: Option<String>,
}

/// The name an image is shown by: its newest tag, the artifact a report named, its digest.
pub(crate) const IMAGE_NAME: &str =
    "COALESCE((SELECT t.repository || ':' || t.tag FROM image_tags t WHERE t.image_id = i.id \
     ORDER BY t.last_seen_at DESC, t.repository, t.tag LIMIT 1), i.digest)";

fn finding_select() -> String {
    format!(
        "SELECT f.id, v.vuln_id, v.title, f.cvss_score, v.epss, v.known_exploited, f.pkg_type, f.pkg_name, \
         f.installed_version, f.fixed_version, f.layer_digest, f.image_id, i.digest, {IMAGE_NAME} AS image_name, f.state, \
         f.first_seen_at, f.last_seen_at, f.fixed_at, f.reopened_at, f.severity_rank, f.scanner_severity \
         FROM findings f JOIN vulnerabilities v ON v.id = f.vulnerability_id JOIN images i ON i.id = f.image_id"
    )
}

/// The sort keys of [`Store::list_vuln_findings`]; the first is the default.
pub const VULN_SORTS: [&str; 3] = ["severity", "first_seen", "last_seen"];

impl Store {
    /// Vulnerability findings, keyset-paged: each page continues after the previous one's
    /// last row, so page 5,000 costs what page 1 does.
    pub async fn list_vuln_findings(&self, q: &VulnQuery) -> StoreResult<VulnPage> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(StoreError::Invalid(
                "limit",
                "limit must be between 1 and 500".into(),
            ));
        }
        let mut f = self.vuln_filter(q).await?;
        let key = vuln_sort_key(q)?;
        let count_sql = format!("SELECT COUNT(*) FROM findings f {}", f.sql());
        let count_args = f.args.clone();
        let cursor =
            coastguard_model::validate::key_cursor(q.cursor.as_deref().unwrap_or_default())
                .map_err(|e| StoreError::Invalid("cursor", e))?;
        if let Some((k, id)) = cursor {
            let pk = f.param(Arg::Int(k));
            let pid = f.param(Arg::Int(id));
            // A row value, so both backends seek the index to the cursor.
            f.push(format!("({key}, f.id) < ({pk}, {pid})"));
        }
        let where_sql = f.sql();
        // The page's ids come from the findings table and its indexes alone; the joins and
        // the image name run for those rows only, whatever plan the filters get.
        let sql = format!(
            "{} WHERE f.id IN (SELECT f.id FROM findings f {where_sql} ORDER BY {key} DESC, f.id DESC LIMIT {}) \
             ORDER BY {key} DESC, f.id DESC",
            finding_select(),
            limit + 1
        );
        let (total, mut rows) = with_db!(&self.db, |pool| {
            let total = bind_all!(sqlx::query_scalar::<_, i64>(&count_sql), &count_args)
                .fetch_one(pool)
                .await?;
            let rows = bind_all!(sqlx::query_as::<_, FindingRow>(&sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| {
                let k = match key {
                    "f.first_seen_at" => r.first_seen_at,
                    "f.last_seen_at" => r.last_seen_at,
                    _ => r.severity_rank,
                };
                format!("{k}:{}", r.id)
            })
        } else {
            None
        };
        let items = self.finding_views(rows).await?;
        Ok(VulnPage {
            items,
            total,
            next_cursor,
        })
    }

    /// The list's filters, as a WHERE clause with its parameters. Empty values are no
    /// values, as HTML forms send them.
    async fn vuln_filter(&self, q: &VulnQuery) -> StoreResult<Filter> {
        let mut f = Filter::default();
        match q
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("open")
        {
            "all" => {}
            s => {
                let state: VulnState = s.parse().map_err(|e| StoreError::Invalid("state", e))?;
                let p = f.param(Arg::Text(state.as_str().into()));
                f.push(format!("f.state = {p}"));
            }
        }
        if let Some(sev) = q.severity.as_deref().filter(|s| !s.is_empty()) {
            let sev: Severity = sev
                .parse()
                .map_err(|e| StoreError::Invalid("severity", e))?;
            let p = f.param(Arg::Int(sev.rank()));
            f.push(format!("f.severity_rank >= {p}"));
        }
        match q.fixable {
            Some(true) => f.push("f.fixed_version IS NOT NULL".into()),
            Some(false) => f.push("f.fixed_version IS NULL".into()),
            None => {}
        }
        if let Some(image) = q.image {
            let p = f.param(Arg::Int(image));
            f.push(format!("f.image_id = {p}"));
        }
        if let Some(pkg) = q.package.as_deref().filter(|s| !s.is_empty()) {
            let p = f.param(Arg::Text(pkg.to_string()));
            f.push(format!("f.pkg_name = {p}"));
        }
        if let Some(vuln) = q.vuln.as_deref().filter(|s| !s.is_empty()) {
            // Resolved first, so the planner sees equalities on the vulnerability index
            // rather than a subquery it may misjudge (334 ms instead of 2 ms at 1M rows).
            let ids: Vec<i64> = with_db!(&self.db, |pool| sqlx::query_scalar(
                "SELECT DISTINCT vulnerability_id FROM vulnerability_aliases WHERE alias = $1"
            )
            .bind(vuln.trim())
            .fetch_all(pool)
            .await)?;
            if ids.is_empty() {
                f.push("1 = 0".into());
            } else {
                let ps: Vec<String> = ids.into_iter().map(|id| f.param(Arg::Int(id))).collect();
                f.push(format!("f.vulnerability_id IN ({})", ps.join(", ")));
            }
        }
        if let Some(scanner) = q.scanner.as_deref().filter(|s| !s.is_empty()) {
            let p = f.param(Arg::Text(scanner.to_string()));
            f.push(format!(
                "f.id IN (SELECT finding_id FROM finding_scanners WHERE scanner = {p} AND present = TRUE)"
            ));
        }
        Ok(f)
    }

    async fn finding_views(&self, rows: Vec<FindingRow>) -> StoreResult<Vec<VulnFindingView>> {
        let mut scanners: HashMap<i64, Vec<String>> = HashMap::new();
        if !rows.is_empty() {
            let found: Vec<(i64, String)> = with_db!(&self.db, |pool| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT finding_id, scanner FROM finding_scanners WHERE present = TRUE AND finding_id IN ",
                );
                push_list(&mut q, rows.iter().map(|r| r.id));
                q.push(" ORDER BY scanner");
                q.build_query_as().fetch_all(pool).await
            })?;
            for (id, s) in found {
                scanners.entry(id).or_default().push(s);
            }
        }
        let suppressed: Vec<i64> = rows
            .iter()
            .filter(|r| r.state == "suppressed")
            .map(|r| r.id)
            .collect();
        let mut reasons: HashMap<i64, SuppressionBrief> = HashMap::new();
        if !suppressed.is_empty() {
            // The suppression that matches each finding; active ones first, then newest.

            #[derive(sqlx::FromRow)]
            struct Reason {
                finding_id: i64,
                id: i64,
                kind: String,
                justification: String,
                source: String,
                created_by: String,
                expires_at: Option<i64>,
            }
            let found: Vec<Reason> = with_db!(&self.db, |pool| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT f.id AS finding_id, s.id, s.verdict AS kind, s.reason AS justification, s.source, s.created_by, s.expires_at \
                     FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
                     JOIN exceptions s ON s.target = a.alias WHERE s.kind = 'vulnerability' \
                       AND s.effective_at IS NOT NULL AND s.revoked_at IS NULL \
                       AND (s.image_id = f.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) \
                       AND (s.package IS NULL OR s.package = f.pkg_name) AND f.id IN ",
                );
                push_list(&mut q, suppressed.iter().copied());
                q.push(" ORDER BY CASE WHEN s.expires_at IS NULL OR s.expires_at > ")
                    .push_bind(crate::now())
                    .push(" THEN 0 ELSE 1 END, s.id DESC");
                q.build_query_as().fetch_all(pool).await
            })?;
            for r in found {
                reasons.entry(r.finding_id).or_insert(SuppressionBrief {
                    id: r.id,
                    kind: if r.kind == "not_affected" {
                        SuppressionKind::NotAffected
                    } else {
                        SuppressionKind::Accepted
                    },
                    justification: r.justification,
                    source: r.source,
                    created_by: r.created_by,
                    expires_at: r.expires_at,
                });
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| VulnFindingView {
                scanners: scanners.remove(&r.id).unwrap_or_default(),
                suppression: reasons.remove(&r.id),
                id: r.id,
                vuln_id: r.vuln_id,
                title: r.title,
                severity: Severity::from_rank(r.severity_rank),
                scanner_severity: r.scanner_severity,
                cvss_score: r.cvss_score,
                epss: r.epss,
                known_exploited: r.known_exploited,
                pkg_type: r.pkg_type,
                pkg_name: r.pkg_name,
                installed_version: r.installed_version,
                fixed_version: r.fixed_version,
                layer: r.layer_digest,
                image: ImageBrief {
                    id: r.image_id,
                    name: r.image_name.unwrap_or_else(|| r.digest.clone()),
                    digest: r.digest,
                },
                state: r.state.parse().unwrap_or(VulnState::Open),
                first_seen_at: r.first_seen_at,
                last_seen_at: r.last_seen_at,
                fixed_at: r.fixed_at,
                reopened_at: r.reopened_at,
            })
            .collect())
    }

    /// A vulnerability by any of its ids, with everything it affects.
    pub async fn vulnerability_detail(&self, id: &str) -> StoreResult<VulnerabilityDetail> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            vuln_id: String,
            title: Option<String>,
            description: Option<String>,
            severity: String,
            cvss_score: Option<f64>,
            cvss_vector: Option<String>,
            epss: Option<f64>,
            known_exploited: bool,
            published_at: Option<i64>,
            modified_at: Option<i64>,
            refs: Option<String>,
        }
        let row: Row = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT v.id, v.vuln_id, v.title, v.description, v.severity, v.cvss_score, v.cvss_vector, v.epss, \
             v.known_exploited, v.published_at, v.modified_at, v.refs FROM vulnerabilities v \
             JOIN vulnerability_aliases a ON a.vulnerability_id = v.id WHERE a.alias = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .ok_or(StoreError::NotFound)?;
        let aliases: Vec<String> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "SELECT alias FROM vulnerability_aliases WHERE vulnerability_id = $1 AND alias <> $2 ORDER BY alias"
        )
        .bind(row.id)
        .bind(&row.vuln_id)
        .fetch_all(pool)
        .await
        })?;
        let page = self
            .list_vuln_findings(&VulnQuery {
                vuln: Some(row.vuln_id.clone()),
                state: Some("all".into()),
                limit: Some(500),
                ..VulnQuery::default()
            })
            .await?;
        let (findings, findings_total) = (page.items, page.total);
        let images: Vec<i64> = findings
            .iter()
            .map(|f| f.image.id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let containers = self.containers_of_images(&images).await?;
        let mut hosts: Vec<(i64, String)> = containers
            .iter()
            .filter_map(|c| Some((c.host_id?, c.host_name.clone()?)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        hosts.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(VulnerabilityDetail {
            vuln_id: row.vuln_id,
            aliases,
            title: row.title,
            description: row.description,
            severity: Severity::normalise(&row.severity),
            cvss_score: row.cvss_score,
            cvss_vector: row.cvss_vector,
            epss: row.epss,
            known_exploited: row.known_exploited,
            published_at: row.published_at,
            modified_at: row.modified_at,
            references: row
                .refs
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or_default(),
            findings,
            findings_total,
            containers,
            hosts,
        })
    }

    /// Scans, newest first; `image` narrows to one image's history.
    pub async fn list_scans(
        &self,
        image: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<ScanView>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            image_id: Option<i64>,
            digest: Option<String>,
            image_name: Option<String>,
            artifact_name: Option<String>,
            artifact_digest: Option<String>,
            format: String,
            scanner: String,
            scanner_version: Option<String>,
            kind: String,
            source: String,
            uploaded_by: Option<String>,
            received_at: i64,
            scanned_at: Option<i64>,
            entries: i64,
            summary: Option<String>,
        }
        let sql = format!(
            "SELECT s.id, s.image_id, i.digest, CASE WHEN i.id IS NULL THEN NULL ELSE {IMAGE_NAME} END AS image_name, \
             s.artifact_name, s.artifact_digest, s.format, s.scanner, s.scanner_version, s.kind, s.source, s.uploaded_by, \
             s.received_at, s.scanned_at, s.entries, s.summary FROM scans s LEFT JOIN images i ON i.id = s.image_id \
             WHERE ($1 IS NULL OR s.image_id = $1) AND ($2 IS NULL OR s.id < $2) ORDER BY s.id DESC LIMIT $3"
        );
        let rows: Vec<Row> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(image)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten();
        let items = rows
            .into_iter()
            .map(|r| ScanView {
                id: r.id,
                image: match (r.image_id, r.digest) {
                    (Some(id), Some(digest)) => Some(ImageBrief {
                        id,
                        name: r.image_name.unwrap_or_else(|| digest.clone()),
                        digest,
                    }),
                    _ => None,
                },
                artifact_name: r.artifact_name,
                artifact_digest: r.artifact_digest,
                format: r.format,
                scanner: r.scanner,
                scanner_version: r.scanner_version,
                kind: r.kind,
                source: r.source,
                uploaded_by: r.uploaded_by,
                received_at: r.received_at,
                scanned_at: r.scanned_at,
                entries: r.entries,
                summary: r.summary.and_then(|s| serde_json::from_str(&s).ok()),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    pub async fn list_suppressions(&self, now: i64) -> StoreResult<Vec<SuppressionView>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            vuln_id: String,
            image_id: Option<i64>,
            digest: Option<String>,
            image_name: Option<String>,
            image_digest: Option<String>,
            pkg_name: Option<String>,
            kind: String,
            justification: String,
            source: String,
            created_by: String,
            created_at: i64,
            expires_at: Option<i64>,
            effective_at: Option<i64>,
            revoked_at: Option<i64>,
            findings: i64,
        }
        let sql = format!(
            "SELECT s.id, s.target AS vuln_id, s.image_id, i.digest, CASE WHEN i.id IS NULL THEN NULL ELSE {IMAGE_NAME} END AS image_name, \
             s.image_digest, s.package AS pkg_name, s.verdict AS kind, s.reason AS justification, s.source, s.created_by, \
             s.created_at, s.expires_at, s.effective_at, s.revoked_at, \
             CASE WHEN s.effective_at IS NULL OR s.revoked_at IS NOT NULL THEN 0 ELSE {SUPPRESSED_BY} END AS findings \
             FROM exceptions s LEFT JOIN images i ON i.id = s.image_id WHERE s.kind = 'vulnerability' \
             ORDER BY s.revoked_at IS NOT NULL, s.id DESC"
        );
        let rows: Vec<Row> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(now)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| SuppressionView {
                id: r.id,
                vuln_id: r.vuln_id,
                image: match (r.image_id, r.digest) {
                    (Some(id), Some(digest)) => Some(ImageBrief {
                        id,
                        name: r.image_name.unwrap_or_else(|| digest.clone()),
                        digest,
                    }),
                    _ => None,
                },
                pending_image: r.image_digest.filter(|_| r.image_id.is_none()),
                pkg_name: r.pkg_name,
                kind: if r.kind == "accepted" {
                    SuppressionKind::Accepted
                } else {
                    SuppressionKind::NotAffected
                },
                justification: r.justification,
                source: r.source,
                created_by: r.created_by,
                created_at: r.created_at,
                active: r.effective_at.is_some()
                    && r.revoked_at.is_none()
                    && r.expires_at.is_none_or(|e| e > now),
                expires_at: r.expires_at,
                revoked_at: r.revoked_at,
                findings: r.findings,
            })
            .collect())
    }

    /// The image id of an image-scoped suppression, checked to exist.
    pub async fn image_exists(&self, id: i64) -> StoreResult<bool> {
        let n: i64 = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM images WHERE id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }
}

/// The column a list sort key orders by.
fn vuln_sort_key(q: &VulnQuery) -> StoreResult<&'static str> {
    Ok(
        match q
            .sort
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("severity")
        {
            "severity" => "f.severity_rank",
            "first_seen" => "f.first_seen_at",
            "last_seen" => "f.last_seen_at",
            other => {
                return Err(StoreError::Invalid(
                    "sort",
                    format!("unknown sort '{other}': use {}", VULN_SORTS.join(", ")),
                ))
            }
        },
    )
}
