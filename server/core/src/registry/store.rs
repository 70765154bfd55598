//! Registries in the database: their rows, and what a sync found written into the image
//! inventory (one image per config digest, named by its manifest digests and tags) and
//! into each tag's digest history.

use super::discover::{Found, FoundImage, Known};
use crate::scans::coverage::running_image_ids_sql;
use crate::store::query::{push_list, IDS_PER_LIST};
use crate::store::{Scope, Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::registries::{RegistrySummary, RegistryTag};
use coastguard_model::signatures::SignatureStatus;
use std::collections::{BTreeMap, HashMap};

/// The purpose registry credentials are sealed for.
pub const CREDENTIALS: &str = "registry-credentials";

/// A registry's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistryRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub config: Option<String>,
    pub credentials: Option<String>,
    pub status: String,
    pub last_error: Option<String>,
    pub last_sync_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
}

/// A registry's connection settings (its `config` column).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryConfig {
    pub host: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<String>,
}

impl RegistryRow {
    pub fn settings(&self) -> RegistryConfig {
        self.config
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }

    /// Its summary, without the counts.
    pub fn summary(&self) -> RegistrySummary {
        let config = self.settings();
        RegistrySummary {
            id: self.id,
            name: self.name.clone(),
            url: self.url.clone(),
            host: config.host,
            insecure: config.insecure,
            authenticated: self.credentials.is_some(),
            custom_ca: config.ca_pem.is_some(),
            repositories: config.repositories,
            status: self.status.clone(),
            last_error: self.last_error.clone(),
            last_sync_at: self.last_sync_at,
            last_attempt_at: self.last_attempt_at,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            ..RegistrySummary::default()
        }
    }
}

const COLUMNS: &str = "id, name, url, config, credentials, status, last_error, last_sync_at, \
                       last_attempt_at, created_by, created_at";

#[derive(sqlx::FromRow)]
struct Counts {
    registry_id: i64,
    repositories: i64,
    tags: i64,
    images: i64,
    scanned: i64,
    verified: i64,
    running: i64,
    moved: i64,
}

#[derive(sqlx::FromRow)]
struct TagRow {
    repository: String,
    tag: String,
    digest: String,
    first_seen_at: i64,
    last_seen_at: i64,
    image_id: Option<i64>,
    last_scan_at: Option<i64>,
    signature: Option<String>,
    running: bool,
}

