//! The posture overview, with the admin's policy applied (scan age for coverage); the
//! remediation SLA; daily snapshots and the trends read from them.

pub mod overview;
pub mod snapshots;

use crate::access::audit_by;
use crate::auth::{Admin, Authed};
use crate::error::{Error, Result};
use crate::posture::snapshots::{day_start, parse_day, Scope, DAY};
use crate::{now, AppState};
use coastguard_model::trends::{SlaPolicy, TrendScope, Trends};
use coastguard_model::{Overview, SetupInfo};

pub async fn overview(state: &AppState) -> Result<Overview> {
    let policy = state.store.policy().await;
    Ok(state
        .store
        .overview(policy.scan_max_age_days, now())
        .await?)
}

/// Where the walkthrough's commands send their requests: the configured public URL, else
/// `http://` (or `https://` when a trusted proxy says so) and the Host the browser used.
/// A Host that is not a plain host name or address is not repeated into commands people
/// copy: the listen address is used instead.
pub fn base_url(
    settings: &crate::Settings,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
) -> String {
    if let Some(public) = &settings.public_url {
        return public.as_str().trim_end_matches('/').to_string();
    }
    let plain = |h: &&str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    };
    let scheme = match forwarded_proto {
        Some("https") if settings.trust_proxy => "https",
        _ => "http",
    };
    match host.filter(plain) {
        Some(h) => format!("{scheme}://{h}"),
        None => format!("http://{}", settings.listen),
    }
}

/// What the first-run walkthrough shows for this server.
pub fn setup_info(
    state: &AppState,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
) -> SetupInfo {
    SetupInfo {
        base_url: base_url(&state.settings, host, forwarded_proto),
        docker_local: state.settings.docker_local,
        local_socket: std::path::Path::new("/var/run/docker.sock").exists(),
    }
}

const SLA_KEY: &str = "sla";

/// The remediation SLA (days per severity) the admin set, or the defaults.
pub async fn sla(state: &AppState) -> SlaPolicy {
    match state.store.setting::<SlaPolicy>(SLA_KEY).await {
        Ok(Some(p)) => p,
        Ok(None) => SlaPolicy::default(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the SLA policy; using defaults");
            SlaPolicy::default()
        }
    }
}

/// Changes the SLA (admin). Today's snapshot is retaken at once; earlier days keep the
/// breaches counted under the SLA of their time.
pub async fn set_sla(state: &AppState, by: &Authed<Admin>, sla: SlaPolicy) -> Result<SlaPolicy> {
    sla.validate()
        .map_err(|(field, message)| Error::invalid_at(field, message))?;
    let at = now();
    let mut w = state.store.begin().await?;
    w.put_setting(SLA_KEY, &sla, &by.principal.name, at).await?;
    let record = audit_by(
        by,
        "settings.sla",
        None,
        Some(serde_json::to_value(sla).unwrap_or_default()),
    );
    w.commit_with(&record, at).await?;
    take_snapshots(state, true).await?;
    Ok(sla)
}

/// How far back a first run fills in days from the findings' timestamps.
pub const BACKFILL_DAYS: i64 = 90;

/// Today's snapshot of the whole estate and, with `every_scope`, of each host and each
/// team too, and any day since a scope's last one that is missing. Returns how many
/// snapshots were written. The `risk` job retakes the estate's after every change (the
/// SQL path, 0.2–0.4 s at a million findings); hosts' and teams' follow with the
/// `snapshots` job (every 15 minutes), all of them in one pass over the findings
/// (0.6–1.9 s for 60 scopes, docs/benchmarks.md).
pub async fn take_snapshots(state: &AppState, every_scope: bool) -> Result<usize> {
    take_snapshots_at(state, every_scope, now()).await
}

/// [`take_snapshots`] as of `now` (the demo estate's story ends at its load time).
pub async fn take_snapshots_at(state: &AppState, every_scope: bool, now: i64) -> Result<usize> {
    let policy = state.store.policy().await;
    let sla = sla(state).await;
    if !every_scope {
        return Ok(state
            .store
            .take_due_snapshots(
                &Scope::Global,
                &sla,
                policy.scan_max_age_days,
                BACKFILL_DAYS,
                now,
            )
            .await?);
    }
    let mut scopes = Vec::new();
    for listed in state.store.trend_scopes().await? {
        // Labels are cleaned when stored; one that still does not parse must not stop
        // the other scopes' snapshots.
        match Scope::parse(&listed.param()) {
            Ok(scope) => scopes.push(scope),
            Err(e) => {
                tracing::warn!(scope = %listed.param(), error = %e, "skipping a scope that does not parse");
            }
        }
    }
    let mut written = 0;
    for scope in &scopes {
        written += state
            .store
            .backfill_due(scope, &sla, BACKFILL_DAYS, now)
            .await?;
    }
    // Today's of all of them in one pass over the findings.
    written += state
        .store
        .take_todays(&scopes, &sla, policy.scan_max_age_days, now)
        .await?
        .len();
    Ok(written)
}

