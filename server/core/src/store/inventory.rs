//! Docker inventory: engines, images, containers, and their configuration findings.
//!
//! A full sync is applied in one transaction. Nothing is deleted when it disappears:
//! containers get `gone_at`, images get `gone_at` per host, and findings of things no
//! longer seen are resolved, so history stays.

use super::{Store, StoreError, StoreResult};
use crate::docker::checks::Detected;
use crate::docker::collect::Snapshot;
use crate::docker::engine::EngineConfig;
use crate::with_db;
use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts};
use coastguard_model::findings::SubjectKind;

/// A configured Docker engine.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EngineRow {
    pub id: i64,
    pub name: String,
    pub endpoint: Option<String>,
    pub config: Option<String>,
    pub status: String,
    pub last_error: Option<String>,
    pub last_seen_at: Option<i64>,
    pub last_sync_at: Option<i64>,
}

impl EngineRow {
    pub fn engine_config(&self) -> EngineConfig {
        self.config
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_else(|| EngineConfig::new(self.endpoint.clone().unwrap_or_default()))
    }
}

/// Findings evaluated for one subject in one pass.
pub struct SubjectFindings<'a> {
    pub kind: SubjectKind,
    /// The subject's key in the snapshot: image digest, container id, or "" for the host.
    pub key: &'a str,
    pub found: Vec<Detected>,
}

/// Which checks a pass evaluated: drift is evaluated on its own schedule, so a full
/// sync must not resolve drift findings, nor a drift pass anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Configuration,
    Drift,
}

pub const DRIFT_CHECK: &str = "container.drift";

/// The checks the periodic runtime pass owns (what a running container does: files it
/// changed, processes it runs), as an SQL list of constants. The configuration pass
/// (inspection) owns every other Docker check.
macro_rules! runtime_checks {
    () => {
        "('container.drift', 'container.sshd_running')"
    };
}

/// The findings a Docker pass owns: its catalogue's host, image and container checks.
/// Scanner-reported findings (`trivy:…`) and scan coverage (`coverage.…`) sit on the same
/// subjects but have lifecycles of their own, which a sync must not end.
macro_rules! docker_owned {
    ($alias:literal) => {
        concat!(
            "(",
            $alias,
            "check_id LIKE 'host.%' OR ",
            $alias,
            "check_id LIKE 'image.%' OR ",
            $alias,
            "check_id LIKE 'container.%')"
        )
    };
}

/// Resolves the findings of one subject that this pass did not see again.
const RESOLVE_UNSEEN: &str = concat!(
    "UPDATE config_findings SET state = 'resolved', resolved_at = $3 \
     WHERE subject_kind = $1 AND subject_id = $2 AND state <> 'resolved' AND seen_pass <> $5 \
       AND ((check_id IN ",
    runtime_checks!(),
    ") = $4) AND ",
    docker_owned!("")
);

const UPSERT_IMAGE: &str = "INSERT INTO images \
     (digest, size_bytes, created, os, arch, user_name, config, first_seen_at, last_seen_at, inventory_seen_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) \
     ON CONFLICT (digest) DO UPDATE SET size_bytes = excluded.size_bytes, created = excluded.created, \
       os = excluded.os, arch = excluded.arch, user_name = excluded.user_name, config = excluded.config, \
       last_seen_at = excluded.last_seen_at, inventory_seen_at = excluded.inventory_seen_at \
     RETURNING id";