impl Store {
    pub async fn registry_rows(&self) -> StoreResult<Vec<RegistryRow>> {
        let sql = format!("SELECT {COLUMNS} FROM registries ORDER BY name");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn registry_row(&self, id: i64) -> StoreResult<RegistryRow> {
        let sql = format!("SELECT {COLUMNS} FROM registries WHERE id = $1");
        let row: Option<RegistryRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The registries (every one, or `only` the one with this id) with what their tags
    /// name now; `scanned_after` is the oldest scan that still counts.
    pub async fn registry_summaries(
        &self,
        scanned_after: i64,
        only: Option<i64>,
    ) -> StoreResult<Vec<RegistrySummary>> {
        let rows = match only {
            Some(id) => vec![self.registry_row(id).await?],
            None => self.registry_rows().await?,
        };
        let sql = format!(
            "WITH cur AS (SELECT registry_id, repository, tag, digest FROM registry_tags WHERE is_current = TRUE), \
             imgs AS (SELECT DISTINCT cur.registry_id, d.image_id FROM cur JOIN image_digests d ON d.digest = cur.digest) \
             SELECT r.id AS registry_id, \
               (SELECT COUNT(DISTINCT repository) FROM cur WHERE cur.registry_id = r.id) AS repositories, \
               (SELECT COUNT(*) FROM cur WHERE cur.registry_id = r.id) AS tags, \
               (SELECT COUNT(*) FROM imgs i WHERE i.registry_id = r.id) AS images, \
               (SELECT COUNT(*) FROM imgs i WHERE i.registry_id = r.id AND EXISTS (SELECT 1 FROM scans s \
                  WHERE s.image_id = i.image_id AND s.kind <> 'vex' AND COALESCE(s.scanned_at, s.received_at) >= $1)) AS scanned, \
               (SELECT COUNT(*) FROM imgs i WHERE i.registry_id = r.id AND EXISTS \
                 (SELECT 1 FROM signature_checks sc WHERE sc.image_id = i.image_id AND sc.status = 'verified')) AS verified, \
               (SELECT COUNT(*) FROM imgs i WHERE i.registry_id = r.id AND i.image_id IN ({})) AS running, \
               (SELECT COUNT(*) FROM (SELECT repository, tag FROM registry_tags t WHERE t.registry_id = r.id \
                  GROUP BY repository, tag HAVING COUNT(*) > 1) m) AS moved \
             FROM registries r{}",
            running_image_ids_sql(&Scope::Global),
            if only.is_some() { " WHERE r.id = $2" } else { "" }
        );
        let counts: Vec<Counts> = with_db!(&self.db, |pool| {
            let q = sqlx::query_as(&sql).bind(scanned_after);
            match only {
                Some(id) => q.bind(id),
                None => q,
            }
            .fetch_all(pool)
            .await
        })?;
        let counts: HashMap<i64, Counts> = counts.into_iter().map(|c| (c.registry_id, c)).collect();
        Ok(rows
            .iter()
            .map(|row| {
                let mut s = row.summary();
                if let Some(c) = counts.get(&row.id) {
                    s.repository_count = c.repositories;
                    s.tag_count = c.tags;
                    s.image_count = c.images;
                    s.scanned_count = c.scanned;
                    s.verified_count = c.verified;
                    s.running_count = c.running;
                    s.moved_tag_count = c.moved;
                }
                s
            })
            .collect())
    }

    /// A registry's current tags by repository and tag, at most `limit`, each with its
    /// image, scan, signature, whether it runs, and where the tag pointed before.
    pub async fn registry_tags(
        &self,
        registry_id: i64,
        scanned_after: i64,
        limit: i64,
    ) -> StoreResult<Vec<RegistryTag>> {
        let sql = format!(
            "SELECT t.repository, t.tag, t.digest, t.first_seen_at, t.last_seen_at, x.image_id, \
               (SELECT MAX(COALESCE(s.scanned_at, s.received_at)) FROM scans s \
                  WHERE s.image_id = x.image_id AND s.kind <> 'vex') AS last_scan_at, \
               (SELECT sc.status FROM signature_checks sc WHERE sc.image_id = x.image_id \
                  ORDER BY sc.checked_at DESC LIMIT 1) AS signature, \
               CASE WHEN x.image_id IN ({}) THEN TRUE ELSE FALSE END AS running \
             FROM registry_tags t \
             LEFT JOIN (SELECT digest, MIN(image_id) AS image_id FROM image_digests GROUP BY digest) x \
               ON x.digest = t.digest \
             WHERE t.registry_id = $1 AND t.is_current = TRUE \
             ORDER BY t.repository, t.tag LIMIT $2",
            running_image_ids_sql(&Scope::Global)
        );
        let rows: Vec<TagRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(registry_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let history: Vec<(String, String, String)> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT repository, tag, digest FROM registry_tags \
             WHERE registry_id = $1 AND is_current = FALSE ORDER BY last_seen_at DESC"
        )
        .bind(registry_id)
        .fetch_all(pool)
        .await)?;
        let mut before: HashMap<(String, String), Vec<String>> = HashMap::new();
        for (repository, tag, digest) in history {
            before.entry((repository, tag)).or_default().push(digest);
        }
        Ok(rows
            .into_iter()
            .map(|r| RegistryTag {
                previous_digests: before
                    .remove(&(r.repository.clone(), r.tag.clone()))
                    .unwrap_or_default(),
                scanned: r.last_scan_at.is_some_and(|at| at >= scanned_after),
                signature: r.signature.as_deref().map(SignatureStatus::parse),
                repository: r.repository,
                tag: r.tag,
                digest: r.digest,
                image_id: r.image_id,
                first_seen_at: r.first_seen_at,
                last_seen_at: r.last_seen_at,
                last_scan_at: r.last_scan_at,
                running: r.running,
            })
            .collect())
    }

    /// What the store knows of a registry, so a sync asks only for what changed.
    pub async fn registry_known(&self, registry_id: i64) -> StoreResult<Known> {
        let tags: Vec<(String, String, String)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT repository, tag, digest FROM registry_tags WHERE registry_id = $1 AND is_current = TRUE"
        )
        .bind(registry_id)
        .fetch_all(pool)
        .await
        })?;
        let digests: Vec<String> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "SELECT DISTINCT d.digest FROM registry_tags t JOIN image_digests d ON d.digest = t.digest \
             WHERE t.registry_id = $1"
        )
        .bind(registry_id)
        .fetch_all(pool)
        .await
        })?;
        Ok(Known {
            tags: tags
                .into_iter()
                .map(|(repo, tag, digest)| ((repo, tag), digest))
                .collect(),
            digests: digests.into_iter().collect(),
        })
    }
}

