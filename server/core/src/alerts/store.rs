//! Alert groups and events in SQL: a batch matched to the inventory and folded into
//! groups in the caller's transaction; groups listed with filters and cursor paging.

use super::triage::{Change, Current};
use super::{Event, LIVE};
use crate::store::query::{bind_all, Arg};
use crate::store::query::{push_list, IDS_PER_LIST};
use crate::store::{Store, StoreResult, Write, EXCEPTION_ACTIVE};
use crate::{with_db, with_tx};
use coastguard_model::alerts::{AlertActivity, AlertDetail, AlertEvent, AlertGroup, AlertState};
use coastguard_model::Severity;
use std::collections::HashMap;

/// Events inserted per statement.
const EVENTS_PER_INSERT: usize = 500;

/// What an event was matched to in the inventory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matched {
    pub host_id: Option<i64>,
    pub container_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub workload_id: Option<i64>,
    pub image_id: Option<i64>,
}

/// What an event names, as it names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Names {
    pub hostname: Option<String>,
    pub container_ref: Option<String>,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub image_digest: Option<String>,
}

impl Names {
    fn of(e: &Event) -> Names {
        let a = &e.alert;
        Names {
            hostname: a.hostname.clone(),
            container_ref: a.container_id.as_deref().and_then(container_ref),
            namespace: a.namespace.clone(),
            pod: a.pod.clone(),
            image_digest: a.image_digest.clone(),
        }
    }
}

/// A container id as events name it (12 to 64 hex characters, lowercase), or none.
pub fn container_ref(id: &str) -> Option<String> {
    let id = id.trim().to_ascii_lowercase();
    let id = id
        .strip_prefix("docker://")
        .or_else(|| id.strip_prefix("containerd://"))
        .unwrap_or(&id);
    (id.len() >= 12 && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| id.to_string())
}

/// The subject a group folds events by: the pod's workload (or the pod) when the
/// inventory knows it, else the container (by its short id), the pod by name, the host.
pub fn group_key(source: &str, rule: &str, n: &Names, m: &Matched) -> String {
    let subject = if let Some(w) = m.workload_id {
        format!("workload:{w}")
    } else if let Some(p) = m.pod_id {
        format!("pod:{p}")
    } else if let Some(c) = &n.container_ref {
        format!("container:{}", &c[..12])
    } else if let (Some(ns), Some(pod)) = (&n.namespace, &n.pod) {
        format!("pod:{ns}/{pod}")
    } else if let Some(h) = m.host_id {
        format!("host:{h}")
    } else if let Some(h) = &n.hostname {
        format!("hostname:{h}")
    } else {
        "-".into()
    };
    format!("{source}\u{1f}{rule}\u{1f}{subject}")
}

#[derive(sqlx::FromRow)]
struct ContainerRow {
    id: i64,
    host_id: Option<i64>,
    pod_id: Option<i64>,
    image_id: Option<i64>,
}

