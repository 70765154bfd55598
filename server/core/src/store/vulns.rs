//! Vulnerability findings: ingesting normalised reports (deduplicated, with lifecycle),
//! suppressions, and the read models (keyset-paged lists, details, scan history).

use super::{Store, StoreError, StoreResult};
use crate::scans::{Report, VulnRecord};
use crate::with_db;
use coastguard_model::vulns::{ImageBrief, IngestSummary};
use coastguard_model::Severity;
use std::collections::{HashMap, HashSet};

/// Who sent a report, and how.
#[derive(Debug, Clone)]
pub struct ScanSource {
    /// `api`, `ui` or `cli`.
    pub channel: &'static str,
    pub uploaded_by: String,
    /// SHA-256 of the bytes received.
    pub report_sha256: String,
}

/// The image a report is tied to: given with the request, or named by the report.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A digest (`sha256:…`, `repo@sha256:…`) or a `repository:tag` the inventory knows.
    pub reference: Option<String>,
}

pub fn severity_rank(s: Severity) -> i64 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
        Severity::Unknown => 0,
    }
}

/// One finding of a report after deduplication (image + package + vulnerability).
struct Entry<'a> {
    record: &'a VulnRecord,
    /// Every id the report gives this vulnerability, canonical first.
    ids: Vec<String>,
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
    layer_digest: Option<String>,
}

/// Ids per `IN (...)` list, and bound parameters per multi-row statement: few round
/// trips, well under both backends' limits (SQLite 32766, Postgres 65535).
const BATCH: usize = 500;
const MAX_PARAMS: usize = 6000;

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// How a new image row is keyed when the report names no digest.
fn artifact_key(report: &Report, sha: &str) -> String {
    let name = report.artifact_name.clone().unwrap_or_else(|| format!("report-{}", &sha[..12.min(sha.len())]));
    format!("artifact:{}:{name}", report.kind.as_str())
}

