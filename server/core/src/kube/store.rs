//! Storing what the collector reads: clusters, and each kind's records in batches, with
//! the Pod Security findings of pods and workloads through the shared findings
//! lifecycle. A complete list marks what it did not see as gone (never deleted); a
//! watch's delete marks one object gone.

use super::objects::{
    FactRec, Kind, KubeFinding, NamespaceRec, NodeRec, PodRec, Record, WorkloadRec, PREFIX,
};
use super::{network, rbac};
use crate::lifecycle::Extent;
use crate::store::config_findings::{Content, Key, Scope};
use crate::store::query::{push_list, Arg, IDS_PER_LIST};
use crate::store::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::findings::SubjectKind;
use std::collections::{BTreeMap, HashMap};

/// A cluster as stored; `credentials` is sealed and never leaves the server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClusterRow {
    pub id: i64,
    pub name: String,
    pub api_url: Option<String>,
    pub source: Option<String>,
    pub context: Option<String>,
    pub credentials: Option<String>,
    pub status: String,
    pub last_error: Option<String>,
    pub last_sync_at: Option<i64>,
    pub version: Option<String>,
}

const CLUSTER_SELECT: &str = "SELECT id, name, api_url, source, context, credentials, status, \
     last_error, last_sync_at, version FROM clusters";

/// The setting that holds when a user last asked for a cluster's full list.
pub fn resync_key(cluster: i64) -> String {
    format!("kube.resync.{cluster}")
}

/// The purpose sealed cluster credentials are bound to.
pub const CREDENTIALS: &str = "cluster-credentials";