/// An open group its events' names did not match yet.
#[derive(sqlx::FromRow)]
struct Unlinked {
    id: i64,
    hostname: Option<String>,
    container_ref: Option<String>,
    namespace: Option<String>,
    pod: Option<String>,
    image_digest: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PodRow {
    id: i64,
    host_id: Option<i64>,
    workload_id: Option<i64>,
    node: Option<String>,
}

impl Write {
    /// Finds what `n` names in the inventory: the container by id (full or short), the
    /// pod by namespace and name (the one on `hostname` when several clusters have it),
    /// the host by name, the image by digest or through the container or pod.
    pub(crate) async fn match_names(&mut self, n: &Names) -> StoreResult<Matched> {
        let mut m = Matched::default();
        if let Some(r) = &n.container_ref {
            let upper = format!("{r}g");
            let row: Option<ContainerRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(
                "SELECT id, host_id, pod_id, image_id FROM containers \
                 WHERE external_id >= $1 AND external_id < $2 \
                 ORDER BY CASE WHEN gone_at IS NULL THEN 0 ELSE 1 END, last_seen_at DESC LIMIT 1"
            )
            .bind(r)
            .bind(&upper)
            .fetch_optional(&mut **t)
            .await)?;
            if let Some(c) = row {
                m.container_id = Some(c.id);
                m.host_id = c.host_id;
                m.pod_id = c.pod_id;
                m.image_id = c.image_id;
            }
        }
        if let (None, Some(ns), Some(name)) = (m.pod_id, &n.namespace, &n.pod) {
            let pods: Vec<PodRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(
                "SELECT p.id, p.host_id, p.workload_id, h.name AS node FROM pods p \
                 LEFT JOIN hosts h ON h.id = p.host_id WHERE p.namespace = $1 AND p.name = $2 \
                 ORDER BY CASE WHEN p.gone_at IS NULL THEN 0 ELSE 1 END, p.last_seen_at DESC"
            )
            .bind(ns)
            .bind(name)
            .fetch_all(&mut **t)
            .await)?;
            let pod = pods
                .iter()
                .find(|p| p.node.is_some() && p.node == n.hostname)
                .or(pods.first());
            if let Some(p) = pod {
                m.pod_id = Some(p.id);
                m.workload_id = p.workload_id;
                m.host_id = m.host_id.or(p.host_id);
            }
        }
        if let Some(pod) = m.pod_id {
            if m.workload_id.is_none() {
                let workload: Option<Option<i64>> = with_tx!(&mut self.tx, |t| {
                    sqlx::query_scalar("SELECT workload_id FROM pods WHERE id = $1")
                        .bind(pod)
                        .fetch_optional(&mut **t)
                        .await
                })?;
                m.workload_id = workload.flatten();
            }
            if m.image_id.is_none() {
                let images: Vec<i64> = with_tx!(&mut self.tx, |t| {
                    sqlx::query_scalar(
                    "SELECT DISTINCT image_id FROM pod_containers WHERE pod_id = $1 AND image_id IS NOT NULL"
                )
                .bind(pod)
                .fetch_all(&mut **t)
                .await
                })?;
                if let [one] = images.as_slice() {
                    m.image_id = Some(*one);
                }
            }
        }
        if let (None, Some(name)) = (m.host_id, &n.hostname) {
            let hosts: Vec<i64> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
                "SELECT id FROM hosts WHERE name = $1"
            )
            .bind(name)
            .fetch_all(&mut **t)
            .await)?;
            if let [one] = hosts.as_slice() {
                m.host_id = Some(*one);
            }
        }
        if let (None, Some(digest)) = (m.image_id, &n.image_digest) {
            m.image_id = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
                "SELECT image_id FROM image_digests WHERE digest = $1 LIMIT 1"
            )
            .bind(digest)
            .fetch_optional(&mut **t)
            .await)?;
        }
        Ok(m)
    }

    /// Stores a batch: each event matched (once per distinct set of names), folded into
    /// the open group of its rule and subject (made when there is none), and kept as an
    /// event. Returns each event's group.
    pub async fn store_alerts(&mut self, events: &[Event], now: i64) -> StoreResult<Vec<i64>> {
        let mut matches: HashMap<Names, Matched> = HashMap::new();
        let mut keys = Vec::with_capacity(events.len());
        for e in events {
            let names = Names::of(e);
            let m = match matches.get(&names) {
                Some(m) => *m,
                None => {
                    let m = self.match_names(&names).await?;
                    matches.insert(names.clone(), m);
                    m
                }
            };
            keys.push((
                group_key(&e.alert.source, &e.alert.rule, &names, &m),
                names,
                m,
            ));
        }
        // One upsert per group: the batch's events of a key are counted together.
        let mut order: Vec<&str> = Vec::new();
        let mut folded: HashMap<&str, (usize, i64, i64, usize)> = HashMap::new();
        for (i, (key, _, _)) in keys.iter().enumerate() {
            let at = events[i].at;
            let entry = folded.entry(key.as_str()).or_insert_with(|| {
                order.push(key.as_str());
                (0, at, at, i)
            });
            entry.0 += 1;
            entry.1 = entry.1.min(at);
            if at >= entry.2 {
                entry.2 = at;
                entry.3 = i;
            }
        }
        // Keys in one order in every batch: concurrent batches wait for each other's
        // groups instead of deadlocking (Postgres locks each upserted row).
        order.sort_unstable();
        let mut group_of: HashMap<&str, i64> = HashMap::new();
        // Groups this batch made: each is announced to the webhooks once (alert_notices).
        let mut made = Vec::new();
        for key in order {
            let (count, first, last, latest) = folded[key];
            let e = &events[latest];
            let (_, names, m) = &keys[latest];
            let fields = serde_json::to_string(&e.alert.fields).expect("fields serialize");
            let (id, total): (i64, i64) = with_tx!(&mut self.tx, |t| {
                sqlx::query_as(
                "INSERT INTO runtime_alerts (source, rule, severity, output, at, last_at, count, state, \
                   host_id, container_id, pod_id, workload_id, image_id, hostname, container_ref, namespace, pod, \
                   image_ref, image_digest, fields, dedup_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
                 ON CONFLICT (dedup_key) WHERE state IN ('new', 'acknowledged') DO UPDATE SET \
                   count = runtime_alerts.count + excluded.count, \
                   at = CASE WHEN excluded.at < runtime_alerts.at THEN excluded.at ELSE runtime_alerts.at END, \
                   output = CASE WHEN excluded.last_at >= runtime_alerts.last_at THEN excluded.output ELSE runtime_alerts.output END, \
                   fields = CASE WHEN excluded.last_at >= runtime_alerts.last_at THEN excluded.fields ELSE runtime_alerts.fields END, \
                   last_at = CASE WHEN excluded.last_at > runtime_alerts.last_at THEN excluded.last_at ELSE runtime_alerts.last_at END, \
                   host_id = COALESCE(runtime_alerts.host_id, excluded.host_id), \
                   container_id = COALESCE(runtime_alerts.container_id, excluded.container_id), \
                   pod_id = COALESCE(runtime_alerts.pod_id, excluded.pod_id), \
                   workload_id = COALESCE(runtime_alerts.workload_id, excluded.workload_id), \
                   image_id = COALESCE(runtime_alerts.image_id, excluded.image_id) \
                 RETURNING id, count"
            )
            .bind(&e.alert.source)
            .bind(&e.alert.rule)
            .bind(e.alert.severity.as_str())
            .bind(&e.alert.output)
            .bind(first)
            .bind(last)
            .bind(count as i64)
            .bind(m.host_id)
            .bind(m.container_id)
            .bind(m.pod_id)
            .bind(m.workload_id)
            .bind(m.image_id)
            .bind(&names.hostname)
            .bind(&names.container_ref)
            .bind(&names.namespace)
            .bind(&names.pod)
            .bind(&e.alert.image)
            .bind(&names.image_digest)
            .bind(&fields)
            .bind(key)
            .fetch_one(&mut **t)
            .await
            })?;
            group_of.insert(key, id);
            // A group's count is the batch's own only when the batch made it.
            if total == count as i64 {
                made.push(id);
            }
        }
        if !made.is_empty() {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO alert_notices (group_id, at) ");
                q.push_values(&made, |mut row, id| {
                    row.push_bind(*id).push_bind(now);
                });
                q.push(" ON CONFLICT (group_id) DO NOTHING");
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        let groups: Vec<i64> = keys.iter().map(|(k, _, _)| group_of[k.as_str()]).collect();
        for (chunk, ids) in events
            .chunks(EVENTS_PER_INSERT)
            .zip(groups.chunks(EVENTS_PER_INSERT))
        {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO alert_events (group_id, at, received_at, severity, output, tags, fields) ",
                );
                q.push_values(chunk.iter().zip(ids), |mut row, (e, id)| {
                    row.push_bind(*id)
                        .push_bind(e.at)
                        .push_bind(now)
                        .push_bind(e.alert.severity.as_str())
                        .push_bind(e.alert.output.clone())
                        .push_bind(serde_json::to_string(&e.alert.tags).expect("tags serialize"))
                        .push_bind(
                            serde_json::to_string(&e.alert.fields).expect("fields serialize"),
                        );
                });
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        self.risk_changed();
        Ok(groups)
    }

    /// Links open groups the inventory did not know when their events came to what it
    /// knows now (a container or pod seen since). Returns how many were linked.
    pub async fn link_alerts(&mut self) -> StoreResult<usize> {
        let rows: Vec<Unlinked> = with_tx!(&mut self.tx, |t| {
            sqlx::query_as(&format!(
                "SELECT id, hostname, container_ref, namespace, pod, image_digest FROM runtime_alerts \
                 WHERE {LIVE} AND container_id IS NULL AND pod_id IS NULL \
                   AND (container_ref IS NOT NULL OR pod IS NOT NULL) ORDER BY id LIMIT 1000"
            ))
            .fetch_all(&mut **t)
            .await
        })?;
        let mut linked = 0;
        for row in rows {
            let id = row.id;
            let names = Names {
                hostname: row.hostname,
                container_ref: row.container_ref,
                namespace: row.namespace,
                pod: row.pod,
                image_digest: row.image_digest,
            };
            let m = self.match_names(&names).await?;
            if m.container_id.is_none() && m.pod_id.is_none() {
                continue;
            }
            with_tx!(&mut self.tx, |t| {
                sqlx::query(
                "UPDATE runtime_alerts SET host_id = COALESCE(host_id, $2), container_id = $3, pod_id = $4, \
                   workload_id = $5, image_id = COALESCE(image_id, $6) WHERE id = $1"
            )
            .bind(id)
            .bind(m.host_id)
            .bind(m.container_id)
            .bind(m.pod_id)
            .bind(m.workload_id)
            .bind(m.image_id)
            .execute(&mut **t)
            .await
            .map(|_| ())
            })?;
            linked += 1;
        }
        if linked > 0 {
            self.risk_changed();
        }
        Ok(linked)
    }
}

