//! The signers and the trust root trusted for image signatures, and checking an image's
//! signatures now.

use crate::error::AppError;
use coastguard_model::signatures::{
    ImageSignature, SignatureCoverage, SigningKeyView, TrustRootView,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Admin, Analyst, Viewer},
    coastguard_core::signatures::{checks, trust},
};

#[server(prefix = "/ui")]
pub async fn list_signing_keys() -> Result<Vec<SigningKeyView>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(trust::list_keys(&ctx::state()?, &by).await?)
}

/// From the settings form: a public key or a Notation CA certificate; an empty scope
/// means every image.
#[server(prefix = "/ui")]
pub async fn add_signing_key(
    name: String,
    public_pem: String,
    scope: String,
) -> Result<SigningKeyView, AppError> {
    add_signer(name, Some(public_pem), None, None, scope).await
}

/// From the settings form: a keyless identity pattern and its issuer.
#[server(prefix = "/ui")]
pub async fn add_signing_identity(
    name: String,
    identity: String,
    issuer: String,
    scope: String,
) -> Result<SigningKeyView, AppError> {
    add_signer(name, None, Some(identity), Some(issuer), scope).await
}

#[cfg(feature = "ssr")]
async fn add_signer(
    name: String,
    public_pem: Option<String>,
    identity: Option<String>,
    issuer: Option<String>,
    scope: String,
) -> Result<SigningKeyView, AppError> {
    let by = ctx::require::<Admin>()?;
    let scope = Some(scope).filter(|s| !s.trim().is_empty());
    let input = coastguard_model::signatures::NewSigningKey {
        name,
        public_pem,
        identity,
        issuer,
        scope,
    };
    Ok(trust::add_key(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn get_trust_root() -> Result<Option<TrustRootView>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(trust::trust_root(&ctx::state()?, &by).await?)
}

#[server(prefix = "/ui")]
pub async fn set_trust_root(trusted_root: String) -> Result<TrustRootView, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(trust::set_trust_root(&ctx::state()?, &by, &trusted_root).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_trust_root() -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(trust::remove_trust_root(&ctx::state()?, &by).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_signing_key(id: i64) -> Result<SigningKeyView, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(trust::remove_key(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn check_image_signature(id: i64) -> Result<ImageSignature, AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(checks::check_image(&ctx::state()?, &by, id).await?)
}

/// The signature status of the images running on a host, in a cluster or in a namespace
/// (at most one given; none: everywhere).
#[server(prefix = "/ui")]
pub async fn get_signature_coverage(
    host: Option<i64>,
    cluster: Option<i64>,
    namespace: Option<i64>,
) -> Result<SignatureCoverage, AppError> {
    let by = ctx::require::<Viewer>()?;
    let scope = coastguard_core::posture::scope_of(host, None, cluster, namespace)?;
    Ok(checks::coverage(&ctx::state()?, &by, &scope).await?)
}
