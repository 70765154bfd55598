//! The demo's vulnerabilities: real, published CVEs in the packages and versions they
//! affect, with the severities and CVSS v3 base scores their advisories give. Which demo
//! image carries which, and from when to when, is in [`super::estate`].

/// One published vulnerability of one package.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cve {
    pub id: &'static str,
    /// Trivy's package type (`debian`, `alpine`, `jar`, `python-pkg`, `node-pkg`, `gobinary`).
    pub pkg_type: &'static str,
    pub pkg: &'static str,
    pub installed: &'static str,
    /// `None`: no fixed version published.
    pub fixed: Option<&'static str>,
    pub severity: &'static str,
    pub cvss: f64,
    pub vector: &'static str,
    pub published: &'static str,
    pub title: &'static str,
}

const NET_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H";
const NET_CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const LOCAL_HIGH: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";
const LOCAL_MEDIUM: &str = "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H";

macro_rules! cves {
    ($($name:ident = $id:literal, $ty:literal, $pkg:literal, $inst:literal, $fixed:expr, $sev:literal, $cvss:literal, $vec:expr, $publ:literal, $title:literal;)*) => {
        $(pub const $name: Cve = Cve {
            id: $id, pkg_type: $ty, pkg: $pkg, installed: $inst, fixed: $fixed, severity: $sev,
            cvss: $cvss, vector: $vec, published: $publ, title: $title,
        };)*
        /// Every vulnerability of the demo, for tests.
        pub const ALL: &[Cve] = &[$($name),*];
    };
}