/// A group as a triage action finds it: where it is, and the key it folds events by.
#[derive(sqlx::FromRow)]
struct TriageRow {
    state: String,
    assignee: Option<String>,
    dedup_key: String,
}

impl Write {
    /// The group `id` as triage finds it, and its key; none when there is no such group.
    pub async fn alert_for_triage(&mut self, id: i64) -> StoreResult<Option<(Current, String)>> {
        let row: Option<TriageRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(
            "SELECT state, assignee, dedup_key FROM runtime_alerts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        Ok(row.map(|r| {
            (
                Current {
                    state: AlertState::parse(&r.state).unwrap_or(AlertState::New),
                    assignee: r.assignee,
                },
                r.dedup_key,
            )
        }))
    }

    /// The open group folding events by `key`, other than `id`: the one a reopened group
    /// would collide with.
    pub async fn open_alert_with_key(&mut self, key: &str, id: i64) -> StoreResult<Option<i64>> {
        Ok(with_tx!(&mut self.tx, |t| sqlx::query_scalar(&format!(
            "SELECT id FROM runtime_alerts WHERE dedup_key = $1 AND {LIVE} AND id <> $2"
        ))
        .bind(key)
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?)
    }

    /// Applies a triage change to group `id` if it is still as `was` (false when someone
    /// changed it meanwhile), and keeps the action in the group's activity.
    pub async fn triage_alert(
        &mut self,
        id: i64,
        was: &Current,
        change: &Change,
        actor: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let state = change.state.unwrap_or(was.state).as_str();
        let assignee = match &change.assignee {
            Some(a) => a.clone(),
            None => was.assignee.clone(),
        };
        let done = with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE runtime_alerts SET state = $4, assignee = $5, \
               acknowledged_by = CASE WHEN $4 = 'acknowledged' AND state <> 'acknowledged' THEN $6 ELSE acknowledged_by END, \
               acknowledged_at = CASE WHEN $4 = 'acknowledged' AND state <> 'acknowledged' THEN $7 ELSE acknowledged_at END \
             WHERE id = $1 AND state = $2 AND COALESCE(assignee, '') = $3"
        )
        .bind(id)
        .bind(was.state.as_str())
        .bind(was.assignee.as_deref().unwrap_or(""))
        .bind(state)
        .bind(&assignee)
        .bind(actor)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Ok(false);
        }
        let set_assignee = change
            .assignee
            .as_ref()
            .map(|a| a.clone().unwrap_or_default());
        with_tx!(&mut self.tx, |t| sqlx::query(
            "INSERT INTO alert_activity (group_id, at, actor, state, assignee, comment) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(id)
        .bind(now)
        .bind(actor)
        .bind(change.state.map(AlertState::as_str))
        .bind(&set_assignee)
        .bind(&change.comment)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        if change.state.is_some() {
            // Open groups count in risk; closing or reopening one changes it.
            self.risk_changed();
        }
        Ok(true)
    }
}

