//! Managing users and API tokens: the operations behind the admin pages, the REST API
//! and the command line. Each takes the caller's role proof, validates its input,
//! changes the store and writes the audit log.

use crate::auth::{password, token, Admin, Authed, MinRole, Principal, Viewer};
use crate::error::{Error, Result};
use crate::store::tokens::NewTokenRow;
use crate::store::users::UserChange;
use crate::store::AuditRecord;
use crate::{now, validate_field, AppState};
use coastguard_model::{validate, NewToken, NewUser, Role, TokenView, UserView};
use serde_json::json;

/// Builds the audit record for a change made by `by`.
pub fn audit_by<R: MinRole>(
    by: &Authed<R>,
    action: &'static str,
    target: Option<String>,
    detail: Option<serde_json::Value>,
) -> AuditRecord {
    audit_by_principal(&by.principal, by.ip.clone(), action, target, detail)
}

pub fn audit_by_principal(
    principal: &Principal,
    ip: Option<String>,
    action: &'static str,
    target: Option<String>,
    detail: Option<serde_json::Value>,
) -> AuditRecord {
    AuditRecord {
        actor_kind: principal.kind_str(),
        actor_id: principal.actor_id(),
        actor_name: principal.name.clone(),
        action,
        target,
        detail,
        ip,
    }
}

pub async fn list_users(state: &AppState, _by: &Authed<Admin>) -> Result<Vec<UserView>> {
    Ok(state
        .store
        .list_users()
        .await?
        .iter()
        .map(|u| u.view())
        .collect())
}

/// A user is a viewer, analyst or admin: `ingest` is for tokens.
fn user_role(role: Role) -> Result<Role> {
    if Role::FOR_USERS.contains(&role) {
        Ok(role)
    } else {
        Err(Error::invalid_at(
            "role",
            "the ingest role is for API tokens; a user is a viewer, analyst or admin",
        ))
    }
}

pub async fn create_user(state: &AppState, by: &Authed<Admin>, input: NewUser) -> Result<UserView> {
    user_role(input.role)?;
    let name = validate_field("name", validate::username(&input.name))?;
    validate_field("password", validate::password(&input.password))?;
    let hash = password::hash(input.password).await?;
    let at = now();
    let mut w = state.store.begin().await?;
    let user = w.create_user(&name, input.role, &hash, at).await?;
    let record = audit_by(
        by,
        "user.create",
        Some(format!("user:{name}")),
        Some(json!({ "role": input.role })),
    );
    w.commit_with(&record, at).await?;
    Ok(user.view())
}

/// Changes a user's role and/or disabled flag. Admins can't demote or disable
/// themselves (another admin must), which also keeps one admin in place.
pub async fn update_user(
    state: &AppState,
    by: &Authed<Admin>,
    id: i64,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<UserView> {
    if let Some(r) = role {
        user_role(r)?;
    }
    if by.principal.user_id() == Some(id)
        && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true))
    {
        return Err(Error::Conflict(
            "you can't demote or disable yourself; ask another admin".into(),
        ));
    }
    let at = now();
    let mut w = state.store.begin().await?;
    let user = w
        .update_user(id, &UserChange { role, disabled }, at)
        .await
        .map_err(|e| not_found(e, "user", id))?;
    let record = audit_by(
        by,
        "user.update",
        Some(format!("user:{}", user.name)),
        Some(json!({ "role": role, "disabled": disabled })),
    );
    w.commit_with(&record, at).await?;
    Ok(user.view())
}

