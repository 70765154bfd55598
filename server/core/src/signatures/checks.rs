//! The server's signature checks of inventory images: each image that a registry names by
//! a manifest digest (Docker's RepoDigests, a pod's imageID) is looked up there and its
//! signatures verified with the keys whose scope covers its repository. The latest outcome
//! per image is stored in `signature_checks`; a job checks images never checked or
//! checked too long ago, and an analyst can check one image now.
//!
//! A registry an admin configured is read with its access (credentials, CA, plain HTTP
//! when marked insecure); any other anonymously, and a loopback one (127.0.0.0/8,
//! localhost, ::1) over plain HTTP, as the Docker engine treats it. What is trusted for an
//! image (keys, Notation CAs, keyless identities under the trust root) is what admins set
//! in [`super::trust`], by scope.

use super::trust::Trusted;
use super::verify::{verify_image, Evidence, Previous, Verification};
use crate::access::audit_by;
use crate::auth::{Analyst, Authed, Viewer};
use crate::error::{Error, Result};
use crate::registry::client::{Registry, RegistryAccess};
use crate::registry::reference::ImageReference;
use crate::store::{AuditRecord, StoreResult};
use crate::{with_db, AppState, Store};
use coastguard_model::signatures::{ImageSignature, SignatureCheck, SignatureStatus};
use std::collections::HashMap;

/// A check older than this is done again.
pub const RECHECK_AFTER_SECS: i64 = 6 * 3600;
/// Images checked at once (each is a few registry requests).
const CONCURRENCY: usize = 4;

#[derive(sqlx::FromRow)]
struct Due {
    image_id: i64,
    repository: String,
    digest: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    status: String,
    details: Option<String>,
    error: Option<String>,
    checked_at: i64,
}

#[derive(sqlx::FromRow)]
struct EvidenceRow {
    details: Option<String>,
    checked_at: i64,
    signature_tag: Option<String>,
    referrers: Option<String>,
}

fn signatures_of(details: Option<&str>) -> Vec<SignatureCheck> {
    details
        .and_then(|d| serde_json::from_str::<Vec<SignatureCheck>>(d).ok())
        .unwrap_or_default()
}

impl Store {
    /// Images an inventory source saw that a registry names by digest, whose latest
    /// check is older than `before` (or that were never checked), at most `limit`. One
    /// (repository, digest) pair per image, as the image is named (the first by
    /// repository, then digest).
    async fn images_due_for_signatures(&self, before: i64, limit: i64) -> StoreResult<Vec<Due>> {
        let rows: Vec<Due> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT d.image_id, d.repository, d.digest \
             FROM image_digests d JOIN images i ON i.id = d.image_id \
             WHERE i.inventory_seen_at IS NOT NULL AND d.repository <> '' \
               AND NOT EXISTS (SELECT 1 FROM signature_checks s WHERE s.image_id = d.image_id AND s.checked_at >= $1) \
               AND NOT EXISTS (SELECT 1 FROM image_digests e WHERE e.image_id = d.image_id AND e.repository <> '' \
                 AND (e.repository < d.repository OR (e.repository = d.repository AND e.digest < d.digest))) \
             ORDER BY d.image_id LIMIT $2"
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    async fn image_reference(&self, image_id: i64) -> StoreResult<Option<Due>> {
        let row: Option<Due> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT image_id, repository, digest FROM image_digests \
             WHERE image_id = $1 AND repository <> '' ORDER BY repository, digest LIMIT 1"
        )
        .bind(image_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row)
    }