/// Moves everything recorded about image `$2` (a placeholder a scan created) to image
/// `$1`, then deletes `$2`. Findings the image already has are dropped, not duplicated.
const MERGE_IMAGE: &[&str] = &[
    "UPDATE scans SET image_id = $1 WHERE image_id = $2",
    "DELETE FROM findings WHERE image_id = $2 AND EXISTS (SELECT 1 FROM findings f WHERE f.image_id = $1 \
       AND f.pkg_type = findings.pkg_type AND f.pkg_name = findings.pkg_name AND f.vulnerability_id = findings.vulnerability_id)",
    "UPDATE findings SET image_id = $1 WHERE image_id = $2",
    "DELETE FROM config_findings WHERE subject_kind = 'image' AND subject_id = $2 AND EXISTS (SELECT 1 FROM config_findings c \
       WHERE c.subject_kind = 'image' AND c.subject_id = $1 AND c.check_id = config_findings.check_id AND c.instance = config_findings.instance)",
    "UPDATE config_findings SET subject_id = $1 WHERE subject_kind = 'image' AND subject_id = $2",
    "UPDATE suppressions SET image_id = $1 WHERE image_id = $2",
    "UPDATE signature_checks SET image_id = $1 WHERE image_id = $2",
    "INSERT INTO image_tags (image_id, registry, repository, tag, first_seen_at, last_seen_at) \
       SELECT $1, registry, repository, tag, first_seen_at, last_seen_at FROM image_tags WHERE image_id = $2 \
       ON CONFLICT (image_id, registry, repository, tag) DO NOTHING",
    "DELETE FROM images WHERE id = $2",
];

/// A stored finding, for the comparison a full sync makes.
#[derive(sqlx::FromRow)]
struct StoredFinding {
    id: i64,
    check_id: String,
    subject_kind: String,
    subject_id: i64,
    instance: String,
    severity: String,
    cis_section: Option<String>,
    evidence: Option<String>,
    state: String,
    accepted_until: Option<i64>,
}

const ENGINE_SELECT: &str = "SELECT id, name, endpoint, config, status, last_error, last_seen_at, \
     last_sync_at FROM hosts WHERE kind = 'docker' AND id = $1";

/// A finding seen again with new details, or after it was resolved, or after its
/// acceptance ran out.
const REFRESH_FINDING: &str = "UPDATE config_findings SET severity = $2, evidence = $3, cis_section = $4, \
     last_seen_at = $5, seen_pass = $6, \
     reopened_at = CASE WHEN state = 'resolved' THEN $5 ELSE reopened_at END, \
     resolved_at = CASE WHEN state = 'resolved' THEN NULL ELSE resolved_at END, \
     state = CASE WHEN state = 'resolved' THEN 'open' \
                  WHEN state = 'accepted' AND accepted_until IS NOT NULL AND accepted_until <= $5 THEN 'open' \
                  ELSE state END \
     WHERE id = $1";

/// A finding's `last_seen_at` is kept to within this many seconds: rewriting every
/// unchanged finding on every sync would cost more than the precision is worth.
pub const LAST_SEEN_GRANULARITY: i64 = 3600;

/// Rows per multi-row statement: few round trips, far below both backends' limits on
/// bound parameters (SQLite 32766, Postgres 65535).
const CONTAINER_BATCH: usize = 100;
pub(super) const FINDING_BATCH: usize = 200;

pub(super) const UPSERT_FINDING_HEAD: &str = "INSERT INTO config_findings \
     (check_id, subject_kind, subject_id, instance, severity, cis_section, evidence, state, first_seen_at, last_seen_at, seen_pass) VALUES ";

/// What becomes of a configuration finding an upsert finds stored (the end of its
/// `DO UPDATE SET`): a resolved one reopens; an accepted one whose acceptance has run out
/// is open again; any other keeps its state. Every configuration finding upsert (engine
/// checks, scanners' misconfigurations) ends with it.
macro_rules! seen_again {
    () => {
        "state = CASE WHEN config_findings.state = 'resolved' THEN 'open' \
                    WHEN config_findings.state = 'accepted' AND config_findings.accepted_until IS NOT NULL \
                         AND config_findings.accepted_until <= excluded.last_seen_at THEN 'open' \
                    ELSE config_findings.state END, \
       reopened_at = CASE WHEN config_findings.state = 'resolved' THEN excluded.last_seen_at \
                          ELSE config_findings.reopened_at END, \
       resolved_at = CASE WHEN config_findings.state = 'resolved' THEN NULL ELSE config_findings.resolved_at END"
    };
}
pub(super) use seen_again;

