//! The demo estate, written down: four Docker hosts, fifteen images and eighteen
//! containers of a small web shop, its payments service, a build host and monitoring,
//! as they change over ninety days. Plain data; [`super::docker`] turns it into the
//! Docker API's own payloads and [`super::scans`] into Trivy reports.
//!
//! Times are days before the moment the demo is loaded, so every load tells the same
//! story ending today. Nothing here is random.

use super::vulns::{self as v, Cve};
use coastguard_model::docker::Transport;

/// The days (before now) on which the demo's engines are synced. Day 0 is the load.
pub const SYNC_DAYS: &[i64] = &[89, 60, 45, 30, 14, 3, 0];

/// The oldest day of the demo's history (within the 90 days trends backfill).
pub const FIRST_DAY: i64 = 89;

pub struct HostSpec {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub transport: Transport,
    pub os: &'static str,
    pub kernel: &'static str,
    pub engine: &'static str,
    pub security_options: &'static [&'static str],
    pub live_restore: bool,
    pub icc: bool,
    pub insecure_registries: &'static [&'static str],
    pub ncpu: i64,
    pub mem_gib: i64,
}

/// The hosts. Endpoints are under `.invalid`, a name no resolver answers (RFC 2606).
pub const HOSTS: &[HostSpec] = &[
    HostSpec {
        name: "prod-web-01",
        endpoint: "tcp://prod-web-01.demo.invalid:2376",
        transport: Transport::TcpTls,
        os: "Ubuntu 22.04.3 LTS",
        kernel: "5.15.0-88-generic",
        engine: "24.0.7",
        security_options: &[
            "name=apparmor",
            "name=seccomp,profile=builtin",
            "name=cgroupns",
        ],
        live_restore: true,
        icc: false,
        insecure_registries: &[],
        ncpu: 8,
        mem_gib: 32,
    },
    HostSpec {
        name: "prod-db-01",
        endpoint: "tcp://prod-db-01.demo.invalid:2376",
        transport: Transport::TcpTls,
        os: "Debian GNU/Linux 12 (bookworm)",
        kernel: "6.1.0-13-amd64",
        engine: "24.0.7",
        security_options: &[
            "name=apparmor",
            "name=seccomp,profile=builtin",
            "name=userns",
            "name=cgroupns",
        ],
        live_restore: true,
        icc: false,
        insecure_registries: &[],
        ncpu: 16,
        mem_gib: 64,
    },
    HostSpec {
        name: "build-01",
        endpoint: "tcp://build-01.demo.invalid:2375",
        transport: Transport::TcpPlain,
        os: "Ubuntu 20.04.6 LTS",
        kernel: "5.4.0-165-generic",
        engine: "20.10.24",
        security_options: &["name=apparmor", "name=seccomp,profile=builtin"],
        live_restore: false,
        icc: true,
        insecure_registries: &["registry.demo.invalid:5000"],
        ncpu: 4,
        mem_gib: 16,
    },
    HostSpec {
        name: "monitoring-01",
        endpoint: "ssh://ops@monitoring-01.demo.invalid",
        transport: Transport::Ssh,
        os: "Debian GNU/Linux 12 (bookworm)",
        kernel: "6.1.0-13-amd64",
        engine: "25.0.3",
        security_options: &[
            "name=apparmor",
            "name=seccomp,profile=builtin",
            "name=cgroupns",
        ],
        live_restore: true,
        icc: false,
        insecure_registries: &[],
        ncpu: 4,
        mem_gib: 8,
    },
];

/// A vulnerability an image carries: found by the scan on or after `from` (days ago),
/// gone from scans after `until` (the image's package was patched).
#[derive(Debug, Clone, Copy)]
pub struct Carried {
    pub cve: Cve,
    pub from: i64,
    pub until: Option<i64>,
}

