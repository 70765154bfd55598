//! Real Docker engines for tests: the machine's engine (started by `scripts/test`), or a
//! private `dockerd` started here with its own sockets, directories and network namespace,
//! which a test may stop and restart without disturbing anything else.
//!
//! Every docker CLI call is bounded ([`CLI_TIMEOUT`]): an engine that stops answering
//! fails the test that asked, naming the command, instead of holding the whole run until
//! CI's limit (a run once sat 75 minutes in one Docker test with no word of where).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The longest any one docker CLI call may take (a build of a busybox image takes
/// about a second here).
pub const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` to its end or until `limit`, then kills it and panics naming `what`.
pub fn output_within(mut command: Command, what: &str, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    // Read both pipes on threads of their own, or a chatty child blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            panic!(
                "{what}: no answer within {} s (killed); stderr: {}",
                limit.as_secs(),
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (or test run) uses.
/// The counter comes before the process id, so that no name is a prefix of another
/// (tests find their containers by substring search).
pub fn unique(prefix: &str) -> String {
    format!(
        "cgt-{prefix}-{}-{}",
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::process::id()
    )
}

pub struct Engine {
    pub endpoint: String,
    private: Option<Private>,
    /// Containers and images to remove when the test ends.
    created: std::sync::Mutex<Vec<String>>,
    images: std::sync::Mutex<Vec<String>>,
}

struct Private {
    dir: PathBuf,
    daemon: Option<Child>,
}

impl Engine {
    /// The machine's engine: a test that needs one fails without it (build with
    /// `COASTGUARD_TEST_SKIP_DOCKER` set to have those tests reported as ignored).
    pub fn local() -> Engine {
        assert!(
            Path::new("/var/run/docker.sock").exists(),
            "no Docker engine at /var/run/docker.sock: run the tests with scripts/test (it starts dockerd), \
             or build them with COASTGUARD_TEST_SKIP_DOCKER=1 to have them ignored"
        );
        Engine {
            endpoint: "unix:///var/run/docker.sock".into(),
            private: None,
            created: Default::default(),
            images: Default::default(),
        }
    }

    /// A private engine of this test's own.
    pub fn private(name: &str) -> Engine {
        let dir = std::env::temp_dir().join(unique(name));
        std::fs::create_dir_all(&dir).unwrap();
        let mut engine = Engine {
            endpoint: format!("unix://{}", dir.join("docker.sock").display()),
            private: Some(Private { dir, daemon: None }),
            created: Default::default(),
            images: Default::default(),
        };
        engine.start();
        engine
    }

    pub fn start(&mut self) {
        let private = self.private.as_mut().expect("only private engines start");
        let dir = &private.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dockerd.log"))
            .unwrap();
        // Its own network namespace: a second engine on the host's would fight the
        // first over the docker0 bridge.
        let child = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg("--data-root")
            .arg(dir.join("root"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
                "--live-restore=false",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd (install Debian's docker.io)");
        private.daemon = Some(child);
        let started = Instant::now();
        while !self.try_docker(&["version"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "private dockerd did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the private engine (SIGTERM, like a service stop) and waits for it.
    pub fn stop(&mut self) {
        let private = self.private.as_mut().expect("only private engines stop");
        if let Some(mut child) = private.daemon.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            // A daemon that will not stop is killed rather than waited on for ever.
            let asked = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if asked.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Runs the docker CLI against this engine (bounded by [`CLI_TIMEOUT`]).
    pub fn try_docker(&self, args: &[&str]) -> Output {
        let mut command = Command::new("docker");
        command
            .arg("-H")
            .arg(&self.endpoint)
            .args(args)
            .env("DOCKER_BUILDKIT", "0");
        output_within(command, &format!("docker {}", args.join(" ")), CLI_TIMEOUT)
    }

    /// Runs the docker CLI against this engine; panics with its output on failure.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = self.try_docker(args);
        assert!(
            out.status.success(),
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `docker run -d --name NAME ARGS...`; the container is removed when the test ends.
    pub fn run(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["run", "-d", "--name", name, "--label", "coastguard.test=1"];
        all.extend_from_slice(args);
        let id = self.docker(&all);
        self.created.lock().unwrap().push(name.to_string());
        id
    }

    /// Builds an image `FROM scratch` with Debian's static busybox, from the given
    /// Dockerfile lines (after the busybox is in place). A label makes every build a
    /// distinct image (identical builds would share one id). Returns the image id.
    pub fn build(&self, tag: &str, lines: &[&str]) -> String {
        let dir = std::env::temp_dir().join(unique("ctx"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy("/bin/busybox", dir.join("busybox"))
            .expect("/bin/busybox (install busybox-static)");
        let mut dockerfile = format!(
            "FROM scratch\nLABEL coastguard.test=1 coastguard.test.build={tag}\nCOPY busybox /bin/busybox\n\
             RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"
        );
        for line in lines {
            dockerfile.push_str(line);
            dockerfile.push('\n');
        }
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        self.docker(&["build", "-q", "-t", tag, dir.to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&dir);
        self.images.lock().unwrap().push(tag.to_string());
        self.docker(&["image", "inspect", "--format", "{{.Id}}", tag])
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let names = std::mem::take(&mut *self.created.lock().unwrap());
        if !names.is_empty() && self.private.as_ref().is_none_or(|p| p.daemon.is_some()) {
            let mut args = vec!["rm", "-f"];
            args.extend(names.iter().map(String::as_str));
            let _ = self.try_docker(&args);
        }
        let images = std::mem::take(&mut *self.images.lock().unwrap());
        if !images.is_empty() && self.private.is_none() {
            let mut args = vec!["rmi", "-f"];
            args.extend(images.iter().map(String::as_str));
            let _ = self.try_docker(&args);
        }
        if self.private.is_some() {
            self.stop();
            if let Some(p) = &self.private {
                let _ = std::fs::remove_dir_all(&p.dir);
            }
        }
    }
}
