//! Operations on the Docker inventory behind the pages, the REST API and the CLI: engines,
//! detail views, risk acceptance and the image policy. Each takes its role proof and
//! writes the audit log for changes.

use super::collector;
use super::engine::EngineConfig;
use crate::access::audit_by;
use crate::auth::{Admin, Analyst, Authed, Viewer};
use crate::error::{Error, Result};
use crate::store::settings::POLICY_KEY;
use crate::{now, validate_field, AppState, StoreError};
use coastguard_model::docker::Policy;
use coastguard_model::findings::SubjectKind;
use coastguard_model::inventory::{
    ContainerDetail, HostDetail, HostSummary, ImageDetail, ListQuery, NewEngine, SyncResult,
};
use coastguard_model::validate;
use serde_json::json;

fn not_found(what: &'static str, id: i64) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("no {what} with id {id}")),
        other => other.into(),
    }
}

fn facts<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Option<T> {
    raw.and_then(|r| serde_json::from_str(&r).ok())
}

/// The demo estate's engines are invented: none can be reached, and a real one must not
/// be mixed into the demo's database.
fn refuse_in_demo(state: &AppState) -> Result<()> {
    if state.demo {
        return Err(Error::Conflict(
            "this server holds the demo estate, whose engines are invented: connect real engines to a server on your own database (coastguard serve)".into(),
        ));
    }
    Ok(())
}

pub async fn add_engine(
    state: &AppState,
    by: &Authed<Admin>,
    input: NewEngine,
) -> Result<HostSummary> {
    refuse_in_demo(state)?;
    let name = validate_field("name", validate::label("engine name", &input.name))?;
    let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let config = EngineConfig {
        endpoint: input.endpoint.trim().to_string(),
        tls_ca: blank(input.tls_ca),
        tls_cert: blank(input.tls_cert),
        tls_key: blank(input.tls_key),
        ssh_key: blank(input.ssh_key),
    };
    validate_field("endpoint", config.validate())?;
    for (field, path) in [
        ("tls_ca", &config.tls_ca),
        ("tls_cert", &config.tls_cert),
        ("tls_key", &config.tls_key),
        ("ssh_key", &config.ssh_key),
    ] {
        if let Some(path) = path {
            if !std::path::Path::new(path).is_file() {
                return Err(Error::invalid_at(
                    field,
                    format!("{path} is not a readable file on the Coastguard server"),
                ));
            }
        }
    }
    let at = now();
    let mut w = state.store.begin().await?;
    let row = w.add_docker_engine(&name, &config, at).await?;
    let record = audit_by(
        by,
        "engine.add",
        Some(format!("host:{}", row.id)),
        Some(json!({ "name": name, "endpoint": config.endpoint })),
    );
    w.commit_with(&record, at).await?;
    Ok(state.store.host_summary(row.id).await?)
}

pub async fn remove_engine(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let row = w
        .remove_docker_engine(id)
        .await
        .map_err(not_found("engine", id))?;
    let record = audit_by(
        by,
        "engine.remove",
        Some(format!("host:{id}")),
        Some(json!({ "name": row.name })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// Syncs an engine now (besides its schedule) and reports what it found.
pub async fn sync_now(state: &AppState, by: &Authed<Analyst>, id: i64) -> Result<SyncResult> {
    refuse_in_demo(state)?;
    let engine = state
        .store
        .docker_engine(id)
        .await
        .map_err(not_found("engine", id))?;
    state
        .store
        .audit(
            &audit_by(by, "engine.sync", Some(format!("host:{id}")), None),
            now(),
        )
        .await?;
    match collector::sync_engine(state, &engine).await {
        Ok((_, _, report)) => Ok(SyncResult {
            images: report.images as i64,
            containers: report.containers as i64,
            findings: report.findings as i64,
        }),
        // Unreachable is an answer, not a server fault: the host now says why.
        Err(e) => Err(Error::Conflict(format!("{e:#}"))),
    }
}

pub async fn host_detail(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<HostDetail> {
    let host = state
        .store
        .host_summary(id)
        .await
        .map_err(not_found("host", id))?;
    Ok(HostDetail {
        host,
        facts: facts(state.store.facts_json(SubjectKind::Host, id).await?),
        findings: state.store.subject_findings(SubjectKind::Host, id).await?,
    })
}

pub async fn image_detail(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<ImageDetail> {
    let image = state
        .store
        .image_summary(id)
        .await
        .map_err(not_found("image", id))?;
    let containers = state
        .store
        .list_containers(
            &ListQuery {
                per_page: Some(500),
                ..ListQuery::default()
            },
            Some(id),
        )
        .await?
        .items;
    Ok(ImageDetail {
        image,
        facts: facts(state.store.facts_json(SubjectKind::Image, id).await?),
        findings: state.store.subject_findings(SubjectKind::Image, id).await?,
        containers,
        // Signatures sit above Docker: the callers add it (`signatures::checks::signature`).
        signature: None,
    })
}

pub async fn container_detail(
    state: &AppState,
    _by: &Authed<Viewer>,
    id: i64,
) -> Result<ContainerDetail> {
    let container = state
        .store
        .container_summary(id)
        .await
        .map_err(not_found("container", id))?;
    let image_signature = match container.image_id {
        Some(image) => state.store.signature_status(image).await?,
        None => None,
    };
    Ok(ContainerDetail {
        container,
        image_signature,
        facts: facts(state.store.facts_json(SubjectKind::Container, id).await?),
        findings: state
            .store
            .subject_findings(SubjectKind::Container, id)
            .await?,
    })
}

pub async fn policy(state: &AppState, _by: &Authed<Viewer>) -> Result<Policy> {
    Ok(state.store.policy().await)
}

/// Stores a new image policy; image findings follow at the next sync of each engine.
pub async fn set_policy(state: &AppState, by: &Authed<Admin>, policy: Policy) -> Result<Policy> {
    let policy = policy
        .validated()
        .map_err(|(field, message)| Error::invalid_at(field, message))?;
    let at = now();
    let mut w = state.store.begin().await?;
    w.put_setting(POLICY_KEY, &policy, &by.principal.name, at)
        .await?;
    let record = audit_by(
        by,
        "settings.docker_policy",
        None,
        Some(serde_json::to_value(&policy).unwrap_or_default()),
    );
    w.commit_with(&record, at).await?;
    // The allowed scan age applies at once; the image checks at each engine's next sync.
    state
        .store
        .evaluate_scan_coverage(policy.scan_max_age_days, now())
        .await?;
    Ok(policy)
}