/// The conflict clause shared by single and batched finding upserts.
pub(super) const UPSERT_FINDING_TAIL: &str = concat!(
    " ON CONFLICT (check_id, subject_kind, subject_id, instance) DO UPDATE SET \
       severity = excluded.severity, cis_section = excluded.cis_section, evidence = excluded.evidence, \
       last_seen_at = excluded.last_seen_at, seen_pass = excluded.seen_pass, ",
    seen_again!()
);

/// Nine parameters per finding row, from `$first` on.
pub(super) fn finding_row_template(first: usize) -> (String, usize) {
    let p = |i: usize| format!("${}", first + i);
    let row = format!(
        "({}, {}, {}, {}, {}, {}, {}, 'open', {}, {}, {})",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(7),
        p(8)
    );
    (row, 9)
}

/// The container label that names the team a container belongs to (trends per team).
pub const TEAM_LABEL: &str = "team";

/// The team a container's labels name: trimmed; none when empty or over 200 characters
/// (what [`crate::store::snapshots::Scope::team`] accepts).
pub fn team_of(labels: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    labels
        .get(TEAM_LABEL)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

const UPSERT_CONTAINER_HEAD: &str = "INSERT INTO containers \
     (host_id, external_id, name, image_ref, image_id, state, created, started_at, restart_count, \
      privileged, user_name, read_only_rootfs, config, first_seen_at, last_seen_at, gone_at, seen_pass, team) VALUES ";

const UPSERT_CONTAINER_TAIL: &str = " ON CONFLICT (host_id, external_id) DO UPDATE SET name = excluded.name, \
       image_ref = excluded.image_ref, image_id = excluded.image_id, state = excluded.state, \
       created = excluded.created, started_at = excluded.started_at, restart_count = excluded.restart_count, \
       privileged = excluded.privileged, user_name = excluded.user_name, \
       read_only_rootfs = excluded.read_only_rootfs, config = excluded.config, \
       last_seen_at = excluded.last_seen_at, gone_at = NULL, seen_pass = excluded.seen_pass, team = excluded.team \
     RETURNING id, external_id";

/// Sixteen parameters per container row, from `$first` on; the image id is looked up
/// by digest, first and last seen are both `now`, gone_at is NULL.
fn container_row_template(first: usize) -> (String, usize) {
    let p = |i: usize| format!("${}", first + i);
    let row = format!(
        "({}, {}, {}, {}, (SELECT id FROM images WHERE digest = {}), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, NULL, {}, {})",
        p(0), p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9), p(10), p(11), p(12), p(13), p(13), p(14), p(15)
    );
    (row, 16)
}

/// `head` + `rows` row templates, numbered on + `tail`.
pub(super) fn batch_sql(
    head: &str,
    row: &dyn Fn(usize) -> (String, usize),
    rows: usize,
    tail: &str,
) -> String {
    let mut sql = String::from(head);
    let mut next = 1;
    for i in 0..rows {
        let (values, used) = row(next);
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&values);
        next += used;
    }
    sql.push_str(tail);
    sql
}

/// `repo:tag` → (registry, repository, tag).
fn split_tag(reference: &str) -> Option<(String, String, String)> {
    let (repo, tag) = reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))?;
    Some((
        crate::docker::checks::registry_of(repo),
        repo.to_string(),
        tag.to_string(),
    ))
}

macro_rules! upsert_findings {
    ($tx:expr, $kind:expr, $subject_id:expr, $found:expr, $pass:expr, $now:expr, $pass_id:expr) => {{
        for d in $found {
            sqlx::query(&batch_sql(
                UPSERT_FINDING_HEAD,
                &finding_row_template,
                1,
                UPSERT_FINDING_TAIL,
            ))
            .bind(d.check.id)
            .bind($kind.as_str())
            .bind($subject_id)
            .bind(&d.instance)
            .bind(d.severity.as_str())
            .bind(d.check.cis)
            .bind(&d.evidence)
            .bind($now)
            .bind($pass_id)
            .execute(&mut *$tx)
            .await?;
        }
        sqlx::query(RESOLVE_UNSEEN)
            .bind($kind.as_str())
            .bind($subject_id)
            .bind($now)
            .bind($pass == Pass::Drift)
            .bind($pass_id)
            .execute(&mut *$tx)
            .await?;
    }};
}