const fn open(cve: Cve) -> Carried {
    Carried {
        cve,
        from: FIRST_DAY,
        until: None,
    }
}
const fn found(cve: Cve, from: i64) -> Carried {
    Carried {
        cve,
        from,
        until: None,
    }
}
const fn fixed(cve: Cve, until: i64) -> Carried {
    Carried {
        cve,
        from: FIRST_DAY,
        until: Some(until),
    }
}
const fn window(cve: Cve, from: i64, until: i64) -> Carried {
    Carried {
        cve,
        from,
        until: Some(until),
    }
}

/// When an image is scanned: weekly from `first` to `last` days ago, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scans {
    Weekly { first: i64, last: i64 },
    Never,
}

pub struct ImageSpec {
    pub key: &'static str,
    /// `repository:tag`.
    pub reference: &'static str,
    /// Trivy's OS family and version (`debian`, `12.2`), or none for distroless images.
    pub os: Option<(&'static str, &'static str)>,
    pub created_days_ago: i64,
    pub size_mb: i64,
    pub user: &'static str,
    pub env: &'static [&'static str],
    pub exposed: &'static [&'static str],
    pub cmd: &'static [&'static str],
    pub healthcheck: bool,
    /// Build steps, oldest first.
    pub history: &'static [&'static str],
    pub vulns: &'static [Carried],
    pub scans: Scans,
}

const DEBIAN_BASE: &[&str] = &[
    "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
    "/bin/sh -c #(nop)  CMD [\"bash\"]",
];
const ALPINE_BASE: &[&str] = &[
    "/bin/sh -c #(nop) ADD file:d4e5f6 in / ",
    "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]",
];
const DEBIAN_LOWS: [Carried; 3] = [
    open(v::APT_SIG),
    open(v::COREUTILS_CHROOT),
    open(v::GCC_STACK),
];