/// Which groups to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// One state, or (none) the open ones.
    pub state: Option<AlertState>,
    /// Every state, resolved and false positives included.
    pub all: bool,
    /// Only groups an exception covers.
    pub suppressed: bool,
    pub severity: Option<Severity>,
    pub source: Option<String>,
    pub rule: Option<String>,
    pub host: Option<i64>,
    pub cluster: Option<i64>,
    pub namespace: Option<String>,
    /// A user's name; `Some(None)`: unassigned groups.
    pub assignee: Option<Option<String>>,
    /// `LAST_AT:ID` of the last group of the previous page.
    pub after: Option<(i64, i64)>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    source: String,
    rule: String,
    severity: String,
    state: String,
    output: String,
    count: i64,
    at: i64,
    last_at: i64,
    assignee: Option<String>,
    host_id: Option<i64>,
    host: Option<String>,
    container_id: Option<i64>,
    container: Option<String>,
    pod_id: Option<i64>,
    workload_id: Option<i64>,
    image_id: Option<i64>,
    hostname: Option<String>,
    container_ref: Option<String>,
    namespace: Option<String>,
    pod: Option<String>,
    image_ref: Option<String>,
    exception_id: Option<i64>,
}

impl From<GroupRow> for AlertGroup {
    fn from(r: GroupRow) -> Self {
        AlertGroup {
            id: r.id,
            source: r.source,
            rule: r.rule,
            severity: r.severity.parse().unwrap_or(Severity::Unknown),
            state: AlertState::parse(&r.state).unwrap_or(AlertState::New),
            output: r.output,
            count: r.count,
            first_at: r.at,
            last_at: r.last_at,
            assignee: r.assignee,
            host_id: r.host_id,
            host: r.host,
            container_id: r.container_id,
            container: r.container,
            pod_id: r.pod_id,
            workload_id: r.workload_id,
            image_id: r.image_id,
            hostname: r.hostname,
            container_ref: r.container_ref,
            namespace: r.namespace,
            pod: r.pod,
            image_ref: r.image_ref,
            exception_id: r.exception_id,
        }
    }
}