const UPSERT_REGISTRY_IMAGE: &str = "INSERT INTO images \
     (digest, size_bytes, created, os, arch, user_name, config, first_seen_at, last_seen_at, inventory_seen_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) \
     ON CONFLICT (digest) DO UPDATE SET \
       size_bytes = COALESCE(images.size_bytes, excluded.size_bytes), \
       created = COALESCE(images.created, excluded.created), \
       os = COALESCE(images.os, excluded.os), arch = COALESCE(images.arch, excluded.arch), \
       user_name = COALESCE(images.user_name, excluded.user_name), \
       config = COALESCE(images.config, excluded.config), \
       last_seen_at = excluded.last_seen_at, inventory_seen_at = excluded.inventory_seen_at \
     RETURNING id";

impl Write {
    pub(crate) async fn add_registry(
        &mut self,
        name: &str,
        url: &str,
        config: &RegistryConfig,
        credentials: Option<&str>,
        by: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let config = serde_json::to_string(config).expect("registry config serializes");
        with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO registries (name, url, config, credentials, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(name)
        .bind(url)
        .bind(&config)
        .bind(credentials)
        .bind(by)
        .bind(now)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, format!("a registry named '{name}' exists already")))
    }

    pub(crate) async fn remove_registry(&mut self, id: i64) -> StoreResult<String> {
        let name: Option<String> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "DELETE FROM registries WHERE id = $1 RETURNING name"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        name.ok_or(StoreError::NotFound)
    }

    /// A sync that could not ask the registry: its status says why, and what it found
    /// before stays.
    pub(crate) async fn registry_failed(
        &mut self,
        id: i64,
        status: &str,
        error: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE registries SET status = $2, last_error = $3, last_attempt_at = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Writes what a sync of `registry` (`host`) found: its new images into the
    /// inventory, every tag's digest (a new one moves the tag, its old digest kept as
    /// history), tags of the repositories listed that are gone no longer current, and the
    /// registry's status.
    pub(crate) async fn apply_registry_sync(
        &mut self,
        registry: i64,
        host: &str,
        found: &Found,
        known: &Known,
        now: i64,
    ) -> StoreResult<()> {
        for image in &found.images {
            self.registry_image(host, image, now).await?;
        }
        let mut changed = !found.images.is_empty();
        // Tags that name what they named at the last sync, by repository: only seen again.
        let mut unchanged: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in &found.tags {
            let key = (t.repository.clone(), t.tag.clone());
            if known.tags.get(&key) == Some(&t.digest) {
                unchanged.entry(&t.repository).or_default().push(&t.tag);
                continue;
            }
            changed = true;
            let name = format!("{host}/{}", t.repository);
            with_tx!(&mut self.tx, |tx| {
                sqlx::query(
                    "UPDATE registry_tags SET is_current = FALSE \
                     WHERE registry_id = $1 AND repository = $2 AND tag = $3 AND digest <> $4 AND is_current = TRUE",
                )
                .bind(registry)
                .bind(&t.repository)
                .bind(&t.tag)
                .bind(&t.digest)
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "INSERT INTO registry_tags (registry_id, repository, tag, digest, first_seen_at, last_seen_at, is_current) \
                     VALUES ($1, $2, $3, $4, $5, $5, TRUE) \
                     ON CONFLICT (registry_id, repository, tag, digest) \
                     DO UPDATE SET last_seen_at = excluded.last_seen_at, is_current = TRUE",
                )
                .bind(registry)
                .bind(&t.repository)
                .bind(&t.tag)
                .bind(&t.digest)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map(|_| ())
            })?;
            // The images this digest names carry the tag.
            let images: Vec<i64> = with_tx!(&mut self.tx, |tx| sqlx::query_scalar(
                "SELECT DISTINCT image_id FROM image_digests WHERE digest = $1"
            )
            .bind(&t.digest)
            .fetch_all(&mut **tx)
            .await)?;
            for id in &images {
                self.tag_image(*id, host, &name, &t.tag, now).await?;
                self.name_image(*id, &t.digest, &name).await?;
            }
        }
        for (repository, tags) in &unchanged {
            for chunk in tags.chunks(IDS_PER_LIST) {
                with_tx!(&mut self.tx, |tx| {
                    let mut q = sqlx::QueryBuilder::new("UPDATE registry_tags SET last_seen_at = ");
                    q.push_bind(now)
                        .push(" WHERE registry_id = ")
                        .push_bind(registry)
                        .push(" AND repository = ")
                        .push_bind(*repository)
                        .push(" AND is_current = TRUE AND tag IN ");
                    push_list(&mut q, chunk.iter().copied());
                    q.build().execute(&mut **tx).await.map(|_| ())
                })?;
            }
        }
        // Every image a tag names now is in the inventory, and so is each such name.
        let images: Vec<i64> = with_tx!(&mut self.tx, |tx| {
            sqlx::query_scalar(
            "SELECT DISTINCT d.image_id FROM registry_tags t JOIN image_digests d ON d.digest = t.digest \
             WHERE t.registry_id = $1 AND t.is_current = TRUE AND t.last_seen_at = $2"
        )
        .bind(registry)
        .bind(now)
        .fetch_all(&mut **tx)
        .await
        })?;
        let at = [("inventory_seen_at", now), ("last_seen_at", now)];
        self.update_ids("images", "", &at, &images).await?;
        with_tx!(&mut self.tx, |tx| {
            sqlx::query(
            "UPDATE image_tags SET last_seen_at = $1 WHERE registry = $2 AND last_seen_at < $1 \
             AND EXISTS (SELECT 1 FROM registry_tags t JOIN image_digests d ON d.digest = t.digest \
               WHERE t.registry_id = $3 AND t.is_current = TRUE AND t.last_seen_at = $1 \
               AND d.image_id = image_tags.image_id AND image_tags.repository = $2 || '/' || t.repository \
               AND image_tags.tag = t.tag)"
        )
        .bind(now)
        .bind(host)
        .bind(registry)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        })?;
        // Tags of the repositories listed that were not found are gone (a repository
        // that could not be listed keeps its tags as they were).
        for chunk in found.repositories.chunks(IDS_PER_LIST) {
            let gone = with_tx!(&mut self.tx, |tx| {
                let mut q = sqlx::QueryBuilder::new(
                    "UPDATE registry_tags SET is_current = FALSE WHERE registry_id = ",
                );
                q.push_bind(registry)
                    .push(" AND is_current = TRUE AND last_seen_at < ")
                    .push_bind(now)
                    .push(" AND repository IN ");
                push_list(&mut q, chunk.iter().map(String::as_str));
                q.build()
                    .execute(&mut **tx)
                    .await
                    .map(|r| r.rows_affected())
            })?;
            changed |= gone > 0;
        }
        let problems = (!found.problems.is_empty()).then(|| {
            let shown: Vec<&str> = found.problems.iter().take(5).map(String::as_str).collect();
            let more = found.problems.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            format!("{}{tail}", shown.join("; "))
        });
        with_tx!(&mut self.tx, |tx| {
            sqlx::query(
            "UPDATE registries SET status = 'ok', last_error = $2, last_sync_at = $3, last_attempt_at = $3 WHERE id = $1"
        )
        .bind(registry)
        .bind(problems)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        })?;
        // Nothing new, moved or gone: nothing for risk to weigh again.
        if changed {
            self.risk_changed();
        }
        Ok(())
    }

    /// One image found in a registry: stored by its config digest (an engine's richer
    /// facts are kept), named by its manifest digest and its index's, and whatever a scan
    /// or a pod recorded under those digests before folded into it.
    async fn registry_image(
        &mut self,
        host: &str,
        image: &FoundImage,
        now: i64,
    ) -> StoreResult<i64> {
        let f = &image.facts;
        let config = serde_json::to_string(f).unwrap_or_default();
        let id: i64 = with_tx!(&mut self.tx, |t| sqlx::query_scalar(UPSERT_REGISTRY_IMAGE)
            .bind(&f.id)
            .bind(f.size)
            .bind(f.created)
            .bind(&f.os)
            .bind(&f.arch)
            .bind(&f.user)
            .bind(&config)
            .bind(now)
            .fetch_one(&mut **t)
            .await)?;
        let name = format!("{host}/{}", image.repository);
        for digest in std::iter::once(&image.manifest_digest).chain(&image.index_digest) {
            self.name_image(id, digest, &name).await?;
            self.fold_placeholder(id, digest).await?;
        }
        Ok(id)
    }
}