pub const IMAGES: &[ImageSpec] = &[
    ImageSpec {
        key: "web",
        reference: "registry.demo.invalid/shop/web:3.2.0",
        os: Some(("debian", "12.2")),
        created_days_ago: 96,
        size_mb: 187,
        user: "",
        env: &["NGINX_VERSION=1.25.3", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        exposed: &["80/tcp", "443/tcp"],
        cmd: &["nginx", "-g", "daemon off;"],
        healthcheck: true,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends nginx # buildkit",
            "COPY dist/ /usr/share/nginx/html # buildkit",
            "HEALTHCHECK &{[\"CMD-SHELL\" \"curl -fsS http://localhost/healthz || exit 1\"]}",
        ],
        vulns: &[
            fixed(v::RAPID_RESET, 35),
            fixed(v::LOONEY_TUNABLES, 25),
            fixed(v::OPENSSL_KEYLEN, 25),
            found(v::OPENSSL_PKCS12, 60),
            found(v::GLIBC_SYSLOG, 52),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[1],
            DEBIAN_LOWS[2],
        ],
        scans: Scans::Weekly { first: 89, last: 1 },
    },
    ImageSpec {
        key: "frontend",
        reference: "registry.demo.invalid/shop/frontend:5.0.2",
        os: Some(("debian", "12.2")),
        created_days_ago: 120,
        size_mb: 412,
        user: "node",
        env: &["NODE_ENV=production", "NODE_VERSION=18.18.2"],
        exposed: &["3000/tcp"],
        cmd: &["node", "server.js"],
        healthcheck: false,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "WORKDIR /app",
            "COPY package.json package-lock.json ./ # buildkit",
            "RUN /bin/sh -c npm ci --omit=dev # buildkit",
            "COPY . . # buildkit",
            "USER node",
        ],
        vulns: &[
            fixed(v::QS_PROTO, 30),
            open(v::EXPRESS_REDIRECT),
            found(v::BRACES_MEMORY, 45),
            open(v::TOUGH_COOKIE),
            fixed(v::LOONEY_TUNABLES, 25),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[1],
        ],
        scans: Scans::Weekly { first: 88, last: 2 },
    },
    ImageSpec {
        key: "api",
        reference: "registry.demo.invalid/shop/api:2.4.1",
        os: Some(("debian", "12.2")),
        created_days_ago: 101,
        size_mb: 236,
        user: "app",
        env: &["PYTHONUNBUFFERED=1", "PYTHON_VERSION=3.11.6"],
        exposed: &["8000/tcp"],
        cmd: &["gunicorn", "shop.api:app", "--bind", "0.0.0.0:8000"],
        healthcheck: true,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit",
            "COPY shop/ /srv/shop # buildkit",
            "USER app",
        ],
        vulns: &[
            fixed(v::REQUESTS_PROXY, 21),
            open(v::SETUPTOOLS_REDOS),
            found(v::CRYPTOGRAPHY_RSA, 50),
            found(v::CRYPTOGRAPHY_NULL, 50),
            found(v::STARLETTE_MULTIPART, 12),
            fixed(v::RAPID_RESET, 35),
            fixed(v::LOONEY_TUNABLES, 25),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[2],
        ],
        scans: Scans::Weekly { first: 87, last: 1 },
    },
    ImageSpec {
        key: "payments",
        reference: "registry.demo.invalid/shop/payments:1.9.3",
        os: Some(("debian", "12.2")),
        created_days_ago: 140,
        size_mb: 318,
        user: "10001",
        env: &["JAVA_HOME=/opt/java/openjdk", "JAVA_VERSION=jdk-17.0.9+9"],
        exposed: &["8443/tcp"],
        cmd: &["java", "-jar", "/app/payments.jar"],
        healthcheck: true,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "COPY target/payments.jar /app/payments.jar # buildkit",
            "USER 10001",
        ],
        vulns: &[
            fixed(v::LOG4SHELL, 40),
            open(v::TEXT4SHELL),
            fixed(v::LOONEY_TUNABLES, 25),
            open(v::ZLIB_MINIZIP),
            DEBIAN_LOWS[0],
        ],
        scans: Scans::Weekly { first: 86, last: 0 },
    },
    ImageSpec {
        key: "traefik",
        reference: "traefik:v2.10.4",
        os: Some(("alpine", "3.18.3")),
        created_days_ago: 410,
        size_mb: 146,
        user: "",
        env: &[],
        exposed: &["80/tcp"],
        cmd: &["traefik"],
        healthcheck: false,
        history: ALPINE_BASE,
        vulns: &[
            fixed(v::XNET_RESET, 18),
            found(v::XNET_CONTINUATION, 55),
            window(v::GO_NETIP, 70, 18),
            fixed(v::ALPINE_OPENSSL, 25),
        ],
        scans: Scans::Weekly { first: 85, last: 4 },
    },
    ImageSpec {
        key: "postgres",
        reference: "postgres:15.4",
        os: Some(("debian", "12.1")),
        created_days_ago: 430,
        size_mb: 412,
        user: "",
        env: &["PG_MAJOR=15", "PGDATA=/var/lib/postgresql/data"],
        exposed: &["5432/tcp"],
        cmd: &["postgres"],
        healthcheck: false,
        history: DEBIAN_BASE,
        vulns: &[
            open(v::LOONEY_TUNABLES),
            found(v::GLIBC_SYSLOG, 52),
            fixed(v::OPENSSL_KEYLEN, 25),
            window(v::KRB5_GSS, 40, 5),
            open(v::ZLIB_MINIZIP),
            open(v::NCURSES_TERMINFO),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[1],
            DEBIAN_LOWS[2],
        ],
        scans: Scans::Weekly { first: 84, last: 3 },
    },
    ImageSpec {
        key: "redis",
        reference: "redis:7.2.1",
        os: Some(("debian", "12.1")),
        created_days_ago: 420,
        size_mb: 138,
        user: "",
        env: &["REDIS_VERSION=7.2.1"],
        exposed: &["6379/tcp"],
        cmd: &["redis-server"],
        healthcheck: false,
        history: DEBIAN_BASE,
        vulns: &[
            fixed(v::LOONEY_TUNABLES, 25),
            fixed(v::OPENSSL_KEYLEN, 25),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[1],
        ],
        scans: Scans::Weekly { first: 83, last: 2 },
    },
    ImageSpec {
        key: "jenkins-agent",
        reference: "jenkins/inbound-agent:3107.v665000b_51092-15",
        os: Some(("debian", "12.2")),
        created_days_ago: 75,
        size_mb: 702,
        user: "jenkins",
        env: &["AGENT_WORKDIR=/home/jenkins/agent"],
        exposed: &[],
        cmd: &["/usr/local/bin/jenkins-agent"],
        healthcheck: false,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "RUN /bin/sh -c apt-get update && apt-get install -y git curl openssh-client # buildkit",
            "RUN /bin/sh -c git config --global url.https://ci-bot:ghp_DEMOdemoDEMOdemoDEMOdemoDEMOdemo0000@github.com/.insteadOf https://github.com/ # buildkit",
            "USER jenkins",
        ],
        vulns: &[
            fixed(v::CURL_SOCKS, 50),
            window(v::GIT_CLONE, 55, 10),
            found(v::REGRESSHION, 20),
            fixed(v::LOONEY_TUNABLES, 25),
            open(v::NCURSES_TERMINFO),
            DEBIAN_LOWS[0],
            DEBIAN_LOWS[1],
            DEBIAN_LOWS[2],
        ],
        scans: Scans::Weekly { first: 89, last: 5 },
    },
    ImageSpec {
        key: "docker-gc",
        reference: "registry.demo.invalid/platform/docker-gc:1.2.0",
        os: Some(("alpine", "3.18.3")),
        created_days_ago: 260,
        size_mb: 31,
        user: "",
        env: &[],
        exposed: &[],
        cmd: &["/docker-gc"],
        healthcheck: false,
        history: ALPINE_BASE,
        vulns: &[open(v::ALPINE_OPENSSL), open(v::ALPINE_BUSYBOX)],
        // Its nightly scan job broke 25 days ago: a stale scan, a coverage finding.
        scans: Scans::Weekly { first: 88, last: 25 },
    },
    ImageSpec {
        key: "prometheus",
        reference: "prom/prometheus:v2.47.0",
        os: None,
        created_days_ago: 440,
        size_mb: 245,
        user: "nobody",
        env: &[],
        exposed: &["9090/tcp"],
        cmd: &["--config.file=/etc/prometheus/prometheus.yml"],
        healthcheck: false,
        history: &["/bin/sh -c #(nop) COPY file:prometheus in /bin/prometheus ", "USER nobody"],
        vulns: &[open(v::XNET_RESET), window(v::GO_NETIP, 70, 12), found(v::XNET_CONTINUATION, 55)],
        scans: Scans::Weekly { first: 87, last: 3 },
    },
    ImageSpec {
        key: "grafana",
        reference: "grafana/grafana:10.1.5",
        os: Some(("alpine", "3.18.3")),
        created_days_ago: 395,
        size_mb: 391,
        user: "472",
        env: &["GF_PATHS_DATA=/var/lib/grafana"],
        exposed: &["3000/tcp"],
        cmd: &["/run.sh"],
        healthcheck: false,
        history: ALPINE_BASE,
        vulns: &[
            open(v::XNET_RESET),
            found(v::XCRYPTO_SSH, 8),
            window(v::GO_NETIP, 70, 3),
            fixed(v::ALPINE_OPENSSL, 25),
        ],
        scans: Scans::Weekly { first: 86, last: 1 },
    },
    ImageSpec {
        key: "etl-worker",
        reference: "registry.demo.invalid/data/etl-worker:0.14.0",
        os: Some(("debian", "12.2")),
        created_days_ago: 21,
        size_mb: 1290,
        user: "",
        env: &["PYTHONUNBUFFERED=1"],
        exposed: &[],
        cmd: &["python", "-m", "etl.worker"],
        healthcheck: false,
        history: &[
            "/bin/sh -c #(nop) ADD file:a1b2c3 in / ",
            "RUN /bin/sh -c apt-get update && apt-get install -y build-essential curl # buildkit",
            "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
        ],
        vulns: &[],
        // Built by the data team outside the pipeline: never scanned.
        scans: Scans::Never,
    },
    ImageSpec {
        key: "node-exporter",
        reference: "prom/node-exporter:v1.6.1",
        os: None,
        created_days_ago: 470,
        size_mb: 23,
        user: "nobody",
        env: &[],
        exposed: &["9100/tcp"],
        cmd: &["--path.rootfs=/host"],
        healthcheck: false,
        history: &["/bin/sh -c #(nop) COPY file:node_exporter in /bin/node_exporter ", "USER nobody"],
        vulns: &[window(v::GO_NETIP, 70, 12)],
        scans: Scans::Weekly { first: 85, last: 2 },
    },
    ImageSpec {
        key: "busybox",
        reference: "busybox:1.36.1",
        os: None,
        created_days_ago: 180,
        size_mb: 4,
        user: "",
        env: &[],
        exposed: &[],
        cmd: &["sh"],
        healthcheck: false,
        history: &["/bin/sh -c #(nop) ADD file:busybox in / ", "/bin/sh -c #(nop)  CMD [\"sh\"]"],
        vulns: &[],
        scans: Scans::Weekly { first: 84, last: 34 },
    },
    ImageSpec {
        key: "alpine",
        reference: "alpine:3.18.4",
        os: Some(("alpine", "3.18.4")),
        created_days_ago: 400,
        size_mb: 7,
        user: "",
        env: &[],
        exposed: &[],
        cmd: &["/bin/sh"],
        healthcheck: false,
        history: ALPINE_BASE,
        vulns: &[open(v::ALPINE_OPENSSL), open(v::ALPINE_BUSYBOX)],
        scans: Scans::Weekly { first: 60, last: 60 },
    },
];