const GROUP_SELECT: &str = "SELECT a.id, a.source, a.rule, a.severity, a.state, a.output, a.count, a.at, a.last_at, \
     a.assignee, a.host_id, h.name AS host, a.container_id, c.name AS container, a.pod_id, a.workload_id, \
     a.image_id, a.hostname, a.container_ref, a.namespace, a.pod, a.image_ref, a.exception_id \
     FROM runtime_alerts a LEFT JOIN hosts h ON h.id = a.host_id LEFT JOIN containers c ON c.id = a.container_id";

#[derive(sqlx::FromRow)]
struct ActivityRow {
    at: i64,
    actor: String,
    state: Option<String>,
    assignee: Option<String>,
    comment: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    received_at: i64,
    severity: String,
    output: String,
    tags: String,
    fields: String,
}

impl Store {
    /// A page of groups, the most recently active first, and the cursor of the next.
    pub async fn alert_groups(
        &self,
        q: &AlertQuery,
    ) -> StoreResult<(Vec<AlertGroup>, Option<String>)> {
        let mut sql = format!("{GROUP_SELECT} WHERE 1 = 1");
        let mut args: Vec<Arg> = Vec::new();
        let mut bind = |sql: &mut String, condition: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&condition.replace('?', &format!("${}", args.len())));
        };
        match (q.state, q.all) {
            (Some(s), _) => bind(&mut sql, " AND a.state = ?", Arg::Text(s.as_str().into())),
            (None, false) => {
                sql.push_str(" AND a.state IN ('new', 'acknowledged') AND a.exception_id IS NULL")
            }
            (None, true) => {}
        }
        if q.suppressed {
            sql.push_str(" AND a.exception_id IS NOT NULL AND a.state IN ('new', 'acknowledged')");
        }
        if let Some(s) = q.severity {
            bind(
                &mut sql,
                " AND a.severity = ?",
                Arg::Text(s.as_str().into()),
            );
        }
        if let Some(s) = &q.source {
            bind(&mut sql, " AND a.source = ?", Arg::Text(s.clone()));
        }
        if let Some(r) = &q.rule {
            bind(&mut sql, " AND a.rule = ?", Arg::Text(r.clone()));
        }
        if let Some(h) = q.host {
            bind(&mut sql, " AND a.host_id = ?", Arg::Int(h));
        }
        if let Some(c) = q.cluster {
            bind(
                &mut sql,
                " AND a.pod_id IN (SELECT id FROM pods WHERE cluster_id = ?)",
                Arg::Int(c),
            );
        }
        if let Some(ns) = &q.namespace {
            bind(&mut sql, " AND a.namespace = ?", Arg::Text(ns.clone()));
        }
        match &q.assignee {
            Some(Some(name)) => bind(&mut sql, " AND a.assignee = ?", Arg::Text(name.clone())),
            Some(None) => sql.push_str(" AND a.assignee IS NULL"),
            None => {}
        }
        if let Some((last, id)) = q.after {
            bind(&mut sql, " AND (a.last_at < ?", Arg::Int(last));
            bind(&mut sql, " OR (a.last_at = ?", Arg::Int(last));
            bind(&mut sql, " AND a.id < ?))", Arg::Int(id));
        }
        bind(
            &mut sql,
            " ORDER BY a.last_at DESC, a.id DESC LIMIT ?",
            Arg::Int(q.limit + 1),
        );
        let mut rows: Vec<GroupRow> = with_db!(&self.db, |pool| bind_all!(
            sqlx::query_as(&sql),
            args.iter()
        )
        .fetch_all(pool)
        .await)?;
        let more = rows.len() as i64 > q.limit;
        rows.truncate(q.limit.max(0) as usize);
        let next = more
            .then(|| rows.last().map(|r| format!("{}:{}", r.last_at, r.id)))
            .flatten();
        Ok((rows.into_iter().map(Into::into).collect(), next))
    }

    /// These groups as they are now (those that exist), in no particular order.
    pub async fn alert_groups_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<AlertGroup>> {
        let mut groups = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LIST) {
            let rows: Vec<GroupRow> = with_db!(&self.db, |pool| {
                let mut q = sqlx::QueryBuilder::new(format!("{GROUP_SELECT} WHERE a.id IN "));
                push_list(&mut q, chunk);
                q.build_query_as().fetch_all(pool).await
            })?;
            groups.extend(rows.into_iter().map(AlertGroup::from));
        }
        Ok(groups)
    }

    /// A group and its newest hundred events.
    pub async fn alert_detail(&self, id: i64) -> StoreResult<Option<AlertDetail>> {
        let sql = format!("{GROUP_SELECT} WHERE a.id = $1");
        let row: Option<GroupRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let events: Vec<EventRow> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, at, received_at, severity, output, tags, fields FROM alert_events \
             WHERE group_id = $1 ORDER BY at DESC, id DESC LIMIT 100"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        let activity: Vec<ActivityRow> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT at, actor, state, assignee, comment FROM alert_activity \
             WHERE group_id = $1 ORDER BY at, id"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        Ok(Some(AlertDetail {
            group: row.into(),
            activity: activity
                .into_iter()
                .map(|a| AlertActivity {
                    at: a.at,
                    actor: a.actor,
                    state: a.state.as_deref().and_then(AlertState::parse),
                    assignee: a.assignee,
                    comment: a.comment,
                })
                .collect(),
            events: events
                .into_iter()
                .map(|e| AlertEvent {
                    id: e.id,
                    at: e.at,
                    received_at: e.received_at,
                    severity: e.severity.parse().unwrap_or(Severity::Unknown),
                    output: e.output,
                    tags: serde_json::from_str(&e.tags).unwrap_or_default(),
                    fields: serde_json::from_str(&e.fields).unwrap_or_default(),
                })
                .collect(),
        }))
    }
}

