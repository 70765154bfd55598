//! Vulnerability findings: ingesting normalised reports (deduplicated, with lifecycle),
//! suppressions, and the read models (keyset-paged lists, details, scan history).

use super::audit::{audit_in, AuditRecord};
use super::inventory::{seen_again, LAST_SEEN_GRANULARITY};
use super::query::{bind_all, Arg, Filter};
use super::{Store, StoreError, StoreResult};
use crate::scans::{Report, VulnRecord};
use crate::{with_db, with_tx};
use coastguard_model::vulns::{ImageBrief, IngestSummary};
use coastguard_model::Severity;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Who sent a report, and how.
#[derive(Debug, Clone)]
pub struct ScanSource {
    /// `api`, `ui` or `cli`.
    pub channel: &'static str,
    pub uploaded_by: String,
    /// SHA-256 of the bytes received.
    pub report_sha256: String,
}

/// The audit record of one stored report or document: who (from `actor`), which scan, and
/// what it changed. Never the report's content.
pub fn ingest_record(actor: &AuditRecord, s: &IngestSummary, channel: &str) -> AuditRecord {
    AuditRecord {
        action: "scan.ingest",
        target: s.scan_id.map(|id| format!("scan:{id}")),
        detail: Some(serde_json::json!({
            "format": s.format, "scanner": s.scanner, "channel": channel, "entries": s.entries,
            "created": s.created, "fixed": s.fixed, "suppressions": s.suppressions,
            "image": s.image.as_ref().map(|i| i.digest.clone()),
        })),
        ..actor.clone()
    }
}

/// The image a report is tied to: given with the request, or named by the report.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A digest (`sha256:…`, `repo@sha256:…`) or a `repository:tag` the inventory knows.
    pub reference: Option<String>,
}

/// One finding of a report after deduplication (image + package + vulnerability).
struct Entry<'a> {
    record: &'a VulnRecord,
    /// Every id the report gives this vulnerability, canonical first.
    ids: Vec<String>,
}

/// Entries whose ids overlap name one vulnerability, even when each names only part of
/// it (a GHSA alone, and a CVE naming that GHSA): every entry gets all the ids of its
/// group, the group's canonical id (a CVE when there is one) first.
fn join_synonyms(entries: &mut HashMap<(String, String, String), Entry<'_>>) {
    fn root(parent: &mut HashMap<String, String>, id: &str) -> String {
        let mut r = id.to_string();
        while let Some(p) = parent.get(&r).filter(|p| **p != r) {
            r = p.clone();
        }
        parent.insert(id.to_string(), r.clone());
        r
    }
    let mut parent: HashMap<String, String> = HashMap::new();
    for e in entries.values() {
        let first = root(&mut parent, &e.ids[0]);
        for id in &e.ids[1..] {
            let other = root(&mut parent, id);
            if other != first {
                parent.insert(other, first.clone());
            }
        }
    }
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    let ids: Vec<String> = parent.keys().cloned().collect();
    for id in ids {
        let r = root(&mut parent, &id);
        groups.entry(r).or_default().push(id);
    }
    for ids in groups.values_mut() {
        ids.sort();
        if let Some(cve) = ids.iter().position(|i| i.starts_with("CVE-")) {
            let canonical = ids.remove(cve);
            ids.insert(0, canonical);
        }
    }
    for e in entries.values_mut() {
        let r = root(&mut parent, &e.ids[0]);
        if let Some(ids) = groups.get(&r) {
            e.ids = ids.clone();
        }
    }
}

#[derive(sqlx::FromRow)]
struct StoredFinding {
    id: i64,
    pkg_type: String,
    pkg_name: String,
    vulnerability_id: i64,
    state: String,
    installed_version: String,
    fixed_version: Option<String>,
    severity: String,
    scanner_severity: Option<String>,
    layer_digest: Option<String>,
    last_seen_at: i64,
}

/// Ids per `IN (...)` list: few round trips, well under both backends' limits (SQLite
/// 32766, Postgres 65535). Multi-row INSERTs follow [`crate::db::Db::batch_params`].
pub(crate) const BATCH: usize = 500;

pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Recounts `image_vuln_counts` (migration 0006) for images `$1..$n` from their findings.
pub(crate) fn recount_sql(images: usize) -> [String; 2] {
    let ids = placeholders(1, images);
    [
        format!("DELETE FROM image_vuln_counts WHERE image_id IN ({ids})"),
        format!(
            "INSERT INTO image_vuln_counts (image_id, severity_rank, open, fixable, suppressed) \
             SELECT image_id, severity_rank, SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), \
               SUM(CASE WHEN state = 'open' AND fixed_version IS NOT NULL THEN 1 ELSE 0 END), \
               SUM(CASE WHEN state = 'suppressed' THEN 1 ELSE 0 END) \
             FROM findings WHERE image_id IN ({ids}) AND state IN ('open', 'suppressed') \
             GROUP BY image_id, severity_rank"
        ),
    ]
}

