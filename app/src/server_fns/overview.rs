use crate::error::AppError;
use coastguard_model::{InstanceInfo, Me, Overview, SetupInfo};
use leptos::prelude::*;

/// The signed-in user (or token) and role.
#[server(prefix = "/ui")]
pub async fn current_user() -> Result<Me, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    let who = ctx::require::<Viewer>()?;
    Ok(who.principal.me(ctx::state()?.demo))
}

#[server(prefix = "/ui")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    ctx::require::<Viewer>()?;
    Ok(coastguard_core::posture::overview(&ctx::state()?).await?)
}

/// What the first-run walkthrough needs: this server's URL as the browser reached it
/// (or the configured public URL) and whether the local engine is watched.
#[server(prefix = "/ui")]
pub async fn get_setup_info() -> Result<SetupInfo, AppError> {
    use super::ctx;
    use axum::http::request::Parts;
    use coastguard_core::auth::Viewer;
    ctx::require::<Viewer>()?;
    let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Ok(coastguard_core::posture::setup_info(
        &ctx::state()?,
        header("host").as_deref(),
        header("x-forwarded-proto").as_deref(),
    ))
}

/// What the login page may say before anyone logs in: whether this is the demo estate.
/// Public (see the server's `is_public`).
#[server(prefix = "/ui", endpoint = "instance")]
pub async fn get_instance_info() -> Result<InstanceInfo, AppError> {
    Ok(InstanceInfo {
        demo: super::ctx::state()?.demo,
    })
}
