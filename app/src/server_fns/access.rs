//! Users, tokens, the audit log and the signed-in user's own password.

use crate::error::AppError;
use coastguard_model::{AuditEntry, NewToken, Page, Role, TokenView, UserView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ctx, coastguard_core::access, coastguard_core::auth::Admin};

#[server(prefix = "/ui")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::list_users(&ctx::state()?, &by).await?)
}

#[server(prefix = "/ui")]
pub async fn create_user(name: String, role: Role, password: String) -> Result<UserView, AppError> {
    let by = ctx::require::<Admin>()?;
    let input = coastguard_model::NewUser {
        name,
        role,
        password,
    };
    Ok(access::create_user(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn set_user_role(id: i64, role: Role) -> Result<UserView, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::update_user(&ctx::state()?, &by, id, Some(role), None).await?)
}

#[server(prefix = "/ui")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<UserView, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::update_user(&ctx::state()?, &by, id, None, Some(disabled)).await?)
}

#[server(prefix = "/ui")]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::reset_password(&ctx::state()?, &by, id, password).await?)
}

#[server(prefix = "/ui")]
pub async fn delete_user(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::delete_user(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::list_tokens(&ctx::state()?, &by).await?)
}

/// `expires_in_days` comes from a form field: empty means "never".
#[server(prefix = "/ui")]
pub async fn create_token(
    name: String,
    role: Role,
    expires_in_days: String,
) -> Result<NewToken, AppError> {
    let by = ctx::require::<Admin>()?;
    let days = match expires_in_days.trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| AppError::Invalid {
            message: "expiry must be a whole number of days".into(),
            field: Some("expires_in_days".into()),
        })?),
    };
    Ok(access::create_token(&ctx::state()?, &by, &name, role, days).await?)
}

#[server(prefix = "/ui")]
pub async fn revoke_token(id: i64) -> Result<TokenView, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(access::revoke_token(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_audit(before: Option<i64>) -> Result<Page<AuditEntry>, AppError> {
    ctx::require::<Admin>()?;
    Ok(ctx::state()?.store.list_audit(before, 50).await?)
}

#[server(prefix = "/ui")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use coastguard_core::sessions::{SessionUser, AUTH_KEY};
    let by = ctx::require::<coastguard_core::auth::Viewer>()?;
    let epoch =
        access::change_own_password(&ctx::state()?, &by, current_password, new_password).await?;
    // Other sessions of this user end (the epoch moved); this one carries on.
    if let Some(user_id) = by.principal.user_id() {
        let session: tower_sessions::Session = leptos_axum::extract()
            .await
            .map_err(|_| AppError::Internal)?;
        // The session keeps its sign-in time (its absolute lifetime does not restart).
        let current: Option<SessionUser> = session
            .get(AUTH_KEY)
            .await
            .map_err(|_| AppError::Internal)?;
        let updated = match current {
            Some(current) => SessionUser { epoch, ..current },
            None => SessionUser::new(user_id, epoch, coastguard_core::now()),
        };
        session
            .insert(AUTH_KEY, updated)
            .await
            .map_err(|_| AppError::Internal)?;
    }
    Ok(())
}
