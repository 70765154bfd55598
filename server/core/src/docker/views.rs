//! Read models for the inventory and finding lists: server-side filtering, sorting and
//! paging, with open findings counted per row. Sort keys map to fixed SQL fragments;
//! every value from a request is a bound parameter.

use crate::docker::catalog;
pub use crate::store::listing::Sort;
use crate::store::listing::{
    self, like, starts_with, Counts, FINDINGS_RANK, SEVERITY_COLUMNS, SEVERITY_RANK, SEVERITY_SUMS,
};
use crate::store::query::{bind_all, Arg, Filter};
use crate::store::{Store, StoreError, StoreResult};
use crate::with_db;
use coastguard_model::findings::{ConfigFindingView, FindingState, SubjectKind};
use coastguard_model::inventory::{
    ContainerSummary, HostSummary, ImageSummary, ListQuery, Listing,
};
use coastguard_model::{Severity, SeverityCounts};

pub const HOST_SORTS: &[Sort] = &[
    ("name", "h.name", "asc"),
    ("status", "h.status", "asc"),
    ("last_seen", "h.last_seen_at", "desc"),
    ("findings", FINDINGS_RANK, "desc"),
];

pub const IMAGE_SORTS: &[Sort] = &[
    ("last_seen", "i.last_seen_at", "desc"),
    ("created", "i.created", "desc"),
    ("size", "i.size_bytes", "desc"),
    ("containers", "containers", "desc"),
    ("findings", FINDINGS_RANK, "desc"),
];

pub const CONTAINER_SORTS: &[Sort] = &[
    ("name", "c.name", "asc"),
    ("host", "h.name", "asc"),
    ("state", "c.state", "asc"),
    ("created", "c.created", "desc"),
    ("findings", FINDINGS_RANK, "desc"),
];

pub const FINDING_SORTS: &[Sort] = &[
    ("severity", SEVERITY_RANK, "desc"),
    ("last_seen", "cf.last_seen_at", "desc"),
    ("first_seen", "cf.first_seen_at", "desc"),
    ("check", "cf.check_id", "asc"),
];

pub use coastguard_model::inventory::MAX_PAGE;

fn paging(q: &ListQuery) -> Result<(i64, i64), StoreError> {
    listing::paging(q.page, q.per_page)
}

fn order_by(q: &ListQuery, allowed: &[Sort], tiebreak: &str) -> Result<String, StoreError> {
    listing::order_by(q.sort.as_deref(), q.dir.as_deref(), allowed, tiebreak)
}

fn min_severity(q: &ListQuery) -> Result<Option<Severity>, StoreError> {
    q.severity
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|e| StoreError::Invalid("severity", e))
        })
        .transpose()
}

#[derive(sqlx::FromRow)]
struct HostRow {
    id: i64,
    kind: String,
    name: String,
    endpoint: Option<String>,
    status: String,
    last_error: Option<String>,
    last_seen_at: Option<i64>,
    last_sync_at: Option<i64>,
    engine_version: Option<String>,
    os: Option<String>,
    containers_running: i64,
    containers_total: i64,
    images: i64,
    #[sqlx(flatten)]
    counts: Counts,
}

impl HostRow {
    fn summary(self) -> HostSummary {
        HostSummary {
            open_findings: (&self.counts).into(),
            id: self.id,
            kind: self.kind,
            name: self.name,
            endpoint: self.endpoint,
            status: self.status,
            last_error: self.last_error,
            last_seen_at: self.last_seen_at,
            last_sync_at: self.last_sync_at,
            engine_version: self.engine_version,
            os: self.os,
            containers_running: self.containers_running,
            containers_total: self.containers_total,
            images: self.images,
        }
    }
}

