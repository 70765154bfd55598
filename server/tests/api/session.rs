//! Browser sessions: cookie flags, renewal at login, logout, throttling, CSRF, restarts,
//! and the pages' security headers.

use crate::{session_cookie, TestServer, PASSWORD};
use coastguard_model::Role;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;

#[tokio::test]
async fn login_sets_a_fresh_hardened_session_and_logout_ends_it() {
    crate::on_each_backend!(|srv| {
        srv.user("dana", Role::Analyst).await;
        // A session that exists before login (e.g. planted by an attacker) is not reused.
        let res = srv
            .http
            .post(srv.url("/login"))
            .form(&[
                ("username", "dana"),
                ("password", PASSWORD),
                ("next", "/account"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/account");
        let set_cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(set_cookie.contains(flag), "{flag} missing in {set_cookie}");
        }
        let cookie = session_cookie(res.headers()).unwrap();

        // The table holds a hash of the session id, never the id the cookie carries.
        let id = cookie.split_once('=').unwrap().1.to_string();
        let (stored, same): (i64, i64) = coastguard_core::with_db!(srv.db.store.db(), |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN id = $1 THEN 1 ELSE 0 END), 0) FROM sessions",
            )
            .bind(&id)
            .fetch_one(pool)
            .await
            .unwrap()
        });
        assert_eq!((stored, same), (1, 0), "{id}");

        let again = srv.login("dana", PASSWORD).await.unwrap();
        assert_ne!(cookie, again, "each login gets a new session id");

        let me: Value = srv
            .http
            .get(srv.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["name"], "dana");
        assert_eq!(me["kind"], "user");

        // The same-origin logout form works; afterwards the cookie is dead.
        let res = srv
            .http
            .post(srv.url("/logout"))
            .header(COOKIE, &cookie)
            .header("origin", srv.base.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let res = srv
            .http
            .get(srv.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    });
}

#[tokio::test]
async fn open_redirects_are_refused() {
    crate::on_each_backend!(|srv| {
        srv.user("erin", Role::Viewer).await;
        for next in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
        ] {
            let res = srv
                .http
                .post(srv.url("/login"))
                .form(&[("username", "erin"), ("password", PASSWORD), ("next", next)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["location"], "/", "next={next}");
        }
    });
}

