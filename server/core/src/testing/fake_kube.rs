//! A fake Kubernetes API server for tests and benchmarks, on loopback, so that the real
//! kube client and watchers run against it over HTTP. It serves what the collector asks
//! for: `/version`, lists with `resourceVersion` and `limit`/`continue` paging, and
//! watch streams (ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR 410 on demand), with a
//! bearer token it can refuse. It can go away and come back on the same port.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The bearer token the fake accepts unless told otherwise.
pub const TOKEN: &str = "fake-cluster-token";

#[derive(Default)]
struct Resource {
    /// By uid, in insertion order of first appearance.
    objects: BTreeMap<String, Value>,
    order: Vec<String>,
    watchers: Vec<mpsc::UnboundedSender<Value>>,
    /// Every event with its resourceVersion, so that a watch resuming from an older
    /// version gets what it missed, as from a real API server.
    history: Vec<(u64, Value)>,
}

#[derive(Default)]
struct Inner {
    resource_version: u64,
    resources: HashMap<String, Resource>,
    token: String,
    /// Requests served, by path, for assertions on paging and relisting.
    lists: Vec<String>,
    /// Group versions of extensions it serves (`projectcalico.org/v3`), with their
    /// resources as discovery lists them.
    extensions: HashMap<String, Vec<Value>>,
    /// Resources (as `apply` names them) whose lists are refused with 403.
    forbidden: Vec<String>,
}

/// The fake cluster; clones share it.
#[derive(Clone)]
pub struct FakeKube {
    inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
    server: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl FakeKube {
    pub async fn start() -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fake = FakeKube {
            inner: Arc::new(Mutex::new(Inner {
                resource_version: 100,
                token: TOKEN.to_string(),
                ..Inner::default()
            })),
            addr,
            server: Arc::new(Mutex::new(None)),
        };
        fake.serve(listener);
        fake
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(self.inner.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.server.lock().unwrap() = Some(handle);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig with one context pointing here.
    pub fn kubeconfig(&self, context: &str, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\nusers:\n- name: reader\n  user: {{token: {token}}}\ncontexts:\n- name: {context}\n  context: {{cluster: fake, user: reader}}\ncurrent-context: {context}\n",
            self.url()
        )
    }

    /// Stops serving: open watches break, new connections are refused.
    pub fn go_away(&self) {
        if let Some(h) = self.server.lock().unwrap().take() {
            h.abort();
        }
        let mut inner = self.inner.lock().unwrap();
        for r in inner.resources.values_mut() {
            r.watchers.clear();
        }
    }

    /// Serves again on the same port.
    pub async fn come_back(&self) {
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }

    /// Serves an extension's group version (as a CRD or an aggregated API would), with
    /// its resources as (plural, kind, namespaced). Its objects are applied under
    /// `group/plural`.
    pub fn serve_extension(&self, group_version: &str, resources: &[(&str, &str, bool)]) {
        let resources = resources
            .iter()
            .map(|(plural, kind, namespaced)| {
                json!({"name": plural, "singularName": "", "namespaced": namespaced, "kind": kind,
                       "verbs": ["get", "list", "watch"]})
            })
            .collect();
        self.inner
            .lock()
            .unwrap()
            .extensions
            .insert(group_version.to_string(), resources);
    }

    /// Refuses lists and watches of `resource` (as `apply` names it) with 403 Forbidden,
    /// as an API server does for a kind the client's role does not grant.
    pub fn forbid(&self, resource: &str) {
        self.inner
            .lock()
            .unwrap()
            .forbidden
            .push(resource.to_string());
    }

    pub fn set_token(&self, token: &str) {
        self.inner.lock().unwrap().token = token.to_string();
    }

    /// Paths of the list requests served so far (watches excluded).
    pub fn lists(&self) -> Vec<String> {
        self.inner.lock().unwrap().lists.clone()
    }

    /// Adds or changes an object of `plural` (its `metadata.uid` is the key) and tells
    /// the open watches.
    pub fn apply(&self, plural: &str, mut object: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.resource_version += 1;
        let rv = inner.resource_version.to_string();
        object["metadata"]["resourceVersion"] = json!(rv);
        let uid = object["metadata"]["uid"]
            .as_str()
            .expect("a uid")
            .to_string();
        let r = inner.resources.entry(plural.to_string()).or_default();
        let kind = if r.objects.contains_key(&uid) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        if !r.objects.contains_key(&uid) {
            r.order.push(uid.clone());
        }
        r.objects.insert(uid, object.clone());
        send(r, json!({"type": kind, "object": object}));
    }

    /// Many objects at once, without telling watches (for a cluster's starting state).
    pub fn load(&self, plural: &str, objects: impl IntoIterator<Item = Value>) {
        let mut inner = self.inner.lock().unwrap();
        inner.resource_version += 1;
        let rv = inner.resource_version.to_string();
        let r = inner.resources.entry(plural.to_string()).or_default();
        for mut object in objects {
            object["metadata"]["resourceVersion"] = json!(rv);
            let uid = object["metadata"]["uid"]
                .as_str()
                .expect("a uid")
                .to_string();
            if !r.objects.contains_key(&uid) {
                r.order.push(uid.clone());
            }
            r.objects.insert(uid, object);
        }
    }

    pub fn delete(&self, plural: &str, uid: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.resource_version += 1;
        let rv = inner.resource_version.to_string();
        let r = inner.resources.entry(plural.to_string()).or_default();
        if let Some(mut object) = r.objects.remove(uid) {
            r.order.retain(|u| u != uid);
            object["metadata"]["resourceVersion"] = json!(rv);
            send(r, json!({"type": "DELETED", "object": object}));
        }
    }

    /// Removes an object without telling watches (as if the event was lost), so that
    /// only a relist can notice.
    pub fn forget(&self, plural: &str, uid: &str) {
        let mut inner = self.inner.lock().unwrap();
        let r = inner.resources.entry(plural.to_string()).or_default();
        r.objects.remove(uid);
        r.order.retain(|u| u != uid);
    }

    pub fn bookmark(&self, plural: &str, kind: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.resource_version += 1;
        let rv = inner.resource_version.to_string();
        let r = inner.resources.entry(plural.to_string()).or_default();
        send(
            r,
            json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": rv}}}),
        );
    }

    /// Ends the open watches of `plural` with `410 Gone`, as an API server does when a
    /// watch's resourceVersion is too old: the client must list again.
    pub fn expire(&self, plural: &str) {
        let mut inner = self.inner.lock().unwrap();
        let r = inner.resources.entry(plural.to_string()).or_default();
        send(
            r,
            json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "too old resource version", "reason": "Expired", "code": 410}}),
        );
        r.watchers.clear();
    }

    /// How many watches of `plural` are open.
    pub fn watching(&self, plural: &str) -> usize {
        let mut inner = self.inner.lock().unwrap();
        let r = inner.resources.entry(plural.to_string()).or_default();
        r.watchers.retain(|w| !w.is_closed());
        r.watchers.len()
    }
}

