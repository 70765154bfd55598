//! Read models for the Kubernetes pages and API: clusters, namespaces, workloads and
//! pods, filtered, sorted and paged in SQL, with open findings counted per row. A pod's
//! workload is its top owner (a ReplicaSet's Deployment, a Job's CronJob), resolved by
//! joining the owners' rows, so it is right whatever order the collector stored them in.

use crate::store::listing::{self, like, Counts, Sort, FINDINGS_RANK, SEVERITY_COLUMNS};
use crate::store::query::{bind_all, Arg, Filter};
use crate::store::{Store, StoreError, StoreResult};
use crate::with_db;
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{
    level_name, level_rank, ClusterNetwork, ClusterSummary, KubeQuery, NamespaceDetail,
    NamespaceSummary, PodContainer, PodSummary, PssMode, WorkloadSummary,
};
use coastguard_model::signatures::SignatureStatus;
use serde_json::Value;

pub const NAMESPACE_SORTS: &[Sort] = &[
    ("name", "n.name", "asc"),
    ("pods", POD_COUNT, "desc"),
    ("level", PASSING_RANK, "asc"),
    ("findings", FINDINGS_RANK, "desc"),
];

pub const WORKLOAD_SORTS: &[Sort] = &[
    ("name", "w.name", "asc"),
    ("namespace", "w.namespace", "asc"),
    ("kind", "w.kind", "asc"),
    ("level", "w.pss_rank", "asc"),
    ("findings", FINDINGS_RANK, "desc"),
];

pub const POD_SORTS: &[Sort] = &[
    ("name", "p.name", "asc"),
    ("namespace", "p.namespace", "asc"),
    ("level", "p.pss_rank", "asc"),
    ("findings", FINDINGS_RANK, "desc"),
];

/// Open findings per subject of one kind, as `f` with severity columns: the counts the
/// database keeps per subject (`open_config_counts`, maintained by triggers), so a page
/// sorted by findings reads one row per subject, not every finding.
fn findings_join(kind: &str, alias: &str) -> String {
    format!(
        "LEFT JOIN open_config_counts f ON f.subject_kind = '{kind}' AND f.subject_id = {alias}.id"
    )
}

/// The severity sums of `open_config_counts` rows `x` (as BIGINT: Postgres sums a
/// BIGINT to NUMERIC).
const COUNT_SUMS: &str =
    "CAST(SUM(x.critical) AS BIGINT) AS critical, CAST(SUM(x.high) AS BIGINT) AS high, \
     CAST(SUM(x.medium) AS BIGINT) AS medium, CAST(SUM(x.low) AS BIGINT) AS low, \
     CAST(SUM(x.negligible) AS BIGINT) AS negligible, CAST(SUM(x.unknown) AS BIGINT) AS unknown";
const COUNT_COLUMNS: &str = "c.critical, c.high, c.medium, c.low, c.negligible, c.unknown";

/// A page of a list in two steps: the ids of the page (filtered, sorted, limited), then
/// the page's rows with what is counted for them. Only a sort by findings counts them
/// for every row; every other sort reads the table and its indexes.
fn paged(ids: &str, order: &str, per_page: i64, page: i64, select: &str, alias: &str) -> String {
    format!(
        "WITH page AS ({ids} {order} LIMIT {per_page} OFFSET {}) \
         {select} WHERE {alias}.id IN (SELECT id FROM page) {order}",
        (page - 1) * per_page
    )
}

/// What differs between the pod-shaped lists.
struct PodShaped {
    table: &'static str,
    alias: &'static str,
    /// The findings' subject kind.
    subject: &'static str,
    sorts: &'static [Sort],
    select: fn() -> String,
}

const WORKLOADS: PodShaped = PodShaped {
    table: "workloads",
    alias: "w",
    subject: "workload",
    sorts: WORKLOAD_SORTS,
    select: workload_select,
};

const PODS: PodShaped = PodShaped {
    table: "pods",
    alias: "p",
    subject: "pod",
    sorts: POD_SORTS,
    select: pod_select,
};