/// Whether a transaction runs on Postgres, where concurrent writers need row locks that
/// SQLite (one writer at a time) neither needs nor has.
pub(crate) fn is_postgres<DB: sqlx::Database>(_: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME == "PostgreSQL"
}

/// Brings the vulnerability counts of the given images up to date inside transaction
/// `$tx`: every writer that changes a finding's state, image or existence calls this
/// before it commits, so the counts are never out of step with the findings. On
/// Postgres the images' rows are locked first (in id order): two writers recounting one
/// image then take turns, and the second counts what the first committed instead of
/// failing on the rows the first inserted.
macro_rules! recount_images {
    ($tx:expr, $ids:expr) => {{
        let mut ids: Vec<i64> = $ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let lock = $crate::store::vulns::is_postgres(&$tx);
        for chunk in ids.chunks($crate::store::vulns::BATCH) {
            if lock {
                let sql = format!(
                    "SELECT id FROM images WHERE id IN ({}) ORDER BY id FOR UPDATE",
                    $crate::store::vulns::placeholders(1, chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *$tx).await?;
            }
            for sql in $crate::store::vulns::recount_sql(chunk.len()) {
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *$tx).await?;
            }
        }
    }};
}
pub(crate) use recount_images;

/// How a new image row is keyed when the report names no digest.
fn artifact_key(report: &Report, sha: &str) -> String {
    let name = report
        .artifact_name
        .clone()
        .unwrap_or_else(|| format!("report-{}", &sha[..12.min(sha.len())]));
    format!("artifact:{}:{name}", report.kind.as_str())
}

/// The digest of `repo@sha256:…` (or the text itself).
pub(crate) fn strip_repo(d: &str) -> &str {
    d.rsplit_once('@').map_or(d, |(_, digest)| digest)
}

/// `repository:tag` split at the tag's colon (not a registry port's); no tag is `latest`.
pub(crate) fn repository_and_tag(reference: &str) -> (&str, &str) {
    reference
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .unwrap_or((reference, "latest"))
}

fn display_name(report: &Report, digest: &str) -> String {
    report
        .repo_tags
        .first()
        .cloned()
        .or_else(|| report.artifact_name.clone())
        .unwrap_or_else(|| digest.to_string())
}

