//! Risk scores: gathering the evidence for `crate::risk`, keeping the scores, and
//! knowing when they need recomputing. Writers that change what a score depends on call
//! `mark_risk_stale`; the `risk` job recomputes everything when the mark is set, so pages
//! only ever read stored scores.

use crate::risk::{
    score_estate, AlertEvidence, ConfigEvidence, Estate, ImageVulns, PodUnit, VulnEvidence,
};
use crate::scans::vulns::IMAGE_NAME;
use crate::store::{Store, StoreError, StoreResult};
use crate::with_db;
use coastguard_model::risk::{RiskBreakdown, RiskEntry, RiskSubject};
use coastguard_model::Severity;
use futures::TryStreamExt;
use std::collections::HashMap;

pub(crate) const STALE_KEY: &str = "risk.stale";

/// What one recomputation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RiskRun {
    pub images: usize,
    pub containers: usize,
    pub hosts: usize,
    pub pods: usize,
    pub workloads: usize,
    pub namespaces: usize,
    pub clusters: usize,
    /// Open vulnerability findings read.
    pub findings: usize,
}

/// Live pods that run or are about to, with their top-level workload (a ReplicaSet's
/// pod belongs to the Deployment that owns the ReplicaSet), namespace and node.
const LIVE_PODS: &str = "SELECT p.id, p.namespace || '/' || p.name AS name, \
     CASE WHEN w1.owner_kind IS NULL THEN w1.id ELSE w2.id END AS workload, n.id AS namespace, h.id AS node \
     FROM pods p \
     LEFT JOIN namespaces n ON n.cluster_id = p.cluster_id AND n.name = p.namespace AND n.gone_at IS NULL \
     LEFT JOIN workloads w1 ON w1.cluster_id = p.cluster_id AND w1.namespace = p.namespace \
       AND w1.kind = p.owner_kind AND w1.name = p.owner_name AND w1.gone_at IS NULL \
     LEFT JOIN workloads w2 ON w2.cluster_id = w1.cluster_id AND w2.namespace = w1.namespace \
       AND w2.kind = w1.owner_kind AND w2.name = w1.owner_name AND w2.gone_at IS NULL AND w2.owner_kind IS NULL \
     LEFT JOIN hosts h ON h.kind = 'node' AND h.cluster_id = p.cluster_id AND h.name = p.node_name \
     WHERE p.gone_at IS NULL AND (p.phase IS NULL OR p.phase NOT IN ('Succeeded', 'Failed'))";

#[derive(sqlx::FromRow)]
struct PodRow {
    id: i64,
    name: String,
    workload: Option<i64>,
    namespace: Option<i64>,
    node: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct FindingEvidenceRow {
    image_id: i64,
    pkg_name: String,
    severity_rank: i64,
    cvss_score: Option<f64>,
    fixable: bool,
    known_exploited: bool,
    epss: Option<f64>,
}

const MARK_STALE: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, 'true', $2) \
     ON CONFLICT (key) DO UPDATE SET value = 'true', updated_at = excluded.updated_at";

