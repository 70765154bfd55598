//! Registries behind the pages, the REST API and the jobs: admins add and remove them
//! (credentials sealed with the server's secret key, never returned), anyone signed in
//! reads what they hold, an analyst syncs one now, and a job syncs each on a schedule.
//! Each change is one commit with its audit record; a sync's findings are one commit.

use super::client::{Registry, RegistryAccess, RegistryError};
use super::discover::discover;
use super::store::{RegistryConfig, RegistryRow, CREDENTIALS};
use crate::access::audit_by;
use crate::auth::sealing::SecretKey;
use crate::auth::{Admin, Analyst, Authed, Viewer};
use crate::error::{Error, Result};
use crate::store::AuditRecord;
use crate::{now, validate_field, AppState, StoreError};
use coastguard_model::registries::{
    registry_url, repository_name, DockerConfigImport, ImportedRegistries, NewRegistry,
    RegistryDetail, RegistrySummary, RegistrySync, MAX_CONFIGURED_REPOSITORIES,
};
use coastguard_model::validate;
use serde_json::json;
use std::collections::HashMap;

/// A registry is synced again this long after its last attempt.
pub const SYNC_EVERY_SECS: i64 = 900;
/// Tags a registry's detail lists.
pub const DETAIL_TAGS: i64 = 2_000;
/// A CA bundle is a few certificates.
const MAX_CA_PEM: usize = 64 * 1024;

#[derive(serde::Serialize, serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

fn not_found(id: i64) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("no registry with id {id}")),
        other => other.into(),
    }
}

/// How to reach a stored registry: its settings and its credentials, opened with the
/// server's key.
pub fn access_of(
    row: &RegistryRow,
    key: Option<&SecretKey>,
) -> std::result::Result<RegistryAccess, String> {
    let config = row.settings();
    let (username, password) = match &row.credentials {
        None => (None, None),
        Some(sealed) => {
            let key = key.ok_or(
                "its credentials are sealed and no secret key is configured (COASTGUARD_SECRET_KEY)",
            )?;
            let plain = key.open(CREDENTIALS, sealed).map_err(|e| {
                format!("its credentials cannot be opened with this secret key: {e}")
            })?;
            let c: Credentials = serde_json::from_slice(&plain)
                .map_err(|e| format!("its stored credentials cannot be read: {e}"))?;
            (Some(c.username), Some(c.password))
        }
    };
    Ok(RegistryAccess {
        host: config.host,
        username,
        password,
        ca_pem: config.ca_pem,
        insecure: config.insecure,
    })
}

/// How to reach each configured registry, by host: what signature checks use for an
/// image stored there. A registry whose credentials cannot be opened is left out.
pub async fn configured_access(state: &AppState) -> Result<HashMap<String, RegistryAccess>> {
    let rows = state.store.registry_rows().await?;
    Ok(rows
        .iter()
        .filter_map(|row| access_of(row, state.settings.secret_key.as_ref()).ok())
        .map(|a| (a.host.clone(), a))
        .collect())
}

/// The oldest scan that still counts, by the image policy's scan age.
async fn scanned_after(state: &AppState) -> i64 {
    now() - state.store.policy().await.scan_max_age_days * 86_400
}

pub async fn list_registries(
    state: &AppState,
    _by: &Authed<Viewer>,
) -> Result<Vec<RegistrySummary>> {
    let after = scanned_after(state).await;
    Ok(state.store.registry_summaries(after, None).await?)
}

async fn summary(state: &AppState, id: i64) -> Result<RegistrySummary> {
    summary_after(state, id, scanned_after(state).await).await
}

async fn summary_after(state: &AppState, id: i64, after: i64) -> Result<RegistrySummary> {
    state
        .store
        .registry_summaries(after, Some(id))
        .await
        .map_err(not_found(id))?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no registry with id {id}")))
}

pub async fn registry_detail(
    state: &AppState,
    _by: &Authed<Viewer>,
    id: i64,
) -> Result<RegistryDetail> {
    let after = scanned_after(state).await;
    let registry = summary_after(state, id, after).await?;
    let mut tags = state
        .store
        .registry_tags(id, after, DETAIL_TAGS + 1)
        .await?;
    let truncated = tags.len() as i64 > DETAIL_TAGS;
    tags.truncate(DETAIL_TAGS as usize);
    Ok(RegistryDetail {
        registry,
        tags,
        truncated,
    })
}