impl Store {
    /// Stores a parsed document's reports in one transaction: either all of it is stored,
    /// or nothing is.
    pub async fn ingest_reports(
        &self,
        reports: &[Report],
        target: &Target,
        source: &ScanSource,
        audit: &AuditRecord,
        now: i64,
    ) -> StoreResult<Vec<IngestSummary>> {
        let max_params = self.db.batch_params();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let mut summaries = Vec::with_capacity(reports.len());
            // Images whose findings this document changes (its own, and those a merge of
            // two vulnerabilities touches): their counts are redone before commit.
            let mut touched: BTreeSet<i64> = BTreeSet::new();
            for report in reports {
                // ---------------------------------------------------------- the image
                // An image the sender names wins over what the report says; the report's
                // own names then describe another artifact and are not recorded.
                let explicit = target.reference.is_some();
                let mut digests: Vec<String> = Vec::new();
                match &target.reference {
                    Some(r) if r.contains("sha256:") => digests.push(strip_repo(r).to_string()),
                    Some(_) => {}
                    None => {
                        digests.extend(report.image_id.iter().cloned());
                        digests.extend(
                            report
                                .repo_digests
                                .iter()
                                .map(|d| strip_repo(d).to_string()),
                        );
                    }
                }
                let mut image: Option<(i64, String)> = None;
                if let Some(r) = target
                    .reference
                    .as_deref()
                    .filter(|r| !r.contains("sha256:"))
                {
                    let (repo, tag) = repository_and_tag(r);
                    image = sqlx::query_as(
                        "SELECT i.id, i.digest FROM images i JOIN image_tags t ON t.image_id = i.id \
                         WHERE t.repository = $1 AND t.tag = $2 ORDER BY t.last_seen_at DESC LIMIT 1",
                    )
                    .bind(repo)
                    .bind(tag)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if image.is_none() {
                        return Err(StoreError::Invalid(
                            "image",
                            format!(
                                "no image tagged {r} is known: give its digest (sha256:…) instead"
                            ),
                        ));
                    }
                }
                for d in &digests {
                    if image.is_some() {
                        break;
                    }
                    image = sqlx::query_as(
                        "SELECT id, digest FROM images WHERE digest = $1 \
                         UNION ALL SELECT i.id, i.digest FROM image_digests d JOIN images i ON i.id = d.image_id WHERE d.digest = $1 \
                         LIMIT 1",
                    )
                    .bind(d)
                    .fetch_optional(&mut *tx)
                    .await?;
                }
                let (image_id, digest) = match image {
                    Some(found) => found,
                    None => {
                        let digest = digests
                            .first()
                            .cloned()
                            .unwrap_or_else(|| artifact_key(report, &source.report_sha256));
                        let config = serde_json::json!({
                            "id": digest,
                            "repo_tags": report.repo_tags,
                            "repo_digests": report.repo_digests,
                            "artifact_name": report.artifact_name,
                            "artifact_kind": report.kind.as_str(),
                        });
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO images (digest, config, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3) \
                             ON CONFLICT (digest) DO UPDATE SET last_seen_at = excluded.last_seen_at RETURNING id",
                        )
                        .bind(&digest)
                        .bind(config.to_string())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, digest)
                    }
                };
                // Remember the names the report gives, so the image is found by them later.
                let names = if explicit {
                    &[][..]
                } else {
                    &report.repo_digests[..]
                };
                for d in names {
                    let (repository, dg) = d.rsplit_once('@').unwrap_or(("", d.as_str()));
                    sqlx::query(
                        "INSERT INTO image_digests (digest, image_id, repository) VALUES ($1, $2, $3) \
                         ON CONFLICT (digest, image_id, repository) DO NOTHING",
                    )
                    .bind(dg)
                    .bind(image_id)
                    .bind(repository)
                    .execute(&mut *tx)
                    .await?;
                }
                let tags = if explicit {
                    &[][..]
                } else {
                    &report.repo_tags[..]
                };
                for tag in tags {
                    if let Some((repo, t)) = tag.rsplit_once(':').filter(|(_, t)| !t.contains('/'))
                    {
                        sqlx::query(
                            "INSERT INTO image_tags (image_id, registry, repository, tag, first_seen_at, last_seen_at) \
                             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (image_id, registry, repository, tag) \
                             DO UPDATE SET last_seen_at = excluded.last_seen_at",
                        )
                        .bind(image_id)
                        .bind(crate::docker::checks::registry_of(repo))
                        .bind(repo)
                        .bind(t)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                let brief = ImageBrief {
                    id: image_id,
                    name: match &target.reference {
                        Some(r) if !r.contains("sha256:") => r.clone(),
                        _ => display_name(report, &digest),
                    },
                    digest: digest.clone(),
                };

                // ---------------------------------------------------------- the scan
                let scan_id: i64 = sqlx::query_scalar(
                    "INSERT INTO scans (image_id, artifact_digest, artifact_name, format, scanner, scanner_version, kind, \
                     source, uploaded_by, report_sha256, scanned_at, received_at, entries) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(image_id)
                .bind(report.image_id.clone().or_else(|| report.repo_digests.first().map(|d| strip_repo(d).to_string())))
                .bind(&report.artifact_name)
                .bind(report.format.as_str())
                .bind(&report.scanner)
                .bind(&report.scanner_version)
                .bind(report.kind.as_str())
                .bind(source.channel)
                .bind(&source.uploaded_by)
                .bind(&source.report_sha256)
                .bind(report.scanned_at)
                .bind(now)
                .bind(report.entries as i64)
                .fetch_one(&mut *tx)
                .await?;

                // ---------------------------------------------------------- dedupe the report
                let mut entries: HashMap<(String, String, String), Entry> = HashMap::new();
                for v in &report.vulns {
                    let canonical = v.canonical_id().to_string();
                    let key = (
                        v.package.kind.clone(),
                        v.package.name.clone(),
                        canonical.clone(),
                    );
                    let entry = entries.entry(key).or_insert_with(|| Entry {
                        record: v,
                        ids: vec![canonical.clone()],
                    });
                    for id in std::iter::once(&v.id).chain(&v.aliases) {
                        if !entry.ids.contains(id) {
                            entry.ids.push(id.clone());
                        }
                    }
                    if v.severity > entry.record.severity
                        || (entry.record.fixed_version.is_none() && v.fixed_version.is_some())
                    {
                        entry.record = v;
                    }
                }

                join_synonyms(&mut entries);

                // ---------------------------------------------------------- vulnerabilities
                let all_ids: Vec<String> = entries
                    .values()
                    .flat_map(|e| e.ids.iter().cloned())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let mut alias_to_vuln: HashMap<String, i64> = HashMap::new();
                for chunk in all_ids.chunks(BATCH) {
                    let sql = format!(
                        "SELECT alias, vulnerability_id FROM vulnerability_aliases WHERE alias IN ({})",
                        placeholders(1, chunk.len())
                    );
                    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    alias_to_vuln.extend(q.fetch_all(&mut *tx).await?);
                }
                let stored_aliases: HashSet<String> = alias_to_vuln.keys().cloned().collect();
                // New vulnerabilities, keyed by their canonical id.
                let mut new_vulns: HashMap<String, &VulnRecord> = HashMap::new();
                for e in entries.values() {
                    let known: HashSet<i64> = e
                        .ids
                        .iter()
                        .filter_map(|i| alias_to_vuln.get(i).copied())
                        .collect();
                    if known.is_empty() {
                        new_vulns.entry(e.ids[0].clone()).or_insert(e.record);
                    } else if known.len() > 1 {
                        // Two stored vulnerabilities are one: this report says so.
                        let mut ids: Vec<i64> = known.into_iter().collect();
                        ids.sort();
                        let keep = ids[0];
                        for other in &ids[1..] {
                            let merged: Vec<i64> = sqlx::query_scalar(
                                "DELETE FROM findings WHERE vulnerability_id = $2 AND EXISTS (SELECT 1 FROM findings f \
                                 WHERE f.vulnerability_id = $1 AND f.image_id = findings.image_id \
                                 AND f.pkg_type = findings.pkg_type AND f.pkg_name = findings.pkg_name) \
                                 RETURNING image_id",
                            )
                            .bind(keep)
                            .bind(other)
                            .fetch_all(&mut *tx)
                            .await?;
                            touched.extend(merged);
                            sqlx::query("UPDATE findings SET vulnerability_id = $1 WHERE vulnerability_id = $2")
                                .bind(keep)
                                .bind(other)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query("UPDATE vulnerability_aliases SET vulnerability_id = $1 WHERE vulnerability_id = $2")
                                .bind(keep)
                                .bind(other)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query("DELETE FROM vulnerabilities WHERE id = $1")
                                .bind(other)
                                .execute(&mut *tx)
                                .await?;
                        }
                        for v in alias_to_vuln.values_mut() {
                            if ids.contains(v) {
                                *v = keep;
                            }
                        }
                        // The survivor now answers to the merged one's ids too.
                        crate::store::intel::apply_intel_to!(tx, &[keep]);
                    }
                }
                let new_list: Vec<(&String, &&VulnRecord)> = new_vulns.iter().collect();
                const VULN_COLS: usize = 12;
                for chunk in new_list.chunks(max_params / VULN_COLS) {
                    let rows: Vec<String> = (0..chunk.len())
                        .map(|i| format!("({})", placeholders(i * VULN_COLS + 1, VULN_COLS)))
                        .collect();
                    let sql = format!(
                        "INSERT INTO vulnerabilities (vuln_id, title, description, severity, cvss_score, cvss_vector, epss, \
                         known_exploited, published_at, modified_at, refs, updated_at) VALUES {} \
                         ON CONFLICT (vuln_id) DO UPDATE SET updated_at = excluded.updated_at RETURNING id, vuln_id",
                        rows.join(", ")
                    );
                    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
                    for (id, v) in chunk {
                        q = q
                            .bind(*id)
                            .bind(&v.title)
                            .bind(&v.description)
                            .bind(v.severity.as_str())
                            .bind(v.cvss_score)
                            .bind(&v.cvss_vector)
                            .bind(v.epss)
                            .bind(v.known_exploited)
                            .bind(v.published)
                            .bind(v.modified)
                            .bind(serde_json::to_string(&v.references).unwrap_or_default())
                            .bind(now);
                    }
                    for (id, vuln_id) in q.fetch_all(&mut *tx).await? {
                        alias_to_vuln.insert(vuln_id, id);
                    }
                }
                // Every id of every entry (the canonical one included) points at its
                // vulnerability.
                let mut new_aliases: Vec<(String, i64)> = Vec::new();
                let mut queued: HashSet<String> = HashSet::new();
                for e in entries.values() {
                    let Some(vid) = e.ids.iter().find_map(|i| alias_to_vuln.get(i).copied()) else {
                        continue;
                    };
                    for id in &e.ids {
                        if !stored_aliases.contains(id) && queued.insert(id.clone()) {
                            alias_to_vuln.insert(id.clone(), vid);
                            new_aliases.push((id.clone(), vid));
                        }
                    }
                }
                for chunk in new_aliases.chunks(max_params / 2) {
                    let rows: Vec<String> = (0..chunk.len())
                        .map(|i| format!("(${}, ${})", i * 2 + 1, i * 2 + 2))
                        .collect();
                    let sql = format!(
                        "INSERT INTO vulnerability_aliases (alias, vulnerability_id) VALUES {} ON CONFLICT (alias) DO NOTHING",
                        rows.join(", ")
                    );
                    let mut q = sqlx::query(&sql);
                    for (alias, vid) in chunk {
                        q = q.bind(alias).bind(*vid);
                    }
                    q.execute(&mut *tx).await?;
                }
                // A vulnerability known by a new id may be one a feed named already.
                let renamed: BTreeSet<i64> = new_aliases.iter().map(|(_, v)| *v).collect();
                let renamed: Vec<i64> = renamed.into_iter().collect();
                crate::store::intel::apply_intel_to!(tx, &renamed);

                // ---------------------------------------------------------- findings
                let stored: Vec<StoredFinding> = sqlx::query_as(
                    "SELECT id, pkg_type, pkg_name, vulnerability_id, state, installed_version, fixed_version, severity, \
                     scanner_severity, layer_digest, last_seen_at FROM findings WHERE image_id = $1",
                )
                .bind(image_id)
                .fetch_all(&mut *tx)
                .await?;
                // Formats that don't say a package's type (SARIF) match by name alone.
                let mut by_name: HashMap<(String, i64), (String, String, i64)> = HashMap::new();
                for f in &stored {
                    by_name.insert(
                        (f.pkg_name.clone(), f.vulnerability_id),
                        (f.pkg_type.clone(), f.pkg_name.clone(), f.vulnerability_id),
                    );
                }
                let mut by_key: HashMap<(String, String, i64), StoredFinding> = stored
                    .into_iter()
                    .map(|f| {
                        (
                            (f.pkg_type.clone(), f.pkg_name.clone(), f.vulnerability_id),
                            f,
                        )
                    })
                    .collect();
                let mut summary = IngestSummary {
                    scan_id: Some(scan_id),
                    format: report.format.as_str().into(),
                    scanner: report.scanner.clone(),
                    kind: report.kind.as_str().into(),
                    entries: report.entries as i64,
                    findings: entries.len() as i64,
                    image: Some(brief),
                    notes: report.notes.clone(),
                    ..IngestSummary::default()
                };
                // Reported by this scan: new findings and stored ones.
                let mut seen_ids: Vec<i64> = Vec::with_capacity(entries.len());
                // Stored, unchanged, and last seen longer ago than the granularity.
                let mut stale_ids: Vec<i64> = Vec::new();
                let mut inserts: Vec<(&VulnRecord, i64)> = Vec::new();
                // Entries under different ids can turn out to be one vulnerability once
                // aliases are resolved (a GHSA alone, and its CVE naming it): one finding.
                let mut handled: HashSet<(String, String, i64)> = HashSet::new();
                for e in entries.values() {
                    let Some(vid) = alias_to_vuln.get(&e.ids[0]).copied() else {
                        continue;
                    };
                    let v = e.record;
                    let mut key = (v.package.kind.clone(), v.package.name.clone(), vid);
                    if v.package.kind == "generic" && !by_key.contains_key(&key) {
                        if let Some(k) = by_name.get(&(v.package.name.clone(), vid)) {
                            key = k.clone();
                        }
                    }
                    if !handled.insert(key.clone()) {
                        continue;
                    }
                    summary.by_severity.add(v.severity, 1);
                    match by_key.remove(&key) {
                        None => inserts.push((v, vid)),
                        Some(old) => {
                            seen_ids.push(old.id);
                            if old.last_seen_at < now - LAST_SEEN_GRANULARITY {
                                stale_ids.push(old.id);
                            }
                            let changed = old.installed_version != v.package.version
                                || old.fixed_version != v.fixed_version
                                || old.severity != v.severity.as_str()
                                || old.scanner_severity != v.scanner_severity
                                || old.layer_digest != v.layer;
                            if old.state == "fixed" {
                                summary.reopened += 1;
                                sqlx::query(
                                    "UPDATE findings SET state = 'open', reopened_at = $2, last_seen_at = $2, reopen_count = reopen_count + 1, \
                                     fixed_at = NULL, installed_version = $3, fixed_version = $4, severity = $5, \
                                     severity_rank = $6, cvss_score = $7, layer_digest = $8, scanner_severity = $9 WHERE id = $1",
                                )
                                .bind(old.id)
                                .bind(now)
                                .bind(&v.package.version)
                                .bind(&v.fixed_version)
                                .bind(v.severity.as_str())
                                .bind(v.severity.rank())
                                .bind(v.cvss_score)
                                .bind(&v.layer)
                                .bind(&v.scanner_severity)
                                .execute(&mut *tx)
                                .await?;
                            } else if changed {
                                summary.updated += 1;
                                sqlx::query(
                                    "UPDATE findings SET installed_version = $2, fixed_version = $3, severity = $4, \
                                     severity_rank = $5, cvss_score = $6, layer_digest = $7, last_seen_at = $8, \
                                     scanner_severity = $9 WHERE id = $1",
                                )
                                .bind(old.id)
                                .bind(&v.package.version)
                                .bind(&v.fixed_version)
                                .bind(v.severity.as_str())
                                .bind(v.severity.rank())
                                .bind(v.cvss_score)
                                .bind(&v.layer)
                                .bind(now)
                                .bind(&v.scanner_severity)
                                .execute(&mut *tx)
                                .await?;
                            } else {
                                summary.unchanged += 1;
                            }
                        }
                    }
                }
                summary.created = inserts.len() as i64;
                summary.findings = handled.len() as i64;
                const COLS: usize = 16;
                for chunk in inserts.chunks(max_params / COLS) {
                    let rows: Vec<String> = (0..chunk.len())
                        .map(|i| format!("({})", placeholders(i * COLS + 1, COLS)))
                        .collect();
                    let sql = format!(
                        "INSERT INTO findings (image_id, vulnerability_id, pkg_name, pkg_type, pkg_purl, installed_version, \
                         fixed_version, layer_digest, severity, severity_rank, cvss_score, first_seen_at, last_seen_at, first_scan_id, \
                         last_scan_id, scanner_severity) VALUES {} RETURNING id",
                        rows.join(", ")
                    );
                    let mut q = sqlx::query_scalar::<_, i64>(&sql);
                    for (v, vid) in chunk {
                        q = q
                            .bind(image_id)
                            .bind(*vid)
                            .bind(&v.package.name)
                            .bind(&v.package.kind)
                            .bind(&v.package.purl)
                            .bind(&v.package.version)
                            .bind(&v.fixed_version)
                            .bind(&v.layer)
                            .bind(v.severity.as_str())
                            .bind(v.severity.rank())
                            .bind(v.cvss_score)
                            .bind(now)
                            .bind(now)
                            .bind(scan_id)
                            .bind(scan_id)
                            .bind(&v.scanner_severity);
                    }
                    seen_ids.extend(q.fetch_all(&mut *tx).await?);
                }
                // Seen now: `last_seen_at` moves at most hourly, like configuration
                // findings' (rewriting every row on every scan costs more than it says).
                for chunk in stale_ids.chunks(BATCH) {
                    let sql = format!(
                        "UPDATE findings SET last_seen_at = $1, last_scan_id = $2 WHERE id IN ({})",
                        placeholders(3, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).bind(now).bind(scan_id);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                }
                // Reported by this scanner: rows for new pairs, and `present` again where
                // it had stopped reporting them. Pairs already present are left alone.
                let known: HashMap<i64, bool> = sqlx::query_as::<_, (i64, bool)>(
                    "SELECT s.finding_id, s.present FROM finding_scanners s JOIN findings f ON f.id = s.finding_id \
                     WHERE f.image_id = $1 AND s.scanner = $2",
                )
                .bind(image_id)
                .bind(&report.scanner)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
                let (mut add, mut back) = (Vec::new(), Vec::new());
                for id in &seen_ids {
                    match known.get(id) {
                        None => add.push(*id),
                        Some(false) => back.push(*id),
                        Some(true) => {}
                    }
                }
                for chunk in add.chunks(max_params.min(BATCH)) {
                    let rows: Vec<String> = (0..chunk.len())
                        .map(|i| format!("(${}, $1, $2, $2, TRUE)", i + 3))
                        .collect();
                    let sql = format!(
                        "INSERT INTO finding_scanners (finding_id, scanner, first_scan_id, last_scan_id, present) VALUES {}",
                        rows.join(", ")
                    );
                    let mut q = sqlx::query(&sql).bind(&report.scanner).bind(scan_id);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                }
                for chunk in back.chunks(BATCH) {
                    let sql = format!(
                        "UPDATE finding_scanners SET present = TRUE, last_scan_id = $2 WHERE scanner = $1 AND finding_id IN ({})",
                        placeholders(3, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).bind(&report.scanner).bind(scan_id);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                }
                // What this scanner reported before and not now is gone from its view;
                // a finding no scanner reports any more is fixed.
                let absent: Vec<i64> = by_key.values().map(|f| f.id).collect();
                for chunk in absent.chunks(BATCH) {
                    let sql = format!(
                        "UPDATE finding_scanners SET present = FALSE WHERE scanner = $1 AND finding_id IN ({})",
                        placeholders(2, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).bind(&report.scanner);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                }
                summary.fixed = sqlx::query(
                    "UPDATE findings SET state = 'fixed', fixed_at = $2 WHERE image_id = $1 AND state <> 'fixed' \
                     AND NOT EXISTS (SELECT 1 FROM finding_scanners s WHERE s.finding_id = findings.id AND s.present = TRUE)",
                )
                .bind(image_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
                touched.insert(image_id);

                // ---------------------------------------------------------- misconfigurations
                summary.config_findings = report.misconfigs.len() as i64;
                let pass = crate::pass_id();
                let mut seen_misconfig = HashSet::new();
                for m in &report.misconfigs {
                    if !seen_misconfig.insert((m.check_id.as_str(), m.location.as_str())) {
                        continue;
                    }
                    sqlx::query(UPSERT_SCANNER_FINDING)
                        .bind(m.check_id.as_str())
                        .bind(image_id)
                        .bind(m.location.as_str())
                        .bind(m.severity.as_str())
                        .bind(if m.message.is_empty() {
                            m.title.as_str()
                        } else {
                            m.message.as_str()
                        })
                        .bind(now)
                        .bind(pass)
                        .bind(m.title.as_str())
                        .bind(m.resolution.as_deref())
                        .execute(&mut *tx)
                        .await?;
                }
                let prefix = format!(
                    "{}%",
                    report.scanner.split('-').next().unwrap_or(&report.scanner)
                );
                sqlx::query(
                    "UPDATE config_findings SET state = 'resolved', resolved_at = $2 WHERE subject_kind = 'image' \
                     AND subject_id = $1 AND check_id LIKE $3 AND state <> 'resolved' AND seen_pass <> $4",
                )
                .bind(image_id)
                .bind(now)
                .bind(&prefix)
                .bind(pass)
                .execute(&mut *tx)
                .await?;

                sqlx::query("UPDATE scans SET summary = $2 WHERE id = $1")
                    .bind(scan_id)
                    .bind(serde_json::to_string(&summary).unwrap_or_default())
                    .execute(&mut *tx)
                    .await?;
                summaries.push(summary);
            }
            recount_images!(tx, touched);
            // The record of each stored report commits with it: no scan without one.
            for s in &summaries {
                audit_in!(tx, &ingest_record(audit, s, source.channel), now)?;
            }
            tx.commit().await?;
            self.mark_risk_stale().await?;
            Ok::<_, StoreError>(summaries)
        })
    }
}

/// One scanner-reported misconfiguration or secret on an image, with the lifecycle of the
/// Docker checks' findings.
/// A scanner's misconfiguration on an image. Seen again, it follows the lifecycle of every
/// configuration finding ([`seen_again`]; this copy once lacked the acceptance that ran out).
const UPSERT_SCANNER_FINDING: &str = concat!(
    "INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, \
     evidence, state, first_seen_at, last_seen_at, seen_pass, title, remediation) \
     VALUES ($1, 'image', $2, $3, $4, $5, 'open', $6, $6, $7, $8, $9) \
     ON CONFLICT (check_id, subject_kind, subject_id, instance) DO UPDATE SET severity = excluded.severity, \
       evidence = excluded.evidence, last_seen_at = excluded.last_seen_at, seen_pass = excluded.seen_pass, \
       title = excluded.title, remediation = excluded.remediation, ",
    seen_again!()
);

/// Active suppressions that match a finding (any alias of its vulnerability, optionally
/// limited to an image and a package).
const MATCHING_SUPPRESSION: &str = "EXISTS (SELECT 1 FROM suppressions s \
     JOIN vulnerability_aliases a ON a.alias = s.vuln_id \
     WHERE a.vulnerability_id = findings.vulnerability_id AND s.revoked_at IS NULL \
       AND (s.expires_at IS NULL OR s.expires_at > $1) \
       AND (s.image_id = findings.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) \
       AND (s.pkg_name IS NULL OR s.pkg_name = findings.pkg_name))";

/// Ties suppressions waiting for an image (a VEX statement naming a digest not seen then)
/// to that image once it is known, by config or manifest digest.
const RESOLVE_PENDING: &str = "UPDATE suppressions SET image_id = \
     (SELECT i.id FROM images i WHERE i.digest = suppressions.image_digest \
      UNION ALL SELECT d.image_id FROM image_digests d WHERE d.digest = suppressions.image_digest LIMIT 1) \
     WHERE image_id IS NULL AND image_digest IS NOT NULL AND revoked_at IS NULL \
       AND (EXISTS (SELECT 1 FROM images i WHERE i.digest = suppressions.image_digest) \
            OR EXISTS (SELECT 1 FROM image_digests d WHERE d.digest = suppressions.image_digest))";

#[derive(Debug, Clone)]
pub struct NewSuppressionRow<'a> {
    pub vuln_id: &'a str,
    pub image_id: Option<i64>,
    pub pkg_name: Option<&'a str>,
    pub kind: &'a str,
    pub justification: &'a str,
    pub source: &'a str,
    pub created_by: &'a str,
    pub expires_at: Option<i64>,
}

impl Store {
    /// Puts findings into `suppressed` or back to `open` as the active suppressions say
    /// (for one image, or everywhere). Returns (suppressed, reopened).
    pub async fn apply_suppressions(
        &self,
        image_id: Option<i64>,
        now: i64,
    ) -> StoreResult<(u64, u64)> {
        let scope = if image_id.is_some() {
            "AND image_id = $2"
        } else {
            "AND ($2 IS NULL OR TRUE)"
        };
        let suppress = format!("UPDATE findings SET state = 'suppressed' WHERE state = 'open' {scope} AND {MATCHING_SUPPRESSION} RETURNING image_id");
        let reopen = format!("UPDATE findings SET state = 'open' WHERE state = 'suppressed' {scope} AND NOT {MATCHING_SUPPRESSION} RETURNING image_id");
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            sqlx::query(RESOLVE_PENDING).execute(&mut *tx).await?;
            let suppressed: Vec<i64> = sqlx::query_scalar(&suppress)
                .bind(now)
                .bind(image_id)
                .fetch_all(&mut *tx)
                .await?;
            let reopened: Vec<i64> = sqlx::query_scalar(&reopen)
                .bind(now)
                .bind(image_id)
                .fetch_all(&mut *tx)
                .await?;
            let (a, b) = (suppressed.len() as u64, reopened.len() as u64);
            let touched: BTreeSet<i64> = suppressed.into_iter().chain(reopened).collect();
            recount_images!(tx, touched);
            tx.commit().await?;
            if a + b > 0 {
                self.mark_risk_stale().await?;
            }
            Ok((a, b))
        })
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
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let mut active = 0;
            for s in statements {
                sqlx::query(
                    "UPDATE suppressions SET revoked_at = $5 WHERE source = 'vex' AND revoked_at IS NULL AND vuln_id = $1 \
                     AND image_id IS NOT DISTINCT FROM $2 AND pkg_name IS NOT DISTINCT FROM $3 \
                     AND image_digest IS NOT DISTINCT FROM $4 AND kind = 'not_affected'",
                )
                .bind(s.vuln_id)
                .bind(s.target.image_id)
                .bind(&s.target.pkg_name)
                .bind(&s.target.image_digest)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if s.suppresses {
                    sqlx::query(
                        "INSERT INTO suppressions (vuln_id, image_id, pkg_name, image_digest, kind, justification, source, created_by, created_at) \
                         VALUES ($1, $2, $3, $4, 'not_affected', $5, 'vex', $6, $7)",
                    )
                    .bind(s.vuln_id)
                    .bind(s.target.image_id)
                    .bind(&s.target.pkg_name)
                    .bind(&s.target.image_digest)
                    .bind(s.justification.unwrap_or("not affected (VEX)"))
                    .bind(by)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    active += 1;
                }
            }
            // Its record (with how many statements suppress) commits with it.
            audit_in!(tx, &record(active), now)?;
            tx.commit().await?;
            Ok::<_, StoreError>(active)
        })
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
        let mut f = Filter::default();
        // Empty values are no values, as HTML forms send them.
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
        let key = match q
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
        };
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

    async fn finding_views(&self, rows: Vec<FindingRow>) -> StoreResult<Vec<VulnFindingView>> {
        let mut scanners: HashMap<i64, Vec<String>> = HashMap::new();
        if !rows.is_empty() {
            let sql = format!(
                "SELECT finding_id, scanner FROM finding_scanners WHERE present = TRUE AND finding_id IN ({}) ORDER BY scanner",
                placeholders(1, rows.len())
            );
            let found: Vec<(i64, String)> = with_db!(&self.db, |pool| {
                let mut q = sqlx::query_as(&sql);
                for r in &rows {
                    q = q.bind(r.id);
                }
                q.fetch_all(pool).await
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
            let sql = format!(
                "SELECT f.id AS finding_id, s.id, s.kind, s.justification, s.source, s.created_by, s.expires_at \
                 FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
                 JOIN suppressions s ON s.vuln_id = a.alias \
                 WHERE f.id IN ({}) AND s.revoked_at IS NULL \
                   AND (s.image_id = f.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) AND (s.pkg_name IS NULL OR s.pkg_name = f.pkg_name) \
                 ORDER BY CASE WHEN s.expires_at IS NULL OR s.expires_at > $1 THEN 0 ELSE 1 END, s.id DESC",
                placeholders(2, suppressed.len())
            );
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
                let mut q = sqlx::query_as(&sql).bind(crate::now());
                for id in &suppressed {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
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
            revoked_at: Option<i64>,
            findings: i64,
        }
        let sql = format!(
            "SELECT s.id, s.vuln_id, s.image_id, i.digest, CASE WHEN i.id IS NULL THEN NULL ELSE {IMAGE_NAME} END AS image_name, \
             s.image_digest, s.pkg_name, s.kind, s.justification, s.source, s.created_by, s.created_at, s.expires_at, s.revoked_at, \
             (SELECT COUNT(*) FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
              WHERE a.alias = s.vuln_id AND f.state = 'suppressed' AND s.revoked_at IS NULL \
                AND (s.expires_at IS NULL OR s.expires_at > $1) \
                AND (f.image_id = s.image_id OR (s.image_id IS NULL AND s.image_digest IS NULL)) AND (s.pkg_name IS NULL OR f.pkg_name = s.pkg_name)) AS findings \
             FROM suppressions s LEFT JOIN images i ON i.id = s.image_id \
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
                active: r.revoked_at.is_none() && r.expires_at.is_none_or(|e| e > now),
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

/// Suppressions an analyst makes or revokes, within an action's [`Write`].
impl super::Write {
    pub async fn create_suppression(
        &mut self,
        s: &NewSuppressionRow<'_>,
        now: i64,
    ) -> StoreResult<i64> {
        Ok(with_tx!(&mut self.tx, |t| {
            sqlx::query_scalar(
            "INSERT INTO suppressions (vuln_id, image_id, pkg_name, kind, justification, source, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
        )
        .bind(s.vuln_id)
        .bind(s.image_id)
        .bind(s.pkg_name)
        .bind(s.kind)
        .bind(s.justification)
        .bind(s.source)
        .bind(s.created_by)
        .bind(now)
        .bind(s.expires_at)
        .fetch_one(&mut **t)
        .await
        })?)
    }

    /// Revokes a suppression; `NotFound` if there is none with this id.
    pub async fn revoke_suppression(&mut self, id: i64, now: i64) -> StoreResult<()> {
        let n = with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE suppressions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
