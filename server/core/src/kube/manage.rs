//! Operations on Kubernetes clusters behind the pages, the REST API and the CLI. Each
//! takes its role proof; changes write the audit log in the same commit.

use super::kubeconfig;
use super::store::{resync_key, CREDENTIALS};
use crate::access::audit_by;
use crate::auth::{Admin, Analyst, Authed, Viewer};
use crate::error::{Error, Result};
use crate::{now, validate_field, AppState, StoreError};
use coastguard_model::findings::SubjectKind;
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{
    ClusterSummary, KubeQuery, NamespaceDetail, NamespaceSummary, NewClusters, PodDetail,
    PodSummary, WorkloadDetail, WorkloadSummary,
};
use coastguard_model::validate;
use serde_json::json;

fn not_found(what: &'static str, id: i64) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("no {what} with id {id}")),
        other => other.into(),
    }
}

/// Adds a cluster per context of an uploaded kubeconfig, in one commit with its audit
/// record. Refused without a configured secret key: credentials are never stored in clear.
pub async fn add_clusters(
    state: &AppState,
    by: &Authed<Admin>,
    input: NewClusters,
) -> Result<Vec<ClusterSummary>> {
    if state.demo {
        return Err(Error::Conflict(
            "this server holds the demo estate: connect real clusters to a server on your own database".into(),
        ));
    }
    let key = state.settings.secret_key.as_ref().ok_or_else(|| {
        Error::Conflict(
            "no secret key is configured, and cluster credentials are only stored encrypted: set COASTGUARD_SECRET_KEY (or COASTGUARD_SECRET_KEY_FILE) and restart".into(),
        )
    })?;
    let context = input
        .context
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let connections = validate_field(
        "kubeconfig",
        kubeconfig::connections(&input.kubeconfig, context),
    )?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some() && connections.len() > 1 {
        return Err(Error::invalid_at(
            "name",
            "a name can be given to one cluster only: name the context too",
        ));
    }
    let at = now();
    let mut w = state.store.begin().await?;
    let mut ids = Vec::new();
    let mut added = Vec::new();
    for c in &connections {
        let cluster_name = name.unwrap_or(&c.context);
        let cluster_name = validate_field("name", validate::label("cluster name", cluster_name))?;
        let sealed = key.seal(CREDENTIALS, &c.kubeconfig_json);
        let id = w
            .add_kube_cluster(
                &cluster_name,
                &c.server,
                "kubeconfig",
                Some(&c.context),
                Some(&sealed),
                at,
            )
            .await?;
        ids.push(id);
        added.push(
            json!({ "id": id, "name": cluster_name, "server": c.server, "context": c.context }),
        );
    }
    let record = audit_by(
        by,
        "cluster.add",
        Some(format!(
            "cluster:{}",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )),
        Some(json!({ "clusters": added })),
    );
    w.commit_with(&record, at).await?;
    let mut out = Vec::new();
    for id in ids {
        out.push(state.store.cluster_summary(id).await?);
    }
    Ok(out)
}

pub async fn remove_cluster(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let name = w
        .remove_kube_cluster(id)
        .await
        .map_err(not_found("cluster", id))?;
    let record = audit_by(
        by,
        "cluster.remove",
        Some(format!("cluster:{id}")),
        Some(json!({ "name": name })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// Asks for a full list of the cluster now, besides its schedule: its worker (on
/// whichever replica holds the cluster's lease) lists every kind again within seconds,
/// which also applies a changed image policy. One commit with its audit record.
pub async fn sync_cluster(state: &AppState, by: &Authed<Analyst>, id: i64) -> Result<()> {
    if state.demo {
        return Err(Error::Conflict(
            "this server holds the demo estate: its clusters are invented and never listed".into(),
        ));
    }
    state
        .store
        .kube_cluster(id)
        .await
        .map_err(not_found("cluster", id))?;
    let at = now();
    let mut w = state.store.begin().await?;
    w.put_setting(&resync_key(id), &at, &by.principal.name, at)
        .await?;
    let record = audit_by(by, "cluster.sync", Some(format!("cluster:{id}")), None);
    w.commit_with(&record, at).await?;
    Ok(())
}

pub async fn clusters(state: &AppState, _by: &Authed<Viewer>) -> Result<Vec<ClusterSummary>> {
    Ok(state.store.list_clusters().await?)
}

pub async fn cluster(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<ClusterSummary> {
    state
        .store
        .cluster_summary(id)
        .await
        .map_err(not_found("cluster", id))
}

pub async fn namespaces(
    state: &AppState,
    _by: &Authed<Viewer>,
    q: &KubeQuery,
) -> Result<Listing<NamespaceSummary>> {
    Ok(state.store.list_namespaces(q).await?)
}

pub async fn namespace(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<NamespaceDetail> {
    let mut detail = state
        .store
        .namespace_detail(id)
        .await
        .map_err(not_found("namespace", id))?;
    detail.findings = state
        .store
        .subject_findings(SubjectKind::Namespace, id)
        .await?;
    Ok(detail)
}

/// The pods of one namespace (those still there), for its page.
pub async fn namespace_pods(
    state: &AppState,
    by: &Authed<Viewer>,
    id: i64,
) -> Result<Listing<PodSummary>> {
    let detail = state
        .store
        .namespace_detail(id)
        .await
        .map_err(not_found("namespace", id))?;
    let q = KubeQuery {
        cluster: Some(detail.namespace.cluster_id),
        namespace: Some(detail.namespace.name),
        include_gone: Some(false),
        ..KubeQuery::default()
    };
    pods(state, by, &q).await
}

pub async fn workloads(
    state: &AppState,
    _by: &Authed<Viewer>,
    q: &KubeQuery,
) -> Result<Listing<WorkloadSummary>> {
    Ok(state.store.list_workloads(q).await?)
}

pub async fn workload(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<WorkloadDetail> {
    let workload = state
        .store
        .workload_summary(id)
        .await
        .map_err(not_found("workload", id))?;
    Ok(WorkloadDetail {
        workload,
        findings: state
            .store
            .subject_findings(SubjectKind::Workload, id)
            .await?,
    })
}

pub async fn pods(
    state: &AppState,
    _by: &Authed<Viewer>,
    q: &KubeQuery,
) -> Result<Listing<PodSummary>> {
    Ok(state.store.list_pods(q).await?)
}

pub async fn pod(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<PodDetail> {
    let pod = state
        .store
        .pod_summary(id)
        .await
        .map_err(not_found("pod", id))?;
    Ok(PodDetail {
        pod,
        containers: state.store.pod_containers(id).await?,
        findings: state.store.subject_findings(SubjectKind::Pod, id).await?,
    })
}