cves! {
    LOG4SHELL = "CVE-2021-44228", "jar", "org.apache.logging.log4j:log4j-core", "2.14.1", Some("2.15.0"),
        "CRITICAL", 10.0, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "2021-12-10",
        "log4j-core: Remote code execution in Log4j 2.x when logs contain an attacker-controlled string value";
    TEXT4SHELL = "CVE-2022-42889", "jar", "org.apache.commons:commons-text", "1.9", Some("1.10.0"),
        "CRITICAL", 9.8, NET_CRITICAL, "2022-10-13",
        "commons-text: variable interpolation RCE";
    RAPID_RESET = "CVE-2023-44487", "debian", "libnghttp2-14", "1.52.0-1", Some("1.52.0-1+deb12u1"),
        "HIGH", 7.5, NET_HIGH, "2023-10-10",
        "HTTP/2: Multiple HTTP/2 enabled web servers are vulnerable to a DDoS attack (Rapid Reset Attack)";
    LOONEY_TUNABLES = "CVE-2023-4911", "debian", "libc6", "2.36-9+deb12u1", Some("2.36-9+deb12u3"),
        "HIGH", 7.8, LOCAL_HIGH, "2023-10-03",
        "glibc: buffer overflow in ld.so leading to privilege escalation";
    GLIBC_SYSLOG = "CVE-2023-6246", "debian", "libc6", "2.36-9+deb12u1", Some("2.36-9+deb12u4"),
        "HIGH", 7.8, LOCAL_HIGH, "2024-01-31",
        "glibc: heap-based buffer overflow in __vsyslog_internal()";
    OPENSSL_KEYLEN = "CVE-2023-5363", "debian", "libssl3", "3.0.11-1~deb12u1", Some("3.0.11-1~deb12u2"),
        "HIGH", 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "2023-10-25",
        "openssl: Incorrect cipher key and IV length processing";
    OPENSSL_PKCS12 = "CVE-2024-0727", "debian", "libssl3", "3.0.11-1~deb12u1", Some("3.0.13-1~deb12u1"),
        "MEDIUM", 5.5, LOCAL_MEDIUM, "2024-01-26",
        "openssl: denial of service via null dereference in PKCS12 files";
    CURL_SOCKS = "CVE-2023-38545", "debian", "curl", "7.88.1-10+deb12u1", Some("7.88.1-10+deb12u3"),
        "CRITICAL", 9.8, NET_CRITICAL, "2023-10-18",
        "curl: heap based buffer overflow in the SOCKS5 proxy handshake";
    REGRESSHION = "CVE-2024-6387", "debian", "openssh-client", "1:9.2p1-2", Some("1:9.2p1-2+deb12u3"),
        "HIGH", 8.1, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "2024-07-01",
        "openssh: regreSSHion - race condition in sshd's SIGALRM handler";
    GIT_CLONE = "CVE-2024-32002", "debian", "git", "1:2.39.2-1.1", Some("1:2.39.5-0+deb12u1"),
        "CRITICAL", 9.0, "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:H/A:H", "2024-05-14",
        "git: Recursive clones on case-insensitive filesystems that support symlinks are susceptible to RCE";
    KRB5_GSS = "CVE-2024-37371", "debian", "libkrb5-3", "1.20.1-2+deb12u1", Some("1.20.1-2+deb12u2"),
        "CRITICAL", 9.1, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H", "2024-06-28",
        "krb5: GSS message token handling";
    ZLIB_MINIZIP = "CVE-2023-45853", "debian", "zlib1g", "1:1.2.13.dfsg-1", None,
        "CRITICAL", 9.8, NET_CRITICAL, "2023-10-14",
        "zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6";
    NCURSES_TERMINFO = "CVE-2023-29491", "debian", "libtinfo6", "6.4-4", Some("6.4-4+deb12u1"),
        "HIGH", 7.8, LOCAL_HIGH, "2023-04-14",
        "ncurses: Local users can trigger security-relevant memory corruption via malformed data";
    APT_SIG = "CVE-2011-3374", "debian", "apt", "2.6.1", None,
        "LOW", 3.7, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N", "2019-11-26",
        "apt: It was found that apt-key in apt, all versions, do not correctly validate gpg keys";
    COREUTILS_CHROOT = "CVE-2016-2781", "debian", "coreutils", "9.1-1", None,
        "LOW", 6.5, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N", "2017-02-07",
        "coreutils: Non-privileged session can escape to the parent session in chroot";
    GCC_STACK = "CVE-2022-27943", "debian", "libstdc++6", "12.2.0-14", None,
        "LOW", 5.5, LOCAL_MEDIUM, "2022-03-26",
        "binutils: libiberty/rust-demangle.c in GNU GCC 11.2 allows stack exhaustion";
    REQUESTS_PROXY = "CVE-2023-32681", "python-pkg", "requests", "2.28.1", Some("2.31.0"),
        "MEDIUM", 6.1, "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", "2023-05-26",
        "python-requests: Unintended leak of Proxy-Authorization header";
    SETUPTOOLS_REDOS = "CVE-2022-40897", "python-pkg", "setuptools", "65.5.0", Some("65.5.1"),
        "MEDIUM", 5.9, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", "2022-12-23",
        "pypa-setuptools: Regular Expression Denial of Service (ReDoS) in package_index.py";
    CRYPTOGRAPHY_NULL = "CVE-2024-26130", "python-pkg", "cryptography", "41.0.3", Some("42.0.4"),
        "HIGH", 7.5, NET_HIGH, "2024-02-21",
        "cryptography: NULL pointer dereference with pkcs12.serialize_key_and_certificates";
    CRYPTOGRAPHY_RSA = "CVE-2023-50782", "python-pkg", "cryptography", "41.0.3", Some("42.0.0"),
        "HIGH", 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "2024-02-05",
        "python-cryptography: Bleichenbacher timing oracle attack against RSA decryption";
    STARLETTE_MULTIPART = "CVE-2024-47874", "python-pkg", "starlette", "0.27.0", Some("0.40.0"),
        "HIGH", 7.5, NET_HIGH, "2024-10-15",
        "starlette: Denial of service (DoS) via multipart/form-data";
    QS_PROTO = "CVE-2022-24999", "node-pkg", "qs", "6.7.0", Some("6.7.3"),
        "HIGH", 7.5, NET_HIGH, "2022-11-26",
        "express: \"qs\" prototype poisoning causes the hang of the node process";
    EXPRESS_REDIRECT = "CVE-2024-29041", "node-pkg", "express", "4.17.1", Some("4.19.2"),
        "MEDIUM", 6.1, "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "2024-03-25",
        "express: cause malformed URLs to be evaluated";
    BRACES_MEMORY = "CVE-2024-4068", "node-pkg", "braces", "3.0.2", Some("3.0.3"),
        "HIGH", 7.5, NET_HIGH, "2024-05-14",
        "braces: fails to limit the number of characters it can handle";
    TOUGH_COOKIE = "CVE-2023-26136", "node-pkg", "tough-cookie", "4.1.2", Some("4.1.3"),
        "MEDIUM", 6.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "2023-07-01",
        "tough-cookie: prototype pollution in cookie memstore";
    XNET_RESET = "CVE-2023-39325", "gobinary", "golang.org/x/net", "v0.12.0", Some("0.17.0"),
        "HIGH", 7.5, NET_HIGH, "2023-10-11",
        "golang: net/http, x/net/http2: rapid stream resets can cause excessive work";
    XNET_CONTINUATION = "CVE-2023-45288", "gobinary", "golang.org/x/net", "v0.12.0", Some("0.23.0"),
        "MEDIUM", 5.3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", "2024-04-04",
        "golang: net/http, x/net/http2: unlimited number of CONTINUATION frames causes DoS";
    GO_NETIP = "CVE-2024-24790", "gobinary", "stdlib", "v1.21.1", Some("1.21.11, 1.22.4"),
        "CRITICAL", 9.8, NET_CRITICAL, "2024-06-05",
        "golang: net/netip: Unexpected behavior from Is methods for IPv4-mapped IPv6 addresses";
    XCRYPTO_SSH = "CVE-2024-45337", "gobinary", "golang.org/x/crypto", "v0.14.0", Some("0.31.0"),
        "CRITICAL", 9.1, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", "2024-12-12",
        "golang.org/x/crypto/ssh: Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass";
    ALPINE_OPENSSL = "CVE-2023-5363", "alpine", "libcrypto3", "3.1.2-r0", Some("3.1.4-r0"),
        "HIGH", 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "2023-10-25",
        "openssl: Incorrect cipher key and IV length processing";
    ALPINE_BUSYBOX = "CVE-2023-42366", "alpine", "busybox", "1.36.1-r2", Some("1.36.1-r6"),
        "MEDIUM", 5.5, LOCAL_MEDIUM, "2023-11-27",
        "busybox: A heap-buffer-overflow in next_token() in awk";
}

