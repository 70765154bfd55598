//! Docker inventory: engines, images, containers, and their configuration findings.
//!
//! A full sync is applied in one transaction. Nothing is deleted when it disappears:
//! containers get `gone_at`, images get `gone_at` per host, and findings of things no
//! longer seen are resolved, so history stays.

use crate::docker::checks::Detected;
use crate::docker::collect::Snapshot;
use crate::docker::engine::EngineConfig;
use crate::lifecycle::Extent;
use crate::store::config_findings::{Content, Key, Scope};
use crate::store::query::Arg;
use crate::store::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
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
    "UPDATE exceptions SET image_id = $1 WHERE image_id = $2",
    "UPDATE signature_checks SET image_id = $1 WHERE image_id = $2",
    "UPDATE pod_containers SET image_id = $1 WHERE image_id = $2",
    "INSERT INTO image_tags (image_id, registry, repository, tag, first_seen_at, last_seen_at) \
       SELECT $1, registry, repository, tag, first_seen_at, last_seen_at FROM image_tags WHERE image_id = $2 \
       ON CONFLICT (image_id, registry, repository, tag) DO NOTHING",
    "DELETE FROM images WHERE id = $2",
];

const ENGINE_SELECT: &str = "SELECT id, name, endpoint, config, status, last_error, last_seen_at, \
     last_sync_at FROM hosts WHERE kind = 'docker' AND id = $1";

/// The container label that names the team a container belongs to (trends per team).
pub const TEAM_LABEL: &str = "team";

/// The team a container's labels name: trimmed; none when empty or over 200 characters
/// (what [`crate::store::Scope::team`] accepts).
pub fn team_of(labels: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    labels
        .get(TEAM_LABEL)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

const UPSERT_CONTAINER_HEAD: &str = "INSERT INTO containers \
     (host_id, external_id, name, image_ref, image_id, state, created, started_at, restart_count, \
      privileged, user_name, read_only_rootfs, config, first_seen_at, last_seen_at, gone_at, seen_pass, team) ";

const UPSERT_CONTAINER_TAIL: &str = " ON CONFLICT (host_id, external_id) DO UPDATE SET name = excluded.name, \
       image_ref = excluded.image_ref, image_id = excluded.image_id, state = excluded.state, \
       created = excluded.created, started_at = excluded.started_at, restart_count = excluded.restart_count, \
       privileged = excluded.privileged, user_name = excluded.user_name, \
       read_only_rootfs = excluded.read_only_rootfs, config = excluded.config, \
       last_seen_at = excluded.last_seen_at, gone_at = NULL, seen_pass = excluded.seen_pass, team = excluded.team \
     RETURNING id, external_id";

/// `repo:tag` → (registry, repository, tag); none without a tag.
pub(crate) fn split_tag(reference: &str) -> Option<(String, String, String)> {
    let (repo, tag) = reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))?;
    Some((
        crate::docker::checks::registry_of(repo),
        repo.to_string(),
        tag.to_string(),
    ))
}

/// The stored findings a Docker pass owns on the subjects `conditions` select (with
/// `args`): the configuration pass owns every catalogue check but the runtime ones, the
/// runtime pass only those.
fn docker_scope(subjects: Vec<(&str, Vec<Arg>)>, runtime: bool) -> Scope {
    let checks = if runtime {
        concat!("cf.check_id IN ", runtime_checks!())
    } else {
        concat!("cf.check_id NOT IN ", runtime_checks!())
    };
    Scope {
        parts: subjects
            .into_iter()
            .map(|(s, args)| {
                (
                    format!("{s} AND {checks} AND {}", docker_owned!("cf.")),
                    args,
                )
            })
            .collect(),
    }
}

/// Every stored finding of the subjects `condition` selects (`$1`), whoever found it:
/// for subjects that are gone.
fn all_of(condition: &str, id: i64) -> Scope {
    Scope {
        parts: vec![(
            format!("{condition} AND cf.state <> 'resolved'"),
            vec![Arg::Int(id)],
        )],
    }
}

/// What the Docker checks found, as the lifecycle compares it.
fn found_on(kind: SubjectKind, subject_id: i64, found: &[Detected]) -> Vec<(Key, Content)> {
    found
        .iter()
        .map(|d| {
            (
                Key {
                    check_id: d.check.id.to_string(),
                    subject_kind: kind,
                    subject_id,
                    instance: d.instance.clone(),
                },
                Content {
                    severity: d.severity.as_str().to_string(),
                    cis_section: d.check.cis.map(str::to_string),
                    evidence: d.evidence.clone(),
                    title: None,
                    remediation: None,
                },
            )
        })
        .collect()
}