impl Store {
    pub async fn kube_clusters(&self) -> StoreResult<Vec<ClusterRow>> {
        let sql = format!("{CLUSTER_SELECT} ORDER BY id");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn kube_cluster_named(&self, name: &str) -> StoreResult<Option<ClusterRow>> {
        let sql = format!("{CLUSTER_SELECT} WHERE name = $1");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn kube_cluster(&self, id: i64) -> StoreResult<ClusterRow> {
        let sql = format!("{CLUSTER_SELECT} WHERE id = $1");
        with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Bookkeeping, not a person's change: reachable (with the server's version) or not
    /// (with why). The inventory stays either way.
    pub async fn set_cluster_status(
        &self,
        id: i64,
        error: Option<&str>,
        version: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let status = if error.is_some() { "unreachable" } else { "ok" };
        with_db!(&self.db, |pool| {
            sqlx::query(
            "UPDATE clusters SET status = $2, last_error = $3, version = COALESCE($4, version), \
             last_seen_at = CASE WHEN $3 IS NULL THEN $5 ELSE last_seen_at END, updated_at = $5 WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(version)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Records which optional APIs (`calico`, `istio`) the cluster serves, as its
    /// collector discovered them.
    pub async fn set_cluster_extensions(&self, id: i64, extensions: &[&str]) -> StoreResult<()> {
        let json = serde_json::to_string(extensions).unwrap_or_default();
        with_db!(&self.db, |pool| {
            sqlx::query("UPDATE clusters SET extensions = $2 WHERE id = $1")
                .bind(id)
                .bind(&json)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// When a full list of a cluster was last asked for (`manage::sync_cluster`).
    pub async fn resync_requested(&self, id: i64) -> StoreResult<Option<i64>> {
        self.setting(&resync_key(id)).await
    }

    pub async fn cluster_synced(&self, id: i64, now: i64) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "UPDATE clusters SET last_sync_at = $2, updated_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

impl Write {
    pub async fn add_kube_cluster(
        &mut self,
        name: &str,
        server: &str,
        source: &str,
        context: Option<&str>,
        sealed: Option<&str>,
        now: i64,
    ) -> StoreResult<i64> {
        with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO clusters (name, api_url, source, context, credentials, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id"
        )
        .bind(name)
        .bind(server)
        .bind(source)
        .bind(context)
        .bind(sealed)
        .bind(now)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, format!("a cluster named '{name}' already exists")))
    }

    /// Points a cluster at another API server or credentials (a configured cluster whose
    /// source changed); it is listed again from scratch by its worker.
    pub async fn update_kube_connection(
        &mut self,
        id: i64,
        server: &str,
        context: Option<&str>,
        sealed: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE clusters SET api_url = $2, context = $3, credentials = $4, updated_at = $5 WHERE id = $1"
        )
        .bind(id)
        .bind(server)
        .bind(context)
        .bind(sealed)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Removes a cluster with everything read from it and its findings.
    pub async fn remove_kube_cluster(&mut self, id: i64) -> StoreResult<String> {
        let name: Option<String> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "SELECT name FROM clusters WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        let name = name.ok_or(StoreError::NotFound)?;
        for sql in [
            "DELETE FROM config_findings WHERE subject_kind = 'pod' AND subject_id IN (SELECT id FROM pods WHERE cluster_id = $1)",
            "DELETE FROM config_findings WHERE subject_kind = 'workload' AND subject_id IN (SELECT id FROM workloads WHERE cluster_id = $1)",
            "DELETE FROM config_findings WHERE subject_kind = 'namespace' AND subject_id IN (SELECT id FROM namespaces WHERE cluster_id = $1)",
            "DELETE FROM config_findings WHERE subject_kind = 'host' AND subject_id IN (SELECT id FROM hosts WHERE cluster_id = $1)",
            "DELETE FROM config_findings WHERE subject_kind = 'cluster' AND subject_id = $1",
            "DELETE FROM clusters WHERE id = $1",
        ] {
            with_tx!(&mut self.tx, |t| sqlx::query(sql)
                .bind(id)
                .execute(&mut **t)
                .await
                .map(|_| ()))?;
        }
        self.delete_setting(&resync_key(id)).await?;
        self.risk_changed();
        Ok(name)
    }

    /// Stores records of one kind (from a list page or a watch event).
    pub async fn apply_kube_records(
        &mut self,
        cluster: i64,
        kind: Kind,
        records: &[Record],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        match kind {
            Kind::Namespace => {
                let rows = pick(records, |r| match r {
                    Record::Namespace(n) => Some(n),
                    _ => None,
                });
                self.upsert_namespaces(cluster, &rows, pass, now).await
            }
            Kind::Node => {
                let rows = pick(records, |r| match r {
                    Record::Node(n) => Some(n),
                    _ => None,
                });
                self.upsert_nodes(cluster, &rows, pass, now).await
            }
            Kind::Pod => {
                let rows = pick(records, |r| match r {
                    Record::Pod(p) => Some(p),
                    _ => None,
                });
                self.upsert_pods(cluster, &rows, pass, now).await
            }
            k if k.is_fact() => {
                let rows = pick(records, |r| match r {
                    Record::Fact(f) => Some(f),
                    _ => None,
                });
                self.upsert_facts(cluster, kind, &rows, pass, now).await
            }
            _ => {
                let rows = pick(records, |r| match r {
                    Record::Workload(w) => Some(w),
                    _ => None,
                });
                self.upsert_workloads(cluster, &rows, pass, now).await
            }
        }
    }

    async fn upsert_namespaces(
        &mut self,
        cluster: i64,
        rows: &[&NamespaceRec],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        for chunk in rows.chunks(self.batch_params() / 9) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO namespaces (cluster_id, name, uid, labels, pss_enforce, pss_policy, \
                     first_seen_at, last_seen_at, seen_pass) ",
                );
                q.push_values(chunk, |mut row, n| {
                    let policy = serde_json::json!({
                        "enforce": n.policy.enforce, "audit": n.policy.audit, "warn": n.policy.warn,
                        "errors": n.label_errors,
                    });
                    row.push_bind(cluster)
                        .push_bind(&n.name)
                        .push_bind(&n.uid)
                        .push_bind(serde_json::to_string(&n.labels).unwrap_or_default())
                        .push_bind(n.policy.enforce.level.as_str())
                        .push_bind(policy.to_string())
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (cluster_id, name) DO UPDATE SET uid = excluded.uid, labels = excluded.labels, \
                     pss_enforce = excluded.pss_enforce, pss_policy = excluded.pss_policy, \
                     last_seen_at = excluded.last_seen_at, seen_pass = excluded.seen_pass, gone_at = NULL",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn upsert_nodes(
        &mut self,
        cluster: i64,
        rows: &[&NodeRec],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        // Thirteen bound values a row ('node' is literal).
        for chunk in rows.chunks(self.batch_params() / 13) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO hosts (kind, cluster_id, name, status, engine_version, api_version, os, kernel, \
                     arch, facts, last_seen_at, created_at, updated_at, seen_pass) ",
                );
                q.push_values(chunk, |mut row, n| {
                    row.push("'node'")
                        .push_bind(cluster)
                        .push_bind(&n.name)
                        .push_bind(if n.ready { "ok" } else { "unreachable" })
                        .push_bind(&n.kubelet_version)
                        .push_bind(&n.runtime)
                        .push_bind(&n.os_image)
                        .push_bind(&n.kernel)
                        .push_bind(&n.arch)
                        .push_bind(n.facts.to_string())
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (cluster_id, name) WHERE kind = 'node' DO UPDATE SET status = excluded.status, \
                     engine_version = excluded.engine_version, api_version = excluded.api_version, os = excluded.os, \
                     kernel = excluded.kernel, arch = excluded.arch, facts = excluded.facts, \
                     last_seen_at = excluded.last_seen_at, updated_at = excluded.updated_at, \
                     seen_pass = excluded.seen_pass, gone_at = NULL",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn upsert_facts(
        &mut self,
        cluster: i64,
        kind: Kind,
        rows: &[&FactRec],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        for chunk in rows.chunks(self.batch_params() / 9) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO kube_facts (cluster_id, kind, namespace, name, uid, facts, first_seen_at, \
                     last_seen_at, seen_pass) ",
                );
                q.push_values(chunk, |mut row, f| {
                    row.push_bind(cluster)
                        .push_bind(kind.name())
                        .push_bind(&f.namespace)
                        .push_bind(&f.name)
                        .push_bind(&f.uid)
                        .push_bind(f.facts.to_string())
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (cluster_id, kind, uid) DO UPDATE SET namespace = excluded.namespace, \
                     name = excluded.name, facts = excluded.facts, last_seen_at = excluded.last_seen_at, \
                     seen_pass = excluded.seen_pass, gone_at = NULL",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn upsert_workloads(
        &mut self,
        cluster: i64,
        rows: &[&WorkloadRec],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        let mut ids = Vec::new();
        for chunk in rows.chunks(self.batch_params() / 13) {
            let got: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO workloads (cluster_id, namespace, kind, name, uid, labels, owner_kind, owner_name, \
                     replicas, pss_rank, first_seen_at, last_seen_at, seen_pass) ",
                );
                q.push_values(chunk, |mut row, w| {
                    row.push_bind(cluster)
                        .push_bind(&w.namespace)
                        .push_bind(w.kind.name())
                        .push_bind(&w.name)
                        .push_bind(&w.uid)
                        .push_bind(serde_json::to_string(&w.labels).unwrap_or_default())
                        .push_bind(w.owner.as_ref().map(|o| o.0.clone()))
                        .push_bind(w.owner.as_ref().map(|o| o.1.clone()))
                        .push_bind(w.replicas)
                        .push_bind(super::objects::rank(w.level))
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (cluster_id, namespace, kind, name) DO UPDATE SET uid = excluded.uid, \
                     labels = excluded.labels, owner_kind = excluded.owner_kind, owner_name = excluded.owner_name, \
                     replicas = excluded.replicas, pss_rank = excluded.pss_rank, last_seen_at = excluded.last_seen_at, \
                     seen_pass = excluded.seen_pass, gone_at = NULL RETURNING id, uid",
                );
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            ids.extend(got);
        }
        let by_uid: HashMap<String, i64> = ids.into_iter().map(|(id, uid)| (uid, id)).collect();
        // A ReplicaSet's or Job's template is its owner's: findings go to the owner only.
        let judged: Vec<(i64, &[KubeFinding])> = rows
            .iter()
            .filter_map(|w| {
                let findings = if w.owner.is_some() {
                    &[][..]
                } else {
                    w.findings.as_slice()
                };
                by_uid.get(&w.uid).map(|id| (*id, findings))
            })
            .collect();
        self.reconcile_kube_findings(SubjectKind::Workload, Family::Object, &judged, now)
            .await
    }

    async fn upsert_pods(
        &mut self,
        cluster: i64,
        rows: &[&PodRec],
        pass: i64,
        now: i64,
    ) -> StoreResult<()> {
        let mut ids = Vec::new();
        for chunk in rows.chunks(self.batch_params() / 15) {
            let got: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO pods (cluster_id, namespace, name, uid, phase, labels, node_name, owner_kind, \
                     owner_name, pss_rank, service_account, automount_token, first_seen_at, last_seen_at, seen_pass) ",
                );
                q.push_values(chunk, |mut row, p| {
                    row.push_bind(cluster)
                        .push_bind(&p.namespace)
                        .push_bind(&p.name)
                        .push_bind(&p.uid)
                        .push_bind(&p.phase)
                        .push_bind(serde_json::to_string(&p.labels).unwrap_or_default())
                        .push_bind(&p.node_name)
                        .push_bind(p.owner.as_ref().map(|o| o.0.clone()))
                        .push_bind(p.owner.as_ref().map(|o| o.1.clone()))
                        .push_bind(super::objects::rank(p.level))
                        .push_bind(&p.service_account)
                        .push_bind(p.automount_token)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (cluster_id, uid) DO UPDATE SET phase = excluded.phase, labels = excluded.labels, \
                     node_name = excluded.node_name, owner_kind = excluded.owner_kind, owner_name = excluded.owner_name, \
                     pss_rank = excluded.pss_rank, service_account = excluded.service_account, \
                     automount_token = excluded.automount_token, last_seen_at = excluded.last_seen_at, \
                     seen_pass = excluded.seen_pass, gone_at = NULL RETURNING id, uid",
                );
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            ids.extend(got);
        }
        let by_uid: HashMap<String, i64> = ids.into_iter().map(|(id, uid)| (uid, id)).collect();
        let pods: Vec<(i64, &PodRec)> = rows
            .iter()
            .filter_map(|p| by_uid.get(&p.uid).map(|id| (*id, *p)))
            .collect();
        self.replace_pod_containers(&pods, now).await?;
        let judged: Vec<(i64, &[KubeFinding])> = pods
            .iter()
            .map(|(id, p)| (*id, p.findings.as_slice()))
            .collect();
        self.reconcile_kube_findings(SubjectKind::Pod, Family::Object, &judged, now)
            .await
    }

    /// A pod's containers, each linked to the image with the digest its status reports.
    async fn replace_pod_containers(
        &mut self,
        pods: &[(i64, &PodRec)],
        now: i64,
    ) -> StoreResult<()> {
        let mut digests: BTreeMap<&str, &str> = BTreeMap::new();
        for (_, p) in pods {
            for c in &p.containers {
                if let Some(d) = &c.image_digest {
                    digests.insert(d, &c.image_ref);
                }
            }
        }
        let images = self.images_for_digests(&digests, now).await?;
        for chunk in pods.chunks(IDS_PER_LIST) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new("DELETE FROM pod_containers WHERE pod_id IN ");
                push_list(&mut q, chunk.iter().map(|(id, _)| *id));
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        let rows: Vec<(i64, &super::objects::ContainerRec)> = pods
            .iter()
            .flat_map(|(id, p)| p.containers.iter().map(move |c| (*id, c)))
            .collect();
        for chunk in rows.chunks(self.batch_params() / 8) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO pod_containers (pod_id, kind, name, image_ref, image_digest, image_id, ready, restart_count) ",
                );
                q.push_values(chunk, |mut row, (pod, c)| {
                    row.push_bind(*pod)
                        .push_bind(c.kind)
                        .push_bind(&c.name)
                        .push_bind(&c.image_ref)
                        .push_bind(&c.image_digest)
                        .push_bind(
                            c.image_digest
                                .as_deref()
                                .and_then(|d| images.get(d).copied()),
                        )
                        .push_bind(c.ready)
                        .push_bind(c.restart_count);
                });
                // A pod spec names each container once; a duplicate is the API's error, not ours.
                q.push(" ON CONFLICT (pod_id, kind, name) DO NOTHING");
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The image row of each digest: an image a Docker engine or a scan already knows by
    /// that manifest digest, else a new row keyed by it (a later engine sync folds it into
    /// the engine's image, as it does a scan's).
    async fn images_for_digests(
        &mut self,
        digests: &BTreeMap<&str, &str>,
        now: i64,
    ) -> StoreResult<HashMap<String, i64>> {
        let mut found: HashMap<String, i64> = HashMap::new();
        let all: Vec<&str> = digests.keys().copied().collect();
        for chunk in all.chunks(IDS_PER_LIST) {
            for sql in [
                "SELECT digest, image_id FROM image_digests WHERE digest IN ",
                "SELECT digest, id FROM images WHERE digest IN ",
            ] {
                let rows: Vec<(String, i64)> = with_tx!(&mut self.tx, |t| {
                    let mut q = sqlx::QueryBuilder::new(sql);
                    push_list(&mut q, chunk.iter().copied());
                    q.build_query_as().fetch_all(&mut **t).await
                })?;
                for (d, id) in rows {
                    found.entry(d).or_insert(id);
                }
            }
        }
        let missing: Vec<&str> = all
            .iter()
            .copied()
            .filter(|d| !found.contains_key(*d))
            .collect();
        for chunk in missing.chunks(self.batch_params() / 4) {
            let rows: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO images (digest, first_seen_at, last_seen_at, inventory_seen_at) ",
                );
                q.push_values(chunk, |mut row, d| {
                    row.push_bind(*d)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(now);
                });
                q.push(" ON CONFLICT (digest) DO UPDATE SET inventory_seen_at = excluded.inventory_seen_at RETURNING id, digest");
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            for (id, d) in rows {
                if let Some((registry, repository, tag)) = digests
                    .get(d.as_str())
                    .and_then(|r| crate::docker::store::split_tag(r))
                {
                    self.tag_image(id, &registry, &repository, &tag, now)
                        .await?;
                }
                found.insert(d, id);
            }
        }
        let ids: Vec<i64> = found.values().copied().collect();
        let at = [("inventory_seen_at", now), ("last_seen_at", now)];
        self.update_ids("images", "", &at, &ids).await?;
        Ok(found)
    }

    /// Brings the Kubernetes findings of `subjects` (Pod Security, hygiene) in line with
    /// what their latest objects say.
    async fn reconcile_kube_findings(
        &mut self,
        kind: SubjectKind,
        family: Family,
        subjects: &[(i64, &[KubeFinding])],
        now: i64,
    ) -> StoreResult<()> {
        for chunk in subjects.chunks(IDS_PER_LIST) {
            let scope = kube_scope(kind, family, chunk.iter().map(|(id, _)| *id));
            let found = chunk
                .iter()
                .flat_map(|(id, findings)| findings.iter().map(move |f| (*id, f)))
                .map(|(id, f)| keyed(kind, id, f))
                .collect();
            self.reconcile_config_findings(&scope, found, Extent::Complete, now)
                .await?;
        }
        Ok(())
    }

    /// After a complete list of `kind`: everything of it not seen in `pass` is gone.
    pub async fn mark_kube_unseen_gone(
        &mut self,
        cluster: i64,
        kind: Kind,
        pass: i64,
        now: i64,
    ) -> StoreResult<u64> {
        let table = table_of(kind);
        let extra = match kind {
            Kind::Node => "AND kind = 'node'",
            k if k.is_workload() || k.is_fact() => "AND kind = $4",
            _ => "",
        };
        let sql = format!(
            "UPDATE {table} SET gone_at = $3 WHERE cluster_id = $1 {extra} AND gone_at IS NULL \
             AND (seen_pass IS NULL OR seen_pass <> $2) RETURNING id"
        );
        let kind_name = kind.name();
        let gone: Vec<i64> = with_tx!(&mut self.tx, |t| {
            let q = sqlx::query_scalar(&sql).bind(cluster).bind(pass).bind(now);
            let q = if kind.is_workload() || kind.is_fact() {
                q.bind(kind_name)
            } else {
                q
            };
            q.fetch_all(&mut **t).await
        })?;
        self.resolve_gone(kind, &gone, now).await?;
        Ok(gone.len() as u64)
    }

    /// A watch said these objects were deleted.
    pub async fn mark_kube_deleted(
        &mut self,
        cluster: i64,
        kind: Kind,
        uids: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let table = table_of(kind);
        // Nodes are hosts, keyed by name (their uid is not kept).
        let key = if kind == Kind::Node { "name" } else { "uid" };
        for chunk in uids.chunks(IDS_PER_LIST) {
            let gone: Vec<i64> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(format!("UPDATE {table} SET gone_at = "));
                q.push_bind(now)
                    .push(" WHERE cluster_id = ")
                    .push_bind(cluster);
                if kind.is_workload() || kind.is_fact() {
                    q.push(" AND kind = ").push_bind(kind.name());
                } else if kind == Kind::Node {
                    q.push(" AND kind = 'node'");
                }
                q.push(format!(" AND gone_at IS NULL AND {key} IN "));
                push_list(&mut q, chunk.iter().map(String::as_str));
                q.push(" RETURNING id");
                q.build_query_scalar().fetch_all(&mut **t).await
            })?;
            self.resolve_gone(kind, &gone, now).await?;
        }
        Ok(())
    }

    /// Findings of subjects that went away are resolved.
    async fn resolve_gone(&mut self, kind: Kind, ids: &[i64], now: i64) -> StoreResult<()> {
        let subject = match kind {
            Kind::Pod => SubjectKind::Pod,
            Kind::Namespace => SubjectKind::Namespace,
            k if k.is_workload() => SubjectKind::Workload,
            _ => return Ok(()),
        };
        let none: Vec<(i64, &[KubeFinding])> = ids.iter().map(|id| (*id, &[][..])).collect();
        self.reconcile_kube_findings(subject, Family::All, &none, now)
            .await
    }
}

/// What the cluster-wide checks (network isolation, RBAC) read of a cluster, and the
/// network postures stored for its namespaces (so that only changed ones are written).
pub struct ClusterState {
    pub network: network::Inputs,
    pub rbac: rbac::Inputs,
    pub stored: HashMap<i64, Option<String>>,
    /// The cluster's network layer as stored.
    pub cluster_network: Option<String>,
}

/// What the cluster-wide checks decided.
pub struct ClusterVerdict {
    pub cluster_network: coastguard_model::kube::ClusterNetwork,
    pub postures: Vec<(i64, coastguard_model::kube::NetworkPosture)>,
    /// Network and RBAC findings by subject.
    pub findings: Vec<(SubjectKind, i64, Vec<KubeFinding>)>,
}

/// Facts this version cannot read (written by another version) are skipped, not guessed.
fn facts_of<T: serde::de::DeserializeOwned>(json: &str) -> Option<T> {
    serde_json::from_str(json).ok()
}

impl Store {
    /// A cluster's live namespaces, pods (labels, service account), and the facts of its
    /// NetworkPolicies, Services, Ingresses, service accounts, roles and bindings.
    pub async fn cluster_state(&self, cluster: i64) -> StoreResult<ClusterState> {
        let (extensions, cluster_network): (Option<String>, Option<String>) =
            with_db!(&self.db, |pool| {
                sqlx::query_as("SELECT extensions, network FROM clusters WHERE id = $1")
                    .bind(cluster)
                    .fetch_optional(pool)
                    .await
            })?
            .ok_or(StoreError::NotFound)?;
        type NamespaceRow = (i64, String, Option<String>, Option<String>);
        let namespaces: Vec<NamespaceRow> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT id, name, network, labels FROM namespaces WHERE cluster_id = $1 AND gone_at IS NULL",
            )
            .bind(cluster)
            .fetch_all(pool)
            .await
        })?;
        type PodRow = (i64, String, Option<String>, Option<String>, Option<bool>);
        let pods: Vec<PodRow> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT id, namespace, labels, service_account, automount_token FROM pods \
                 WHERE cluster_id = $1 AND gone_at IS NULL",
            )
            .bind(cluster)
            .fetch_all(pool)
            .await
        })?;
        let facts: Vec<(String, String, String, String)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT kind, namespace, name, facts FROM kube_facts WHERE cluster_id = $1 AND gone_at IS NULL",
            )
            .bind(cluster)
            .fetch_all(pool)
            .await
        })?;
        let mut net = network::Inputs {
            extensions: extensions.and_then(|e| facts_of(&e)).unwrap_or_default(),
            ..network::Inputs::default()
        };
        let mut rb = rbac::Inputs {
            cluster,
            ..rbac::Inputs::default()
        };
        let mut stored = HashMap::new();
        for (id, name, posture, labels) in namespaces {
            if let Some(labels) = labels.and_then(|l| facts_of(&l)) {
                net.namespace_labels.insert(name.clone(), labels);
            }
            net.namespaces.push((id, name.clone()));
            rb.namespaces.push((id, name));
            stored.insert(id, posture);
        }
        for (id, namespace, labels, account, automount) in pods {
            let account = account.unwrap_or_else(|| "default".to_string());
            net.pods.push(network::PodLabels {
                id,
                namespace: namespace.clone(),
                labels: labels.and_then(|l| facts_of(&l)).unwrap_or_default(),
                account: account.clone(),
            });
            rb.pods.push(rbac::PodAccount {
                id,
                namespace,
                account,
                automount,
            });
        }
        for (kind, namespace, name, json) in facts {
            let named = |facts| rbac::Named {
                namespace: namespace.clone(),
                name: name.clone(),
                facts,
            };
            match kind.as_str() {
                "NetworkPolicy" => net
                    .policies
                    .extend(facts_of(&json).map(|f| network::Named::new(&namespace, &name, f))),
                "Service" => net
                    .services
                    .extend(facts_of(&json).map(|f| network::Named::new(&namespace, &name, f))),
                "Ingress" => net
                    .ingresses
                    .extend(facts_of(&json).map(|f| network::Named::new(&namespace, &name, f))),
                "CalicoNetworkPolicy" => net
                    .calico_policies
                    .extend(facts_of(&json).map(|f| network::Named::new(&namespace, &name, f))),
                "GlobalNetworkPolicy" => net
                    .global_policies
                    .extend(facts_of(&json).map(|f| network::Named::new("", &name, f))),
                "FelixConfiguration" => net
                    .felix
                    .extend(facts_of(&json).map(|f| network::Named::new("", &name, f))),
                "PeerAuthentication" => net
                    .peer_auths
                    .extend(facts_of(&json).map(|f| network::Named::new(&namespace, &name, f))),
                "ServiceAccount" => rb.accounts.extend(facts_of(&json).map(|f| rbac::Named {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    facts: f,
                })),
                "Role" => rb.roles.extend(facts_of(&json).map(named)),
                "ClusterRole" => rb.cluster_roles.extend(facts_of(&json).map(named)),
                "RoleBinding" => rb.bindings.extend(facts_of(&json).map(|f| rbac::Named {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    facts: f,
                })),
                "ClusterRoleBinding" => {
                    rb.cluster_bindings
                        .extend(facts_of(&json).map(|f| rbac::Named {
                            namespace: namespace.clone(),
                            name: name.clone(),
                            facts: f,
                        }))
                }
                _ => {}
            }
        }
        Ok(ClusterState {
            network: net,
            rbac: rb,
            stored,
            cluster_network,
        })
    }
}