const HOST_SELECT: &str = "SELECT h.id, h.kind, h.name, h.endpoint, h.status, h.last_error, h.last_seen_at, \
     h.last_sync_at, h.engine_version, h.os, \
     (SELECT COUNT(*) FROM containers c WHERE c.host_id = h.id AND c.gone_at IS NULL AND c.state = 'running') AS containers_running, \
     (SELECT COUNT(*) FROM containers c WHERE c.host_id = h.id AND c.gone_at IS NULL) AS containers_total, \
     (SELECT COUNT(*) FROM host_images hi WHERE hi.host_id = h.id AND hi.gone_at IS NULL) AS images, ";

fn host_findings_join() -> String {
    format!(
        "LEFT JOIN (SELECT x.host_id, {SEVERITY_SUMS} FROM ( \
           SELECT cf.subject_id AS host_id, cf.severity FROM config_findings cf \
             WHERE cf.subject_kind = 'host' AND cf.state = 'open' \
           UNION ALL \
           SELECT c.host_id, cf.severity FROM config_findings cf JOIN containers c \
             ON cf.subject_kind = 'container' AND cf.subject_id = c.id \
             WHERE cf.state = 'open' AND c.gone_at IS NULL \
         ) x GROUP BY x.host_id) f ON f.host_id = h.id"
    )
}

#[derive(sqlx::FromRow)]
struct ImageRow {
    id: i64,
    digest: String,
    size_bytes: Option<i64>,
    created: Option<i64>,
    user_name: Option<String>,
    first_seen_at: i64,
    last_seen_at: i64,
    hosts: i64,
    containers: i64,
    #[sqlx(flatten)]
    counts: Counts,
}

const IMAGE_SELECT: &str = "SELECT i.id, i.digest, i.size_bytes, i.created, i.user_name, i.first_seen_at, i.last_seen_at, \
     (SELECT COUNT(*) FROM host_images hi WHERE hi.image_id = i.id AND hi.gone_at IS NULL) AS hosts, \
     (SELECT COUNT(*) FROM containers c WHERE c.image_id = i.id AND c.gone_at IS NULL) AS containers, ";

fn subject_findings_join(kind: &str, alias: &str) -> String {
    format!(
        "LEFT JOIN (SELECT x.subject_id, {SEVERITY_SUMS} FROM config_findings x \
         WHERE x.subject_kind = '{kind}' AND x.state = 'open' GROUP BY x.subject_id) f ON f.subject_id = {alias}.id"
    )
}

#[derive(sqlx::FromRow)]
struct ContainerRow {
    id: i64,
    external_id: String,
    name: String,
    host_id: Option<i64>,
    host_name: Option<String>,
    image_ref: String,
    image_id: Option<i64>,
    state: String,
    created: Option<i64>,
    started_at: Option<i64>,
    privileged: bool,
    user_name: Option<String>,
    gone_at: Option<i64>,
    #[sqlx(flatten)]
    counts: Counts,
}

impl ContainerRow {
    fn summary(self) -> ContainerSummary {
        ContainerSummary {
            open_findings: (&self.counts).into(),
            id: self.id,
            external_id: self.external_id,
            name: self.name,
            host_id: self.host_id,
            host_name: self.host_name,
            image_ref: self.image_ref,
            image_id: self.image_id,
            state: self.state,
            created: self.created,
            started_at: self.started_at,
            privileged: self.privileged,
            user: self.user_name,
            gone_at: self.gone_at,
        }
    }
}

const CONTAINER_SELECT: &str =
    "SELECT c.id, c.external_id, c.name, c.host_id, h.name AS host_name, c.image_ref, c.image_id, \
     c.state, c.created, c.started_at, c.privileged, c.user_name, c.gone_at, ";

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    check_id: String,
    subject_kind: String,
    subject_id: i64,
    instance: String,
    severity: String,
    cis_section: Option<String>,
    evidence: Option<String>,
    state: String,
    first_seen_at: i64,
    last_seen_at: i64,
    resolved_at: Option<i64>,
    reopened_at: Option<i64>,
    accepted_by: Option<String>,
    accepted_reason: Option<String>,
    accepted_until: Option<i64>,
    /// A source's own title and remediation, for checks outside the Docker catalogue.
    title: Option<String>,
    remediation: Option<String>,
    subject_name: Option<String>,
    host_id: Option<i64>,
    host_name: Option<String>,
}