/// Which scope a request names: `host`, `cluster` or `namespace` (ids) or `team` (a
/// name), at most one.
pub fn scope_of(
    host: Option<i64>,
    team: Option<&str>,
    cluster: Option<i64>,
    namespace: Option<i64>,
) -> Result<Scope> {
    let team = team.filter(|t| !t.is_empty());
    let given = [
        host.is_some(),
        team.is_some(),
        cluster.is_some(),
        namespace.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        let field = if namespace.is_some() {
            "namespace"
        } else if cluster.is_some() {
            "cluster"
        } else {
            "team"
        };
        return Err(Error::invalid_at(
            field,
            "give one of host, team, cluster or namespace, not several",
        ));
    }
    Ok(match (host, team, cluster, namespace) {
        (Some(id), ..) => Scope::Host(id),
        (_, Some(team), ..) => Scope::team(team).map_err(|e| Error::invalid_at("team", e))?,
        (_, _, Some(id), _) => Scope::Cluster(id),
        (_, _, _, Some(id)) => Scope::Namespace(id),
        _ => Scope::Global,
    })
}

/// Snapshots of `scope` between two `YYYY-MM-DD` days (default: the last 90 days), with
/// the scopes there are to choose from.
pub async fn trends(
    state: &AppState,
    scope: &Scope,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Trends> {
    let today = day_start(now());
    let day = |field: &'static str, v: Option<&str>, default: i64| -> Result<i64> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => parse_day(s).ok_or_else(|| {
                Error::invalid_at(field, format!("'{s}' is not a day: use YYYY-MM-DD"))
            }),
        }
    };
    let to = day("to", to, today)?;
    let from = day("from", from, to - (BACKFILL_DAYS - 1) * DAY)?;
    let scopes = state.store.trend_scopes().await?;
    let mut trends = state
        .store
        .trends(scope, from, to, sla(state).await)
        .await?;
    trends.scope = match scopes
        .iter()
        .find(|s| s.kind == scope.kind() && s.key == scope.key())
    {
        Some(s) => s.clone(),
        // A host that is gone or a team no running container names any more: its
        // history is still there to read.
        None => TrendScope {
            kind: scope.kind().into(),
            key: scope.key(),
            label: format!("{} {}", scope.kind(), scope.key()),
        },
    };
    trends.scopes = scopes;
    Ok(trends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    #[test]
    fn a_request_names_at_most_one_scope() {
        assert_eq!(scope_of(None, None, None, None).unwrap(), Scope::Global);
        assert_eq!(scope_of(None, Some(""), None, None).unwrap(), Scope::Global);
        assert_eq!(scope_of(Some(3), None, None, None).unwrap(), Scope::Host(3));
        assert_eq!(
            scope_of(None, None, Some(4), None).unwrap(),
            Scope::Cluster(4)
        );
        assert_eq!(
            scope_of(None, None, None, Some(5)).unwrap(),
            Scope::Namespace(5)
        );
        assert_eq!(
            scope_of(None, Some("pay"), None, None).unwrap(),
            Scope::Team("pay".into())
        );
        let e = scope_of(None, None, Some(4), Some(5))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not several"), "{e}");
        assert!(scope_of(Some(1), Some("pay"), None, None).is_err());
    }

    #[test]
    fn commands_use_the_public_url_then_the_browsers_host() {
        let mut settings = Settings::default();
        assert_eq!(
            base_url(&settings, Some("cg.internal:3000"), None),
            "http://cg.internal:3000"
        );
        assert_eq!(
            base_url(&settings, Some("[::1]:3000"), None),
            "http://[::1]:3000"
        );
        // A proxy's word counts only when it is trusted.
        assert_eq!(base_url(&settings, Some("cg"), Some("https")), "http://cg");
        settings.trust_proxy = true;
        assert_eq!(base_url(&settings, Some("cg"), Some("https")), "https://cg");
        settings.public_url = Some("https://coastguard.example.com/".parse().unwrap());
        assert_eq!(
            base_url(&settings, Some("other"), None),
            "https://coastguard.example.com"
        );
    }

    #[test]
    fn a_host_header_that_is_not_a_host_never_reaches_a_command() {
        let settings = Settings::default();
        for bad in [
            "cg'; rm -rf ~ #",
            "cg\" && curl evil",
            "a b",
            "",
            "cg/path",
            "$(id)",
        ] {
            assert_eq!(
                base_url(&settings, Some(bad), None),
                "http://127.0.0.1:3000",
                "{bad}"
            );
        }
        assert_eq!(base_url(&settings, None, None), "http://127.0.0.1:3000");
    }
}
