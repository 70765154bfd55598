//! Signing in with a user name and password: throttling, constant-shape failures, audit.

use super::password;
use crate::store::{AuditRecord, Store, StoreResult, ThrottlePolicy, UserRow};

/// Limits for failed logins, per user name and per client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub per_user: ThrottlePolicy,
    pub per_ip: ThrottlePolicy,
}

impl LoginPolicy {
    /// `max_failures` per user name within `window_secs`; ten times that per address.
    pub fn new(max_failures: i64, window_secs: i64, lockout_secs: i64) -> LoginPolicy {
        LoginPolicy {
            per_user: ThrottlePolicy {
                max_failures,
                window: window_secs,
                lockout: lockout_secs,
            },
            per_ip: ThrottlePolicy {
                max_failures: max_failures * 10,
                window: window_secs,
                lockout: lockout_secs,
            },
        }
    }
}

#[derive(Debug)]
pub enum LoginOutcome {
    Success(UserRow),
    /// Wrong name or password, or a disabled user: callers show one generic message.
    Invalid,
    /// Too many failures; try again after this Unix time.
    Locked {
        until: i64,
    },
}

pub async fn login(
    store: &Store,
    policy: LoginPolicy,
    raw_name: &str,
    password: &str,
    ip: Option<&str>,
    now: i64,
) -> StoreResult<LoginOutcome> {
    // An invalid name can't be a user, but is still checked against the dummy hash so
    // every failure costs the same time.
    let name = coastguard_model::validate::username(raw_name).ok();
    let user_key = format!("user:{}", name.as_deref().unwrap_or("-"));
    let ip_key = ip.map(|ip| format!("ip:{ip}"));

    let mut locked = store.throttle_locked_until(&user_key, now).await?;
    if let Some(ip_key) = &ip_key {
        locked = locked.max(store.throttle_locked_until(ip_key, now).await?);
    }
    if let Some(until) = locked {
        return Ok(LoginOutcome::Locked { until });
    }

    let user = match &name {
        Some(name) => store.user_by_name(name).await?,
        None => None,
    };
    let usable = user.as_ref().filter(|u| !u.disabled);
    let verified = password::verify(
        password.to_string(),
        usable.map(|u| u.password_hash.clone()),
    )
    .await;

    match (verified, usable) {
        (true, Some(user)) => {
            store.throttle_clear(&user_key).await?;
            store.record_login(user.id, now).await?;
            store
                .audit(
                    &AuditRecord {
                        actor_kind: "user",
                        actor_id: Some(user.id),
                        actor_name: user.name.clone(),
                        action: "auth.login",
                        target: None,
                        detail: None,
                        ip: ip.map(str::to_string),
                    },
                    now,
                )
                .await?;
            Ok(LoginOutcome::Success(user.clone()))
        }
        _ => {
            let mut until = store
                .throttle_failure(&user_key, policy.per_user, now)
                .await?;
            if let Some(ip_key) = &ip_key {
                until = until.max(store.throttle_failure(ip_key, policy.per_ip, now).await?);
            }
            // Only names of real users go into the log: a mistyped password in the name
            // field must not end up stored.
            store
                .audit(
                    &AuditRecord {
                        actor_kind: "user",
                        actor_id: user.as_ref().map(|u| u.id),
                        actor_name: user
                            .as_ref()
                            .map_or("(unknown user)".into(), |u| u.name.clone()),
                        action: "auth.login_failed",
                        target: None,
                        detail: until.map(|until| serde_json::json!({ "locked_until": until })),
                        ip: ip.map(str::to_string),
                    },
                    now,
                )
                .await?;
            Ok(match until {
                Some(until) => LoginOutcome::Locked { until },
                None => LoginOutcome::Invalid,
            })
        }
    }
}