impl FindingRow {
    fn view(self) -> ConfigFindingView {
        let check = catalog::check(&self.check_id);
        ConfigFindingView {
            id: self.id,
            title: check
                .map(|c| c.title.to_string())
                .or(self.title)
                .unwrap_or_else(|| self.check_id.clone()),
            remediation: check
                .map(|c| c.remediation.to_string())
                .or(self.remediation)
                .unwrap_or_default(),
            check_id: self.check_id,
            severity: Severity::normalise(&self.severity),
            // The catalogue's section, not the one stored when the finding was found: a
            // finding from before the catalogue moved to a newer benchmark still cites it.
            cis: check
                .and_then(|c| c.cis)
                .map(Into::into)
                .or(self.cis_section),
            cis_benchmark: check
                .and_then(|c| c.cis)
                .map(|_| catalog::CIS_BENCHMARK.to_string()),
            subject_kind: self.subject_kind.parse().unwrap_or(SubjectKind::Host),
            subject_id: self.subject_id,
            subject_name: self.subject_name.unwrap_or_default(),
            host_id: self.host_id,
            host_name: self.host_name,
            instance: self.instance,
            evidence: self.evidence.unwrap_or_default(),
            state: self.state.parse().unwrap_or(FindingState::Open),
            first_seen_at: self.first_seen_at,
            last_seen_at: self.last_seen_at,
            resolved_at: self.resolved_at,
            reopened_at: self.reopened_at,
            accepted_by: self.accepted_by,
            accepted_reason: self.accepted_reason,
            accepted_until: self.accepted_until,
        }
    }
}

const FINDING_SELECT: &str = "SELECT cf.id, cf.check_id, cf.subject_kind, cf.subject_id, cf.instance, cf.severity, \
     cf.cis_section, cf.evidence, cf.state, cf.first_seen_at, cf.last_seen_at, cf.resolved_at, cf.reopened_at, \
     cf.accepted_by, cf.accepted_reason, cf.accepted_until, cf.title, cf.remediation, \
     CASE cf.subject_kind WHEN 'host' THEN h.name WHEN 'container' THEN c.name \
       WHEN 'image' THEN COALESCE((SELECT t.repository || ':' || t.tag FROM image_tags t WHERE t.image_id = i.id \
                                   ORDER BY t.last_seen_at DESC, t.repository, t.tag LIMIT 1), i.digest) \
       WHEN 'pod' THEN (SELECT p.namespace || '/' || p.name FROM pods p WHERE p.id = cf.subject_id) \
       WHEN 'workload' THEN (SELECT w.namespace || '/' || w.kind || '/' || w.name FROM workloads w WHERE w.id = cf.subject_id) \
       WHEN 'namespace' THEN (SELECT n.name FROM namespaces n WHERE n.id = cf.subject_id) \
       WHEN 'cluster' THEN (SELECT k.name FROM clusters k WHERE k.id = cf.subject_id) END AS subject_name, \
     h.id AS host_id, h.name AS host_name \
     FROM config_findings cf \
     LEFT JOIN containers c ON cf.subject_kind = 'container' AND c.id = cf.subject_id \
     LEFT JOIN images i ON cf.subject_kind = 'image' AND i.id = cf.subject_id \
     LEFT JOIN hosts h ON (cf.subject_kind = 'host' AND h.id = cf.subject_id) \
                       OR (cf.subject_kind = 'container' AND h.id = c.host_id)";