/// How a container is run: Docker's defaults unless said otherwise.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec {
    pub user: Option<&'static str>,
    pub privileged: bool,
    pub cap_add: &'static [&'static str],
    pub cap_drop: &'static [&'static str],
    pub read_only: bool,
    pub no_new_privileges: bool,
    pub memory_mb: i64,
    pub cpus: f64,
    pub pids_limit: i64,
    pub restart: &'static str,
    pub network_mode: &'static str,
    pub pid_mode: &'static str,
    /// `(container port, host address, host port)`.
    pub ports: &'static [(&'static str, &'static str, &'static str)],
    /// `(type, source, destination, read-write)`.
    pub mounts: &'static [(&'static str, &'static str, &'static str, bool)],
    /// Variables set on the container (values too: secrets are found, then dropped).
    pub env: &'static [&'static str],
    pub healthcheck: bool,
}

/// `docker run IMAGE` with nothing else.
pub const DEFAULTS: RunSpec = RunSpec {
    user: None,
    privileged: false,
    cap_add: &[],
    cap_drop: &[],
    read_only: false,
    no_new_privileges: false,
    memory_mb: 0,
    cpus: 0.0,
    pids_limit: 0,
    restart: "no",
    network_mode: "bridge",
    pid_mode: "",
    ports: &[],
    mounts: &[],
    env: &[],
    healthcheck: false,
};