/// The common filters of the lists on a table aliased `t`.
fn filters(q: &KubeQuery, t: &str, gone: bool) -> Result<Filter, StoreError> {
    let mut f = Filter::default();
    if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = f.param(Arg::Text(like(text)));
        f.push(format!("LOWER({t}.name) LIKE {p} ESCAPE '\\'"));
    }
    if let Some(cluster) = q.cluster {
        let p = f.param(Arg::Int(cluster));
        f.push(format!("{t}.cluster_id = {p}"));
    }
    if gone && !q.include_gone.unwrap_or(false) {
        f.push(format!("{t}.gone_at IS NULL"));
    }
    Ok(f)
}

fn level_filter(q: &KubeQuery) -> Result<Option<i64>, StoreError> {
    q.level
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|l| {
            level_rank(l).ok_or_else(|| {
                StoreError::Invalid(
                    "level",
                    "level must be privileged, baseline or restricted".into(),
                )
            })
        })
        .transpose()
}

#[derive(sqlx::FromRow)]
struct ClusterRow {
    id: i64,
    name: String,
    api_url: Option<String>,
    source: Option<String>,
    context: Option<String>,
    status: String,
    last_error: Option<String>,
    version: Option<String>,
    last_sync_at: Option<i64>,
    nodes: i64,
    namespaces: i64,
    workloads: i64,
    pods: i64,
    pods_privileged: i64,
    pods_baseline: i64,
    pods_restricted: i64,
    network: Option<String>,
    #[sqlx(flatten)]
    counts: Counts,
}

impl From<ClusterRow> for ClusterSummary {
    fn from(r: ClusterRow) -> Self {
        ClusterSummary {
            open_findings: (&r.counts).into(),
            id: r.id,
            name: r.name,
            api_url: r.api_url,
            source: r.source,
            context: r.context,
            status: r.status,
            last_error: r.last_error,
            version: r.version,
            last_sync_at: r.last_sync_at,
            nodes: r.nodes,
            namespaces: r.namespaces,
            workloads: r.workloads,
            pods: r.pods,
            pods_privileged: r.pods_privileged,
            pods_baseline: r.pods_baseline,
            pods_restricted: r.pods_restricted,
            network: r
                .network
                .and_then(|n| serde_json::from_str::<ClusterNetwork>(&n).ok()),
        }
    }
}

fn cluster_sql(filter: &str) -> String {
    format!(
        "SELECT k.id, k.name, k.api_url, k.source, k.context, k.status, k.last_error, k.version, k.last_sync_at, k.network, \
         (SELECT COUNT(*) FROM hosts h WHERE h.cluster_id = k.id AND h.kind = 'node' AND h.gone_at IS NULL) AS nodes, \
         (SELECT COUNT(*) FROM namespaces n WHERE n.cluster_id = k.id AND n.gone_at IS NULL) AS namespaces, \
         (SELECT COUNT(*) FROM workloads w WHERE w.cluster_id = k.id AND w.gone_at IS NULL AND w.owner_kind IS NULL) AS workloads, \
         COALESCE(pc.pods, 0) AS pods, COALESCE(pc.r0, 0) AS pods_privileged, COALESCE(pc.r1, 0) AS pods_baseline, \
         COALESCE(pc.r2, 0) AS pods_restricted, {SEVERITY_COLUMNS} \
         FROM clusters k \
         LEFT JOIN (SELECT p.cluster_id, COUNT(*) AS pods, SUM(CASE WHEN p.pss_rank = 0 THEN 1 ELSE 0 END) AS r0, \
                    SUM(CASE WHEN p.pss_rank = 1 THEN 1 ELSE 0 END) AS r1, SUM(CASE WHEN p.pss_rank = 2 THEN 1 ELSE 0 END) AS r2 \
                    FROM pods p WHERE p.gone_at IS NULL GROUP BY p.cluster_id) pc ON pc.cluster_id = k.id \
         LEFT JOIN (SELECT x.cluster_id, {COUNT_SUMS} FROM ( \
             SELECT p.cluster_id, {COUNT_COLUMNS} FROM open_config_counts c JOIN pods p ON c.subject_kind = 'pod' AND c.subject_id = p.id \
               WHERE p.gone_at IS NULL \
             UNION ALL \
             SELECT w.cluster_id, {COUNT_COLUMNS} FROM open_config_counts c JOIN workloads w ON c.subject_kind = 'workload' AND c.subject_id = w.id \
               WHERE w.gone_at IS NULL \
             UNION ALL \
             SELECT ns.cluster_id, {COUNT_COLUMNS} FROM open_config_counts c JOIN namespaces ns ON c.subject_kind = 'namespace' AND c.subject_id = ns.id \
               WHERE ns.gone_at IS NULL) x GROUP BY x.cluster_id) f ON f.cluster_id = k.id \
         {filter} ORDER BY k.name"
    )
}

