//! Signing in with a user name and password: throttling, constant-shape failures, audit.

use super::password;
use crate::store::{AuditRecord, Store, StoreResult, ThrottlePolicy, UserRow};

/// Limits for failed logins (docs/security.md, "Signing in"):
/// - per (user name, client address): `max_failures` in the window, then that pair is
///   locked for the lockout. A stranger's failures lock only the stranger's own pair,
///   so they never keep the owner, at another address, out;
/// - per client address, whatever the names: ten times that, then the address is locked;
/// - per user name, from every address: a ceiling twenty times higher, past which each
///   attempt is slowed (up to [`MAX_DELAY_SECS`]) but never refused.
///
/// Attempts are counted before the password is checked and successes are given back, so
/// an address that has not failed is never refused a correct password.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub per_pair: ThrottlePolicy,
    pub per_ip: ThrottlePolicy,
    pub per_user: ThrottlePolicy,
}

/// The longest a login past the per-user ceiling is delayed.
pub const MAX_DELAY_SECS: i64 = 5;

impl LoginPolicy {
    /// `max_failures` per user name and address within `window_secs`; ten times that per
    /// address; twenty times that per user name (slowed, not locked).
    pub fn new(max_failures: i64, window_secs: i64, lockout_secs: i64) -> LoginPolicy {
        let policy = |max_failures| ThrottlePolicy {
            max_failures,
            window: window_secs,
            lockout: lockout_secs,
        };
        LoginPolicy {
            per_pair: policy(max_failures),
            per_ip: policy(max_failures * 10),
            per_user: ThrottlePolicy {
                max_failures: max_failures * 20,
                window: window_secs,
                // The ceiling's "lock" only marks the rest of the window as slowed.
                lockout: window_secs,
            },
        }
    }

    /// How long to hold an attempt that is the `attempts`-th for its user name in the
    /// window: nothing up to the ceiling, then a second per attempt over it, at most
    /// [`MAX_DELAY_SECS`].
    pub fn delay(&self, attempts: i64) -> std::time::Duration {
        let over = (attempts - self.per_user.max_failures).clamp(0, MAX_DELAY_SECS);
        std::time::Duration::from_secs(over as u64)
    }
}

#[derive(Debug)]
pub enum LoginOutcome {
    Success(UserRow),
    /// Wrong name or password, or a disabled user: callers show one generic message.
    Invalid,
    /// Too many failures for this name from this address, or from this address: refused
    /// without checking the password until this Unix time.
    Locked {
        until: i64,
    },
    /// Too many password checks already running: nothing was checked or counted.
    Busy,
}

/// The throttle keys of one attempt.
struct Keys {
    pair: String,
    ip: Option<String>,
    user: String,
}

impl Keys {
    fn new(name: Option<&str>, ip: Option<&str>) -> Keys {
        let name = name.unwrap_or("-");
        Keys {
            pair: format!("pair:{name}|{}", ip.unwrap_or("-")),
            ip: ip.map(|ip| format!("ip:{ip}")),
            user: format!("user:{name}"),
        }
    }
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
    let keys = Keys::new(name.as_deref(), ip);

    // Count first, then check: the reservations decide whether the password is checked
    // at all, so concurrent attempts can't overrun the limits.
    let pair = store
        .throttle_reserve(&keys.pair, policy.per_pair, now)
        .await?;
    let by_ip = match &keys.ip {
        Some(key) => Some(store.throttle_reserve(key, policy.per_ip, now).await?),
        None => None,
    };
    let refused = [Some(pair), by_ip]
        .into_iter()
        .flatten()
        .filter(|r| !r.allowed)
        .filter_map(|r| r.locked_until)
        .max();
    if let Some(until) = refused {
        return Ok(LoginOutcome::Locked { until });
    }
    let by_user = store
        .throttle_reserve(&keys.user, policy.per_user, now)
        .await?;
    let delay = policy.delay(by_user.attempts);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let user = match &name {
        Some(name) => store.user_by_name(name).await?,
        None => None,
    };
    let usable = user.as_ref().filter(|u| !u.disabled);
    let Some(verified) = password::verify_bounded(
        password.to_string(),
        usable.map(|u| u.password_hash.clone()),
        password::QUEUE_WAIT,
    )
    .await
    else {
        // Never checked: give every reservation back.
        refund(store, &policy, &keys).await?;
        store.throttle_refund(&keys.pair, policy.per_pair).await?;
        return Ok(LoginOutcome::Busy);
    };

    match (verified, usable) {
        (true, Some(user)) => {
            store.throttle_clear(&keys.pair).await?;
            refund(store, &policy, &keys).await?;
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
            // The attempt that used up the pair's (or the address's) allowance says so.
            let until = [Some(pair), by_ip]
                .into_iter()
                .flatten()
                .filter_map(|r| r.locked_until)
                .max();
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

/// Gives back the address's and the user name's reservations.
async fn refund(store: &Store, policy: &LoginPolicy, keys: &Keys) -> StoreResult<()> {
    if let Some(key) = &keys.ip {
        store.throttle_refund(key, policy.per_ip).await?;
    }
    store.throttle_refund(&keys.user, policy.per_user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_user_ceiling_slows_and_caps_the_delay() {
        let policy = LoginPolicy::new(5, 900, 900);
        assert_eq!(policy.per_pair.max_failures, 5);
        assert_eq!(policy.per_ip.max_failures, 50);
        assert_eq!(policy.per_user.max_failures, 100);
        assert!(policy.delay(1).is_zero());
        assert!(policy.delay(100).is_zero());
        assert_eq!(policy.delay(101).as_secs(), 1);
        assert_eq!(policy.delay(103).as_secs(), 3);
        assert_eq!(policy.delay(10_000).as_secs(), MAX_DELAY_SECS as u64);
    }

    #[test]
    fn keys_separate_names_and_addresses() {
        let k = Keys::new(Some("admin"), Some("127.0.0.2"));
        assert_eq!(
            (k.pair.as_str(), k.ip.as_deref(), k.user.as_str()),
            ("pair:admin|127.0.0.2", Some("ip:127.0.0.2"), "user:admin")
        );
        let k = Keys::new(None, None);
        assert_eq!(
            (k.pair.as_str(), k.ip, k.user.as_str()),
            ("pair:-|-", None, "user:-")
        );
    }
}