    /// The latest signature check of an image.
    pub async fn image_signature(&self, image_id: i64) -> StoreResult<Option<ImageSignature>> {
        let row: Option<Row> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT status, details, error, checked_at FROM signature_checks \
             WHERE image_id = $1 ORDER BY checked_at DESC, id DESC LIMIT 1"
        )
        .bind(image_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| ImageSignature {
            status: SignatureStatus::parse(&r.status),
            signatures: signatures_of(r.details.as_deref()),
            error: r.error,
            checked_at: r.checked_at,
        }))
    }

    /// The image's latest check if it could stand again: made since `trust_since` (when
    /// what is trusted last changed; a check in that very second counts as after it, as
    /// for what is due), with the registry read (no error).
    async fn previous_check(
        &self,
        image_id: i64,
        trust_since: i64,
    ) -> StoreResult<Option<Previous>> {
        let row: Option<EvidenceRow> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT details, checked_at, signature_tag, referrers FROM signature_checks \
             WHERE image_id = $1 AND error IS NULL ORDER BY checked_at DESC, id DESC LIMIT 1"
        )
        .bind(image_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row
            .filter(|r| r.checked_at >= trust_since)
            .map(|r| Previous {
                signatures: signatures_of(r.details.as_deref()),
                evidence: Evidence {
                    signature_tag: r.signature_tag,
                    referrers: r.referrers,
                },
            }))
    }

    /// Stores an image's outcome as its only check (one commit: the old one goes), with
    /// the audit record of the person who asked for it, if one did.
    async fn record_signature_check(
        &self,
        image_id: i64,
        v: &Verification,
        now: i64,
        record: Option<&AuditRecord>,
    ) -> StoreResult<()> {
        let mut w = match record {
            Some(_) => self.begin().await?,
            None => self.begin_pass().await?,
        };
        let details = serde_json::to_string(&v.signatures).expect("checks serialize");
        let deciding = v
            .signatures
            .iter()
            .find(|s| s.verdict == coastguard_model::signatures::SignatureVerdict::Verified);
        let method = deciding.map(|s| s.kind.label());
        let signer = deciding.and_then(|s| s.signer.clone());
        crate::with_tx!(&mut w.tx, |t| {
            sqlx::query("DELETE FROM signature_checks WHERE image_id = $1")
                .bind(image_id)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "INSERT INTO signature_checks (image_id, checked_at, status, method, signer, error, details, signature_tag, referrers) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(image_id)
            .bind(now)
            .bind(v.status.as_str())
            .bind(method)
            .bind(signer)
            .bind(&v.error)
            .bind(details)
            .bind(&v.evidence.signature_tag)
            .bind(&v.evidence.referrers)
            .execute(&mut **t)
            .await
            .map(|_| ())
        })?;
        match record {
            Some(record) => w.commit_with(record, now).await,
            None => w.commit().await,
        }
    }
}

/// Whether Docker would speak plain HTTP to this registry by default.
fn loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One client per registry host for a pass: its CA certificates are loaded and its
/// tokens kept once, not per image. A host whose client cannot be made keeps the reason.
type Clients = HashMap<String, std::result::Result<Registry, String>>;

fn reference_of(due: &Due) -> std::result::Result<ImageReference, String> {
    ImageReference::parse(&format!("{}@{}", due.repository, due.digest))
        .map_err(|e| format!("its repository cannot be read as a reference: {e}"))
}

/// A client per host: a configured registry's access (credentials, CA, plain HTTP when
/// marked insecure), else anonymous, over HTTPS but for loopback.
async fn clients_for(state: &AppState, dues: &[Due]) -> Result<Clients> {
    let configured = crate::registry::manage::configured_access(state).await?;
    let mut clients = Clients::new();
    for host in dues
        .iter()
        .filter_map(|d| reference_of(d).ok())
        .map(|r| r.registry)
    {
        clients.entry(host.clone()).or_insert_with(|| {
            Registry::new(configured.get(&host).cloned().unwrap_or(RegistryAccess {
                insecure: loopback(&host),
                host,
                ..RegistryAccess::default()
            }))
        });
    }
    Ok(clients)
}