#[derive(sqlx::FromRow)]
struct NamespaceRow {
    id: i64,
    cluster_id: i64,
    cluster_name: String,
    name: String,
    pss_policy: Option<String>,
    passing_rank: Option<i64>,
    pods: i64,
    pods_violating_enforce: i64,
    workloads: i64,
    gone_at: Option<i64>,
    labels: Option<String>,
    network: Option<String>,
    #[sqlx(flatten)]
    counts: Counts,
}

fn mode(policy: &Value, key: &str) -> PssMode {
    PssMode {
        level: policy[key]["level"]
            .as_str()
            .unwrap_or("privileged")
            .to_string(),
        version: policy[key]["version"]
            .as_str()
            .unwrap_or("latest")
            .to_string(),
    }
}

impl NamespaceRow {
    fn summary(self) -> (NamespaceSummary, std::collections::BTreeMap<String, String>) {
        let policy: Value = self
            .pss_policy
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        let label_errors = policy["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{}={:?}: {}",
                    e["label"].as_str().unwrap_or(""),
                    e["value"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let labels = self
            .labels
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_default();
        (
            NamespaceSummary {
                open_findings: (&self.counts).into(),
                id: self.id,
                cluster_id: self.cluster_id,
                cluster_name: self.cluster_name,
                name: self.name,
                enforce: mode(&policy, "enforce"),
                audit: mode(&policy, "audit"),
                warn: mode(&policy, "warn"),
                label_errors,
                passing_level: self.passing_rank.map(|r| level_name(r).to_string()),
                pods: self.pods,
                pods_violating_enforce: self.pods_violating_enforce,
                workloads: self.workloads,
                gone_at: self.gone_at,
            },
            labels,
        )
    }
}

const ENFORCE_RANK: &str =
    "(CASE n.pss_enforce WHEN 'restricted' THEN 2 WHEN 'baseline' THEN 1 ELSE 0 END)";

const PASSING_RANK: &str = "(SELECT MIN(p.pss_rank) FROM pods p WHERE p.cluster_id = n.cluster_id \
     AND p.namespace = n.name AND p.gone_at IS NULL)";
const POD_COUNT: &str = "(SELECT COUNT(*) FROM pods p WHERE p.cluster_id = n.cluster_id \
     AND p.namespace = n.name AND p.gone_at IS NULL)";

/// Open findings per namespace (its own, its pods' and its workloads'), as `f`; with `page`, only for
/// the namespaces of the page.
fn namespace_findings(page: bool) -> String {
    let (only_p, only_w, only_n) = if page {
        (
            "AND (p.cluster_id, p.namespace) IN (SELECT pn.cluster_id, pn.name FROM namespaces pn WHERE pn.id IN (SELECT id FROM page))",
            "AND (w.cluster_id, w.namespace) IN (SELECT wn.cluster_id, wn.name FROM namespaces wn WHERE wn.id IN (SELECT id FROM page))",
            "AND ns.id IN (SELECT id FROM page)",
        )
    } else {
        ("", "", "")
    };
    format!(
        "LEFT JOIN (SELECT x.cluster_id, x.namespace, {COUNT_SUMS} FROM ( \
             SELECT p.cluster_id, p.namespace, {COUNT_COLUMNS} FROM open_config_counts c JOIN pods p ON c.subject_kind = 'pod' AND c.subject_id = p.id \
               WHERE p.gone_at IS NULL {only_p} \
             UNION ALL \
             SELECT w.cluster_id, w.namespace, {COUNT_COLUMNS} FROM open_config_counts c JOIN workloads w ON c.subject_kind = 'workload' AND c.subject_id = w.id \
               WHERE w.gone_at IS NULL {only_w} \
             UNION ALL \
             SELECT ns.cluster_id, ns.name, {COUNT_COLUMNS} FROM open_config_counts c JOIN namespaces ns ON c.subject_kind = 'namespace' AND c.subject_id = ns.id \
               WHERE TRUE {only_n}) x GROUP BY x.cluster_id, x.namespace) f \
           ON f.cluster_id = n.cluster_id AND f.namespace = n.name"
    )
}

fn namespace_select(page: bool) -> String {
    format!(
        "SELECT n.id, n.cluster_id, k.name AS cluster_name, n.name, n.pss_policy, n.gone_at, n.labels, n.network, \
         {PASSING_RANK} AS passing_rank, {POD_COUNT} AS pods, \
         (SELECT COUNT(*) FROM pods p WHERE p.cluster_id = n.cluster_id AND p.namespace = n.name AND p.gone_at IS NULL \
            AND p.pss_rank < {ENFORCE_RANK}) AS pods_violating_enforce, \
         (SELECT COUNT(*) FROM workloads w WHERE w.cluster_id = n.cluster_id AND w.namespace = n.name AND w.gone_at IS NULL \
            AND w.owner_kind IS NULL) AS workloads, {SEVERITY_COLUMNS} \
         FROM namespaces n JOIN clusters k ON k.id = n.cluster_id {}",
        namespace_findings(page)
    )
}

#[derive(sqlx::FromRow)]
struct WorkloadRow {
    id: i64,
    cluster_id: i64,
    cluster_name: String,
    namespace: String,
    namespace_id: Option<i64>,
    kind: String,
    name: String,
    replicas: Option<i64>,
    pss_rank: Option<i64>,
    pods: i64,
    gone_at: Option<i64>,
    #[sqlx(flatten)]
    counts: Counts,
}

impl From<WorkloadRow> for WorkloadSummary {
    fn from(r: WorkloadRow) -> Self {
        WorkloadSummary {
            open_findings: (&r.counts).into(),
            id: r.id,
            cluster_id: r.cluster_id,
            cluster_name: r.cluster_name,
            namespace: r.namespace,
            namespace_id: r.namespace_id,
            kind: r.kind,
            name: r.name,
            replicas: r.replicas,
            pss_level: r.pss_rank.map(|r| level_name(r).to_string()),
            pods: r.pods,
            gone_at: r.gone_at,
        }
    }
}

fn workload_select() -> String {
    format!(
        "SELECT w.id, w.cluster_id, k.name AS cluster_name, w.namespace, n.id AS namespace_id, w.kind, w.name, \
         w.replicas, w.pss_rank, w.gone_at, \
         (SELECT COUNT(*) FROM pods p WHERE p.cluster_id = w.cluster_id AND p.namespace = w.namespace AND p.gone_at IS NULL \
            AND ((p.owner_kind = w.kind AND p.owner_name = w.name) OR EXISTS (SELECT 1 FROM workloads o \
              WHERE o.cluster_id = w.cluster_id AND o.namespace = w.namespace AND o.kind = p.owner_kind \
              AND o.name = p.owner_name AND o.owner_kind = w.kind AND o.owner_name = w.name))) AS pods, {SEVERITY_COLUMNS} \
         FROM workloads w JOIN clusters k ON k.id = w.cluster_id \
         LEFT JOIN namespaces n ON n.cluster_id = w.cluster_id AND n.name = w.namespace {} ",
        findings_join("workload", "w")
    )
}

#[derive(sqlx::FromRow)]
struct PodRow {
    id: i64,
    cluster_id: i64,
    cluster_name: String,
    namespace: String,
    namespace_id: Option<i64>,
    name: String,
    phase: Option<String>,
    node_name: Option<String>,
    node_id: Option<i64>,
    owner_kind: Option<String>,
    owner_name: Option<String>,
    w1_id: Option<i64>,
    w2_id: Option<i64>,
    w2_kind: Option<String>,
    w2_name: Option<String>,
    pss_rank: Option<i64>,
    gone_at: Option<i64>,
    #[sqlx(flatten)]
    counts: Counts,
}

impl From<PodRow> for PodSummary {
    fn from(r: PodRow) -> Self {
        // The top owner: the owner's owner when stored, else the owner itself.
        let (workload_kind, workload_name, workload_id) = match (r.w2_id, r.w2_kind, r.w2_name) {
            (Some(id), kind, name) => (kind, name, Some(id)),
            _ => (r.owner_kind, r.owner_name, r.w1_id),
        };
        PodSummary {
            open_findings: (&r.counts).into(),
            id: r.id,
            cluster_id: r.cluster_id,
            cluster_name: r.cluster_name,
            namespace: r.namespace,
            namespace_id: r.namespace_id,
            name: r.name,
            phase: r.phase,
            node: r.node_name,
            node_id: r.node_id,
            workload_kind,
            workload_name,
            workload_id,
            pss_level: r.pss_rank.map(|r| level_name(r).to_string()),
            gone_at: r.gone_at,
        }
    }
}

fn pod_select() -> String {
    format!(
        "SELECT p.id, p.cluster_id, k.name AS cluster_name, p.namespace, n.id AS namespace_id, p.name, p.phase, \
         p.node_name, h.id AS node_id, p.owner_kind, p.owner_name, w1.id AS w1_id, w2.id AS w2_id, w2.kind AS w2_kind, \
         w2.name AS w2_name, p.pss_rank, p.gone_at, {SEVERITY_COLUMNS} \
         FROM pods p JOIN clusters k ON k.id = p.cluster_id \
         LEFT JOIN namespaces n ON n.cluster_id = p.cluster_id AND n.name = p.namespace \
         LEFT JOIN workloads w1 ON w1.cluster_id = p.cluster_id AND w1.namespace = p.namespace \
           AND w1.kind = p.owner_kind AND w1.name = p.owner_name \
         LEFT JOIN workloads w2 ON w2.cluster_id = w1.cluster_id AND w2.namespace = w1.namespace \
           AND w2.kind = w1.owner_kind AND w2.name = w1.owner_name \
         LEFT JOIN hosts h ON h.kind = 'node' AND h.cluster_id = p.cluster_id AND h.name = p.node_name {} ",
        findings_join("pod", "p")
    )
}

impl Store {
    pub async fn list_clusters(&self) -> StoreResult<Vec<ClusterSummary>> {
        let sql = cluster_sql("");
        let rows: Vec<ClusterRow> =
            with_db!(&self.db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn cluster_summary(&self, id: i64) -> StoreResult<ClusterSummary> {
        let sql = cluster_sql("WHERE k.id = $1");
        let row: Option<ClusterRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn list_namespaces(&self, q: &KubeQuery) -> StoreResult<Listing<NamespaceSummary>> {
        let (page, per_page) = listing::paging(q.page, q.per_page)?;
        let mut f = filters(q, "n", true)?;
        if let Some(rank) = level_filter(q)? {
            let p = f.param(Arg::Int(rank));
            f.push(format!("{PASSING_RANK} = {p}"));
        }
        let order =
            listing::order_by(q.sort.as_deref(), q.dir.as_deref(), NAMESPACE_SORTS, "n.id")?;
        let by_findings = q.sort.as_deref() == Some("findings");
        let ids = format!(
            "SELECT n.id FROM namespaces n {} {}",
            if by_findings {
                namespace_findings(false)
            } else {
                String::new()
            },
            f.sql()
        );
        let sql = paged(&ids, &order, per_page, page, &namespace_select(true), "n");
        let count = format!("SELECT COUNT(*) FROM namespaces n {}", f.sql());
        let (total, rows) = self.page::<NamespaceRow>(&count, &sql, &f).await?;
        Ok(Listing {
            items: rows.into_iter().map(|r| r.summary().0).collect(),
            total,
            page,
            per_page,
        })
    }

    /// A namespace with its labels and network posture (its findings are the caller's).
    pub async fn namespace_detail(&self, id: i64) -> StoreResult<NamespaceDetail> {
        let sql = format!("{} WHERE n.id = $1", namespace_select(false));
        let row: Option<NamespaceRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        let network = row
            .network
            .as_deref()
            .and_then(|n| serde_json::from_str(n).ok());
        let (namespace, labels) = row.summary();
        Ok(NamespaceDetail {
            namespace,
            labels,
            network,
            findings: Vec::new(),
        })
    }

    pub async fn list_workloads(&self, q: &KubeQuery) -> StoreResult<Listing<WorkloadSummary>> {
        let mut f = filters(q, "w", true)?;
        match q.kind.as_deref().filter(|k| !k.is_empty()) {
            Some(kind) => {
                let p = f.param(Arg::Text(kind.to_string()));
                f.push(format!("w.kind = {p}"));
            }
            // ReplicaSets and Jobs with an owner are parts of it, listed only by kind.
            None => f.push("w.owner_kind IS NULL".into()),
        }
        self.pod_shaped::<WorkloadRow, _>(&WORKLOADS, q, f).await
    }

    pub async fn workload_summary(&self, id: i64) -> StoreResult<WorkloadSummary> {
        let sql = format!("{} WHERE w.id = $1", workload_select());
        let row: Option<WorkloadRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn list_pods(&self, q: &KubeQuery) -> StoreResult<Listing<PodSummary>> {
        let f = filters(q, "p", true)?;
        self.pod_shaped::<PodRow, _>(&PODS, q, f).await
    }

    /// A list of pods or workloads (a namespace and a Pod Security rank each) with the
    /// filters `f` and the query's namespace, level, sort and page.
    async fn pod_shaped<R, T>(
        &self,
        of: &PodShaped,
        q: &KubeQuery,
        mut f: Filter,
    ) -> StoreResult<Listing<T>>
    where
        R: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
        T: From<R>,
    {
        let (page, per_page) = listing::paging(q.page, q.per_page)?;
        let t = of.alias;
        if let Some(ns) = q.namespace.as_deref().filter(|n| !n.is_empty()) {
            let p = f.param(Arg::Text(ns.to_string()));
            f.push(format!("{t}.namespace = {p}"));
        }
        if let Some(rank) = level_filter(q)? {
            let p = f.param(Arg::Int(rank));
            f.push(format!("{t}.pss_rank = {p}"));
        }
        let order = listing::order_by(
            q.sort.as_deref(),
            q.dir.as_deref(),
            of.sorts,
            &format!("{t}.id"),
        )?;
        let by_findings = q.sort.as_deref() == Some("findings");
        let ids = format!(
            "SELECT {t}.id FROM {} {t} {} {}",
            of.table,
            if by_findings {
                findings_join(of.subject, t)
            } else {
                String::new()
            },
            f.sql()
        );
        let sql = paged(&ids, &order, per_page, page, &(of.select)(), t);
        let count = format!("SELECT COUNT(*) FROM {} {t} {}", of.table, f.sql());
        let (total, rows) = self.page::<R>(&count, &sql, &f).await?;
        Ok(Listing {
            items: rows.into_iter().map(Into::into).collect(),
            total,
            page,
            per_page,
        })
    }

    pub async fn pod_summary(&self, id: i64) -> StoreResult<PodSummary> {
        let sql = format!("{} WHERE p.id = $1", pod_select());
        let row: Option<PodRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn pod_containers(&self, pod: i64) -> StoreResult<Vec<PodContainer>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            kind: String,
            name: String,
            image_ref: String,
            image_digest: Option<String>,
            image_id: Option<i64>,
            ready: Option<bool>,
            restart_count: i64,
            signature: Option<String>,
        }
        let rows: Vec<Row> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT kind, name, image_ref, image_digest, image_id, ready, restart_count, \
               (SELECT sc.status FROM signature_checks sc WHERE sc.image_id = pod_containers.image_id \
                ORDER BY sc.checked_at DESC LIMIT 1) AS signature FROM pod_containers \
             WHERE pod_id = $1 ORDER BY CASE kind WHEN 'init' THEN 0 WHEN 'container' THEN 1 ELSE 2 END, name"
        )
        .bind(pod)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| PodContainer {
                kind: r.kind,
                name: r.name,
                image_ref: r.image_ref,
                image_digest: r.image_digest,
                image_id: r.image_id,
                ready: r.ready,
                restart_count: r.restart_count,
                signature: r.signature.as_deref().map(SignatureStatus::parse),
            })
            .collect())
    }

    async fn page<R>(&self, count: &str, sql: &str, f: &Filter) -> StoreResult<(i64, Vec<R>)>
    where
        R: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        Ok(with_db!(&self.db, |pool| {
            let total: i64 = bind_all!(sqlx::query_scalar(count), &f.args)
                .fetch_one(pool)
                .await?;
            let rows: Vec<R> = bind_all!(sqlx::query_as(sql), &f.args)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?)
    }
}