impl Store {
    /// The status of an image's latest signature check, if it was checked (for the pages
    /// of what runs it; the image page reads the whole check).
    pub async fn signature_status(
        &self,
        image_id: i64,
    ) -> StoreResult<Option<coastguard_model::signatures::SignatureStatus>> {
        let status: Option<String> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "SELECT status FROM signature_checks WHERE image_id = $1 ORDER BY checked_at DESC LIMIT 1"
        )
        .bind(image_id)
        .fetch_optional(pool)
        .await
        })?;
        Ok(status
            .as_deref()
            .map(coastguard_model::signatures::SignatureStatus::parse))
    }

    pub async fn list_hosts(&self, q: &ListQuery) -> StoreResult<Listing<HostSummary>> {
        let (page, per_page) = paging(q)?;
        let mut f = Filter::default();
        if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
            let p = f.param(Arg::Text(like(text)));
            f.push(format!("(LOWER(h.name) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(h.endpoint, '')) LIKE {p} ESCAPE '\\')"));
        }
        if let Some(status) = q.state.as_deref().filter(|s| !s.is_empty()) {
            let p = f.param(Arg::Text(status.to_string()));
            f.push(format!("h.status = {p}"));
        }
        let order = order_by(q, HOST_SORTS, "h.id")?;
        let base = format!("FROM hosts h {} {}", host_findings_join(), f.sql());
        let count_sql = format!("SELECT COUNT(*) {base}");
        let sql = format!(
            "{HOST_SELECT}{SEVERITY_COLUMNS} {base} {order} LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let (total, rows) = with_db!(&self.db, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &f.args)
                .fetch_one(pool)
                .await?;
            let rows: Vec<HostRow> = bind_all!(sqlx::query_as(&sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        Ok(Listing {
            items: rows.into_iter().map(HostRow::summary).collect(),
            total,
            page,
            per_page,
        })
    }

    pub async fn host_summary(&self, id: i64) -> StoreResult<HostSummary> {
        let sql = format!(
            "{HOST_SELECT}{SEVERITY_COLUMNS} FROM hosts h {} WHERE h.id = $1",
            host_findings_join()
        );
        let row: Option<HostRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(HostRow::summary).ok_or(StoreError::NotFound)
    }

    /// The stored facts JSON of a host, image or container.
    pub async fn facts_json(&self, kind: SubjectKind, id: i64) -> StoreResult<Option<String>> {
        let sql = match kind {
            SubjectKind::Host => "SELECT facts FROM hosts WHERE id = $1",
            SubjectKind::Image => "SELECT config FROM images WHERE id = $1",
            SubjectKind::Container => "SELECT config FROM containers WHERE id = $1",
            _ => return Ok(None),
        };
        let raw: Option<Option<String>> = with_db!(&self.db, |pool| sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        raw.ok_or(StoreError::NotFound)
    }

    pub async fn list_images(&self, q: &ListQuery) -> StoreResult<Listing<ImageSummary>> {
        let (page, per_page) = paging(q)?;
        let mut f = Filter::default();
        if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
            let p = f.param(Arg::Text(like(text)));
            f.push(format!(
                "(LOWER(i.digest) LIKE {p} ESCAPE '\\' OR EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id \
                  AND LOWER(t.repository || ':' || t.tag) LIKE {p} ESCAPE '\\'))"
            ));
        }
        if let Some(host) = q.host {
            let p = f.param(Arg::Int(host));
            f.push(format!("EXISTS (SELECT 1 FROM host_images hi WHERE hi.image_id = i.id AND hi.host_id = {p} AND hi.gone_at IS NULL)"));
        }
        if !q.include_gone.unwrap_or(false) {
            // Gone: every engine that held it deleted it. Images only scans know stay listed.
            f.push(
                "(NOT EXISTS (SELECT 1 FROM host_images hi WHERE hi.image_id = i.id) \
                  OR EXISTS (SELECT 1 FROM host_images hi WHERE hi.image_id = i.id AND hi.gone_at IS NULL))"
                    .into(),
            );
        }
        if let Some(min) = min_severity(q)? {
            let p = f.param(Arg::Int(min.rank()));
            f.push(format!(
                "EXISTS (SELECT 1 FROM config_findings cf WHERE cf.subject_kind = 'image' AND cf.subject_id = i.id \
                 AND cf.state = 'open' AND {SEVERITY_RANK} >= {p})"
            ));
        }
        let order = order_by(q, IMAGE_SORTS, "i.id")?;
        let base = format!(
            "FROM images i {} {}",
            subject_findings_join("image", "i"),
            f.sql()
        );
        let count_sql = format!("SELECT COUNT(*) {base}");
        let sql = format!(
            "{IMAGE_SELECT}{SEVERITY_COLUMNS} {base} {order} LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let (total, rows) = with_db!(&self.db, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &f.args)
                .fetch_one(pool)
                .await?;
            let rows: Vec<ImageRow> = bind_all!(sqlx::query_as(&sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        let items = self.with_tags(rows).await?;
        Ok(Listing {
            items,
            total,
            page,
            per_page,
        })
    }

    pub async fn image_summary(&self, id: i64) -> StoreResult<ImageSummary> {
        let sql = format!(
            "{IMAGE_SELECT}{SEVERITY_COLUMNS} FROM images i {} WHERE i.id = $1",
            subject_findings_join("image", "i")
        );
        let row: Option<ImageRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        Ok(self.with_tags(vec![row]).await?.remove(0))
    }

    /// Adds what is kept beside each image row: its tags, open vulnerabilities and last
    /// scan. Three indexed queries per page, whatever the page size.
    async fn with_tags(&self, rows: Vec<ImageRow>) -> StoreResult<Vec<ImageSummary>> {
        let mut tags: std::collections::HashMap<i64, Vec<String>> = Default::default();
        let mut vulns: std::collections::HashMap<i64, SeverityCounts> = Default::default();
        let mut scans: std::collections::HashMap<i64, i64> = Default::default();
        if !rows.is_empty() {
            let mut f = Filter::default();
            let params: Vec<String> = rows.iter().map(|r| f.param(Arg::Int(r.id))).collect();
            let ids = params.join(", ");
            let counts_sql = format!(
                "SELECT image_id, severity, COUNT(*) FROM findings WHERE state = 'open' AND image_id IN ({ids}) \
                 GROUP BY image_id, severity"
            );
            let scans_sql = format!(
                "SELECT image_id, MAX(COALESCE(scanned_at, received_at)) FROM scans \
                 WHERE kind <> 'vex' AND image_id IN ({ids}) GROUP BY image_id"
            );
            type Counts = Vec<(i64, String, i64)>;
            type LastScans = Vec<(i64, Option<i64>)>;
            let (counts, last): (Counts, LastScans) = with_db!(&self.db, |pool| {
                let counts = bind_all!(sqlx::query_as(&counts_sql), &f.args)
                    .fetch_all(pool)
                    .await?;
                let last = bind_all!(sqlx::query_as(&scans_sql), &f.args)
                    .fetch_all(pool)
                    .await?;
                Ok::<_, sqlx::Error>((counts, last))
            })?;
            for (image, severity, n) in counts {
                vulns
                    .entry(image)
                    .or_default()
                    .add(Severity::normalise(&severity), n);
            }
            scans.extend(last.into_iter().filter_map(|(i, at)| Some((i, at?))));
        }
        if !rows.is_empty() {
            let mut f = Filter::default();
            let params: Vec<String> = rows.iter().map(|r| f.param(Arg::Int(r.id))).collect();
            let sql = format!(
                "SELECT image_id, repository || ':' || tag FROM image_tags WHERE image_id IN ({}) \
                 ORDER BY last_seen_at DESC, repository, tag",
                params.join(", ")
            );
            let found: Vec<(i64, String)> =
                with_db!(&self.db, |pool| bind_all!(sqlx::query_as(&sql), &f.args)
                    .fetch_all(pool)
                    .await)?;
            for (image, tag) in found {
                tags.entry(image).or_default().push(tag);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| ImageSummary {
                open_findings: (&r.counts).into(),
                open_vulnerabilities: vulns.remove(&r.id).unwrap_or_default(),
                last_scan_at: scans.remove(&r.id),
                tags: tags.remove(&r.id).unwrap_or_default(),
                id: r.id,
                digest: r.digest,
                size_bytes: r.size_bytes,
                created: r.created,
                user: r.user_name,
                hosts: r.hosts,
                containers: r.containers,
                first_seen_at: r.first_seen_at,
                last_seen_at: r.last_seen_at,
            })
            .collect())
    }

    pub async fn list_containers(
        &self,
        q: &ListQuery,
        image: Option<i64>,
    ) -> StoreResult<Listing<ContainerSummary>> {
        let (page, per_page) = paging(q)?;
        let mut f = Filter::default();
        if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
            let p = f.param(Arg::Text(like(text)));
            f.push(format!(
                "(LOWER(c.name) LIKE {p} ESCAPE '\\' OR LOWER(c.image_ref) LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(state) = q.state.as_deref().filter(|s| !s.is_empty()) {
            let p = f.param(Arg::Text(state.to_string()));
            f.push(format!("c.state = {p}"));
        }
        if let Some(host) = q.host {
            let p = f.param(Arg::Int(host));
            f.push(format!("c.host_id = {p}"));
        }
        if let Some(image) = image {
            let p = f.param(Arg::Int(image));
            f.push(format!("c.image_id = {p}"));
        }
        if !q.include_gone.unwrap_or(false) {
            f.push("c.gone_at IS NULL".into());
        }
        if let Some(min) = min_severity(q)? {
            let p = f.param(Arg::Int(min.rank()));
            f.push(format!(
                "EXISTS (SELECT 1 FROM config_findings cf WHERE cf.subject_kind = 'container' AND cf.subject_id = c.id \
                 AND cf.state = 'open' AND {SEVERITY_RANK} >= {p})"
            ));
        }
        let order = order_by(q, CONTAINER_SORTS, "c.id")?;
        let base = format!(
            "FROM containers c LEFT JOIN hosts h ON h.id = c.host_id {} {}",
            subject_findings_join("container", "c"),
            f.sql()
        );
        let count_sql = format!("SELECT COUNT(*) {base}");
        let sql = format!(
            "{CONTAINER_SELECT}{SEVERITY_COLUMNS} {base} {order} LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let (total, rows) = with_db!(&self.db, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &f.args)
                .fetch_one(pool)
                .await?;
            let rows: Vec<ContainerRow> = bind_all!(sqlx::query_as(&sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        Ok(Listing {
            items: rows.into_iter().map(ContainerRow::summary).collect(),
            total,
            page,
            per_page,
        })
    }

    /// Containers (not gone) running any of these images.
    pub async fn containers_of_images(&self, images: &[i64]) -> StoreResult<Vec<ContainerSummary>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let mut f = Filter::default();
        let params: Vec<String> = images
            .iter()
            .take(1000)
            .map(|i| f.param(Arg::Int(*i)))
            .collect();
        let sql = format!(
            "{CONTAINER_SELECT}{SEVERITY_COLUMNS} FROM containers c LEFT JOIN hosts h ON h.id = c.host_id {} \
             WHERE c.gone_at IS NULL AND c.image_id IN ({}) ORDER BY c.name LIMIT 1000",
            subject_findings_join("container", "c"),
            params.join(", ")
        );
        let rows: Vec<ContainerRow> =
            with_db!(&self.db, |pool| bind_all!(sqlx::query_as(&sql), &f.args)
                .fetch_all(pool)
                .await)?;
        Ok(rows.into_iter().map(ContainerRow::summary).collect())
    }

    pub async fn container_summary(&self, id: i64) -> StoreResult<ContainerSummary> {
        let sql = format!(
            "{CONTAINER_SELECT}{SEVERITY_COLUMNS} FROM containers c LEFT JOIN hosts h ON h.id = c.host_id {} WHERE c.id = $1",
            subject_findings_join("container", "c")
        );
        let row: Option<ContainerRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(ContainerRow::summary).ok_or(StoreError::NotFound)
    }

    pub async fn list_config_findings(
        &self,
        q: &ListQuery,
    ) -> StoreResult<Listing<ConfigFindingView>> {
        let (page, per_page) = paging(q)?;
        let mut f = Filter::default();
        let state = q
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("open");
        if state != "all" {
            let state: FindingState = state.parse().map_err(|e| StoreError::Invalid("state", e))?;
            let p = f.param(Arg::Text(state.as_str().to_string()));
            f.push(format!("cf.state = {p}"));
        }
        if let Some(min) = min_severity(q)? {
            let p = f.param(Arg::Int(min.rank()));
            f.push(format!("{SEVERITY_RANK} >= {p}"));
        }
        if let Some(check) = q.check.as_deref().filter(|c| !c.is_empty()) {
            // `k8s.rbac.*`: every check of that family.
            match check.strip_suffix('*') {
                Some(prefix) => {
                    let p = f.param(Arg::Text(starts_with(prefix)));
                    f.push(format!("cf.check_id LIKE {p} ESCAPE '\\'"));
                }
                None => {
                    let p = f.param(Arg::Text(check.to_string()));
                    f.push(format!("cf.check_id = {p}"));
                }
            }
        }
        if let Some(kind) = q.subject_kind.as_deref().filter(|k| !k.is_empty()) {
            let kind: SubjectKind = kind
                .parse()
                .map_err(|e| StoreError::Invalid("subject_kind", e))?;
            let p = f.param(Arg::Text(kind.as_str().to_string()));
            f.push(format!("cf.subject_kind = {p}"));
        }
        if let Some(subject) = q.subject_id {
            let p = f.param(Arg::Int(subject));
            f.push(format!("cf.subject_id = {p}"));
        }
        if let Some(host) = q.host {
            let p = f.param(Arg::Int(host));
            f.push(format!("h.id = {p}"));
        }
        if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
            let p = f.param(Arg::Text(like(text)));
            f.push(format!(
                "(LOWER(cf.check_id) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(c.name, h.name, i.digest, '')) LIKE {p} ESCAPE '\\' \
                  OR LOWER(cf.instance) LIKE {p} ESCAPE '\\')"
            ));
        }
        if !q.include_gone.unwrap_or(false) {
            f.push("(c.id IS NULL OR c.gone_at IS NULL)".into());
        }
        let order = order_by(q, FINDING_SORTS, "cf.id DESC")?;
        let where_sql = f.sql();
        let count_sql = format!(
            "SELECT COUNT(*) FROM config_findings cf \
             LEFT JOIN containers c ON cf.subject_kind = 'container' AND c.id = cf.subject_id \
             LEFT JOIN images i ON cf.subject_kind = 'image' AND i.id = cf.subject_id \
             LEFT JOIN hosts h ON (cf.subject_kind = 'host' AND h.id = cf.subject_id) \
                               OR (cf.subject_kind = 'container' AND h.id = c.host_id) {where_sql}"
        );
        let sql = format!(
            "{FINDING_SELECT} {where_sql} {order} LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let (total, rows) = with_db!(&self.db, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &f.args)
                .fetch_one(pool)
                .await?;
            let rows: Vec<FindingRow> = bind_all!(sqlx::query_as(&sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        Ok(Listing {
            items: rows.into_iter().map(FindingRow::view).collect(),
            total,
            page,
            per_page,
        })
    }

    pub async fn config_finding(&self, id: i64) -> StoreResult<ConfigFindingView> {
        let sql = format!("{FINDING_SELECT} WHERE cf.id = $1");
        let row: Option<FindingRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(FindingRow::view).ok_or(StoreError::NotFound)
    }

    /// Every finding of one subject (open first, then accepted, then resolved).
    pub async fn subject_findings(
        &self,
        kind: SubjectKind,
        id: i64,
    ) -> StoreResult<Vec<ConfigFindingView>> {
        let sql = format!(
            "{FINDING_SELECT} WHERE cf.subject_kind = $1 AND cf.subject_id = $2 \
             ORDER BY CASE cf.state WHEN 'open' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END, {SEVERITY_RANK} DESC, cf.check_id"
        );
        let rows: Vec<FindingRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(kind.as_str())
            .bind(id)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(FindingRow::view).collect())
    }
}

/// Risk acceptance, within an action's [`crate::store::Write`].
impl crate::store::Write {
    /// An analyst accepts the risk of an open finding, optionally until a time.
    pub async fn accept_config_finding(
        &mut self,
        id: i64,
        by: &str,
        reason: &str,
        until: Option<i64>,
    ) -> StoreResult<()> {
        let changed = crate::with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE config_findings SET state = 'accepted', accepted_by = $2, accepted_reason = $3, accepted_until = $4 \
             WHERE id = $1 AND state <> 'resolved'"
        )
        .bind(id)
        .bind(by)
        .bind(reason)
        .bind(until)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected())
        })?;
        match changed {
            1 => {
                self.risk_changed();
                Ok(())
            }
            _ => {
                self.config_finding_exists(id).await?;
                Err(StoreError::Conflict(
                    "a resolved finding can't be accepted".into(),
                ))
            }
        }
    }

    /// Withdraws an acceptance: the finding is open again.
    pub async fn unaccept_config_finding(&mut self, id: i64) -> StoreResult<()> {
        let changed = crate::with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE config_findings SET state = 'open', accepted_by = NULL, accepted_reason = NULL, accepted_until = NULL \
             WHERE id = $1 AND state = 'accepted'"
        )
        .bind(id)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected())
        })?;
        match changed {
            1 => {
                self.risk_changed();
                Ok(())
            }
            _ => {
                self.config_finding_exists(id).await?;
                Err(StoreError::Conflict("the finding is not accepted".into()))
            }
        }
    }

    /// `NotFound` unless a configuration finding with this id exists.
    async fn config_finding_exists(&mut self, id: i64) -> StoreResult<()> {
        let found: Option<i64> = crate::with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "SELECT id FROM config_findings WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        found.map(|_| ()).ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(page: Option<i64>, per_page: Option<i64>) -> Result<(i64, i64), &'static str> {
        paging(&ListQuery {
            page,
            per_page,
            ..ListQuery::default()
        })
        .map_err(|e| match e {
            StoreError::Invalid(field, _) => field,
            _ => "other",
        })
    }

    #[test]
    fn the_sql_severity_rank_is_severity_rank() {
        for s in Severity::DESCENDING {
            if s != Severity::Unknown {
                let arm = format!("WHEN '{}' THEN {} ", s.as_str(), s.rank());
                assert!(SEVERITY_RANK.contains(&arm), "{arm}");
            }
        }
        assert!(SEVERITY_RANK.ends_with(&format!("ELSE {} END)", Severity::Unknown.rank())));
        assert!(SEVERITY_SUMS.contains("x.severity = 'negligible'"));
    }

    #[test]
    fn paging_refuses_what_could_overflow_and_names_the_parameter() {
        assert_eq!(at(None, None), Ok((1, 50)));
        assert_eq!(at(Some(MAX_PAGE), Some(500)), Ok((MAX_PAGE, 500)));
        for page in [0, -1, MAX_PAGE + 1, i64::MAX, i64::MIN] {
            assert_eq!(at(Some(page), None), Err("page"), "{page}");
        }
        for per_page in [0, 501, i64::MAX] {
            assert_eq!(at(None, Some(per_page)), Err("per_page"), "{per_page}");
        }
        // The largest offset allowed is far from i64's end.
        assert!((MAX_PAGE - 1).checked_mul(500).is_some());
    }
}