macro_rules! upsert_image {
    ($tx:expr, $host_id:expr, $image:expr, $now:expr, $pass_id:expr) => {{
        let image: &ImageFacts = $image;
        let config = serde_json::to_string(image).unwrap_or_default();
        let id: i64 = sqlx::query_scalar(UPSERT_IMAGE)
            .bind(&image.id)
            .bind(image.size)
            .bind(image.created)
            .bind(&image.os)
            .bind(&image.arch)
            .bind(&image.user)
            .bind(&config)
            .bind($now)
            .fetch_one(&mut *$tx)
            .await?;
        for tag in &image.repo_tags {
            if let Some((registry, repository, tag)) = split_tag(tag) {
                sqlx::query(
                    "INSERT INTO image_tags (image_id, registry, repository, tag, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (image_id, registry, repository, tag) \
                     DO UPDATE SET last_seen_at = excluded.last_seen_at",
                )
                .bind(id)
                .bind(&registry)
                .bind(&repository)
                .bind(&tag)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
            }
        }
        for reference in &image.repo_digests {
            if let Some((repository, digest)) = reference.split_once('@') {
                sqlx::query(
                    "INSERT INTO image_digests (digest, image_id, repository) VALUES ($1, $2, $3) \
                     ON CONFLICT (digest, image_id, repository) DO NOTHING",
                )
                .bind(digest)
                .bind(id)
                .bind(repository)
                .execute(&mut *$tx)
                .await?;
                // A scan that arrived before the image did created a row keyed by this
                // manifest digest: fold it into the image now.
                let placeholder: Option<i64> = sqlx::query_scalar("SELECT id FROM images WHERE digest = $1 AND id <> $2")
                    .bind(digest)
                    .bind(id)
                    .fetch_optional(&mut *$tx)
                    .await?;
                if let Some(old) = placeholder {
                    for sql in MERGE_IMAGE {
                        sqlx::query(sql).bind(id).bind(old).execute(&mut *$tx).await?;
                    }
                    $crate::store::vulns::recount_images!($tx, [id]);
                }
            }
        }
        sqlx::query(
            "INSERT INTO host_images (host_id, image_id, first_seen_at, last_seen_at, gone_at, seen_pass) \
             VALUES ($1, $2, $3, $3, NULL, $4) ON CONFLICT (host_id, image_id) \
             DO UPDATE SET last_seen_at = excluded.last_seen_at, gone_at = NULL, seen_pass = excluded.seen_pass",
        )
        .bind($host_id)
        .bind(id)
        .bind($now)
        .bind($pass_id)
        .execute(&mut *$tx)
        .await?;
        id
    }};
}