/// Reads an admin's registry: every field checked, the CA read, a client made.
fn read_new(input: &NewRegistry) -> Result<(String, String, RegistryConfig, Option<Credentials>)> {
    let name = validate_field("name", validate::label("registry name", &input.name))?;
    let address = validate_field("url", registry_url(&input.url, input.insecure))?;
    let ca_pem = input
        .ca_pem
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(pem) = ca_pem {
        if input.insecure {
            return Err(Error::invalid_at(
                "ca_pem",
                "a CA certificate is for HTTPS, and this registry is marked insecure (plain HTTP)",
            ));
        }
        if pem.len() > MAX_CA_PEM {
            return Err(Error::invalid_at("ca_pem", "a CA bundle is at most 64 KiB"));
        }
        let certs =
            super::certificates_from_pem(pem).map_err(|e| Error::invalid_at("ca_pem", e))?;
        if certs.is_empty() {
            return Err(Error::invalid_at("ca_pem", "no CERTIFICATE block in it"));
        }
    }
    let username = input
        .username
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let password = input.password.as_deref().filter(|p| !p.is_empty());
    let credentials = match (username, password) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::invalid_at(
                if username.is_none() {
                    "username"
                } else {
                    "password"
                },
                "give both a username and a password, or neither (anonymous access)",
            ))
        }
        (Some(u), Some(p)) => {
            if u.len() > 256 || u.chars().any(char::is_control) || u.contains(':') {
                return Err(Error::invalid_at(
                    "username",
                    "a username is at most 256 characters, without ':' or control characters",
                ));
            }
            if p.len() > 4096 {
                return Err(Error::invalid_at(
                    "password",
                    "a password or token is at most 4096 bytes",
                ));
            }
            Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            })
        }
    };
    if input.repositories.len() > MAX_CONFIGURED_REPOSITORIES {
        return Err(Error::invalid_at(
            "repositories",
            format!("at most {MAX_CONFIGURED_REPOSITORIES} repositories"),
        ));
    }
    let mut repositories = Vec::new();
    for (i, r) in input.repositories.iter().enumerate() {
        let r =
            repository_name(r).map_err(|e| Error::invalid_at(format!("repositories/{i}"), e))?;
        if !repositories.contains(&r) {
            repositories.push(r);
        }
    }
    let config = RegistryConfig {
        host: address.host,
        insecure: input.insecure,
        ca_pem: ca_pem.map(|p| p.to_string() + "\n"),
        repositories,
    };
    Ok((name, address.base, config, credentials))
}

/// Credentials sealed with the server's key; refused without one (never stored in clear).
fn seal(state: &AppState, credentials: Option<&Credentials>) -> Result<Option<String>> {
    let Some(c) = credentials else {
        return Ok(None);
    };
    let key = state.settings.secret_key.as_ref().ok_or_else(|| {
        Error::Conflict(
            "no secret key is configured, and registry credentials are only stored encrypted: set COASTGUARD_SECRET_KEY (or COASTGUARD_SECRET_KEY_FILE) and restart".into(),
        )
    })?;
    let plain = serde_json::to_vec(c).expect("credentials serialize");
    Ok(Some(key.seal(CREDENTIALS, &plain)))
}

