use crate::error::AppError;
use coastguard_model::{Me, Overview};
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
