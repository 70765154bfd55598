//! Storing a parsed report: short steps that read what is stored, ask
//! [`super::reconcile`] (pure) what it means, and apply the answer inside the action's
//! [`Write`]. Nothing here decides a finding's fate; everything here is SQL.

use super::reconcile::{
    self, Entry, FindingContent, FindingKey, Found, Lookup, StoredFinding, Target,
};
use super::Report;
use crate::lifecycle::{Extent, Plan, Transition};
use crate::store::config_findings::{Content, Key, Scope};
use crate::store::notices::FindingKind;
use crate::store::query::{push_list, Arg, IDS_PER_LIST};
use crate::store::{AuditRecord, Store, StoreError, StoreResult, Write};
use crate::with_tx;
use coastguard_model::findings::SubjectKind;
use coastguard_model::vulns::{ImageBrief, IngestSummary};
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

impl Store {
    /// Stores a parsed document's reports, each with its `scan.ingest` record, in one
    /// commit: either all of it is stored, or nothing is.
    pub async fn ingest_reports(
        &self,
        reports: &[Report],
        target: &Target,
        source: &ScanSource,
        audit: &AuditRecord,
        now: i64,
    ) -> StoreResult<Vec<IngestSummary>> {
        let mut w = self.begin().await?;
        let summaries = w
            .ingest_reports(reports, target, source, audit, now)
            .await?;
        w.commit().await?;
        Ok(summaries)
    }
}

impl Write {
    /// Stores each report of a document and its audit record.
    pub async fn ingest_reports(
        &mut self,
        reports: &[Report],
        target: &Target,
        source: &ScanSource,
        audit: &AuditRecord,
        now: i64,
    ) -> StoreResult<Vec<IngestSummary>> {
        let mut summaries = Vec::with_capacity(reports.len());
        for report in reports {
            let summary = self.ingest_report(report, target, source, now).await?;
            self.audit(&ingest_record(audit, &summary, source.channel), now)
                .await?;
            summaries.push(summary);
        }
        Ok(summaries)
    }