/// Adds a registry per `auths` entry of a Docker `config.json`, in one commit with one
/// audit record; entries that cannot be imported (a credential helper, Docker Hub, a
/// name already taken, an invalid entry) are reported as skipped, with why.
pub async fn import_docker_config(
    state: &AppState,
    by: &Authed<Admin>,
    input: DockerConfigImport,
) -> Result<ImportedRegistries> {
    if state.demo {
        return Err(Error::Conflict(
            "this server holds the demo estate: connect real registries to a server on your own database".into(),
        ));
    }
    let (entries, mut skipped) = super::docker_config::registries_of(&input.docker_config)
        .map_err(|e| Error::invalid_at("docker_config", e))?;
    let taken: Vec<String> = state
        .store
        .registry_rows()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut ready = Vec::new();
    for entry in &entries {
        if taken.contains(&entry.name) {
            skipped.push(format!(
                "{}: a registry of that name exists already",
                entry.name
            ));
            continue;
        }
        match read_new(entry) {
            Ok(read) => ready.push(read),
            Err(e) => skipped.push(format!("{}: {e}", entry.name)),
        }
    }
    let sealed = ready
        .iter()
        .map(|(.., credentials)| seal(state, credentials.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let at = now();
    let mut w = state.store.begin().await?;
    let mut ids = Vec::new();
    for ((name, url, config, _), sealed) in ready.iter().zip(&sealed) {
        ids.push(
            w.add_registry(name, url, config, sealed.as_deref(), &by.principal.name, at)
                .await?,
        );
    }
    let names: Vec<&str> = ready.iter().map(|(name, ..)| name.as_str()).collect();
    let record = audit_by(
        by,
        "registry.import",
        Some(format!(
            "registry:{}",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )),
        Some(json!({ "added": names, "skipped": skipped.len() })),
    );
    w.commit_with(&record, at).await?;
    let after = scanned_after(state).await;
    let mut added = state.store.registry_summaries(after, None).await?;
    added.retain(|r| ids.contains(&r.id));
    Ok(ImportedRegistries { added, skipped })
}

/// Adds a registry; its first sync follows within a minute (or now, with "Sync now").
pub async fn add_registry(
    state: &AppState,
    by: &Authed<Admin>,
    input: NewRegistry,
) -> Result<RegistrySummary> {
    if state.demo {
        return Err(Error::Conflict(
            "this server holds the demo estate: connect real registries to a server on your own database".into(),
        ));
    }
    let (name, url, config, credentials) = read_new(&input)?;
    // The client is made once here, so a CA that cannot be used is refused now.
    Registry::new(RegistryAccess {
        host: config.host.clone(),
        ca_pem: config.ca_pem.clone(),
        insecure: config.insecure,
        ..RegistryAccess::default()
    })
    .map_err(|e| Error::invalid_at("ca_pem", e))?;
    let sealed = seal(state, credentials.as_ref())?;
    let at = now();
    let mut w = state.store.begin().await?;
    let id = w
        .add_registry(
            &name,
            &url,
            &config,
            sealed.as_deref(),
            &by.principal.name,
            at,
        )
        .await?;
    let record = audit_by(
        by,
        "registry.add",
        Some(format!("registry:{id}")),
        Some(json!({
            "name": name, "url": url, "insecure": config.insecure,
            "authenticated": credentials.is_some(), "custom_ca": config.ca_pem.is_some(),
            "repositories": config.repositories.len(),
        })),
    );
    w.commit_with(&record, at).await?;
    summary(state, id).await
}

/// Removes a registry and its tags' history; the images stay in the inventory.
pub async fn remove_registry(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let name = w.remove_registry(id).await.map_err(not_found(id))?;
    let record = audit_by(
        by,
        "registry.remove",
        Some(format!("registry:{id}")),
        Some(json!({ "name": name })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

fn status_of(e: &RegistryError) -> &'static str {
    match e {
        RegistryError::Unreachable(..) => "unreachable",
        RegistryError::Unauthorized(_) => "unauthorized",
        _ => "error",
    }
}

/// Syncs one registry: reads it (no transaction open meanwhile), then writes what it
/// found, or why it could not, in one commit, audited when a person asked.
async fn sync(
    state: &AppState,
    row: &RegistryRow,
    record: Option<&AuditRecord>,
) -> Result<RegistrySync> {
    let config = row.settings();
    let mut outcome = RegistrySync::default();
    let read = match access_of(row, state.settings.secret_key.as_ref()).and_then(Registry::new) {
        Err(e) => Err(("error", e)),
        Ok(registry) => {
            let known = state.store.registry_known(row.id).await?;
            let found = discover(&registry, &config.repositories, &known).await;
            outcome.requests = registry.requests() as i64;
            found
                .map(|found| (found, known))
                .map_err(|e| (status_of(&e), e.to_string()))
        }
    };
    let required = state.store.policy().await.require_signatures;
    let at = now();
    let mut w = match record {
        Some(_) => state.store.begin().await?,
        None => state.store.begin_pass().await?,
    };
    match &read {
        Ok((found, known)) => {
            w.apply_registry_sync(row.id, &config.host, found, known, at)
                .await?;
            // A tag that moved may have moved under something running.
            w.evaluate_provenance(&required, at).await?;
            outcome.repositories = found.repositories.len() as i64;
            outcome.tags = found.tags.len() as i64;
            outcome.changed_tags = found
                .tags
                .iter()
                .filter(|t| {
                    known.tags.get(&(t.repository.clone(), t.tag.clone())) != Some(&t.digest)
                })
                .count() as i64;
        }
        Err((status, error)) => w.registry_failed(row.id, status, error, at).await?,
    }
    match record {
        Some(record) => w.commit_with(record, at).await?,
        None => w.commit().await?,
    }
    if let Err((_, error)) = &read {
        tracing::info!(registry = %row.name, %error, "registry sync failed; its last-known state stays");
    }
    outcome.registry = summary(state, row.id).await?;
    Ok(outcome)
}

/// Syncs a registry now (an analyst asked) and answers what it found.
pub async fn sync_registry(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
) -> Result<RegistrySync> {
    let row = state.store.registry_row(id).await.map_err(not_found(id))?;
    let record = audit_by(
        by,
        "registry.sync",
        Some(format!("registry:{id}")),
        Some(json!({ "name": row.name })),
    );
    sync(state, &row, Some(&record)).await
}

/// Syncs each registry whose last attempt is older than [`SYNC_EVERY_SECS`], one after
/// another. Returns how many were synced.
pub async fn sync_due(state: &AppState, now: i64) -> Result<usize> {
    let mut synced = 0;
    for row in state.store.registry_rows().await? {
        if row
            .last_attempt_at
            .is_some_and(|at| at > now - SYNC_EVERY_SECS)
        {
            continue;
        }
        sync(state, &row, None).await?;
        synced += 1;
    }
    Ok(synced)
}
