//! Kubernetes clusters, namespaces, workloads and pods.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::kube::manage;
use coastguard_core::Result;
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{
    ClusterSummary, KubeQuery, NamespaceDetail, NamespaceSummary, NewClusters, PodDetail,
    PodSummary, WorkloadDetail, WorkloadSummary,
};
use coastguard_model::ErrorBody;

/// Clusters with their status, the API server's version, counts of nodes, namespaces,
/// workloads and pods (by the Pod Security level they pass) and open findings.
#[utoipa::path(get, path = "/clusters", tag = "kubernetes",
    responses((status = 200, body = Vec<ClusterSummary>), (status = 401, body = ErrorBody)))]
pub async fn list_clusters(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Vec<ClusterSummary>>> {
    Ok(Json(manage::clusters(&state.app, &by).await?))
}

/// Add clusters from a kubeconfig: each context (or only `context`) becomes a cluster,
/// watched within seconds. Only inline credentials are accepted (a token, or client
/// certificate and key data); `exec`, `auth-provider`, file paths, basic auth and
/// `insecure-skip-tls-verify` are refused (422, naming the entry). Credentials are stored
/// encrypted with the configured secret key and never returned; without a key: 409.
#[utoipa::path(post, path = "/clusters", tag = "kubernetes", request_body = NewClusters,
    responses((status = 201, body = Vec<ClusterSummary>),
              (status = 409, body = ErrorBody, description = "a cluster of that name exists, no secret key is configured, or the server holds the demo estate"),
              (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_clusters(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewClusters>,
) -> Result<(StatusCode, Json<Vec<ClusterSummary>>)> {
    Ok((
        StatusCode::CREATED,
        Json(manage::add_clusters(&state.app, &by, input).await?),
    ))
}

#[utoipa::path(get, path = "/clusters/{id}", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 200, body = ClusterSummary), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_cluster(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ClusterSummary>> {
    Ok(Json(manage::cluster(&state.app, &by, id).await?))
}

/// Stop watching a cluster and forget what was read from it, with its findings.
#[utoipa::path(delete, path = "/clusters/{id}", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_cluster(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::remove_cluster(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the cluster again now, besides its schedule: its worker lists every kind within
/// seconds (on whichever replica follows it), which also applies a changed image policy.
/// 202: asked; the cluster page shows the new list's time when it is done.
#[utoipa::path(post, path = "/clusters/{id}/sync", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 202), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the server holds the demo estate"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sync_cluster(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::sync_cluster(&state.app, &by, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Namespaces with their pod-security labels as the admission plugin reads them, the
/// strictest level all their pods pass, and the pods their enforce level would refuse.
/// Sort: `name` (default), `pods`, `level`, `findings`. Filters: `q`, `cluster`, `level`
/// (the level all pods pass), `include_gone`.
#[utoipa::path(get, path = "/namespaces", tag = "kubernetes", params(KubeQuery),
    responses((status = 200, body = Listing<NamespaceSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_namespaces(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<KubeQuery>,
) -> Result<Json<Listing<NamespaceSummary>>> {
    Ok(Json(manage::namespaces(&state.app, &by, &q).await?))
}

#[utoipa::path(get, path = "/namespaces/{id}", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 200, body = NamespaceDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_namespace(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<NamespaceDetail>> {
    Ok(Json(manage::namespace(&state.app, &by, id).await?))
}

/// Workloads (Deployments, StatefulSets, DaemonSets, CronJobs, and Jobs and ReplicaSets
/// without an owner; name `kind` to list owned ones too), each judged through its pod
/// template. Sort: `name` (default), `namespace`, `kind`, `level`, `findings`. Filters:
/// `q`, `cluster`, `namespace`, `kind`, `level`, `include_gone`.
#[utoipa::path(get, path = "/workloads", tag = "kubernetes", params(KubeQuery),
    responses((status = 200, body = Listing<WorkloadSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_workloads(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<KubeQuery>,
) -> Result<Json<Listing<WorkloadSummary>>> {
    Ok(Json(manage::workloads(&state.app, &by, &q).await?))
}

#[utoipa::path(get, path = "/workloads/{id}", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 200, body = WorkloadDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_workload(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WorkloadDetail>> {
    Ok(Json(manage::workload(&state.app, &by, id).await?))
}

/// Pods with their top workload, node and Pod Security level. Sort: `name` (default),
/// `namespace`, `level`, `findings`. Filters: `q`, `cluster`, `namespace`, `level`,
/// `include_gone`.
#[utoipa::path(get, path = "/pods", tag = "kubernetes", params(KubeQuery),
    responses((status = 200, body = Listing<PodSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_pods(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<KubeQuery>,
) -> Result<Json<Listing<PodSummary>>> {
    Ok(Json(manage::pods(&state.app, &by, &q).await?))
}

/// One pod: containers with their images (by digest) and its Pod Security findings.
#[utoipa::path(get, path = "/pods/{id}", tag = "kubernetes", params(("id" = i64, Path)),
    responses((status = 200, body = PodDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_pod(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PodDetail>> {
    Ok(Json(manage::pod(&state.app, &by, id).await?))
}