/// What the platform team's guidelines ask of every service.
const HARDENED: RunSpec = RunSpec {
    cap_drop: &["ALL"],
    read_only: true,
    no_new_privileges: true,
    memory_mb: 512,
    cpus: 1.0,
    pids_limit: 256,
    restart: "unless-stopped",
    network_mode: "shop",
    healthcheck: true,
    ..DEFAULTS
};

pub struct ContainerSpec {
    pub name: &'static str,
    pub host: &'static str,
    pub image: &'static str,
    pub team: Option<&'static str>,
    pub created: i64,
    /// Removed this many days ago (kept as gone).
    pub removed: Option<i64>,
    /// Recreated with `after` this many days ago.
    pub changed: Option<i64>,
    pub before: RunSpec,
    pub after: RunSpec,
    pub restarts: i64,
}

const fn steady(
    name: &'static str,
    host: &'static str,
    image: &'static str,
    team: Option<&'static str>,
    run: RunSpec,
) -> ContainerSpec {
    ContainerSpec {
        name,
        host,
        image,
        team,
        created: FIRST_DAY,
        removed: None,
        changed: None,
        before: run,
        after: run,
        restarts: 0,
    }
}

const WEB_BEFORE: RunSpec = RunSpec {
    ports: &[("443/tcp", "0.0.0.0", "443")],
    restart: "always",
    ..DEFAULTS
};
const WEB_AFTER: RunSpec = RunSpec {
    cap_add: &["NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID"],
    read_only: true,
    mounts: &[("tmpfs", "", "/var/cache/nginx", true)],
    ports: &[("443/tcp", "0.0.0.0", "443")],
    user: None,
    ..HARDENED
};
const API_BEFORE: RunSpec = RunSpec {
    env: &[
        "DATABASE_URL=postgres://shop:Summer2023!@prod-db-01.demo.invalid/shop",
        "DB_PASSWORD=Summer2023!",
    ],
    restart: "always",
    network_mode: "shop",
    ..DEFAULTS
};
const API_AFTER: RunSpec = RunSpec {
    env: &["DATABASE_URL_FILE=/run/secrets/database_url"],
    mounts: &[("bind", "/etc/shop/secrets", "/run/secrets", false)],
    ..HARDENED
};
const REDIS_BEFORE: RunSpec = RunSpec {
    ports: &[("6379/tcp", "0.0.0.0", "6379")],
    restart: "always",
    ..DEFAULTS
};
const REDIS_AFTER: RunSpec = RunSpec {
    ports: &[("6379/tcp", "10.0.0.12", "6379")],
    memory_mb: 2048,
    restart: "always",
    no_new_privileges: true,
    cap_drop: &["ALL"],
    cap_add: &["SETUID", "SETGID"],
    ..DEFAULTS
};