macro_rules! upsert_container {
    ($tx:expr, $host_id:expr, $c:expr, $now:expr, $pass_id:expr) => {{
        let c: &ContainerFacts = $c;
        let config = serde_json::to_string(c).unwrap_or_default();
        let (id, _): (i64, String) = sqlx::query_as(&batch_sql(
            UPSERT_CONTAINER_HEAD,
            &container_row_template,
            1,
            UPSERT_CONTAINER_TAIL,
        ))
        .bind($host_id)
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.image_ref)
        .bind(&c.image_id)
        .bind(&c.state)
        .bind(c.created)
        .bind(c.started_at)
        .bind(c.restart_count)
        .bind(c.privileged)
        .bind(&c.user)
        .bind(c.read_only_rootfs)
        .bind(&config)
        .bind($now)
        .bind($pass_id)
        .bind(team_of(&c.labels))
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

macro_rules! update_host {
    ($tx:expr, $host_id:expr, $facts:expr, $now:expr) => {{
        let facts: &HostFacts = $facts;
        sqlx::query(
            "UPDATE hosts SET status = 'ok', last_error = NULL, last_seen_at = $2, last_sync_at = $2, \
             engine_version = $3, api_version = $4, os = $5, kernel = $6, arch = $7, facts = $8, updated_at = $2 \
             WHERE id = $1",
        )
        .bind($host_id)
        .bind($now)
        .bind(&facts.engine_version)
        .bind(&facts.api_version)
        .bind(&facts.os)
        .bind(&facts.kernel)
        .bind(&facts.arch)
        .bind(serde_json::to_string(facts).unwrap_or_default())
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    pub async fn docker_engines(&self) -> StoreResult<Vec<EngineRow>> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<_, EngineRow>(
            "SELECT id, name, endpoint, config, status, last_error, last_seen_at, last_sync_at \
             FROM hosts WHERE kind = 'docker' ORDER BY name"
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn docker_engine(&self, id: i64) -> StoreResult<EngineRow> {
        with_db!(&self.db, |pool| sqlx::query_as::<_, EngineRow>(
            ENGINE_SELECT
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .ok_or(StoreError::NotFound)
    }

    /// An engine Coastguard adds itself (the local one it finds at start-up, the demo's),
    /// recorded as the system's action.
    pub async fn add_docker_engine(
        &self,
        name: &str,
        config: &EngineConfig,
        now: i64,
    ) -> StoreResult<EngineRow> {
        let mut w = self.begin().await?;
        let row = w.add_docker_engine(name, config, now).await?;
        let record = super::AuditRecord {
            detail: Some(serde_json::json!({ "name": name, "endpoint": config.endpoint })),
            ..super::AuditRecord::system("engine.add", format!("host:{}", row.id))
        };
        w.audit(&record, now).await?;
        w.commit().await?;
        Ok(row)
    }

    /// The engine could not be reached: keep everything, say why and since when.
    pub async fn mark_engine_unreachable(&self, id: i64, error: &str, now: i64) -> StoreResult<()> {
        with_db!(&self.db, |pool| {
            sqlx::query(
            "UPDATE hosts SET status = 'unreachable', last_error = $2, updated_at = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(error)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Applies a full snapshot of one engine, with the findings evaluated for it, in
    /// one transaction.
    pub async fn apply_docker_snapshot(
        &self,
        host_id: i64,
        snapshot: &Snapshot,
        findings: &[SubjectFindings<'_>],
        now: i64,
    ) -> StoreResult<()> {
        let pass = crate::pass_id();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            update_host!(tx, host_id, &snapshot.host, now);
            let mut image_ids: std::collections::HashMap<&str, i64> =
                std::collections::HashMap::new();
            for image in &snapshot.images {
                let id = upsert_image!(tx, host_id, image, now, pass);
                image_ids.insert(image.id.as_str(), id);
            }
            sqlx::query("UPDATE host_images SET gone_at = $2 WHERE host_id = $1 AND gone_at IS NULL AND seen_pass <> $3")
                .bind(host_id)
                .bind(now)
                .bind(pass)
                .execute(&mut *tx)
                .await?;
            // Containers, in batches (one statement per CONTAINER_BATCH rows).
            let mut container_ids: std::collections::HashMap<String, i64> =
                std::collections::HashMap::new();
            for chunk in snapshot.containers.chunks(CONTAINER_BATCH) {
                let sql = batch_sql(
                    UPSERT_CONTAINER_HEAD,
                    &container_row_template,
                    chunk.len(),
                    UPSERT_CONTAINER_TAIL,
                );
                let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
                for c in chunk {
                    q = q
                        .bind(host_id)
                        .bind(&c.id)
                        .bind(&c.name)
                        .bind(&c.image_ref)
                        .bind(&c.image_id)
                        .bind(&c.state)
                        .bind(c.created)
                        .bind(c.started_at)
                        .bind(c.restart_count)
                        .bind(c.privileged)
                        .bind(&c.user)
                        .bind(c.read_only_rootfs)
                        .bind(serde_json::to_string(c).unwrap_or_default())
                        .bind(now)
                        .bind(pass)
                        .bind(team_of(&c.labels));
                }
                for (id, external) in q.fetch_all(&mut *tx).await? {
                    container_ids.insert(external, id);
                }
            }
            // Containers that are no longer there are gone; their findings resolved.
            sqlx::query("UPDATE containers SET gone_at = $2 WHERE host_id = $1 AND gone_at IS NULL AND seen_pass <> $3")
                .bind(host_id)
                .bind(now)
                .bind(pass)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE config_findings SET state = 'resolved', resolved_at = $2 \
                 WHERE subject_kind = 'container' AND state <> 'resolved' \
                   AND subject_id IN (SELECT id FROM containers WHERE host_id = $1 AND gone_at IS NOT NULL)",
            )
            .bind(host_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;

            // Findings, deduplicated and in batches.
            let mut rows: Vec<(SubjectKind, i64, &Detected)> = Vec::new();
            let mut keys = std::collections::HashSet::new();
            for subject in findings {
                let subject_id = match subject.kind {
                    SubjectKind::Host => Some(host_id),
                    SubjectKind::Image => image_ids.get(subject.key).copied(),
                    SubjectKind::Container => container_ids.get(subject.key).copied(),
                    _ => None,
                };
                let Some(subject_id) = subject_id else {
                    continue;
                };
                for d in &subject.found {
                    if keys.insert((d.check.id, subject.kind, subject_id, d.instance.as_str())) {
                        rows.push((subject.kind, subject_id, d));
                    }
                }
            }
            // Compare with what is stored instead of rewriting every finding: most
            // syncs change nothing, and unchanged rows are left alone.
            let scopes = [
                "cf.subject_kind = 'host' AND cf.subject_id = $1",
                "cf.subject_kind = 'image' AND cf.subject_id IN \
                   (SELECT image_id FROM host_images WHERE host_id = $1 AND seen_pass = $2)",
                "cf.subject_kind = 'container' AND cf.subject_id IN \
                   (SELECT id FROM containers WHERE host_id = $1 AND seen_pass = $2)",
            ];
            let mut stored: std::collections::HashMap<
                (String, String, i64, String),
                StoredFinding,
            > = std::collections::HashMap::new();
            for scope in scopes {
                let found: Vec<StoredFinding> = sqlx::query_as(&format!(
                    "SELECT cf.id, cf.check_id, cf.subject_kind, cf.subject_id, cf.instance, cf.severity, \
                     cf.cis_section, cf.evidence, cf.state, cf.accepted_until FROM config_findings cf \
                     WHERE {scope} AND cf.check_id NOT IN {runtime} AND {owned}",
                    owned = docker_owned!("cf."),
                    runtime = runtime_checks!()
                ))
                .bind(host_id)
                .bind(pass)
                .fetch_all(&mut *tx)
                .await?;
                for f in found {
                    stored.insert(
                        (
                            f.check_id.clone(),
                            f.subject_kind.clone(),
                            f.subject_id,
                            f.instance.clone(),
                        ),
                        f,
                    );
                }
            }
            let mut new_rows = Vec::new();
            for (kind, subject_id, d) in rows {
                let key = (
                    d.check.id.to_string(),
                    kind.as_str().to_string(),
                    subject_id,
                    d.instance.clone(),
                );
                let Some(old) = stored.remove(&key) else {
                    new_rows.push((kind, subject_id, d));
                    continue;
                };
                let expired =
                    old.state == "accepted" && old.accepted_until.is_some_and(|u| u <= now);
                let changed = old.severity != d.severity.as_str()
                    || old.evidence.as_deref() != Some(d.evidence.as_str())
                    || old.cis_section.as_deref() != d.check.cis;
                if old.state == "resolved" || expired || changed {
                    sqlx::query(REFRESH_FINDING)
                        .bind(old.id)
                        .bind(d.severity.as_str())
                        .bind(&d.evidence)
                        .bind(d.check.cis)
                        .bind(now)
                        .bind(pass)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for chunk in new_rows.chunks(FINDING_BATCH) {
                let sql = batch_sql(
                    UPSERT_FINDING_HEAD,
                    &finding_row_template,
                    chunk.len(),
                    UPSERT_FINDING_TAIL,
                );
                let mut q = sqlx::query(&sql);
                for (kind, subject_id, d) in chunk {
                    q = q
                        .bind(d.check.id)
                        .bind(kind.as_str())
                        .bind(*subject_id)
                        .bind(&d.instance)
                        .bind(d.severity.as_str())
                        .bind(d.check.cis)
                        .bind(&d.evidence)
                        .bind(now)
                        .bind(pass);
                }
                q.execute(&mut *tx).await?;
            }
            // Evaluated and not found again: resolved.
            let unseen: Vec<i64> = stored
                .values()
                .filter(|f| f.state != "resolved")
                .map(|f| f.id)
                .collect();
            for chunk in unseen.chunks(FINDING_BATCH) {
                let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "UPDATE config_findings SET state = 'resolved', resolved_at = $1 WHERE id IN ({})",
                    params.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
            // Seen again: `last_seen_at` moves, written at most hourly per finding.
            for scope in scopes {
                sqlx::query(&format!(
                    "UPDATE config_findings SET last_seen_at = $3 WHERE id IN \
                     (SELECT cf.id FROM config_findings cf WHERE {scope} AND cf.check_id NOT IN {runtime} \
                      AND {owned} AND cf.state <> 'resolved' AND cf.last_seen_at < $4)",
                    owned = docker_owned!("cf."),
                    runtime = runtime_checks!()
                ))
                .bind(host_id)
                .bind(pass)
                .bind(now)
                .bind(now - LAST_SEEN_GRANULARITY)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok(())
        })
    }

    /// One container changed (an engine event): upsert it and its findings.
    pub async fn apply_docker_container(
        &self,
        host_id: i64,
        container: &ContainerFacts,
        found: &[Detected],
        now: i64,
    ) -> StoreResult<i64> {
        let pass = crate::pass_id();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let id = upsert_container!(tx, host_id, container, now, pass);
            upsert_findings!(
                tx,
                SubjectKind::Container,
                id,
                found,
                Pass::Configuration,
                now,
                pass
            );
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok(id)
        })
    }

    /// One image appeared or changed on an engine.
    pub async fn apply_docker_image(
        &self,
        host_id: i64,
        image: &ImageFacts,
        found: &[Detected],
        now: i64,
    ) -> StoreResult<i64> {
        let pass = crate::pass_id();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let id = upsert_image!(tx, host_id, image, now, pass);
            upsert_findings!(
                tx,
                SubjectKind::Image,
                id,
                found,
                Pass::Configuration,
                now,
                pass
            );
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok(id)
        })
    }

    /// A container was removed from its engine: mark it gone and resolve its findings.
    pub async fn mark_docker_container_gone(
        &self,
        host_id: i64,
        external_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE containers SET gone_at = $3 WHERE host_id = $1 AND external_id = $2 AND gone_at IS NULL RETURNING id",
            )
            .bind(host_id)
            .bind(external_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                sqlx::query(
                    "UPDATE config_findings SET state = 'resolved', resolved_at = $2 \
                     WHERE subject_kind = 'container' AND subject_id = $1 AND state <> 'resolved'",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok(())
        })
    }

    /// An image was deleted from an engine.
    pub async fn mark_docker_image_gone(
        &self,
        host_id: i64,
        digest: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "UPDATE host_images SET gone_at = $3 WHERE host_id = $1 AND gone_at IS NULL \
             AND image_id = (SELECT id FROM images WHERE digest = $2)"
        )
        .bind(host_id)
        .bind(digest)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        self.mark_risk_stale().await?;
        Ok(())
    }

    /// The drift pass for one container: sets or resolves its drift finding.
    /// Stores what the runtime pass found on one running container (drift, sshd): its
    /// earlier runtime findings not found again are resolved.
    pub async fn apply_docker_drift(
        &self,
        host_id: i64,
        external_id: &str,
        found: &[Detected],
        now: i64,
    ) -> StoreResult<()> {
        let pass = crate::pass_id();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM containers WHERE host_id = $1 AND external_id = $2 AND gone_at IS NULL",
            )
            .bind(host_id)
            .bind(external_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                upsert_findings!(
                    tx,
                    SubjectKind::Container,
                    id,
                    found.iter(),
                    Pass::Drift,
                    now,
                    pass
                );
            }
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok(())
        })
    }

    /// Accepted risks whose time is up become open again.
    pub async fn reopen_expired_acceptances(&self, now: i64) -> StoreResult<u64> {
        let reopened = with_db!(&self.db, |pool| sqlx::query(
            "UPDATE config_findings SET state = 'open' \
             WHERE state = 'accepted' AND accepted_until IS NOT NULL AND accepted_until <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if reopened > 0 {
            self.mark_risk_stale().await?;
        }
        Ok(reopened)
    }
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn tags_split_into_registry_repository_and_tag() {
        assert_eq!(
            split_tag("nginx:1.25"),
            Some(("docker.io".into(), "nginx".into(), "1.25".into()))
        );
        assert_eq!(
            split_tag("localhost:5000/app:dev"),
            Some((
                "localhost:5000".into(),
                "localhost:5000/app".into(),
                "dev".into()
            ))
        );
        assert_eq!(split_tag("localhost:5000/app"), None);
    }
}

#[cfg(test)]
mod team_tests {
    use super::team_of;
    use std::collections::BTreeMap;

    fn labels(team: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("team".to_string(), team.to_string())])
    }

    #[test]
    fn a_team_label_is_trimmed_and_a_useless_one_is_none() {
        assert_eq!(team_of(&labels(" payments ")), Some("payments"));
        assert_eq!(team_of(&labels("  ")), None);
        assert_eq!(team_of(&labels(&"x".repeat(201))), None);
        assert_eq!(team_of(&BTreeMap::new()), None);
        // Whatever is kept is a scope the trends accept.
        let long = labels(&"x".repeat(200));
        let kept = team_of(&long).unwrap();
        assert!(crate::store::snapshots::Scope::team(kept).is_ok());
    }
}

/// Engines an admin adds or removes, within an action's [`super::Write`].
impl super::Write {
    pub async fn add_docker_engine(
        &mut self,
        name: &str,
        config: &EngineConfig,
        now: i64,
    ) -> StoreResult<EngineRow> {
        let id: i64 = crate::with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO hosts (kind, name, endpoint, config, status, created_at, updated_at) \
             VALUES ('docker', $1, $2, $3, 'pending', $4, $4) RETURNING id"
        )
        .bind(name)
        .bind(&config.endpoint)
        .bind(serde_json::to_string(config).unwrap_or_default())
        .bind(now)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| {
            StoreError::on_unique(e, format!("an engine named '{name}' already exists"))
        })?;
        self.docker_engine(id).await
    }

    /// Removes an engine and everything recorded under it (its containers and their
    /// findings); images stay, as other engines may hold them.
    pub async fn remove_docker_engine(&mut self, id: i64) -> StoreResult<EngineRow> {
        let engine = self.docker_engine(id).await?;
        crate::with_tx!(&mut self.tx, |t| {
            sqlx::query(
                "DELETE FROM config_findings WHERE (subject_kind = 'host' AND subject_id = $1) \
                 OR (subject_kind = 'container' AND subject_id IN (SELECT id FROM containers WHERE host_id = $1))",
            )
            .bind(id)
            .execute(&mut **t)
            .await?;
            sqlx::query("DELETE FROM hosts WHERE id = $1")
                .bind(id)
                .execute(&mut **t)
                .await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(engine)
    }

    /// An engine as this transaction sees it.
    async fn docker_engine(&mut self, id: i64) -> StoreResult<EngineRow> {
        crate::with_tx!(&mut self.tx, |t| sqlx::query_as::<_, EngineRow>(
            ENGINE_SELECT
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?
        .ok_or(StoreError::NotFound)
    }
}
