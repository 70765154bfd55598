//! Harness for the browser tests in `tests/`: starts a real `coastguard` server on a
//! free port with a fresh database, starts chromedriver, and opens headless Chromium.
//! Everything it starts is stopped when the [`Harness`] is dropped, even when a test
//! fails.
//!
//! Environment: `COASTGUARD_BIN` (the server binary: `scripts/test` gives the release
//! that `scripts/run` serves), `COASTGUARD_SITE_ROOT` (its site), `CHROMIUM` and
//! `CHROMEDRIVER` (default `/usr/bin/chromium`, `/usr/bin/chromedriver`).

use fantoccini::{Client, ClientBuilder};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "e2e-admin-passphrase";

pub struct Harness {
    pub base: String,
    driver_url: String,
    /// `None` when attached to a server something else started (`scripts/run`).
    server: Option<Child>,
    driver: Child,
    pub data_dir: PathBuf,
    pub browser_profile: PathBuf,
}

/// The port a process announced in its log once it bound one of its own choosing
/// (`:0`): nothing can take the port between choosing and binding it, as it could when
/// a test picks a free port, closes it and hands it on. `port_in` reads one line.
pub async fn announced_port(
    log: &std::path::Path,
    within: Duration,
    port_in: impl Fn(&str) -> Option<u16>,
) -> u16 {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text.lines().find_map(&port_in) {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "no port announced in {} within {within:?}:\n{text}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The port in the server's JSON log line `coastguard listening`.
fn server_port(line: &str) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["message"] != "coastguard listening" {
        return None;
    }
    v["addr"].as_str()?.rsplit_once(':')?.1.parse().ok()
}

/// The port in chromedriver's "…started successfully on port N."
fn driver_port(line: &str) -> Option<u16> {
    line.split_once("started successfully on port ")?
        .1
        .trim_end_matches('.')
        .trim()
        .parse()
        .ok()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn server_bin() -> PathBuf {
    std::env::var_os("COASTGUARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/coastguard"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Chooses rustls's crypto provider for this process. The fake Kubernetes API server's
/// crate (coastguard-core) brings rustls's `ring` provider into the build beside the one
/// the browser client's brings, and with two rustls picks none on its own.
pub fn tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Polls `url` until it answers 200, or panics after `within`.
pub async fn wait_ready(url: &str, within: Duration) {
    tls();
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(res) = http.get(url).send().await {
            if res.status().is_success() {
                return;
            }
        }
        assert!(
            started.elapsed() < within,
            "{url} not ready within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Harness {
    /// A server that also watches the machine's Docker engine.
    pub async fn start(name: &str) -> Harness {
        Self::start_with(name, &[]).await
    }

    /// A server with extra `COASTGUARD_*` settings.
    pub async fn start_with(name: &str, env: &[(&str, &str)]) -> Harness {
        tls();
        let bin = server_bin();
        let site_root = std::env::var_os("COASTGUARD_SITE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("site"));
        assert!(
            bin.exists(),
            "server binary {} missing: run `scripts/build` first",
            bin.display()
        );
        assert!(
            site_root.join("pkg/coastguard.wasm").exists(),
            "built UI missing in {}: run `scripts/build` first",
            site_root.display()
        );
        let scratch =
            std::env::temp_dir().join(format!("coastguard-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let data_dir = scratch.join("data");
        let browser_profile = scratch.join("chromium-profile");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        std::fs::create_dir_all(&browser_profile).expect("profile dir");

        let log_path = scratch.join("server.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let server = Command::new(&bin)
            .arg("serve")
            .env("COASTGUARD_DATA_DIR", &data_dir)
            .env("COASTGUARD_LISTEN", "127.0.0.1:0")
            .env("COASTGUARD_LOG_FORMAT", "json")
            .env("COASTGUARD_SITE_ROOT", &site_root)
            .env("COASTGUARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("COASTGUARD_DATABASE_URL")
            .envs(env.iter().copied())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start coastguard");

        let port = announced_port(&log_path, Duration::from_secs(30), server_port).await;
        let base = format!("http://127.0.0.1:{port}");
        let harness = Self::with_driver(base, Some(server), data_dir, browser_profile).await;
        wait_ready(
            &format!("{}/healthz", harness.base),
            Duration::from_secs(30),
        )
        .await;
        wait_ready(
            &format!("{}/status", harness.driver_url),
            Duration::from_secs(30),
        )
        .await;
        harness
    }

    /// A browser for a server that is already running at `base` (started by
    /// `scripts/test` through `scripts/run`, as a user starts it).
    pub async fn attach(name: &str, base: &str) -> Harness {
        tls();
        let scratch =
            std::env::temp_dir().join(format!("coastguard-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let browser_profile = scratch.join("chromium-profile");
        std::fs::create_dir_all(&browser_profile).expect("profile dir");
        let harness = Self::with_driver(
            base.trim_end_matches('/').to_string(),
            None,
            scratch.join("data"),
            browser_profile,
        )
        .await;
        wait_ready(&format!("{}/readyz", harness.base), Duration::from_secs(30)).await;
        wait_ready(
            &format!("{}/status", harness.driver_url),
            Duration::from_secs(30),
        )
        .await;
        harness
    }

    async fn with_driver(
        base: String,
        server: Option<Child>,
        data_dir: PathBuf,
        browser_profile: PathBuf,
    ) -> Harness {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let log_path = browser_profile
            .parent()
            .expect("a scratch folder")
            .join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("chromedriver log");
        let driver = Command::new(chromedriver)
            .arg("--port=0")
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (install Debian's chromium-driver)");
        let driver_port = announced_port(&log_path, Duration::from_secs(30), driver_port).await;
        Harness {
            base,
            driver_url: format!("http://127.0.0.1:{driver_port}"),
            server,
            driver,
            data_dir,
            browser_profile,
        }
    }

    /// A new headless Chromium session with a fresh profile.
    pub async fn browser(&self) -> Client {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = serde_json::json!({
            // Keep the console (errors, CSP violations) for [`console_errors`].
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", self.browser_profile.display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        };
        ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&self.driver_url)
            .await
            .expect("connect to chromedriver")
    }

    /// Runs the `coastguard` command line against this server's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new(server_bin())
            .args(args)
            .env("COASTGUARD_DATA_DIR", &self.data_dir)
            .env_remove("COASTGUARD_DATABASE_URL")
            .output()
            .expect("run coastguard");
        assert!(
            out.status.success(),
            "coastguard {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Where screenshots go: `end2end/screenshots/` (not committed).
    pub fn screenshot_path(name: &str) -> PathBuf {
        let dir = workspace_root().join("end2end/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        dir.join(format!("{name}.png"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // chromedriver takes its Chromium children down with it on a normal kill.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(server) = &mut self.server {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// Polls `check` every 100 ms until it holds, or panics naming `what` after 30 s.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page has hydrated (the app marks `<body data-hydrated="true">`).
pub async fn wait_hydrated(c: &Client) {
    wait_for("hydration", || async {
        let body = c
            .find(fantoccini::Locator::Css("body"))
            .await
            .expect("body");
        body.attr("data-hydrated").await.expect("attr").as_deref() == Some("true")
    })
    .await;
}

/// Signs in as the admin the harness created, and waits for the overview.
pub async fn sign_in(c: &Client, harness: &Harness) {
    use fantoccini::Locator;
    c.goto(&harness.url("/login"))
        .await
        .expect("the login page");
    c.find(Locator::Css("#username"))
        .await
        .expect("user name field")
        .send_keys("admin")
        .await
        .expect("typed");
    c.find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(ADMIN_PASSWORD)
        .await
        .expect("typed");
    c.find(Locator::Css("form.login-form button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("clicked");
    wait_for("the overview", || async {
        c.current_url().await.expect("url").path() == "/"
    })
    .await;
}

/// The text the browser shows in the first element matching `css` (it must be there).
pub async fn text_of(c: &Client, css: &str) -> String {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .text()
        .await
        .expect("element text")
}

/// The text of every element matching `css`, lowercase (status badges are shown in
/// capitals), read in one go: rows that come and go can't go stale between reads.
pub async fn texts_of(c: &Client, css: &str) -> Vec<String> {
    let texts = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0]))\
               .map(r => r.innerText.toLowerCase())",
            vec![serde_json::json!(css)],
        )
        .await
        .expect("texts");
    serde_json::from_value(texts).expect("a list of texts")
}

/// Saves a screenshot of the window to [`Harness::screenshot_path`].
pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(Harness::screenshot_path(name), png).expect("write screenshot");
}

/// chromedriver's browser log (`POST /session/{id}/se/log`): the console entries since
/// the last read. fantoccini has no method for it.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// The console errors the pages logged since the last call: script errors, panics of
/// the app, and Content-Security-Policy violations ("Refused to apply inline style…").
/// Failed requests answered `4xx` are left out: tests of refusals cause them on purpose.
pub async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("the browser log");
    // A list of entries (fantoccini hands over chromedriver's `value`); anything else
    // would make this check pass without looking, so it fails instead.
    let entries = log
        .get("value")
        .unwrap_or(&log)
        .as_array()
        .unwrap_or_else(|| panic!("chromedriver's browser log is not a list: {log}"))
        .clone();
    entries
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .filter_map(|e| e["message"].as_str())
        .filter(|m| {
            !(m.contains("Failed to load resource: the server responded with a status of 4"))
        })
        .map(str::to_string)
        .collect()
}

/// Runs `body` with a browser, closing the browser whatever happens. Afterwards the
/// pages it visited must have logged no console error and no CSP violation.
pub async fn with_browser<F, Fut>(harness: &Harness, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::FutureExt;
    let client = harness.browser().await;
    let outcome = std::panic::AssertUnwindSafe(body(client.clone()))
        .catch_unwind()
        .await;
    let errors = match outcome {
        Ok(()) => console_errors(&client).await,
        Err(_) => Vec::new(),
    };
    let _ = client.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert!(
        errors.is_empty(),
        "the pages logged console errors or CSP violations:\n{}",
        errors.join("\n")
    );
}

/// Fills in and submits the login form (from any page: it opens `/login`).
pub async fn log_in(c: &Client, harness: &Harness, user: &str, password: &str) {
    use fantoccini::Locator;
    c.goto(&harness.url("/login")).await.expect("open");
    c.find(Locator::Css("#username"))
        .await
        .expect("user field")
        .send_keys(user)
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type");
    c.find(Locator::Css("form.login-form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
}

/// Clicks the submit button matched by `button` and returns the new token's secret,
/// shown once in `[data-testid=token-secret]` below `scope`.
pub async fn create_token_in(c: &Client, button: &str, scope: &str) -> String {
    use fantoccini::Locator;
    c.find(Locator::Css(button))
        .await
        .expect("the create button")
        .click()
        .await
        .expect("click");
    let secret = format!("{scope} [data-testid=token-secret]");
    wait_for("the new token's secret", || async {
        c.find(Locator::Css(&secret)).await.is_ok()
    })
    .await;
    c.find(Locator::Css(&secret))
        .await
        .expect("secret")
        .text()
        .await
        .expect("text")
}

/// `GET /api/v1/me` with a bearer token.
pub async fn api_me(harness: &Harness, token: &str) -> serde_json::Value {
    tls();
    reqwest::Client::new()
        .get(harness.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

/// Clicks the link to `href` and waits until the page's heading is `heading`.
pub async fn follow_link(c: &Client, css: &str, heading: &str) {
    use fantoccini::Locator;
    c.find(Locator::Css(css))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for(&format!("the page {heading}"), || async {
        match c.find(Locator::Css("main h1")).await {
            Ok(h) => h.text().await.unwrap_or_default() == heading,
            Err(_) => false,
        }
    })
    .await;
}

/// The server `scripts/test` started with `scripts/run` (`COASTGUARD_RUN_URL`) and its
/// admin password (`COASTGUARD_RUN_PASSWORD`). Panics without them: a test of the run
/// command has nothing to check when nothing was started.
pub fn started_by_scripts_test() -> (String, String) {
    let url = std::env::var("COASTGUARD_RUN_URL").expect(
        "COASTGUARD_RUN_URL is not set: this test checks a server started by scripts/run; run it through scripts/test",
    );
    let password = std::env::var("COASTGUARD_RUN_PASSWORD").expect("COASTGUARD_RUN_PASSWORD");
    (url, password)
}

/// The event of `rule` in the real Falco stream the tests share
/// (`server/core/tests/fixtures/runtime/falco/stream-all-events.jsonl`), as one line.
pub fn falco_event(rule: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/core/tests/fixtures/runtime/falco/stream-all-events.jsonl");
    let stream = std::fs::read_to_string(path).expect("fixture");
    stream
        .lines()
        .find(|l| l.contains(&format!("\"rule\":\"{rule}\"")))
        .unwrap_or_else(|| panic!("no {rule} event in the fixture"))
        .to_string()
}

/// Presses one key (down, then up) on the page.
pub async fn press(c: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    c.perform_actions(keys).await.expect("key press");
}

#[cfg(test)]
mod port_tests {
    #[test]
    fn announced_ports_are_read_from_the_lines_that_announce_them() {
        let line = r#"{"timestamp":"t","level":"INFO","message":"coastguard listening","addr":"127.0.0.1:43111","database":"sqlite://x"}"#;
        assert_eq!(super::server_port(line), Some(43111));
        assert_eq!(
            super::server_port(r#"{"message":"starting","addr":"127.0.0.1:1"}"#),
            None
        );
        assert_eq!(super::server_port("not json"), None);
        assert_eq!(
            super::driver_port("ChromeDriver was started successfully on port 46727."),
            Some(46727)
        );
        assert_eq!(
            super::driver_port("Starting ChromeDriver 156 on port 0"),
            None
        );
    }
}