pub const CONTAINERS: &[ContainerSpec] = &[
    ContainerSpec {
        changed: Some(45),
        ..steady_changed("shop-web-1", "prod-web-01", "web", "storefront", WEB_BEFORE, WEB_AFTER)
    },
    ContainerSpec {
        changed: Some(45),
        ..steady_changed("shop-web-2", "prod-web-01", "web", "storefront", WEB_BEFORE, WEB_AFTER)
    },
    steady(
        "shop-frontend-1",
        "prod-web-01",
        "frontend",
        Some("storefront"),
        RunSpec { ports: &[("3000/tcp", "127.0.0.1", "3001")], memory_mb: 768, restart: "unless-stopped", ..DEFAULTS },
    ),
    steady(
        "shop-frontend-2",
        "prod-web-01",
        "frontend",
        Some("storefront"),
        RunSpec { ports: &[("3000/tcp", "127.0.0.1", "3002")], memory_mb: 768, restart: "unless-stopped", ..DEFAULTS },
    ),
    ContainerSpec {
        changed: Some(30),
        ..steady_changed("shop-api-1", "prod-web-01", "api", "storefront", API_BEFORE, API_AFTER)
    },
    ContainerSpec {
        changed: Some(30),
        ..steady_changed("shop-api-2", "prod-web-01", "api", "storefront", API_BEFORE, API_AFTER)
    },
    steady(
        "traefik",
        "prod-web-01",
        "traefik",
        Some("platform"),
        RunSpec {
            ports: &[("80/tcp", "0.0.0.0", "80"), ("443/tcp", "0.0.0.0", "8443")],
            mounts: &[("bind", "/var/run/docker.sock", "/var/run/docker.sock", false)],
            restart: "always",
            ..DEFAULTS
        },
    ),
    steady(
        "postgres-main",
        "prod-db-01",
        "postgres",
        Some("data"),
        RunSpec {
            ports: &[("5432/tcp", "10.0.0.12", "5432")],
            mounts: &[("volume", "pgdata", "/var/lib/postgresql/data", true)],
            env: &["POSTGRES_PASSWORD_FILE=/run/secrets/pg"],
            memory_mb: 8192,
            cpus: 4.0,
            restart: "always",
            healthcheck: true,
            no_new_privileges: true,
            ..DEFAULTS
        },
    ),
    ContainerSpec {
        changed: Some(14),
        ..steady_changed("redis-cache", "prod-db-01", "redis", "storefront", REDIS_BEFORE, REDIS_AFTER)
    },
    steady("payments-1", "prod-db-01", "payments", Some("payments"), RunSpec { ports: &[("8443/tcp", "10.0.0.12", "8443")], ..HARDENED }),
    steady("payments-2", "prod-db-01", "payments", Some("payments"), RunSpec { ports: &[("8443/tcp", "10.0.0.12", "9443")], ..HARDENED }),
    ContainerSpec {
        restarts: 14,
        ..steady(
            "jenkins-agent",
            "build-01",
            "jenkins-agent",
            Some("platform"),
            RunSpec {
                user: Some("root"),
                privileged: true,
                mounts: &[
                    ("bind", "/var/run/docker.sock", "/var/run/docker.sock", true),
                    ("volume", "jenkins-work", "/home/jenkins/agent", true),
                ],
                env: &["JENKINS_SECRET=9f3c1e7a2b8d4f60a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7"],
                restart: "always",
                ..DEFAULTS
            },
        )
    },
    steady(
        "docker-gc",
        "build-01",
        "docker-gc",
        Some("platform"),
        RunSpec {
            mounts: &[("bind", "/var/run/docker.sock", "/var/run/docker.sock", true)],
            restart: "unless-stopped",
            ..DEFAULTS
        },
    ),
    ContainerSpec {
        removed: Some(30),
        ..steady("legacy-cron", "build-01", "busybox", None, RunSpec { restart: "always", ..DEFAULTS })
    },
    steady(
        "prometheus",
        "monitoring-01",
        "prometheus",
        Some("platform"),
        RunSpec {
            ports: &[("9090/tcp", "127.0.0.1", "9090")],
            mounts: &[("volume", "prometheus-data", "/prometheus", true)],
            network_mode: "monitoring",
            ..HARDENED
        },
    ),
    steady(
        "grafana",
        "monitoring-01",
        "grafana",
        Some("platform"),
        RunSpec {
            ports: &[("3000/tcp", "0.0.0.0", "3000")],
            env: &["GF_SECURITY_ADMIN_PASSWORD=grafana-admin-2023", "GF_SERVER_ROOT_URL=https://grafana.demo.invalid"],
            restart: "unless-stopped",
            network_mode: "monitoring",
            ..DEFAULTS
        },
    ),
    steady(
        "node-exporter",
        "monitoring-01",
        "node-exporter",
        Some("platform"),
        RunSpec {
            network_mode: "host",
            pid_mode: "host",
            mounts: &[("bind", "/", "/host", false)],
            ..HARDENED
        },
    ),
    ContainerSpec {
        created: 20,
        ..steady(
            "etl-worker",
            "monitoring-01",
            "etl-worker",
            Some("data"),
            RunSpec { cap_add: &["SYS_ADMIN"], network_mode: "host", restart: "on-failure", ..DEFAULTS },
        )
    },
];