fn strip_repo(d: &str) -> &str {
    d.rsplit_once('@').map_or(d, |(_, digest)| digest)
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
        now: i64,
    ) -> StoreResult<Vec<IngestSummary>> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut summaries = Vec::with_capacity(reports.len());
            for report in reports {
                // ---------------------------------------------------------- the image
                let mut digests: Vec<String> = Vec::new();
                if let Some(r) = &target.reference {
                    if r.contains("sha256:") {
                        digests.push(strip_repo(r).to_string());
                    }
                }
                digests.extend(report.image_id.iter().cloned());
                digests.extend(report.repo_digests.iter().map(|d| strip_repo(d).to_string()));
                let mut image: Option<(i64, String)> = None;
                if let Some(r) = target.reference.as_deref().filter(|r| !r.contains("sha256:")) {
                    let (repo, tag) = r.rsplit_once(':').filter(|(_, t)| !t.contains('/')).unwrap_or((r, "latest"));
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
                            format!("no image tagged {r} is known: give its digest (sha256:…) instead"),
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
                        let digest = digests.first().cloned().unwrap_or_else(|| artifact_key(report, &source.report_sha256));
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
                for d in report.repo_digests.iter() {
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
                for tag in &report.repo_tags {
                    if let Some((repo, t)) = tag.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
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
                let brief = ImageBrief { id: image_id, name: display_name(report, &digest), digest: digest.clone() };

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
                    let key = (v.package.kind.clone(), v.package.name.clone(), canonical.clone());
                    let entry = entries.entry(key).or_insert_with(|| Entry { record: v, ids: vec![canonical.clone()] });
                    for id in std::iter::once(&v.id).chain(&v.aliases) {
                        if !entry.ids.contains(id) {
                            entry.ids.push(id.clone());
                        }
                    }
                    if v.severity > entry.record.severity || (entry.record.fixed_version.is_none() && v.fixed_version.is_some()) {
                        entry.record = v;
                    }
                }

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
                    let known: HashSet<i64> = e.ids.iter().filter_map(|i| alias_to_vuln.get(i).copied()).collect();
                    if known.is_empty() {
                        new_vulns.entry(e.ids[0].clone()).or_insert(e.record);
                    } else if known.len() > 1 {
                        // Two stored vulnerabilities are one: this report says so.
                        let mut ids: Vec<i64> = known.into_iter().collect();
                        ids.sort();
                        let keep = ids[0];
                        for other in &ids[1..] {
                            sqlx::query(
                                "DELETE FROM findings WHERE vulnerability_id = $2 AND EXISTS (SELECT 1 FROM findings f \
                                 WHERE f.vulnerability_id = $1 AND f.image_id = findings.image_id \
                                 AND f.pkg_type = findings.pkg_type AND f.pkg_name = findings.pkg_name)",
                            )
                            .bind(keep)
                            .bind(other)
                            .execute(&mut *tx)
                            .await?;
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
                            sqlx::query("DELETE FROM vulnerabilities WHERE id = $1").bind(other).execute(&mut *tx).await?;
                        }
                        for v in alias_to_vuln.values_mut() {
                            if ids.contains(v) {
                                *v = keep;
                            }
                        }
                    }
                }
                let new_list: Vec<(&String, &&VulnRecord)> = new_vulns.iter().collect();
                const VULN_COLS: usize = 12;
                for chunk in new_list.chunks(MAX_PARAMS / VULN_COLS) {
                    let rows: Vec<String> =
                        (0..chunk.len()).map(|i| format!("({})", placeholders(i * VULN_COLS + 1, VULN_COLS))).collect();
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
                    let Some(vid) = e.ids.iter().find_map(|i| alias_to_vuln.get(i).copied()) else { continue };
                    for id in &e.ids {
                        if !stored_aliases.contains(id) && queued.insert(id.clone()) {
                            alias_to_vuln.insert(id.clone(), vid);
                            new_aliases.push((id.clone(), vid));
                        }
                    }
                }
                for chunk in new_aliases.chunks(BATCH) {
                    let rows: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", i * 2 + 1, i * 2 + 2)).collect();
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

                // ---------------------------------------------------------- findings
                let stored: Vec<StoredFinding> = sqlx::query_as(
                    "SELECT id, pkg_type, pkg_name, vulnerability_id, state, installed_version, fixed_version, severity, layer_digest \
                     FROM findings WHERE image_id = $1",
                )
                .bind(image_id)
                .fetch_all(&mut *tx)
                .await?;
                // Formats that don't say a package's type (SARIF) match by name alone.
                let mut by_name: HashMap<(String, i64), (String, String, i64)> = HashMap::new();
                for f in &stored {
                    by_name.insert((f.pkg_name.clone(), f.vulnerability_id), (f.pkg_type.clone(), f.pkg_name.clone(), f.vulnerability_id));
                }
                let mut by_key: HashMap<(String, String, i64), StoredFinding> =
                    stored.into_iter().map(|f| ((f.pkg_type.clone(), f.pkg_name.clone(), f.vulnerability_id), f)).collect();
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
                let mut seen_ids: Vec<i64> = Vec::with_capacity(entries.len());
                let mut inserts: Vec<(&VulnRecord, i64)> = Vec::new();
                for e in entries.values() {
                    let Some(vid) = alias_to_vuln.get(&e.ids[0]).copied() else { continue };
                    let v = e.record;
                    summary.by_severity.add(v.severity, 1);
                    let mut key = (v.package.kind.clone(), v.package.name.clone(), vid);
                    if v.package.kind == "generic" && !by_key.contains_key(&key) {
                        if let Some(k) = by_name.get(&(v.package.name.clone(), vid)) {
                            key = k.clone();
                        }
                    }
                    match by_key.remove(&key) {
                        None => inserts.push((v, vid)),
                        Some(old) => {
                            seen_ids.push(old.id);
                            let changed = old.installed_version != v.package.version
                                || old.fixed_version != v.fixed_version
                                || old.severity != v.severity.as_str()
                                || old.layer_digest != v.layer;
                            if old.state == "fixed" {
                                summary.reopened += 1;
                                sqlx::query(
                                    "UPDATE findings SET state = 'open', reopened_at = $2, reopen_count = reopen_count + 1, \
                                     fixed_at = NULL, installed_version = $3, fixed_version = $4, severity = $5, \
                                     severity_rank = $6, cvss_score = $7, layer_digest = $8 WHERE id = $1",
                                )
                                .bind(old.id)
                                .bind(now)
                                .bind(&v.package.version)
                                .bind(&v.fixed_version)
                                .bind(v.severity.as_str())
                                .bind(severity_rank(v.severity))
                                .bind(v.cvss_score)
                                .bind(&v.layer)
                                .execute(&mut *tx)
                                .await?;
                            } else if changed {
                                summary.updated += 1;
                                sqlx::query(
                                    "UPDATE findings SET installed_version = $2, fixed_version = $3, severity = $4, \
                                     severity_rank = $5, cvss_score = $6, layer_digest = $7 WHERE id = $1",
                                )
                                .bind(old.id)
                                .bind(&v.package.version)
                                .bind(&v.fixed_version)
                                .bind(v.severity.as_str())
                                .bind(severity_rank(v.severity))
                                .bind(v.cvss_score)
                                .bind(&v.layer)
                                .execute(&mut *tx)
                                .await?;
                            } else {
                                summary.unchanged += 1;
                            }
                        }
                    }
                }
                summary.created = inserts.len() as i64;
                const COLS: usize = 14;
                for chunk in inserts.chunks(MAX_PARAMS / COLS) {
                    let rows: Vec<String> = (0..chunk.len()).map(|i| format!("({})", placeholders(i * COLS + 1, COLS))).collect();
                    let sql = format!(
                        "INSERT INTO findings (image_id, vulnerability_id, pkg_name, pkg_type, pkg_purl, installed_version, \
                         fixed_version, layer_digest, severity, severity_rank, cvss_score, first_seen_at, last_seen_at, first_scan_id) \
                         VALUES {} RETURNING id",
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
                            .bind(severity_rank(v.severity))
                            .bind(v.cvss_score)
                            .bind(now)
                            .bind(now)
                            .bind(scan_id);
                    }
                    seen_ids.extend(q.fetch_all(&mut *tx).await?);
                }
                // Seen now, and by this scanner.
                for chunk in seen_ids.chunks(BATCH) {
                    let sql = format!(
                        "UPDATE findings SET last_seen_at = $1, last_scan_id = $2 WHERE id IN ({})",
                        placeholders(3, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).bind(now).bind(scan_id);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                    let rows: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, $1, $2, $2, TRUE)", i + 3)).collect();
                    let sql = format!(
                        "INSERT INTO finding_scanners (finding_id, scanner, first_scan_id, last_scan_id, present) VALUES {} \
                         ON CONFLICT (finding_id, scanner) DO UPDATE SET last_scan_id = excluded.last_scan_id, present = TRUE",
                        rows.join(", ")
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
                        .bind(if m.message.is_empty() { m.title.as_str() } else { m.message.as_str() })
                        .bind(now)
                        .bind(pass)
                        .bind(m.title.as_str())
                        .bind(m.resolution.as_deref())
                        .execute(&mut *tx)
                        .await?;
                }
                let prefix = format!("{}%", report.scanner.split('-').next().unwrap_or(&report.scanner));
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
            tx.commit().await?;
            Ok::<_, StoreError>(summaries)
        })
    }
}

