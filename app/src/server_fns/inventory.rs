//! Hosts, engines, images, containers, configuration findings and the image policy.

use crate::error::AppError;
use coastguard_model::docker::Policy;
use coastguard_model::findings::ConfigFindingView;
use coastguard_model::inventory::{
    ContainerDetail, ContainerSummary, HostDetail, HostSummary, ImageDetail, ImageSummary,
    ListQuery, Listing, SyncResult,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Admin, Analyst, Viewer},
    coastguard_core::docker::manage,
};

#[server(prefix = "/ui")]
pub async fn list_hosts(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: ListQuery,
) -> Result<Listing<HostSummary>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.list_hosts(&q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_host(id: i64) -> Result<HostDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::host_detail(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_images(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: ListQuery,
) -> Result<Listing<ImageSummary>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.list_images(&q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_image(id: i64) -> Result<ImageDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    let state = ctx::state()?;
    let mut detail = manage::image_detail(&state, &by, id).await?;
    detail.signature = coastguard_core::signatures::checks::signature(&state, &by, id).await?;
    Ok(detail)
}

#[server(prefix = "/ui")]
pub async fn list_containers(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: ListQuery,
) -> Result<Listing<ContainerSummary>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.list_containers(&q, None).await?)
}

#[server(prefix = "/ui")]
pub async fn get_container(id: i64) -> Result<ContainerDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::container_detail(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_config_findings(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: ListQuery,
) -> Result<Listing<ConfigFindingView>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.list_config_findings(&q).await?)
}

/// `expires_in_days` comes from a form field: empty means "until withdrawn".
#[server(prefix = "/ui")]
pub async fn accept_finding(
    id: i64,
    reason: String,
    expires_in_days: String,
) -> Result<(), AppError> {
    let by = ctx::require::<Analyst>()?;
    let expires_in_days = parse_days(&expires_in_days)?;
    let input = coastguard_model::inventory::AcceptRisk {
        reason,
        expires_in_days,
    };
    coastguard_core::exceptions::compat::accept_finding(&ctx::state()?, &by, id, input).await?;
    Ok(())
}

#[server(prefix = "/ui")]
pub async fn unaccept_finding(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(coastguard_core::exceptions::compat::unaccept_finding(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn add_engine(
    name: String,
    endpoint: String,
    tls_ca: String,
    tls_cert: String,
    tls_key: String,
    ssh_key: String,
) -> Result<HostSummary, AppError> {
    let by = ctx::require::<Admin>()?;
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let input = coastguard_model::inventory::NewEngine {
        name,
        endpoint,
        tls_ca: some(tls_ca),
        tls_cert: some(tls_cert),
        tls_key: some(tls_key),
        ssh_key: some(ssh_key),
    };
    Ok(manage::add_engine(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_engine(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::remove_engine(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn sync_engine(id: i64) -> Result<SyncResult, AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(manage::sync_now(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn get_policy() -> Result<Policy, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::policy(&ctx::state()?, &by).await?)
}

/// Registries come one per line or comma-separated from a text area; signature
/// patterns one per line.
#[server(prefix = "/ui")]
pub async fn set_policy(
    trusted_registries: String,
    image_max_age_days: String,
    image_max_size_mb: String,
    scan_max_age_days: String,
    #[server(default)] require_signatures: String,
    #[server(default)] disabled_detectors: String,
) -> Result<Policy, AppError> {
    let by = ctx::require::<Admin>()?;
    let number = ctx::whole_number;
    let policy = Policy {
        trusted_registries: trusted_registries
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        image_max_age_days: number("image_max_age_days", &image_max_age_days)?,
        image_max_size_mb: number("image_max_size_mb", &image_max_size_mb)?,
        scan_max_age_days: number("scan_max_age_days", &scan_max_age_days)?,
        require_signatures: require_signatures
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        disabled_detectors: disabled_detectors
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|id| {
                coastguard_model::alerts::DetectorId::parse(id).ok_or_else(|| AppError::Invalid {
                    message: format!("{id:?} is no detector; {}", detector_list()),
                    field: Some("disabled_detectors".into()),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(coastguard_core::registry::provenance::set_policy(&ctx::state()?, &by, policy).await?)
}

/// The detectors' ids, for an error that names a wrong one.
#[cfg(feature = "ssr")]
fn detector_list() -> String {
    let ids: Vec<&str> = coastguard_model::alerts::DETECTORS
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    format!("the detectors are {}", ids.join(", "))
}

#[cfg(feature = "ssr")]
fn parse_days(raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        s => s.parse::<i64>().map(Some).map_err(|_| AppError::Invalid {
            message: "days must be a whole number".into(),
            field: Some("expires_in_days".into()),
        }),
    }
}
