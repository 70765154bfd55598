//! Kubernetes clusters, namespaces, workloads and pods.

use crate::error::AppError;
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{
    ClusterSummary, KubeQuery, NamespaceDetail, NamespaceSummary, PodDetail, PodSummary,
    WorkloadDetail, WorkloadSummary,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Admin, Analyst, Viewer},
    coastguard_core::kube::manage,
};

#[server(prefix = "/ui")]
pub async fn list_clusters() -> Result<Vec<ClusterSummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::clusters(&ctx::state()?, &by).await?)
}

#[server(prefix = "/ui")]
pub async fn get_cluster(id: i64) -> Result<ClusterSummary, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::cluster(&ctx::state()?, &by, id).await?)
}

/// From the add form: the kubeconfig text, and optionally one context and its name.
#[server(prefix = "/ui")]
pub async fn add_clusters(
    kubeconfig: String,
    context: String,
    name: String,
) -> Result<Vec<ClusterSummary>, AppError> {
    let by = ctx::require::<Admin>()?;
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let input = coastguard_model::kube::NewClusters {
        kubeconfig,
        context: some(context),
        name: some(name),
    };
    Ok(manage::add_clusters(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_cluster(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::remove_cluster(&ctx::state()?, &by, id).await?)
}

/// Lists the cluster again within seconds (analysts and admins).
#[server(prefix = "/ui")]
pub async fn sync_cluster(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(manage::sync_cluster(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_namespaces(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: KubeQuery,
) -> Result<Listing<NamespaceSummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::namespaces(&ctx::state()?, &by, &q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_namespace(id: i64) -> Result<NamespaceDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::namespace(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_workloads(
    #[server(default)] q: KubeQuery,
) -> Result<Listing<WorkloadSummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::workloads(&ctx::state()?, &by, &q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_workload(id: i64) -> Result<WorkloadDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::workload(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_pods(#[server(default)] q: KubeQuery) -> Result<Listing<PodSummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::pods(&ctx::state()?, &by, &q).await?)
}

#[server(prefix = "/ui")]
pub async fn list_namespace_pods(id: i64) -> Result<Listing<PodSummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::namespace_pods(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn get_pod(id: i64) -> Result<PodDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::pod(&ctx::state()?, &by, id).await?)
}