/// Checks one image (`repository@digest`) and stores the outcome, audited as `record`'s
/// action when a person asked for it.
async fn check(
    state: &AppState,
    trusted: &Trusted,
    clients: &Clients,
    due: &Due,
    now: i64,
    record: Option<&AuditRecord>,
) -> StoreResult<Verification> {
    // A person who asks gets everything read again; the job keeps what did not change.
    let previous = match record {
        None => {
            state
                .store
                .previous_check(due.image_id, trusted.since)
                .await?
        }
        Some(_) => None,
    };
    let digest = Some(due.digest.clone());
    let v = match reference_of(due) {
        Err(e) => Verification::could_not_check(due.repository.clone(), digest, e),
        Ok(reference) => match clients.get(&reference.registry) {
            Some(Ok(registry)) => {
                let trust = trusted.for_image(&reference.name());
                verify_image(registry, &reference, &trust, now, previous.as_ref()).await
            }
            Some(Err(e)) => Verification::could_not_check(reference.to_string(), digest, e.clone()),
            None => unreachable!("a client is made for every reference's host"),
        },
    };
    state
        .store
        .record_signature_check(due.image_id, &v, now, record)
        .await?;
    Ok(v)
}

/// What a pass of checks did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub checked: usize,
    /// Of those, how many kept their verdicts: signatures unchanged since the last check.
    pub unchanged: usize,
}

/// Checks the images that are due (never checked, checked six hours ago, or checked
/// before what is trusted changed), at most `limit`, a few at a time.
pub async fn check_due(state: &AppState, now: i64, limit: i64) -> Result<Pass> {
    // Checks older than six hours, or made before what is trusted last changed.
    let trusted = Trusted::load(state).await?;
    let before = (now - RECHECK_AFTER_SECS).max(trusted.since.min(now));
    let due = state.store.images_due_for_signatures(before, limit).await?;
    let mut pass = Pass::default();
    if due.is_empty() {
        return Ok(pass);
    }
    let clients = clients_for(state, &due).await?;
    // A few at a time, each batch whole before the next.
    for batch in due.chunks(CONCURRENCY) {
        let checks = batch
            .iter()
            .map(|d| check(state, &trusted, &clients, d, now, None));
        for outcome in futures::future::join_all(checks).await {
            pass.checked += 1;
            pass.unchanged += usize::from(outcome?.reused);
        }
    }
    crate::registry::provenance::evaluate(state, now).await?;
    Ok(pass)
}

/// The signature status of the images running in `scope` (everywhere, a host, a team,
/// a cluster or a namespace), from their latest checks.
pub async fn coverage(
    state: &AppState,
    _by: &Authed<Viewer>,
    scope: &crate::store::Scope,
) -> Result<coastguard_model::signatures::SignatureCoverage> {
    Ok(state.store.signature_coverage_in(scope).await?)
}

/// The latest signature check of an image, for its detail.
pub async fn signature(
    state: &AppState,
    _by: &Authed<Viewer>,
    image_id: i64,
) -> Result<Option<ImageSignature>> {
    Ok(state.store.image_signature(image_id).await?)
}

/// Checks one image now (an analyst asked) and returns its outcome.
pub async fn check_image(
    state: &AppState,
    by: &Authed<Analyst>,
    image_id: i64,
) -> Result<ImageSignature> {
    let due = state.store.image_reference(image_id).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "image {image_id} is not known by any registry digest (an image built locally and never pushed or pulled has none)"
        ))
    })?;
    let trusted = Trusted::load(state).await?;
    let record = audit_by(
        by,
        "image.signature_check",
        Some(format!("image:{image_id}")),
        Some(serde_json::json!({ "repository": due.repository, "digest": due.digest })),
    );
    let clients = clients_for(state, std::slice::from_ref(&due)).await?;
    let now = crate::now();
    check(state, &trusted, &clients, &due, now, Some(&record)).await?;
    crate::registry::provenance::evaluate(state, now).await?;
    state
        .store
        .image_signature(image_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no signature check of image {image_id}")))
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn loopback_registries_are_the_ones_docker_speaks_http_to() {
        for host in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(loopback(host), "{host}");
        }
        for host in [
            "docker.io",
            "ghcr.io",
            "10.0.0.1:5000",
            "127.evil.example",
            "localhost.example.com",
        ] {
            assert!(!loopback(host), "{host}");
        }
    }
}
