//! Clusters from the configuration rather than the UI: the contexts of `kubeconfig_file`
//! (source `config`) and the cluster Coastguard runs in (`kube_in_cluster`, source
//! `in-cluster`). Applied at every start-up: a cluster the configuration added before is
//! updated when its server or credentials changed, never duplicated; a cluster of the
//! same name added by hand is left alone, with a warning. Each change is one commit with
//! its audit record, by the configuration (the `cli` principal).

use super::store::CREDENTIALS;
use super::{in_cluster, kubeconfig};
use crate::access::audit_by;
use crate::auth::Authed;
use crate::error::{Error, Result};
use crate::{now, AppState};
use coastguard_model::validate;
use serde_json::json;

/// The source of clusters read from `kubeconfig_file`.
pub const SOURCE: &str = "config";

/// What applying the configuration did, one line per cluster, for the start-up log.
pub async fn apply(state: &AppState) -> Result<Vec<String>> {
    let mut done = Vec::new();
    if state.demo {
        return Ok(done);
    }
    if let Some(path) = &state.settings.kubeconfig_file {
        let key = state.settings.secret_key.as_ref().ok_or_else(|| {
            Error::Conflict(
                "kubeconfig_file is set but no secret key is: cluster credentials are only stored encrypted (set COASTGUARD_SECRET_KEY or COASTGUARD_SECRET_KEY_FILE)".into(),
            )
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid_at(
                "kubeconfig_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let connections = kubeconfig::connections(&text, None).map_err(|e| {
            Error::invalid_at("kubeconfig_file", format!("{}: {e}", path.display()))
        })?;
        for c in connections {
            let name = validate::label("cluster name", &c.context)
                .map_err(|e| Error::invalid_at("kubeconfig_file", e))?;
            let existing = state.store.kube_cluster_named(&name).await?;
            let same = existing.as_ref().is_some_and(|row| {
                row.api_url.as_deref() == Some(c.server.as_str())
                    && row.context.as_deref() == Some(c.context.as_str())
                    && row
                        .credentials
                        .as_deref()
                        .and_then(|sealed| key.open(CREDENTIALS, sealed).ok())
                        .is_some_and(|plain| plain == c.kubeconfig_json)
            });
            let sealed = key.seal(CREDENTIALS, &c.kubeconfig_json);
            let detail = json!({ "name": name, "server": c.server, "context": c.context, "from": path.display().to_string() });
            match existing {
                Some(row) if row.source.as_deref() != Some(SOURCE) => done.push(format!(
                    "cluster {name} was added by hand: context {} of {} is left out",
                    c.context,
                    path.display()
                )),
                Some(_) if same => {}
                Some(row) => {
                    let at = now();
                    let mut w = state.store.begin().await?;
                    w.update_kube_connection(
                        row.id,
                        &c.server,
                        Some(&c.context),
                        Some(&sealed),
                        at,
                    )
                    .await?;
                    commit(w, "cluster.update", row.id, detail, at).await?;
                    done.push(format!("cluster {name} updated from {}", path.display()));
                }
                None => {
                    let at = now();
                    let mut w = state.store.begin().await?;
                    let id = w
                        .add_kube_cluster(
                            &name,
                            &c.server,
                            SOURCE,
                            Some(&c.context),
                            Some(&sealed),
                            at,
                        )
                        .await?;
                    commit(w, "cluster.add", id, json!({ "clusters": [detail] }), at).await?;
                    done.push(format!("cluster {name} added from {}", path.display()));
                }
            }
        }
    }
    if state.settings.kube_in_cluster {
        let url =
            in_cluster::api_url_from_env().map_err(|e| Error::invalid_at("kube_in_cluster", e))?;
        done.extend(ensure_in_cluster(state, &url).await?);
    }
    Ok(done)
}

/// Keeps the `in-cluster` cluster pointing at `url` (the API server the pod's environment
/// names); it holds no credentials.
pub async fn ensure_in_cluster(state: &AppState, url: &str) -> Result<Option<String>> {
    let existing = state.store.kube_cluster_named(in_cluster::NAME).await?;
    let at = now();
    let detail = json!({ "name": in_cluster::NAME, "server": url, "source": in_cluster::SOURCE });
    match existing {
        Some(row) if row.source.as_deref() != Some(in_cluster::SOURCE) => Ok(Some(format!(
            "a cluster named {} was added by hand: the cluster Coastguard runs in is not added",
            in_cluster::NAME
        ))),
        Some(row) if row.api_url.as_deref() == Some(url) => Ok(None),
        Some(row) => {
            let mut w = state.store.begin().await?;
            w.update_kube_connection(row.id, url, None, None, at)
                .await?;
            commit(w, "cluster.update", row.id, detail, at).await?;
            Ok(Some(format!("cluster {} now at {url}", in_cluster::NAME)))
        }
        None => {
            let mut w = state.store.begin().await?;
            let id = w
                .add_kube_cluster(in_cluster::NAME, url, in_cluster::SOURCE, None, None, at)
                .await?;
            commit(w, "cluster.add", id, json!({ "clusters": [detail] }), at).await?;
            Ok(Some(format!("cluster {} added at {url}", in_cluster::NAME)))
        }
    }
}

/// Commits a change to cluster `id` with its audit record, by the configuration.
async fn commit(
    w: crate::store::Write,
    action: &'static str,
    id: i64,
    detail: serde_json::Value,
    at: i64,
) -> Result<()> {
    let record = audit_by(
        &Authed::cli(),
        action,
        Some(format!("cluster:{id}")),
        Some(detail),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}