impl Write {
    /// Stores what the cluster-wide checks decided: changed namespace postures, and the
    /// network and RBAC findings of the cluster, its namespaces and pods. The findings'
    /// scope is the whole cluster, so that a finding of a subject that went away while
    /// the pass ran is resolved by the next pass (which a subject going away asks for).
    pub async fn apply_cluster_checks(
        &mut self,
        cluster: i64,
        verdict: &ClusterVerdict,
        current: &ClusterState,
        now: i64,
    ) -> StoreResult<()> {
        let stored = &current.stored;
        let layer = serde_json::to_string(&verdict.cluster_network).unwrap_or_default();
        if current.cluster_network.as_deref() != Some(layer.as_str()) {
            with_tx!(&mut self.tx, |t| sqlx::query(
                "UPDATE clusters SET network = $2 WHERE id = $1"
            )
            .bind(cluster)
            .bind(&layer)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        }
        for (id, posture) in &verdict.postures {
            let json = serde_json::to_string(posture).unwrap_or_default();
            if stored.get(id).and_then(|s| s.as_deref()) == Some(json.as_str()) {
                continue;
            }
            with_tx!(&mut self.tx, |t| sqlx::query(
                "UPDATE namespaces SET network = $2 WHERE id = $1"
            )
            .bind(*id)
            .bind(&json)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        }
        let checks = format!(
            "(cf.check_id LIKE '{}%' OR cf.check_id LIKE '{}%')",
            network::PREFIX,
            rbac::PREFIX
        );
        let mut parts: Vec<(String, Vec<Arg>)> = [("namespace", "namespaces"), ("pod", "pods")]
            .into_iter()
            .map(|(kind, table)| {
                (
                    format!(
                        "cf.subject_kind = '{kind}' AND {checks} \
                         AND cf.subject_id IN (SELECT id FROM {table} WHERE cluster_id = $1)"
                    ),
                    vec![Arg::Int(cluster)],
                )
            })
            .collect();
        parts.push((
            format!("cf.subject_kind = 'cluster' AND {checks} AND cf.subject_id = $1"),
            vec![Arg::Int(cluster)],
        ));
        let found = verdict
            .findings
            .iter()
            .flat_map(|(kind, id, found)| found.iter().map(move |f| (*kind, *id, f)))
            .map(|(kind, id, f)| keyed(kind, id, f))
            .collect();
        self.reconcile_config_findings(&Scope { parts }, found, Extent::Complete, now)
            .await?;
        Ok(())
    }
}

/// The records of one kind among `records`.
fn pick<'a, T>(records: &'a [Record], of: impl Fn(&'a Record) -> Option<&'a T>) -> Vec<&'a T> {
    records.iter().filter_map(of).collect()
}

fn table_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Namespace => "namespaces",
        Kind::Node => "hosts",
        Kind::Pod => "pods",
        k if k.is_fact() => "kube_facts",
        _ => "workloads",
    }
}