/// A client whose requests come from `ip` (any 127.0.0.0/8 address is loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_strangers_failures_lock_only_the_stranger() {
    crate::on_each_backend!(|srv| {
        srv.user("frank", Role::Admin).await;
        let (stranger, owner) = (client_from("127.0.0.2"), client_from("127.0.0.1"));
        let attempt = |client: &reqwest::Client, password: &'static str| {
            client
                .post(srv.url("/login"))
                .form(&[("username", "frank"), ("password", password)])
                .send()
        };
        for _ in 0..4 {
            let res = attempt(&stranger, "wrong").await.unwrap();
            assert_eq!(res.headers()["location"], "/login?error=invalid");
            assert!(session_cookie(res.headers()).is_none());
        }
        // The fifth failure (default limit) locks this name from this address; then the
        // right password is refused there too, without being checked.
        for _ in 0..3 {
            let res = attempt(&stranger, "wrong").await.unwrap();
            assert_eq!(res.headers()["location"], "/login?error=locked");
        }
        let res = attempt(&stranger, PASSWORD).await.unwrap();
        assert_eq!(res.headers()["location"], "/login?error=locked");
        assert!(session_cookie(res.headers()).is_none());
        // The owner, at another address, signs in at once.
        let res = attempt(&owner, PASSWORD).await.unwrap();
        assert_eq!(res.headers()["location"], "/");
        assert!(session_cookie(res.headers()).is_some());
        // Unknown users get exactly the same answer as wrong passwords.
        let res = owner
            .post(srv.url("/login"))
            .form(&[("username", "ghost"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/login?error=invalid");
    });
}

#[tokio::test]
async fn a_burst_of_logins_gets_no_more_checks_than_the_limit() {
    crate::on_each_backend!(|srv| {
        srv.user("grace", Role::Viewer).await;
        let burst: Vec<_> = (0..40)
            .map(|_| {
                srv.http
                    .post(srv.url("/login"))
                    .form(&[("username", "grace"), ("password", "wrong")])
                    .send()
            })
            .collect();
        let answers: Vec<String> = futures::future::join_all(burst)
            .await
            .into_iter()
            .map(|r| {
                r.unwrap().headers()["location"]
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        // Each checked attempt leaves one audit record; without counting first, all 40
        // would have been checked.
        let audit = srv.db.store.list_audit(None, 500).await.unwrap().items;
        let checked = audit
            .iter()
            .filter(|e| e.action == "auth.login_failed" && e.actor_name == "grace")
            .count();
        assert_eq!(checked, 5, "password checks for a limit of 5");
        let locked = answers
            .iter()
            .filter(|a| a.as_str() == "/login?error=locked")
            .count();
        let invalid = answers
            .iter()
            .filter(|a| a.as_str() == "/login?error=invalid")
            .count();
        assert_eq!((invalid, locked), (4, 36), "{answers:?}");
    });
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    crate::on_each_backend!(|srv| {
        let id = srv.user("gina", Role::Admin).await;
        let cookie = srv.login("gina", PASSWORD).await.unwrap();
        let path = crate::contract::server_fn_path::<
            coastguard_app::server_fns::access::SetUserDisabled,
        >();
        let forged = srv
            .http
            .post(srv.url(&path))
            .header(COOKIE, &cookie)
            .header("origin", "https://evil.example")
            .form(&[("id", id.to_string()), ("disabled", "true".into())])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        let forged = srv
            .http
            .post(srv.url("/logout"))
            .header(COOKIE, &cookie)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        // Still signed in, still enabled.
        let res = srv
            .http
            .get(srv.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(!srv.db.store.user(id).await.unwrap().disabled);
    });
}

#[tokio::test]
async fn server_functions_enforce_roles() {
    crate::on_each_backend!(|srv| {
        srv.user("hank", Role::Viewer).await;
        let cookie = srv.login("hank", PASSWORD).await.unwrap();
        let path =
            crate::contract::server_fn_path::<coastguard_app::server_fns::access::ListUsers>();
        let res = srv
            .http
            .post(srv.url(&path))
            .header(COOKIE, &cookie)
            .header("origin", srv.base.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Forbidden") && !body.contains("hank\""),
            "{body}"
        );

        // The admin page itself answers 403 for a viewer.
        let res = srv
            .http
            .get(srv.url("/admin/users"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = srv
            .http
            .get(srv.url("/"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    });
}

#[tokio::test]
async fn sessions_survive_a_restart_but_not_a_password_reset() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let db = std::sync::Arc::new(db);
        let first = TestServer::start_with(db.clone(), coastguard_core::Settings::default()).await;
        let id = first.user("ivy", Role::Viewer).await;
        let cookie = first.login("ivy", PASSWORD).await.unwrap();
        drop(first);
        // A new process on the same database.
        let second = TestServer::start_with(db, coastguard_core::Settings::default()).await;
        let res = second
            .http
            .get(second.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the session outlives the process");

        coastguard_core::access::reset_password(
            &second.state,
            &coastguard_core::auth::Authed::cli(),
            id,
            "a brand new passphrase".into(),
        )
        .await
        .unwrap();
        let res = second
            .http
            .get(second.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "a password reset ends existing sessions");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_matching_csp_nonce() {
    crate::on_each_backend!(|srv| {
        srv.user("jo", Role::Viewer).await;
        let cookie = srv.login("jo", PASSWORD).await.unwrap();
        for (path, cookie) in [("/login", ""), ("/", cookie.as_str())] {
            let res = srv
                .http
                .get(srv.url(path))
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap();
            let h = res.headers().clone();
            let csp = h["content-security-policy"].to_str().unwrap().to_string();
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["referrer-policy"], "same-origin");
            assert_eq!(h["cache-control"], "no-store");
            assert!(
                !h.contains_key("strict-transport-security"),
                "no HSTS while the server is not known to be served over HTTPS"
            );
            let body = res.text().await.unwrap();
            // No inline styles: the CSP (style-src 'self') would refuse them.
            assert!(!body.contains(" style=\""), "{path} has an inline style");
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .unwrap()
                .split('\'')
                .next()
                .unwrap();
            let scripts = body.matches("<script").count();
            assert!(scripts >= 1, "{path} has no hydration script");
            assert_eq!(
                body.matches(&format!("nonce=\"{nonce}\"")).count(),
                scripts,
                "{path}: every inline script carries the nonce"
            );
        }
        // A signed-in user asking for the login page goes to the overview.
        let res = srv
            .http
            .get(srv.url("/login"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        // Unknown pages are a 404 page for signed-in users.
        let res = srv
            .http
            .get(srv.url("/nowhere"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("Page not found"));
    });
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let db = std::sync::Arc::new(coastguard_core::testing::sqlite().await);
    let settings = coastguard_core::Settings {
        public_url: Some("https://coastguard.example.com".parse().unwrap()),
        ..Default::default()
    };
    let srv = TestServer::start_with(db, settings).await;
    for path in ["/login", "/healthz"] {
        let res = srv.http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}
