//! Registries: what each holds, and (for admins) adding and removing them.

use crate::error::AppError;
use coastguard_model::registries::{
    ImportedRegistries, RegistryDetail, RegistrySummary, RegistrySync,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Admin, Analyst, Viewer},
    coastguard_core::registry::manage,
};

#[server(prefix = "/ui")]
pub async fn list_registries() -> Result<Vec<RegistrySummary>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::list_registries(&ctx::state()?, &by).await?)
}

#[server(prefix = "/ui")]
pub async fn get_registry(id: i64) -> Result<RegistryDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::registry_detail(&ctx::state()?, &by, id).await?)
}

/// From the add form: blank fields are absent; repositories one per line; `transport`
/// is `https`, or `http` for a registry marked insecure.
#[server(prefix = "/ui")]
#[allow(clippy::too_many_arguments)]
pub async fn add_registry(
    name: String,
    url: String,
    username: String,
    password: String,
    ca_pem: String,
    repositories: String,
    transport: String,
) -> Result<RegistrySummary, AppError> {
    let by = ctx::require::<Admin>()?;
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let input = coastguard_model::registries::NewRegistry {
        name,
        url,
        username: some(username),
        password: some(password),
        ca_pem: some(ca_pem),
        insecure: transport == "http",
        repositories: repositories
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    };
    Ok(manage::add_registry(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_registry(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::remove_registry(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn sync_registry(id: i64) -> Result<RegistrySync, AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(manage::sync_registry(&ctx::state()?, &by, id).await?)
}

/// From the import form: a Docker `config.json`'s text.
#[server(prefix = "/ui")]
pub async fn import_docker_config(docker_config: String) -> Result<ImportedRegistries, AppError> {
    let by = ctx::require::<Admin>()?;
    let input = coastguard_model::registries::DockerConfigImport { docker_config };
    Ok(manage::import_docker_config(&ctx::state()?, &by, input).await?)
}