const fn steady_changed(
    name: &'static str,
    host: &'static str,
    image: &'static str,
    team: &'static str,
    before: RunSpec,
    after: RunSpec,
) -> ContainerSpec {
    ContainerSpec {
        before,
        after,
        ..steady(name, host, image, Some(team), before)
    }
}

impl ContainerSpec {
    /// How it runs on `day` (days ago), or `None` when it does not exist then.
    pub fn on(&self, day: i64) -> Option<&RunSpec> {
        if day > self.created || self.removed.is_some_and(|r| day <= r) {
            return None;
        }
        Some(match self.changed {
            Some(c) if day <= c => &self.after,
            _ => &self.before,
        })
    }
}

impl ImageSpec {
    /// The days (ago) it is scanned on, oldest first.
    pub fn scan_days(&self) -> Vec<i64> {
        match self.scans {
            Scans::Never => Vec::new(),
            Scans::Weekly { first, last } => {
                let mut days = Vec::new();
                let mut d = first;
                while d > last {
                    days.push(d);
                    d -= 7;
                }
                days.push(last);
                days
            }
        }
    }

    /// What a scan on `day` (days ago) reports.
    pub fn vulns_on(&self, day: i64) -> impl Iterator<Item = &Cve> {
        self.vulns
            .iter()
            .filter(move |c| day <= c.from && c.until.is_none_or(|u| day > u))
            .map(|c| &c.cve)
    }
}

