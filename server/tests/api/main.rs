//! The server over real HTTP (a socket on 127.0.0.1, port 0): authentication on every
//! route, roles, sessions, CSRF, headers, errors, metrics, the OpenAPI document, and the
//! command line. Each story runs on SQLite and Postgres.

mod alerts;
mod auth;
mod cli;
mod contract;
mod demo;
mod exceptions;
mod inventory;
mod notify;
mod posture;
mod registries;
mod scans;
mod session;
mod signatures;

use coastguard_core::access;
use coastguard_core::auth::Authed;
use coastguard_core::testing::TestDb;
use coastguard_core::{AppState, Settings};
use coastguard_model::{NewUser, Role};
use reqwest::header::{HeaderMap, SET_COOKIE};
use std::net::SocketAddr;
use std::sync::Arc;

pub const PASSWORD: &str = "a test passphrase";

pub struct TestServer {
    pub base: String,
    pub db: Arc<TestDb>,
    pub state: AppState,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(db: TestDb) -> TestServer {
        Self::start_with(Arc::new(db), Settings::default()).await
    }

    /// A server on a database that may outlive it (to test restarts).
    pub async fn start_with(db: Arc<TestDb>, settings: Settings) -> TestServer {
        let mut state = db.state_with(settings);
        // As `coastguard serve` does (startup::open): the demo's mark means demo mode.
        state.demo = coastguard_core::demo::mark(&state.store)
            .await
            .unwrap()
            .is_some();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = coastguard::http::router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        // Bounded: a request the server never answers fails its test, naming the URL,
        // instead of holding the whole run.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(150))
            .build()
            .unwrap();
        TestServer {
            base,
            db,
            state,
            http,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    /// `GET path` with a bearer token, answered with JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        self.get(path, token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Any request with a bearer token and, unless `body` is null, a JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if !body.is_null() {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    /// [`TestServer::call`]'s status alone.
    pub async fn status(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> u16 {
        self.call(method, path, token, body).await.status().as_u16()
    }

    pub async fn user(&self, name: &str, role: Role) -> i64 {
        let input = NewUser {
            name: name.into(),
            role,
            password: PASSWORD.into(),
        };
        access::create_user(&self.state, &Authed::cli(), input)
            .await
            .unwrap()
            .id
    }

    pub async fn token(&self, role: Role) -> String {
        access::create_token(
            &self.state,
            &Authed::cli(),
            &format!("{role} token"),
            role,
            None,
        )
        .await
        .unwrap()
        .secret
    }

    /// Watches the machine's Docker engine (as `local`) and syncs it now, as an admin;
    /// returns its host id.
    pub async fn watch_local_engine(&self, admin: &str) -> i64 {
        let engine =
            serde_json::json!({"name": "local", "endpoint": "unix:///var/run/docker.sock"});
        let res = self
            .call(reqwest::Method::POST, "/api/v1/engines", admin, &engine)
            .await;
        let host_id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        let path = format!("/api/v1/engines/{host_id}/sync");
        let res = self
            .call(
                reqwest::Method::POST,
                &path,
                admin,
                &serde_json::Value::Null,
            )
            .await;
        assert_eq!(res.status(), 200);
        host_id
    }

    /// Logs in through `POST /login`; returns the `Cookie` header value of the session.
    pub async fn login(&self, name: &str, password: &str) -> Option<String> {
        let res = self
            .http
            .post(self.url("/login"))
            .form(&[("username", name), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        session_cookie(res.headers())
    }
}

/// `coastguard_session=<id>` from a response's Set-Cookie headers, if one was set.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("coastguard_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Starts one server per backend and runs `story` against each.
#[macro_export]
macro_rules! on_each_backend {
    (|$srv:ident| $story:expr) => {
        for db in coastguard_core::testing::backends().await {
            eprintln!("backend: {:?}", db.backend);
            let $srv = $crate::TestServer::start(db).await;
            $story;
        }
    };
}