/// One scanner-reported misconfiguration or secret on an image, with the lifecycle of the
/// Docker checks' findings.
const UPSERT_SCANNER_FINDING: &str = "INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, \
     evidence, state, first_seen_at, last_seen_at, seen_pass, title, remediation) \
     VALUES ($1, 'image', $2, $3, $4, $5, 'open', $6, $6, $7, $8, $9) \
     ON CONFLICT (check_id, subject_kind, subject_id, instance) DO UPDATE SET severity = excluded.severity, \
       evidence = excluded.evidence, last_seen_at = excluded.last_seen_at, seen_pass = excluded.seen_pass, \
       title = excluded.title, remediation = excluded.remediation, \
       reopened_at = CASE WHEN config_findings.state = 'resolved' THEN excluded.last_seen_at ELSE config_findings.reopened_at END, \
       resolved_at = CASE WHEN config_findings.state = 'resolved' THEN NULL ELSE config_findings.resolved_at END, \
       state = CASE WHEN config_findings.state = 'resolved' THEN 'open' ELSE config_findings.state END";

/// Active suppressions that match a finding (any alias of its vulnerability, optionally
/// limited to an image and a package).
const MATCHING_SUPPRESSION: &str = "EXISTS (SELECT 1 FROM suppressions s \
     JOIN vulnerability_aliases a ON a.alias = s.vuln_id \
     WHERE a.vulnerability_id = findings.vulnerability_id AND s.revoked_at IS NULL \
       AND (s.expires_at IS NULL OR s.expires_at > $1) \
       AND (s.image_id IS NULL OR s.image_id = findings.image_id) \
       AND (s.pkg_name IS NULL OR s.pkg_name = findings.pkg_name))";

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
    pub async fn apply_suppressions(&self, image_id: Option<i64>, now: i64) -> StoreResult<(u64, u64)> {
        let scope = if image_id.is_some() { "AND image_id = $2" } else { "AND ($2 IS NULL OR TRUE)" };
        let suppress = format!("UPDATE findings SET state = 'suppressed' WHERE state = 'open' {scope} AND {MATCHING_SUPPRESSION}");
        let reopen = format!("UPDATE findings SET state = 'open' WHERE state = 'suppressed' {scope} AND NOT {MATCHING_SUPPRESSION}");
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let a = sqlx::query(&suppress).bind(now).bind(image_id).execute(&mut *tx).await?.rows_affected();
            let b = sqlx::query(&reopen).bind(now).bind(image_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok((a, b))
        })
    }

    pub async fn create_suppression(&self, s: &NewSuppressionRow<'_>, now: i64) -> StoreResult<i64> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
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
        .fetch_one(pool)
        .await)?)
    }

    /// Revokes a suppression; `NotFound` if there is none with this id.
    pub async fn revoke_suppression(&self, id: i64, now: i64) -> StoreResult<()> {
        let n = with_db!(&self.db, |pool| sqlx::query(
            "UPDATE suppressions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces the VEX suppressions of each statement's vulnerability and product with
    /// what the statements say; returns how many suppressions are now in force from them.
    pub async fn apply_vex(&self, statements: &[(VexTarget, &str, Option<&str>, bool)], by: &str, now: i64) -> StoreResult<i64> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut active = 0;
            for (target, vuln_id, justification, not_affected) in statements {
                sqlx::query(
                    "UPDATE suppressions SET revoked_at = $5 WHERE source = 'vex' AND revoked_at IS NULL AND vuln_id = $1 \
                     AND image_id IS NOT DISTINCT FROM $2 AND pkg_name IS NOT DISTINCT FROM $3 AND kind = $4",
                )
                .bind(*vuln_id)
                .bind(target.image_id)
                .bind(&target.pkg_name)
                .bind("not_affected")
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if *not_affected {
                    sqlx::query(
                        "INSERT INTO suppressions (vuln_id, image_id, pkg_name, kind, justification, source, created_by, created_at) \
                         VALUES ($1, $2, $3, 'not_affected', $4, 'vex', $5, $6)",
                    )
                    .bind(*vuln_id)
                    .bind(target.image_id)
                    .bind(&target.pkg_name)
                    .bind(justification.unwrap_or("not affected (VEX)"))
                    .bind(by)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    active += 1;
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(active)
        })
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

/// Where a VEX statement applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexTarget {
    pub image_id: Option<i64>,
    pub pkg_name: Option<String>,
}