pub fn image(key: &str) -> &'static ImageSpec {
    IMAGES
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("the demo has no image {key}"))
}

pub fn host(name: &str) -> &'static HostSpec {
    HOSTS
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("the demo has no host {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_names_a_known_host_and_image() {
        for c in CONTAINERS {
            assert!(HOSTS.iter().any(|h| h.name == c.host), "{}", c.name);
            assert!(IMAGES.iter().any(|i| i.key == c.image), "{}", c.name);
            assert!(c.created <= FIRST_DAY);
        }
        let mut names: Vec<_> = CONTAINERS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CONTAINERS.len(), "container names are unique");
    }

    #[test]
    fn a_container_exists_from_creation_until_removal_and_changes_once() {
        let cron = CONTAINERS.iter().find(|c| c.name == "legacy-cron").unwrap();
        assert!(cron.on(31).is_some());
        assert!(cron.on(30).is_none(), "removed 30 days ago");
        let etl = CONTAINERS.iter().find(|c| c.name == "etl-worker").unwrap();
        assert!(etl.on(21).is_none());
        assert!(etl.on(20).is_some());
        let api = CONTAINERS.iter().find(|c| c.name == "shop-api-1").unwrap();
        assert_eq!(
            api.on(31).unwrap().env.len(),
            2,
            "the password still in its environment"
        );
        assert!(api.on(30).unwrap().read_only, "hardened 30 days ago");
    }

    #[test]
    fn scans_run_weekly_up_to_their_last_day() {
        let gc = image("docker-gc");
        let days = gc.scan_days();
        assert_eq!(days.first(), Some(&88));
        assert_eq!(days.last(), Some(&25));
        assert!(days.windows(2).all(|w| w[0] - w[1] <= 7 && w[0] > w[1]));
        assert!(image("etl-worker").scan_days().is_empty());
        assert_eq!(image("alpine").scan_days(), vec![60]);
    }

    #[test]
    fn a_scan_reports_what_the_image_carried_that_day() {
        let payments = image("payments");
        let on = |day| payments.vulns_on(day).map(|c| c.id).collect::<Vec<_>>();
        assert!(on(41).contains(&"CVE-2021-44228"));
        assert!(!on(40).contains(&"CVE-2021-44228"), "fixed 40 days ago");
        let jenkins = image("jenkins-agent");
        let on = |day| jenkins.vulns_on(day).map(|c| c.id).collect::<Vec<_>>();
        assert!(!on(21).contains(&"CVE-2024-6387"));
        assert!(on(20).contains(&"CVE-2024-6387"), "found 20 days ago");
    }
}