pub async fn reset_password(
    state: &AppState,
    by: &Authed<Admin>,
    id: i64,
    new_password: String,
) -> Result<()> {
    validate_field("password", validate::password(&new_password))?;
    let user = state
        .store
        .user(id)
        .await
        .map_err(|e| not_found(e, "user", id))?;
    let hash = password::hash(new_password).await?;
    let at = now();
    let mut w = state.store.begin().await?;
    w.set_password(id, &hash, at)
        .await
        .map_err(|e| not_found(e, "user", id))?;
    let record = audit_by(
        by,
        "user.reset_password",
        Some(format!("user:{}", user.name)),
        None,
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

pub async fn delete_user(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    if by.principal.user_id() == Some(id) {
        return Err(Error::Conflict(
            "you can't delete yourself; ask another admin".into(),
        ));
    }
    let at = now();
    let mut w = state.store.begin().await?;
    let (user, tokens_revoked) = w
        .delete_user(id, at)
        .await
        .map_err(|e| not_found(e, "user", id))?;
    let record = audit_by(
        by,
        "user.delete",
        Some(format!("user:{}", user.name)),
        Some(json!({ "tokens_revoked": tokens_revoked })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// A signed-in user changes their own password, proving they know the current one.
/// Returns the user's new session epoch (all older sessions have ended).
pub async fn change_own_password(
    state: &AppState,
    by: &Authed<Viewer>,
    current: String,
    new_password: String,
) -> Result<i64> {
    let Some(id) = by.principal.user_id() else {
        return Err(Error::Forbidden(
            "only users have passwords; this is a token".into(),
        ));
    };
    validate_field("new_password", validate::password(&new_password))?;
    let user = state.store.user(id).await?;
    // Throttled like a login (count first, then check): a stolen session must not become
    // a way to guess the password it would need to take the account over.
    let policy = state.settings.login_policy().per_pair;
    let key = format!("password:{id}");
    let at = now();
    let reserved = state.store.throttle_reserve(&key, policy, at).await?;
    if !reserved.allowed {
        return Err(Error::TooManyRequests(
            "too many wrong current passwords; wait a few minutes, then try again".into(),
        ));
    }
    let checked = password::verify_bounded(
        current,
        Some(user.password_hash.clone()),
        password::QUEUE_WAIT,
    )
    .await;
    match checked {
        Some(true) => state.store.throttle_clear(&key).await?,
        Some(false) => {
            state
                .store
                .audit(
                    &audit_by(
                        by,
                        "user.change_password_failed",
                        Some(format!("user:{}", user.name)),
                        None,
                    ),
                    at,
                )
                .await?;
            return Err(Error::invalid_at(
                "current_password",
                "the current password is wrong",
            ));
        }
        None => {
            state.store.throttle_refund(&key, policy).await?;
            return Err(Error::TooManyRequests(
                "the server is busy checking passwords; try again in a moment".into(),
            ));
        }
    }
    let hash = password::hash(new_password).await?;
    let at = now();
    let mut w = state.store.begin().await?;
    w.set_password(id, &hash, at).await?;
    let record = audit_by(
        by,
        "user.change_password",
        Some(format!("user:{}", user.name)),
        None,
    );
    w.commit_with(&record, at).await?;
    Ok(state.store.user(id).await?.session_epoch)
}

pub async fn list_tokens(state: &AppState, _by: &Authed<Admin>) -> Result<Vec<TokenView>> {
    Ok(state
        .store
        .list_tokens()
        .await?
        .iter()
        .map(|t| t.view(now()))
        .collect())
}

/// Creates a token; its secret is in the result and nowhere else, ever.
pub async fn create_token(
    state: &AppState,
    by: &Authed<Admin>,
    name: &str,
    role: Role,
    expires_in_days: Option<i64>,
) -> Result<NewToken> {
    let name = validate_field("name", validate::label("token name", name))?;
    if let Some(days) = expires_in_days {
        if !(1..=3650).contains(&days) {
            return Err(Error::invalid_at(
                "expires_in_days",
                "expiry must be between 1 and 3650 days",
            ));
        }
    }
    let generated = token::generate();
    let at = now();
    let mut w = state.store.begin().await?;
    let row = w
        .create_token(
            &NewTokenRow {
                name: &name,
                role,
                token_hash: &generated.hash,
                prefix: &generated.display_prefix,
                created_by: by.principal.user_id(),
                expires_at: expires_in_days.map(|d| at + d * 86_400),
            },
            at,
        )
        .await?;
    let record = audit_by(
        by,
        "token.create",
        Some(format!("token:{}", row.id)),
        Some(json!({ "name": name, "role": role, "expires_at": row.expires_at })),
    );
    w.commit_with(&record, at).await?;
    Ok(NewToken {
        token: row.view(now()),
        secret: generated.secret,
    })
}

pub async fn revoke_token(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<TokenView> {
    let at = now();
    let mut w = state.store.begin().await?;
    let row = w
        .revoke_token(id, at)
        .await
        .map_err(|e| not_found(e, "token", id))?;
    let record = audit_by(
        by,
        "token.revoke",
        Some(format!("token:{id}")),
        Some(json!({ "name": row.name })),
    );
    w.commit_with(&record, at).await?;
    Ok(row.view(at))
}

/// Creates the first admin when the database has no users. Returns the generated
/// password when none was configured, so start-up can print it once.
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<(String, Option<String>)>> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &state.settings.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = password::hash(password).await?;
    let at = now();
    let mut w = state.store.begin().await?;
    match w.create_user("admin", Role::Admin, &hash, at).await {
        Ok(_) => {}
        // Another replica won the race: fine.
        Err(crate::StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    w.audit(
        &AuditRecord::system("user.bootstrap_admin", "user:admin"),
        at,
    )
    .await?;
    w.commit().await?;
    Ok(Some(("admin".into(), generated)))
}

fn not_found(e: crate::StoreError, what: &str, id: i64) -> Error {
    match e {
        crate::StoreError::NotFound => Error::NotFound(format!("no {what} with id {id}")),
        other => other.into(),
    }
}