impl Write {
    /// Open alert groups (all, or `groups`) tied to the active runtime exception of their
    /// rule and scope; tied ones whose exception ended, released. Returns (tied, released).
    pub async fn apply_alert_exceptions(
        &mut self,
        groups: Option<&[i64]>,
        now: i64,
    ) -> StoreResult<(u64, u64)> {
        let any: bool = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM exceptions WHERE kind = 'runtime') \
             OR EXISTS (SELECT 1 FROM runtime_alerts WHERE exception_id IS NOT NULL)"
        )
        .fetch_one(&mut **t)
        .await)?;
        if !any {
            return Ok((0, 0));
        }
        let only = match groups {
            Some([]) => return Ok((0, 0)),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!(" AND runtime_alerts.id IN ({})", list.join(", "))
            }
            None => String::new(),
        };
        let release = format!(
            "UPDATE runtime_alerts SET exception_id = NULL \
             WHERE exception_id IS NOT NULL AND state IN ('new', 'acknowledged'){only} \
               AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.id = runtime_alerts.exception_id AND {EXCEPTION_ACTIVE})"
        );
        let cover = format!(
            "UPDATE runtime_alerts SET exception_id = e.id FROM exceptions e \
             WHERE runtime_alerts.exception_id IS NULL AND runtime_alerts.state IN ('new', 'acknowledged'){only} \
               AND e.kind = 'runtime' AND {EXCEPTION_ACTIVE} AND runtime_alerts.rule = e.target \
               AND (e.image_id IS NULL OR e.image_id = runtime_alerts.image_id) \
               AND (e.host IS NULL OR e.host = runtime_alerts.hostname \
                    OR EXISTS (SELECT 1 FROM hosts h WHERE h.id = runtime_alerts.host_id AND h.name = e.host)) \
               AND (e.namespace IS NULL OR e.namespace = runtime_alerts.namespace) \
               AND (e.cluster IS NULL OR EXISTS (SELECT 1 FROM clusters c WHERE c.name = e.cluster \
                    AND (c.id IN (SELECT p.cluster_id FROM pods p WHERE p.id = runtime_alerts.pod_id) \
                         OR c.id IN (SELECT h.cluster_id FROM hosts h WHERE h.id = runtime_alerts.host_id)))) \
               AND (e.workload IS NULL OR e.workload = runtime_alerts.pod \
                    OR EXISTS (SELECT 1 FROM workloads w WHERE w.id = runtime_alerts.workload_id AND w.name = e.workload))"
        );
        let mut counts = [0u64; 2];
        for (i, sql) in [release, cover].iter().enumerate() {
            counts[i] = with_tx!(&mut self.tx, |t| sqlx::query(sql)
                .bind(now)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()))?;
        }
        if counts != [0, 0] {
            self.risk_changed();
        }
        Ok((counts[1], counts[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_are_hex_of_12_to_64_characters() {
        assert_eq!(
            container_ref("EE97D9C4186F").as_deref(),
            Some("ee97d9c4186f")
        );
        assert_eq!(
            container_ref("docker://0123456789abcdef0123").as_deref(),
            Some("0123456789abcdef0123")
        );
        assert_eq!(container_ref("host"), None);
        assert_eq!(container_ref("abc"), None);
        assert_eq!(container_ref("zz97d9c4186f"), None);
    }

    #[test]
    fn a_group_folds_a_rule_on_a_workload_a_container_a_pod_or_a_host() {
        let names = Names {
            hostname: Some("node-1".into()),
            container_ref: Some("ee97d9c4186f0000".into()),
            namespace: Some("default".into()),
            pod: Some("web-7d9f-abcde".into()),
            image_digest: None,
        };
        let known = Matched {
            pod_id: Some(3),
            workload_id: Some(9),
            ..Matched::default()
        };
        assert!(group_key("falco", "r", &names, &known).ends_with("workload:9"));
        // Another replica of the same workload: the same group.
        let other = Names {
            pod: Some("web-7d9f-fghij".into()),
            container_ref: Some("aaaaaaaaaaaa".into()),
            ..names.clone()
        };
        assert_eq!(
            group_key("falco", "r", &other, &known),
            group_key("falco", "r", &names, &known)
        );
        // Unknown to the inventory: by the container's short id, whatever its length.
        let unknown = Matched::default();
        assert!(group_key("falco", "r", &names, &unknown).ends_with("container:ee97d9c4186f"));
        let short = Names {
            container_ref: Some("ee97d9c4186f".into()),
            ..names.clone()
        };
        assert_eq!(
            group_key("falco", "r", &short, &unknown),
            group_key("falco", "r", &names, &unknown)
        );
        let pod_only = Names {
            container_ref: None,
            ..names.clone()
        };
        assert!(
            group_key("falco", "r", &pod_only, &unknown).ends_with("pod:default/web-7d9f-abcde")
        );
        let host_only = Names {
            hostname: Some("edge".into()),
            ..Names::default()
        };
        assert!(group_key("falco", "r", &host_only, &unknown).ends_with("hostname:edge"));
        assert_ne!(
            group_key("falco", "r", &host_only, &unknown),
            group_key("falco", "other", &host_only, &unknown)
        );
    }
}
