//! `POST /login` and `POST /logout`: plain HTML form posts, so signing in works before
//! (and without) hydration. Results come back as redirects (post/redirect/get).

use super::authn::urlencode;
use crate::state::ServerState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use coastguard_core::access::audit_by_principal;
use coastguard_core::auth::login::{login as check_login, LoginOutcome};
use coastguard_core::auth::principal::ClientIp;
use coastguard_core::auth::Principal;
use coastguard_core::sessions::{SessionUser, AUTH_KEY};
use coastguard_core::{now, Error};
use coastguard_model::validate::local_redirect;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<ServerState>,
    session: Session,
    ip: Option<Extension<ClientIp>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    let policy = state.app.settings.login_policy();
    let outcome = check_login(
        &state.app.store,
        policy,
        &form.username,
        &form.password,
        ip.as_deref(),
        now(),
    )
    .await?;
    let next = local_redirect(&form.next).filter(|n| *n != "/login");
    let back = |error: &str| {
        let mut target = format!("/login?error={error}");
        if let Some(next) = next {
            target.push_str("&next=");
            target.push_str(&urlencode(next));
        }
        Redirect::to(&target).into_response()
    };
    match outcome {
        LoginOutcome::Success(user) => {
            // A fresh session id at login defeats session fixation.
            let session_error = |e: tower_sessions::session::Error| anyhow::anyhow!("session: {e}");
            session.cycle_id().await.map_err(session_error)?;
            session
                .insert(
                    AUTH_KEY,
                    SessionUser::new(user.id, user.session_epoch, now()),
                )
                .await
                .map_err(session_error)?;
            Ok(Redirect::to(next.unwrap_or("/")).into_response())
        }
        LoginOutcome::Invalid => Ok(back("invalid")),
        LoginOutcome::Locked { .. } => Ok(back("locked")),
        LoginOutcome::Busy => Ok(back("busy")),
    }
}

pub async fn logout(
    State(state): State<ServerState>,
    session: Session,
    principal: Option<Extension<Principal>>,
    ip: Option<Extension<ClientIp>>,
) -> Result<Response, Error> {
    if let Some(Extension(principal)) = principal {
        let ip = ip.map(|Extension(ClientIp(ip))| ip);
        state
            .app
            .store
            .audit(
                &audit_by_principal(&principal, ip, "auth.logout", None, None),
                now(),
            )
            .await?;
    }
    session
        .flush()
        .await
        .map_err(|e| anyhow::anyhow!("ending session: {e}"))?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}