/// Which Kubernetes findings a reconcile covers: what an object says of itself (Pod
/// Security, hygiene: stored with the object; the network pass keeps its own), or every
/// one (a subject gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Object,
    All,
}

fn kube_scope(kind: SubjectKind, family: Family, ids: impl Iterator<Item = i64>) -> Scope {
    let mut args = vec![Arg::Text(kind.as_str().to_string())];
    let mut list = Vec::new();
    for id in ids {
        args.push(Arg::Int(id));
        list.push(format!("${}", args.len()));
    }
    let network = format!("'{}%'", network::PREFIX);
    let checks = match family {
        Family::Object => {
            format!("cf.check_id LIKE '{PREFIX}%' AND cf.check_id NOT LIKE {network}")
        }
        Family::All => format!("cf.check_id LIKE '{PREFIX}%'"),
    };
    Scope {
        parts: vec![(
            format!(
                "cf.subject_kind = $1 AND {checks} AND cf.subject_id IN ({})",
                list.join(", ")
            ),
            args,
        )],
    }
}

/// A Kubernetes finding of one subject, as the findings reconcile takes it.
fn keyed(subject_kind: SubjectKind, subject_id: i64, f: &KubeFinding) -> (Key, Content) {
    (
        Key {
            check_id: f.check_id.clone(),
            subject_kind,
            subject_id,
            instance: f.instance.clone(),
        },
        f.content.clone(),
    )
}