/// CVEs the demo's copy of CISA's catalog lists (all three are in the real one).
pub const KNOWN_EXPLOITED: &[(&str, &str, &str)] = &[
    (
        "CVE-2021-44228",
        "2021-12-10",
        "Apache Log4j2 Remote Code Execution Vulnerability",
    ),
    (
        "CVE-2023-44487",
        "2023-10-10",
        "HTTP/2 Rapid Reset Attack Vulnerability",
    ),
    (
        "CVE-2023-4911",
        "2023-11-21",
        "GNU C Library Buffer Overflow Vulnerability",
    ),
];

/// Scores for the demo's EPSS file: the probability of exploitation in the next 30 days
/// and its percentile. Illustrative values of the order FIRST has given these CVEs, not
/// a copy of any day's file.
pub const EPSS: &[(&str, f64, f64)] = &[
    ("CVE-2021-44228", 0.94358, 0.99957),
    ("CVE-2022-42889", 0.94169, 0.99924),
    ("CVE-2023-44487", 0.81697, 0.99080),
    ("CVE-2023-4911", 0.73231, 0.98721),
    ("CVE-2023-38545", 0.27310, 0.96574),
    ("CVE-2024-6387", 0.41247, 0.97362),
    ("CVE-2024-32002", 0.09153, 0.92215),
    ("CVE-2023-5363", 0.00512, 0.76133),
    ("CVE-2024-24790", 0.00187, 0.55604),
    ("CVE-2023-39325", 0.00845, 0.81827),
    ("CVE-2022-24999", 0.00710, 0.80102),
    ("CVE-2023-32681", 0.00124, 0.47633),
];