impl crate::store::Write {
    /// Notes, with the action's other changes, that scores are out of date (see
    /// [`crate::store::Write::risk_changed`], which callers use).
    pub(crate) async fn mark_risk_stale(&mut self) -> StoreResult<()> {
        crate::with_tx!(&mut self.tx, |t| sqlx::query(MARK_STALE)
            .bind(STALE_KEY)
            .bind(crate::now())
            .execute(&mut **t)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

impl Store {
    /// Notes that scores are out of date (an ingest, a sync, a triage decision).
    pub async fn mark_risk_stale(&self) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(MARK_STALE)
            .bind(STALE_KEY)
            .bind(crate::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Clears the stale mark, answering whether it was set (never computed counts as set).
    /// A change that lands during the recomputation sets it again, so nothing is missed.
    pub async fn take_risk_stale(&self) -> StoreResult<bool> {
        let (updated, exists) = with_db!(&self.db, |pool| {
            let updated = sqlx::query(
                "UPDATE settings SET value = 'false', updated_at = $2 WHERE key = $1 AND value = 'true'",
            )
            .bind(STALE_KEY)
            .bind(crate::now())
            .execute(pool)
            .await?
            .rows_affected();
            let exists: Option<String> =
                sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(STALE_KEY)
                    .fetch_optional(pool)
                    .await?;
            Ok::<_, sqlx::Error>((updated, exists.is_some()))
        })?;
        if !exists {
            with_db!(&self.db, |pool| {
                sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, 'false', $2) ON CONFLICT (key) DO NOTHING"
            )
            .bind(STALE_KEY)
            .bind(crate::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
        Ok(updated > 0 || !exists)
    }

    /// Recomputes every score from the stored evidence ([`crate::risk::score_estate`],
    /// pure) and replaces the stored scores in one transaction.
    pub async fn recompute_risk(&self, now: i64) -> StoreResult<RiskRun> {
        let (vulns, findings) = self.open_vuln_evidence().await?;
        let estate = Estate {
            vulns,
            config: self.open_config_evidence().await?,
            alerts: self.open_alert_evidence().await?,
            ..self.scored_subjects().await?
        };
        let scores = score_estate(&estate, now);
        self.replace_scores(&scores).await?;
        Ok(RiskRun {
            images: estate.images.len(),
            containers: estate.containers.len(),
            hosts: estate.hosts.len(),
            pods: estate.pods.len(),
            workloads: estate.workloads.len(),
            namespaces: estate.namespaces.len(),
            clusters: estate.clusters.len(),
            findings,
        })
    }

    /// Open vulnerability findings per image (fixed and suppressed ones carry no risk),
    /// read once, streaming; and how many were read.
    async fn open_vuln_evidence(&self) -> StoreResult<(HashMap<i64, ImageVulns>, usize)> {
        let mut vulns: HashMap<i64, ImageVulns> = HashMap::new();
        let mut findings = 0;
        with_db!(&self.db, |pool| {
            let mut rows = sqlx::query_as::<_, FindingEvidenceRow>(
                "SELECT f.image_id, f.pkg_name, f.severity_rank, f.cvss_score, \
                 f.fixed_version IS NOT NULL AS fixable, v.known_exploited, v.epss \
                 FROM findings f JOIN vulnerabilities v ON v.id = f.vulnerability_id WHERE f.state = 'open'",
            )
            .fetch(pool);
            while let Some(r) = rows.try_next().await? {
                findings += 1;
                vulns.entry(r.image_id).or_default().add(
                    &r.pkg_name,
                    &VulnEvidence {
                        severity: Severity::from_rank(r.severity_rank),
                        cvss: r.cvss_score,
                        fixable: r.fixable,
                        known_exploited: r.known_exploited,
                        epss: r.epss,
                    },
                );
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok((vulns, findings))
    }

    /// Open configuration findings (accepted risks don't count), instances folded.
    async fn open_config_evidence(
        &self,
    ) -> StoreResult<HashMap<(String, i64), Vec<ConfigEvidence>>> {
        let rows: Vec<(String, i64, String, String, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT subject_kind, subject_id, check_id, severity, COUNT(*) FROM config_findings \
                 WHERE state = 'open' GROUP BY subject_kind, subject_id, check_id, severity",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut config: HashMap<(String, i64), Vec<ConfigEvidence>> = HashMap::new();
        for (kind, id, check_id, severity, count) in rows {
            let severity = Severity::normalise(&severity);
            let evidence = ConfigEvidence {
                check_id,
                severity,
                count,
            };
            config.entry((kind, id)).or_default().push(evidence);
        }
        Ok(config)
    }

    /// Open runtime alerts per container.
    async fn open_alert_evidence(&self) -> StoreResult<HashMap<i64, Vec<AlertEvidence>>> {
        let rows: Vec<(i64, String, String, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(&format!(
                "SELECT container_id, rule, severity, CAST(SUM(count) AS BIGINT) FROM runtime_alerts \
                 WHERE {} AND container_id IS NOT NULL GROUP BY container_id, rule, severity",
                crate::alerts::OPEN
            ))
            .fetch_all(pool)
            .await
        })?;
        let mut alerts: HashMap<i64, Vec<AlertEvidence>> = HashMap::new();
        for (container, rule, severity, count) in rows {
            let severity = Severity::normalise(&severity);
            let evidence = AlertEvidence {
                rule,
                severity,
                count,
            };
            alerts.entry(container).or_default().push(evidence);
        }
        Ok(alerts)
    }

    /// What gets a score: every image, running container, host, live pod (not finished),
    /// top-level workload, namespace and cluster.
    async fn scored_subjects(&self) -> StoreResult<Estate> {
        let images = format!("SELECT i.id, {IMAGE_NAME} FROM images i");
        let containers = "SELECT id, name, image_id, host_id FROM containers \
             WHERE gone_at IS NULL AND state = 'running'";
        let hosts = "SELECT id, name FROM hosts WHERE status <> 'gone'";
        let workloads = "SELECT w.id, w.namespace || '/' || w.name, n.id FROM workloads w \
             LEFT JOIN namespaces n ON n.cluster_id = w.cluster_id AND n.name = w.namespace AND n.gone_at IS NULL \
             WHERE w.gone_at IS NULL AND w.owner_kind IS NULL";
        let namespaces = "SELECT n.id, k.name || '/' || n.name, n.cluster_id FROM namespaces n \
             JOIN clusters k ON k.id = n.cluster_id WHERE n.gone_at IS NULL";
        let clusters = "SELECT id, name FROM clusters";
        let (mut estate, pods, images_of) = with_db!(&self.db, |pool| {
            let estate = Estate {
                images: sqlx::query_as(&images).fetch_all(pool).await?,
                containers: sqlx::query_as(containers).fetch_all(pool).await?,
                hosts: sqlx::query_as(hosts).fetch_all(pool).await?,
                workloads: sqlx::query_as(workloads).fetch_all(pool).await?,
                namespaces: sqlx::query_as(namespaces).fetch_all(pool).await?,
                clusters: sqlx::query_as(clusters).fetch_all(pool).await?,
                ..Estate::default()
            };
            let pods: Vec<PodRow> = sqlx::query_as(LIVE_PODS).fetch_all(pool).await?;
            let images_of: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT DISTINCT pc.pod_id, pc.image_id FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id \
                 WHERE p.gone_at IS NULL AND pc.image_id IS NOT NULL",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((estate, pods, images_of))
        })?;
        let mut images: HashMap<i64, Vec<i64>> = HashMap::new();
        for (pod, image) in images_of {
            images.entry(pod).or_default().push(image);
        }
        estate.pods = pods
            .into_iter()
            .map(|p| PodUnit {
                images: images.remove(&p.id).unwrap_or_default(),
                id: p.id,
                name: p.name,
                workload: p.workload,
                namespace: p.namespace,
                node: p.node,
            })
            .collect();
        Ok(estate)
    }

    async fn replace_scores(&self, scores: &[RiskBreakdown]) -> StoreResult<()> {
        let rows: Vec<(&'static str, i64, i64, String, i64)> = scores
            .iter()
            .map(|b| {
                let json =
                    serde_json::to_string(b).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                Ok((b.subject.as_str(), b.id, b.score, json, b.computed_at))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let mut w = self.begin_pass().await?;
        crate::with_tx!(&mut w.tx, |t| sqlx::query("DELETE FROM risk_scores")
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        let per = (w.batch_params() / 5).max(1);
        for chunk in rows.chunks(per) {
            crate::with_tx!(&mut w.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO risk_scores (subject_kind, subject_id, score, breakdown, computed_at) ",
                );
                q.push_values(chunk, |mut row, (kind, id, score, json, at)| {
                    row.push_bind(*kind)
                        .push_bind(*id)
                        .push_bind(*score)
                        .push_bind(json)
                        .push_bind(*at);
                });
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        // Scores written are current: no stale mark from this pass.
        w.commit().await?;
        Ok(())
    }

    /// The riskiest subjects of a kind, worst first (ties: newest id first), read in index
    /// order.
    pub async fn risk_ranking(&self, kind: RiskSubject, limit: i64) -> StoreResult<Vec<RiskEntry>> {
        if !(1..=500).contains(&limit) {
            return Err(StoreError::Invalid(
                "limit",
                "limit must be between 1 and 500".into(),
            ));
        }
        let rows: Vec<(String,)> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT breakdown FROM risk_scores WHERE subject_kind = $1 AND score > 0 \
             ORDER BY score DESC, subject_id DESC LIMIT $2"
        )
        .bind(kind.as_str())
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(json,)| {
                let b = parse(&json)?;
                let top_factor = b
                    .factors
                    .iter()
                    .max_by(|x, y| x.points.total_cmp(&y.points))
                    .map(|f| f.kind);
                Ok(RiskEntry {
                    subject: b.subject,
                    id: b.id,
                    name: b.name,
                    score: b.score,
                    top_factor,
                    computed_at: b.computed_at,
                })
            })
            .collect()
    }

    /// One subject's score with its breakdown.
    pub async fn risk_breakdown(&self, kind: RiskSubject, id: i64) -> StoreResult<RiskBreakdown> {
        let json: Option<String> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT breakdown FROM risk_scores WHERE subject_kind = $1 AND subject_id = $2"
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        parse(&json.ok_or(StoreError::NotFound)?)
    }
}

fn parse(json: &str) -> StoreResult<RiskBreakdown> {
    serde_json::from_str(json).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}