/// Objects of Kubernetes' own groups are kept by plural, an extension's by
/// `group/plural` (Calico's NetworkPolicy is not Kubernetes').
fn resource_key(segments: &[&str]) -> String {
    let plural = segments.last().copied().unwrap_or_default();
    match segments {
        ["apis", group, ..]
            if !(*group == "apps" || *group == "batch" || group.ends_with(".k8s.io")) =>
        {
            format!("{group}/{plural}")
        }
        _ => plural.to_string(),
    }
}

fn send(r: &mut Resource, event: Value) {
    let rv = event["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if event["type"] != "ERROR" {
        r.history.push((rv, event.clone()));
    }
    r.watchers.retain(|w| w.send(event.clone()).is_ok());
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = inner.lock().unwrap().token.clone();
    let authorized = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("Bearer {token}"));
    if !authorized {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let path = uri.path();
    if path == "/version" {
        return axum::Json(json!({
            "major": "1", "minor": "36", "gitVersion": "v1.36.0", "gitCommit": "fake",
            "gitTreeState": "clean", "buildDate": "2026-08-01T00:00:00Z", "goVersion": "go1.25",
            "compiler": "gc", "platform": "linux/amd64"
        }))
        .into_response();
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["apis", group, version] = segments.as_slice() {
        let group_version = format!("{group}/{version}");
        return match inner.lock().unwrap().extensions.get(&group_version) {
            Some(resources) => axum::Json(json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": group_version, "resources": resources}))
            .into_response(),
            None => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        };
    }
    let plural = resource_key(&segments);
    if inner.lock().unwrap().forbidden.contains(&plural) {
        return status(403, "Forbidden", &format!("{plural} is forbidden"));
    }
    let known = path.starts_with("/api/v1/") || path.starts_with("/apis/");
    if !known {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    if query.get("watch").map(String::as_str) == Some("true") {
        let (tx, rx) = mpsc::unbounded_channel::<Value>();
        let since: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut inner = inner.lock().unwrap();
        let r = inner.resources.entry(plural).or_default();
        for (rv, event) in &r.history {
            if *rv > since {
                let _ = tx.send(event.clone());
            }
        }
        r.watchers.push(tx);
        drop(inner);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            let event = rx.recv().await?;
            let mut line = serde_json::to_vec(&event).expect("an event");
            line.push(b'\n');
            Some((Ok::<_, std::io::Error>(line), rx))
        });
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .expect("a response");
    }
    let mut inner = inner.lock().unwrap();
    inner.lists.push(uri.to_string());
    let rv = inner.resource_version.to_string();
    let r = inner.resources.entry(plural.clone()).or_default();
    let start: usize = query
        .get("continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let items: Vec<Value> = r
        .order
        .iter()
        .skip(start)
        .take(limit)
        .filter_map(|uid| r.objects.get(uid).cloned())
        .collect();
    let next = start.saturating_add(items.len());
    let mut metadata = json!({"resourceVersion": rv});
    if next < r.order.len() {
        metadata["continue"] = json!(next.to_string());
        metadata["remainingItemCount"] = json!(r.order.len() - next);
    }
    axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": items}))
        .into_response()
}