/// Containers per upsert statement.
const CONTAINER_BATCH: usize = 100;

const UPSERT_TAG: &str =
    "INSERT INTO image_tags (image_id, registry, repository, tag, first_seen_at, last_seen_at) \
     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (image_id, registry, repository, tag) \
     DO UPDATE SET last_seen_at = excluded.last_seen_at";

const INSERT_DIGEST: &str =
    "INSERT INTO image_digests (digest, image_id, repository) VALUES ($1, $2, $3) \
     ON CONFLICT (digest, image_id, repository) DO NOTHING";

/// Inventory writes, inside a pass's or an action's [`Write`].
impl Write {
    /// Records an image an engine holds, its names, and that this host has it.
    async fn upsert_image(
        &mut self,
        host_id: i64,
        image: &ImageFacts,
        now: i64,
        pass: i64,
    ) -> StoreResult<i64> {
        let config = serde_json::to_string(image).unwrap_or_default();
        let id: i64 = with_tx!(&mut self.tx, |t| sqlx::query_scalar(UPSERT_IMAGE)
            .bind(&image.id)
            .bind(image.size)
            .bind(image.created)
            .bind(&image.os)
            .bind(&image.arch)
            .bind(&image.user)
            .bind(&config)
            .bind(now)
            .fetch_one(&mut **t)
            .await)?;
        for tag in &image.repo_tags {
            if let Some((registry, repository, tag)) = split_tag(tag) {
                self.tag_image(id, &registry, &repository, &tag, now)
                    .await?;
            }
        }
        for reference in &image.repo_digests {
            if let Some((repository, digest)) = reference.split_once('@') {
                self.name_image(id, digest, repository).await?;
                self.fold_placeholder(id, digest).await?;
            }
        }
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "INSERT INTO host_images (host_id, image_id, first_seen_at, last_seen_at, gone_at, seen_pass) \
             VALUES ($1, $2, $3, $3, NULL, $4) ON CONFLICT (host_id, image_id) \
             DO UPDATE SET last_seen_at = excluded.last_seen_at, gone_at = NULL, seen_pass = excluded.seen_pass",
        )
        .bind(host_id)
        .bind(id)
        .bind(now)
        .bind(pass)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(id)
    }

    /// Remembers `repository:tag` as a name of an image.
    pub(crate) async fn tag_image(
        &mut self,
        image_id: i64,
        registry: &str,
        repository: &str,
        tag: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| sqlx::query(UPSERT_TAG)
            .bind(image_id)
            .bind(registry)
            .bind(repository)
            .bind(tag)
            .bind(now)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Remembers a manifest digest (`repository@digest`) of an image.
    pub(crate) async fn name_image(
        &mut self,
        image_id: i64,
        digest: &str,
        repository: &str,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| sqlx::query(INSERT_DIGEST)
            .bind(digest)
            .bind(image_id)
            .bind(repository)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// A scan that arrived before the image did created a row keyed by this manifest
    /// digest: everything recorded on it moves to the image.
    pub(crate) async fn fold_placeholder(&mut self, id: i64, digest: &str) -> StoreResult<()> {
        let placeholder: Option<i64> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "SELECT id FROM images WHERE digest = $1 AND id <> $2"
        )
        .bind(digest)
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        if let Some(old) = placeholder {
            for sql in MERGE_IMAGE {
                with_tx!(&mut self.tx, |t| sqlx::query(sql)
                    .bind(id)
                    .bind(old)
                    .execute(&mut **t)
                    .await
                    .map(|_| ()))?;
            }
            self.findings_changed([id]);
        }
        Ok(())
    }

    /// Upserts containers in batches; returns each one's row id by engine id.
    async fn upsert_containers(
        &mut self,
        host_id: i64,
        containers: &[ContainerFacts],
        now: i64,
        pass: i64,
    ) -> StoreResult<std::collections::HashMap<String, i64>> {
        let mut ids = std::collections::HashMap::new();
        for chunk in containers.chunks(CONTAINER_BATCH) {
            let rows: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(UPSERT_CONTAINER_HEAD);
                q.push_values(chunk, |mut row, c| {
                    row.push_bind(host_id)
                        .push_bind(&c.id)
                        .push_bind(&c.name)
                        .push_bind(&c.image_ref)
                        .push("(SELECT id FROM images WHERE digest = ")
                        .push_bind_unseparated(&c.image_id)
                        .push_unseparated(")")
                        .push_bind(&c.state)
                        .push_bind(c.created)
                        .push_bind(c.started_at)
                        .push_bind(c.restart_count)
                        .push_bind(c.privileged)
                        .push_bind(&c.user)
                        .push_bind(c.read_only_rootfs)
                        .push_bind(serde_json::to_string(c).unwrap_or_default())
                        .push_bind(now)
                        .push_bind(now)
                        .push("NULL")
                        .push_bind(pass)
                        .push_bind(team_of(&c.labels));
                });
                q.push(UPSERT_CONTAINER_TAIL);
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            for (id, external) in rows {
                ids.insert(external, id);
            }
        }
        Ok(ids)
    }

    async fn update_host(&mut self, host_id: i64, facts: &HostFacts, now: i64) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE hosts SET status = 'ok', last_error = NULL, last_seen_at = $2, last_sync_at = $2, \
             engine_version = $3, api_version = $4, os = $5, kernel = $6, arch = $7, facts = $8, updated_at = $2 \
             WHERE id = $1",
        )
        .bind(host_id)
        .bind(now)
        .bind(&facts.engine_version)
        .bind(&facts.api_version)
        .bind(&facts.os)
        .bind(&facts.kernel)
        .bind(&facts.arch)
        .bind(serde_json::to_string(facts).unwrap_or_default())
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Marks gone what this host's pass did not see (`table`: host_images or containers).
    async fn gone_unless_seen(
        &mut self,
        table: &str,
        host_id: i64,
        now: i64,
        pass: i64,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE {table} SET gone_at = $2 WHERE host_id = $1 AND gone_at IS NULL AND seen_pass <> $3"
        );
        with_tx!(&mut self.tx, |t| sqlx::query(&sql)
            .bind(host_id)
            .bind(now)
            .bind(pass)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        Ok(())
    }
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
        let record = crate::store::AuditRecord {
            detail: Some(serde_json::json!({ "name": name, "endpoint": config.endpoint })),
            ..crate::store::AuditRecord::system("engine.add", format!("host:{}", row.id))
        };
        w.commit_with(&record, now).await?;
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

    /// Applies a full snapshot of one engine, with the findings evaluated for it: one
    /// pass, one commit.
    pub async fn apply_docker_snapshot(
        &self,
        host_id: i64,
        snapshot: &Snapshot,
        findings: &[SubjectFindings<'_>],
        now: i64,
    ) -> StoreResult<()> {
        let mut w = self.begin_pass().await?;
        w.apply_docker_snapshot(host_id, snapshot, findings, now)
            .await?;
        w.commit().await
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
        let mut w = self.begin_pass().await?;
        let ids = w
            .upsert_containers(host_id, std::slice::from_ref(container), now, pass)
            .await?;
        let id = ids[&container.id];
        w.reconcile_subject(SubjectKind::Container, id, found, now)
            .await?;
        w.commit().await?;
        Ok(id)
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
        let mut w = self.begin_pass().await?;
        let id = w.upsert_image(host_id, image, now, pass).await?;
        w.reconcile_subject(SubjectKind::Image, id, found, now)
            .await?;
        w.commit().await?;
        Ok(id)
    }

    /// A container was removed from its engine: mark it gone and resolve its findings.
    pub async fn mark_docker_container_gone(
        &self,
        host_id: i64,
        external_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut w = self.begin_pass().await?;
        let id: Option<i64> = with_tx!(&mut w.tx, |t| {
            sqlx::query_scalar(
            "UPDATE containers SET gone_at = $3 WHERE host_id = $1 AND external_id = $2 AND gone_at IS NULL RETURNING id",
        )
        .bind(host_id)
        .bind(external_id)
        .bind(now)
        .fetch_optional(&mut **t)
        .await
        })?;
        if let Some(id) = id {
            let scope = all_of("cf.subject_kind = 'container' AND cf.subject_id = $1", id);
            w.reconcile_config_findings(&scope, Vec::new(), Extent::Complete, now)
                .await?;
            w.risk_changed();
        }
        w.commit().await
    }

    /// An image was deleted from an engine.
    pub async fn mark_docker_image_gone(
        &self,
        host_id: i64,
        digest: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut w = self.begin_pass().await?;
        with_tx!(&mut w.tx, |t| sqlx::query(
            "UPDATE host_images SET gone_at = $3 WHERE host_id = $1 AND gone_at IS NULL \
             AND image_id = (SELECT id FROM images WHERE digest = $2)"
        )
        .bind(host_id)
        .bind(digest)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        w.risk_changed();
        w.commit().await
    }

    /// Stores what the runtime pass found on one running container (drift, sshd): its
    /// earlier runtime findings not found again are resolved.
    pub async fn apply_docker_drift(
        &self,
        host_id: i64,
        external_id: &str,
        found: &[Detected],
        now: i64,
    ) -> StoreResult<()> {
        let mut w = self.begin_pass().await?;
        let id: Option<i64> = with_tx!(&mut w.tx, |t| {
            sqlx::query_scalar(
            "SELECT id FROM containers WHERE host_id = $1 AND external_id = $2 AND gone_at IS NULL",
        )
        .bind(host_id)
        .bind(external_id)
        .fetch_optional(&mut **t)
        .await
        })?;
        if let Some(id) = id {
            let scope = docker_scope(
                vec![(
                    "cf.subject_kind = 'container' AND cf.subject_id = $1",
                    vec![Arg::Int(id)],
                )],
                true,
            );
            w.reconcile_config_findings(
                &scope,
                found_on(SubjectKind::Container, id, found),
                Extent::Complete,
                now,
            )
            .await?;
        }
        w.commit().await
    }
}

impl Write {
    /// The configuration pass's findings on one subject, evaluated again whole (an event).
    async fn reconcile_subject(
        &mut self,
        kind: SubjectKind,
        id: i64,
        found: &[Detected],
        now: i64,
    ) -> StoreResult<()> {
        let subject = format!(
            "cf.subject_kind = '{}' AND cf.subject_id = $1",
            kind.as_str()
        );
        let scope = docker_scope(vec![(subject.as_str(), vec![Arg::Int(id)])], false);
        self.reconcile_config_findings(&scope, found_on(kind, id, found), Extent::Complete, now)
            .await?;
        self.risk_changed();
        Ok(())
    }

    /// A full snapshot of one engine and the findings evaluated for it.
    pub async fn apply_docker_snapshot(
        &mut self,
        host_id: i64,
        snapshot: &Snapshot,
        findings: &[SubjectFindings<'_>],
        now: i64,
    ) -> StoreResult<()> {
        let pass = crate::pass_id();
        self.update_host(host_id, &snapshot.host, now).await?;
        let mut image_ids: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for image in &snapshot.images {
            let id = self.upsert_image(host_id, image, now, pass).await?;
            image_ids.insert(image.id.as_str(), id);
        }
        self.gone_unless_seen("host_images", host_id, now, pass)
            .await?;
        let container_ids = self
            .upsert_containers(host_id, &snapshot.containers, now, pass)
            .await?;
        self.gone_unless_seen("containers", host_id, now, pass)
            .await?;
        // Containers that are gone: every finding on them is resolved.
        let gone = all_of(
            "cf.subject_kind = 'container' AND cf.subject_id IN \
             (SELECT id FROM containers WHERE host_id = $1 AND gone_at IS NOT NULL)",
            host_id,
        );
        self.reconcile_config_findings(&gone, Vec::new(), Extent::Complete, now)
            .await?;
        let mut found = Vec::new();
        for subject in findings {
            let subject_id = match subject.kind {
                SubjectKind::Host => Some(host_id),
                SubjectKind::Image => image_ids.get(subject.key).copied(),
                SubjectKind::Container => container_ids.get(subject.key).copied(),
                _ => None,
            };
            if let Some(id) = subject_id {
                found.extend(found_on(subject.kind, id, &subject.found));
            }
        }
        let both = || vec![Arg::Int(host_id), Arg::Int(pass)];
        let seen = docker_scope(
            vec![
                (
                    "cf.subject_kind = 'host' AND cf.subject_id = $1",
                    vec![Arg::Int(host_id)],
                ),
                (
                    "cf.subject_kind = 'image' AND cf.subject_id IN \
                     (SELECT image_id FROM host_images WHERE host_id = $1 AND seen_pass = $2)",
                    both(),
                ),
                (
                    "cf.subject_kind = 'container' AND cf.subject_id IN \
                     (SELECT id FROM containers WHERE host_id = $1 AND seen_pass = $2)",
                    both(),
                ),
            ],
            false,
        );
        self.reconcile_config_findings(&seen, found, Extent::Complete, now)
            .await?;
        self.risk_changed();
        Ok(())
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
        assert!(crate::store::Scope::team(kept).is_ok());
    }
}

/// Engines an admin adds or removes, within an action's [`crate::store::Write`].
impl crate::store::Write {
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