    async fn ingest_report(
        &mut self,
        report: &Report,
        target: &Target,
        source: &ScanSource,
        now: i64,
    ) -> StoreResult<IngestSummary> {
        let (image_id, digest) = self.report_image(report, target, source, now).await?;
        let scan_id = self.insert_scan(image_id, report, source, now).await?;
        let entries = reconcile::entries(report);
        let vuln_of = self.store_vulnerabilities(&entries, now).await?;
        let stored = self.stored_findings(image_id, &report.scanner).await?;
        let found = reconcile::findings(&entries, &vuln_of, &stored);
        let plan = reconcile::finding_plan(stored, &found, now);
        let at = FindingsAt {
            image_id,
            scan_id,
            scanner: &report.scanner,
            now,
        };
        self.apply_finding_plan(&at, &found, &plan).await?;
        let mut summary = IngestSummary {
            scan_id: Some(scan_id),
            format: report.format.as_str().into(),
            scanner: report.scanner.clone(),
            kind: report.kind.as_str().into(),
            entries: report.entries as i64,
            findings: found.len() as i64,
            created: plan.insert.len() as i64,
            reopened: plan.count(Transition::Reopened) as i64,
            updated: plan.count(Transition::Changed) as i64,
            unchanged: plan.unchanged as i64,
            fixed: plan.resolve.len() as i64,
            image: Some(ImageBrief {
                id: image_id,
                name: reconcile::display_name(report, target, &digest),
                digest,
            }),
            notes: report.notes.clone(),
            config_findings: report.misconfigs.len() as i64,
            ..IngestSummary::default()
        };
        for f in &found {
            summary.by_severity.add(f.record.severity, 1);
        }
        self.store_misconfigs(report, image_id, now).await?;
        with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE scans SET summary = $2 WHERE id = $1"
        )
        .bind(scan_id)
        .bind(serde_json::to_string(&summary).unwrap_or_default())
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        Ok(summary)
    }

    /// The image the report is about: found by the tag or digests [`reconcile::lookup`]
    /// gives, or created (keyed by the first digest, else by the artifact). The names the
    /// report gives are remembered unless the sender named the image.
    pub async fn report_image(
        &mut self,
        report: &Report,
        target: &Target,
        source: &ScanSource,
        now: i64,
    ) -> StoreResult<(i64, String)> {
        let digests = match reconcile::lookup(report, target) {
            Lookup::Tag { repository, tag } => {
                let found: Option<(i64, String)> = with_tx!(&mut self.tx, |t| {
                    sqlx::query_as(
                    "SELECT i.id, i.digest FROM images i JOIN image_tags t ON t.image_id = i.id \
                     WHERE t.repository = $1 AND t.tag = $2 ORDER BY t.last_seen_at DESC LIMIT 1",
                )
                .bind(&repository)
                .bind(&tag)
                .fetch_optional(&mut **t)
                .await
                })?;
                let r = target.reference.as_deref().unwrap_or_default();
                return found.ok_or_else(|| {
                    StoreError::Invalid(
                        "image",
                        format!("no image tagged {r} is known: give its digest (sha256:…) instead"),
                    )
                });
            }
            Lookup::Digests(digests) => digests,
        };
        for d in &digests {
            let found: Option<(i64, String)> = with_tx!(&mut self.tx, |t| {
                sqlx::query_as(
                "SELECT id, digest FROM images WHERE digest = $1 \
                 UNION ALL SELECT i.id, i.digest FROM image_digests d JOIN images i ON i.id = d.image_id \
                 WHERE d.digest = $1 LIMIT 1",
            )
            .bind(d)
            .fetch_optional(&mut **t)
            .await
            })?;
            if let Some(found) = found {
                self.remember_names(report, target, found.0, now).await?;
                return Ok(found);
            }
        }
        let digest = digests
            .first()
            .cloned()
            .unwrap_or_else(|| reconcile::artifact_key(report, &source.report_sha256));
        let config = serde_json::json!({
            "id": digest,
            "repo_tags": report.repo_tags,
            "repo_digests": report.repo_digests,
            "artifact_name": report.artifact_name,
            "artifact_kind": report.kind.as_str(),
        });
        let id: i64 = with_tx!(&mut self.tx, |t| {
            sqlx::query_scalar(
            "INSERT INTO images (digest, config, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (digest) DO UPDATE SET last_seen_at = excluded.last_seen_at RETURNING id",
        )
        .bind(&digest)
        .bind(config.to_string())
        .bind(now)
        .fetch_one(&mut **t)
        .await
        })?;
        self.remember_names(report, target, id, now).await?;
        Ok((id, digest))
    }

    /// The report's digests and tags, so the image is found by them later; an image the
    /// sender named keeps none of the report's names (they describe another artifact).
    async fn remember_names(
        &mut self,
        report: &Report,
        target: &Target,
        image_id: i64,
        now: i64,
    ) -> StoreResult<()> {
        if target.reference.is_some() {
            return Ok(());
        }
        for d in &report.repo_digests {
            let (repository, digest) = d.rsplit_once('@').unwrap_or(("", d.as_str()));
            self.name_image(image_id, digest, repository).await?;
        }
        for reference in &report.repo_tags {
            if let Some((registry, repository, tag)) = crate::docker::store::split_tag(reference) {
                self.tag_image(image_id, &registry, &repository, &tag, now)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn insert_scan(
        &mut self,
        image_id: i64,
        report: &Report,
        source: &ScanSource,
        now: i64,
    ) -> StoreResult<i64> {
        let artifact_digest = report.image_id.clone().or_else(|| {
            report
                .repo_digests
                .first()
                .map(|d| reconcile::strip_repo(d).to_string())
        });
        Ok(with_tx!(&mut self.tx, |t| {
            sqlx::query_scalar(
            "INSERT INTO scans (image_id, artifact_digest, artifact_name, format, scanner, scanner_version, kind, \
             source, uploaded_by, report_sha256, scanned_at, received_at, entries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(image_id)
        .bind(&artifact_digest)
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
        .fetch_one(&mut **t)
        .await
        })?)
    }

    /// Every id the entries name, mapped to its stored vulnerability: stored ones read,
    /// ones the report shows to be one merged, new ones and new aliases inserted, and
    /// exploit intelligence applied to what is new or newly named.
    async fn store_vulnerabilities(
        &mut self,
        entries: &[Entry<'_>],
        now: i64,
    ) -> StoreResult<HashMap<String, i64>> {
        let mut known = self.stored_aliases(&reconcile::all_ids(entries)).await?;
        let in_table: HashSet<String> = known.keys().cloned().collect();
        let plan = reconcile::vulnerabilities(entries, &known);
        for (keep, others) in &plan.merges {
            for other in others {
                self.merge_vulnerability(*keep, *other).await?;
            }
            for v in known.values_mut() {
                if others.contains(v) {
                    *v = *keep;
                }
            }
            // The survivor now answers to the merged ones' ids too.
            self.apply_intel_to(&[*keep]).await?;
        }
        known.extend(self.insert_vulnerabilities(&plan.new, now).await?);
        let aliases = reconcile::new_aliases(entries, &known, &in_table);
        self.insert_aliases(&aliases).await?;
        // A vulnerability known by a new id may be one a feed named already.
        let renamed: BTreeSet<i64> = aliases.iter().map(|(_, v)| *v).collect();
        self.apply_intel_to(&renamed.into_iter().collect::<Vec<_>>())
            .await?;
        known.extend(aliases);
        Ok(known)
    }

    async fn stored_aliases(&mut self, ids: &[String]) -> StoreResult<HashMap<String, i64>> {
        let mut known = HashMap::new();
        for chunk in ids.chunks(IDS_PER_LIST) {
            let rows: Vec<(String, i64)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT alias, vulnerability_id FROM vulnerability_aliases WHERE alias IN ",
                );
                push_list(&mut q, chunk);
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            known.extend(rows);
        }
        Ok(known)
    }

    /// Vulnerability `other` is `keep`: its findings, aliases and row move to `keep`
    /// (a finding `keep` already has on the same package is dropped).
    async fn merge_vulnerability(&mut self, keep: i64, other: i64) -> StoreResult<()> {
        let touched: Vec<i64> = with_tx!(&mut self.tx, |t| {
            sqlx::query_scalar(
            "DELETE FROM findings WHERE vulnerability_id = $2 AND EXISTS (SELECT 1 FROM findings f \
             WHERE f.vulnerability_id = $1 AND f.image_id = findings.image_id \
             AND f.pkg_type = findings.pkg_type AND f.pkg_name = findings.pkg_name) RETURNING image_id",
        )
        .bind(keep)
        .bind(other)
        .fetch_all(&mut **t)
        .await
        })?;
        self.findings_changed(touched);
        for sql in [
            "UPDATE findings SET vulnerability_id = $1 WHERE vulnerability_id = $2",
            "UPDATE vulnerability_aliases SET vulnerability_id = $1 WHERE vulnerability_id = $2",
            "DELETE FROM vulnerabilities WHERE id = $2 AND $1 <> $2",
        ] {
            with_tx!(&mut self.tx, |t| sqlx::query(sql)
                .bind(keep)
                .bind(other)
                .execute(&mut **t)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    /// Inserts new vulnerabilities (a concurrent writer's row of the same id is reused);
    /// returns each one's id by canonical id.
    pub async fn insert_vulnerabilities(
        &mut self,
        new: &[(String, &super::VulnRecord)],
        now: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut out = Vec::with_capacity(new.len());
        let per = self.batch_params() / 12;
        for chunk in new.chunks(per) {
            let rows: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO vulnerabilities (vuln_id, title, description, severity, cvss_score, cvss_vector, epss, \
                     known_exploited, published_at, modified_at, refs, updated_at) ",
                );
                q.push_values(chunk, |mut row, (id, v)| {
                    row.push_bind(id)
                        .push_bind(&v.title)
                        .push_bind(&v.description)
                        .push_bind(v.severity.as_str())
                        .push_bind(v.cvss_score)
                        .push_bind(&v.cvss_vector)
                        .push_bind(v.epss)
                        .push_bind(v.known_exploited)
                        .push_bind(v.published)
                        .push_bind(v.modified)
                        .push_bind(serde_json::to_string(&v.references).unwrap_or_default())
                        .push_bind(now);
                });
                q.push(" ON CONFLICT (vuln_id) DO UPDATE SET updated_at = excluded.updated_at RETURNING id, vuln_id");
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            out.extend(rows.into_iter().map(|(id, vuln_id)| (vuln_id, id)));
        }
        Ok(out)
    }

    pub async fn insert_aliases(&mut self, aliases: &[(String, i64)]) -> StoreResult<()> {
        let per = self.batch_params() / 2;
        for chunk in aliases.chunks(per) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO vulnerability_aliases (alias, vulnerability_id) ",
                );
                q.push_values(chunk, |mut row, (alias, vid)| {
                    row.push_bind(alias).push_bind(*vid);
                });
                q.push(" ON CONFLICT (alias) DO NOTHING");
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The image's stored findings, each with whether a scanner other than `scanner`
    /// still reports it.
    async fn stored_findings(
        &mut self,
        image_id: i64,
        scanner: &str,
    ) -> StoreResult<Vec<StoredFinding>> {
        type Row = (
            i64,
            String,
            String,
            i64,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<f64>,
            i64,
            bool,
        );
        let rows: Vec<Row> = with_tx!(&mut self.tx, |t| {
            sqlx::query_as(
            "SELECT f.id, f.pkg_type, f.pkg_name, f.vulnerability_id, f.state, f.installed_version, f.fixed_version, \
             f.severity, f.scanner_severity, f.layer_digest, f.cvss_score, f.last_seen_at, \
             EXISTS (SELECT 1 FROM finding_scanners s WHERE s.finding_id = f.id AND s.present = TRUE AND s.scanner <> $2) \
             FROM findings f WHERE f.image_id = $1",
        )
        .bind(image_id)
        .bind(scanner)
        .fetch_all(&mut **t)
        .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| StoredFinding {
                id: r.0,
                key: (r.1, r.2, r.3),
                state: r.4,
                content: FindingContent {
                    installed_version: r.5,
                    fixed_version: r.6,
                    severity: r.7.parse().unwrap_or(coastguard_model::Severity::Unknown),
                    scanner_severity: r.8,
                    layer: r.9,
                    cvss_score: r.10,
                },
                last_seen_at: r.11,
                vouched_elsewhere: r.12,
            })
            .collect())
    }
}

/// Where a finding plan applies: the image, the scan and scanner that saw it, and when.
pub struct FindingsAt<'a> {
    pub image_id: i64,
    pub scan_id: i64,
    pub scanner: &'a str,
    pub now: i64,
}

const REFRESH: &str =
    "installed_version = $2, fixed_version = $3, severity = $4, severity_rank = $5, \
     cvss_score = $6, layer_digest = $7, scanner_severity = $8, last_seen_at = $9";

impl Write {
    /// Applies the lifecycle's plan for one image and scanner: new findings inserted,
    /// changed and reopened ones rewritten, the scanner's marks set, what no scanner
    /// reports any more fixed.
    pub async fn apply_finding_plan(
        &mut self,
        at: &FindingsAt<'_>,
        found: &[Found<'_>],
        plan: &Plan<FindingKey, FindingContent>,
    ) -> StoreResult<()> {
        let records: HashMap<&FindingKey, &Found> = found.iter().map(|f| (&f.key, f)).collect();
        let new: Vec<&Found> = plan
            .insert
            .iter()
            .filter_map(|(k, _)| records.get(k).copied())
            .collect();
        let mut seen = self.insert_findings(at, &new).await?;
        self.finding_notice(FindingKind::Vulnerability, &seen, at.now)
            .await?;
        for r in &plan.refresh {
            self.refresh_finding(r.id, &r.content, r.transition, at.now)
                .await?;
        }
        let touch = [("last_seen_at", at.now), ("last_scan_id", at.scan_id)];
        self.update_ids("findings", "", &touch, &plan.touch).await?;
        seen.extend(&plan.seen);
        self.mark_scanner(at, &seen, &plan.unseen).await?;
        self.update_ids(
            "findings",
            "state = 'fixed', ",
            &[("fixed_at", at.now)],
            &plan.resolve,
        )
        .await?;
        self.findings_changed([at.image_id]);
        Ok(())
    }

    /// Inserts findings; returns their ids.
    pub async fn insert_findings(
        &mut self,
        at: &FindingsAt<'_>,
        new: &[&Found<'_>],
    ) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(new.len());
        let per = self.batch_params() / 16;
        for chunk in new.chunks(per) {
            let rows: Vec<i64> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO findings (image_id, vulnerability_id, pkg_name, pkg_type, pkg_purl, installed_version, \
                     fixed_version, layer_digest, severity, severity_rank, cvss_score, first_seen_at, last_seen_at, \
                     first_scan_id, last_scan_id, scanner_severity) ",
                );
                q.push_values(chunk, |mut row, f| {
                    let v = f.record;
                    row.push_bind(at.image_id)
                        .push_bind(f.key.2)
                        .push_bind(&f.key.1)
                        .push_bind(&f.key.0)
                        .push_bind(&v.package.purl)
                        .push_bind(&v.package.version)
                        .push_bind(&v.fixed_version)
                        .push_bind(&v.layer)
                        .push_bind(v.severity.as_str())
                        .push_bind(v.severity.rank())
                        .push_bind(v.cvss_score)
                        .push_bind(at.now)
                        .push_bind(at.now)
                        .push_bind(at.scan_id)
                        .push_bind(at.scan_id)
                        .push_bind(&v.scanner_severity);
                });
                q.push(" RETURNING id");
                q.build_query_scalar().fetch_all(&mut **t).await
            })?;
            ids.extend(rows);
        }
        Ok(ids)
    }

    async fn refresh_finding(
        &mut self,
        id: i64,
        c: &FindingContent,
        transition: Transition,
        now: i64,
    ) -> StoreResult<()> {
        let reopen = match transition {
            Transition::Reopened => ", state = 'open', reopened_at = $9, reopen_count = reopen_count + 1, fixed_at = NULL",
            Transition::AcceptanceExpired | Transition::Changed => "",
        };
        let sql = format!("UPDATE findings SET {REFRESH}{reopen} WHERE id = $1");
        with_tx!(&mut self.tx, |t| sqlx::query(&sql)
            .bind(id)
            .bind(&c.installed_version)
            .bind(&c.fixed_version)
            .bind(c.severity.as_str())
            .bind(c.severity.rank())
            .bind(c.cvss_score)
            .bind(&c.layer)
            .bind(&c.scanner_severity)
            .bind(now)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// This scanner reports the `seen` findings (a row for new pairs, `present` again
    /// where it had stopped) and no longer the `unseen` ones.
    async fn mark_scanner(
        &mut self,
        at: &FindingsAt<'_>,
        seen: &[i64],
        unseen: &[i64],
    ) -> StoreResult<()> {
        let known: HashMap<i64, bool> = with_tx!(&mut self.tx, |t| sqlx::query_as::<_, (i64, bool)>(
            "SELECT s.finding_id, s.present FROM finding_scanners s JOIN findings f ON f.id = s.finding_id \
             WHERE f.image_id = $1 AND s.scanner = $2",
        )
        .bind(at.image_id)
        .bind(at.scanner)
        .fetch_all(&mut **t)
        .await)?
        .into_iter()
        .collect();
        let add: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| !known.contains_key(id))
            .collect();
        let back: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| known.get(id) == Some(&false))
            .collect();
        let gone: Vec<i64> = unseen
            .iter()
            .copied()
            .filter(|id| known.get(id) == Some(&true))
            .collect();
        self.insert_scanner_rows(at, &add).await?;
        for (ids, present) in [(&back, true), (&gone, false)] {
            for chunk in ids.chunks(IDS_PER_LIST) {
                with_tx!(&mut self.tx, |t| {
                    let mut q = sqlx::QueryBuilder::new("UPDATE finding_scanners SET present = ");
                    q.push_bind(present);
                    if present {
                        q.push(", last_scan_id = ").push_bind(at.scan_id);
                    }
                    q.push(" WHERE scanner = ").push_bind(at.scanner);
                    q.push(" AND finding_id IN ");
                    push_list(&mut q, chunk);
                    q.build().execute(&mut **t).await.map(|_| ())
                })?;
            }
        }
        Ok(())
    }

    pub async fn insert_scanner_rows(
        &mut self,
        at: &FindingsAt<'_>,
        ids: &[i64],
    ) -> StoreResult<()> {
        let per = self.batch_params() / 3;
        for chunk in ids.chunks(per) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO finding_scanners (finding_id, scanner, first_scan_id, last_scan_id, present) ",
                );
                q.push_values(chunk, |mut row, id| {
                    row.push_bind(*id)
                        .push_bind(at.scanner)
                        .push_bind(at.scan_id)
                        .push_bind(at.scan_id)
                        .push("TRUE");
                });
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// A scanner's misconfigurations and secrets on the image: configuration findings
    /// of that scanner (`trivy:…`, `trivy-secret:…`) on it, through the lifecycle.
    async fn store_misconfigs(
        &mut self,
        report: &Report,
        image_id: i64,
        now: i64,
    ) -> StoreResult<()> {
        let found: Vec<(Key, Content)> = report
            .misconfigs
            .iter()
            .map(|m| {
                (
                    Key {
                        check_id: m.check_id.clone(),
                        subject_kind: SubjectKind::Image,
                        subject_id: image_id,
                        instance: m.location.clone(),
                    },
                    Content {
                        severity: m.severity.as_str().to_string(),
                        cis_section: None,
                        evidence: if m.message.is_empty() {
                            m.title.clone()
                        } else {
                            m.message.clone()
                        },
                        title: Some(m.title.clone()),
                        remediation: m.resolution.clone(),
                    },
                )
            })
            .collect();
        let prefix = format!(
            "{}%",
            report.scanner.split('-').next().unwrap_or(&report.scanner)
        );
        let scope = Scope {
            parts: vec![(
                "cf.subject_kind = 'image' AND cf.subject_id = $1 AND cf.check_id LIKE $2".into(),
                vec![Arg::Int(image_id), Arg::Text(prefix)],
            )],
        };
        self.reconcile_config_findings(&scope, found, Extent::Complete, now)
            .await?;
        Ok(())
    }
}
