//! Evaluating the catalogue against facts. Pure functions: the server, the one-shot
//! `coastguard audit docker` and the tests all call these, so they can't disagree.

use super::catalog::{check, Check};
pub use coastguard_model::docker::Policy;
use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts, Transport};
use coastguard_model::Severity;
use regex::Regex;
use std::sync::OnceLock;

/// One finding of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub check: &'static Check,
    pub severity: Severity,
    /// Distinguishes several findings of one check on one subject ("" when there is one).
    pub instance: String,
    /// What was seen, for people.
    pub evidence: String,
}

struct Out(Vec<Detected>);

impl Out {
    fn add(&mut self, id: &str, instance: impl Into<String>, evidence: impl Into<String>) {
        let check = check(id).unwrap_or_else(|| panic!("check {id} is not in the catalogue"));
        self.0.push(Detected {
            check,
            severity: check.severity,
            instance: instance.into(),
            evidence: evidence.into(),
        });
    }

    fn add_rated(
        &mut self,
        id: &str,
        severity: Severity,
        instance: impl Into<String>,
        evidence: impl Into<String>,
    ) {
        self.add(id, instance, evidence);
        if let Some(last) = self.0.last_mut() {
            last.severity = severity;
        }
    }
}

pub fn evaluate_host(host: &HostFacts) -> Vec<Detected> {
    let mut out = Out(Vec::new());
    if host.transport == Some(Transport::TcpPlain) {
        out.add(
            "host.tcp_without_tls",
            "",
            "Coastguard reached this engine over plain TCP",
        );
    }
    for registry in &host.insecure_registries {
        out.add(
            "host.insecure_registry",
            registry.as_str(),
            format!("insecure registry: {registry}"),
        );
    }
    if host.default_bridge_icc == Some(true) {
        out.add(
            "host.icc_enabled",
            "",
            "com.docker.network.bridge.enable_icc is true on the default bridge",
        );
    }
    if !host.userns && !host.rootless {
        out.add(
            "host.userns_disabled",
            "",
            "no userns in the engine's security options",
        );
    }
    if !host.live_restore && !host.swarm_active {
        out.add(
            "host.live_restore_disabled",
            "",
            "LiveRestoreEnabled is false",
        );
    }
    match host.seccomp_profile.as_deref() {
        None => out.add(
            "host.seccomp_unavailable",
            "",
            "no seccomp in the engine's security options",
        ),
        Some("unconfined") => out.add(
            "host.seccomp_unavailable",
            "",
            "the default seccomp profile is unconfined",
        ),
        Some(_) => {}
    }
    if host.experimental {
        out.add("host.experimental", "", "ExperimentalBuild is true");
    }
    out.0
}

fn user_evidence(user: Option<&str>) -> String {
    match user {
        None => "no USER is set, so it runs as root".into(),
        Some(u) => format!("runs as {u}"),
    }
}

fn is_root(user: Option<&str>) -> bool {
    match user {
        None => true,
        Some(u) => {
            let name = u.split(':').next().unwrap_or_default();
            name.is_empty() || name == "root" || name == "0"
        }
    }
}

/// The registry part of an image reference, with Docker's defaulting rules.
pub fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

fn package_manager() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(apt-get|apt|apk|yum|dnf|microdnf|zypper|tdnf)\s+(-\S+\s+)*(install|add|upgrade|update)\b")
            .expect("valid pattern")
    })
}

pub fn evaluate_image(image: &ImageFacts, policy: &Policy, now: i64) -> Vec<Detected> {
    let mut out = Out(Vec::new());
    if is_root(image.user.as_deref()) {
        out.add(
            "image.runs_as_root",
            "",
            user_evidence(image.user.as_deref()),
        );
    }
    if !image.healthcheck {
        out.add(
            "image.no_healthcheck",
            "",
            "no HEALTHCHECK in the image config",
        );
    }
    for secret in &image.secrets {
        let id = if secret.location.starts_with("env:") {
            "image.secret_in_env"
        } else {
            "image.secret_in_history"
        };
        out.add(
            id,
            secret.location.as_str(),
            format!("{}: {}", secret.location, secret.reason),
        );
    }
    let shell_lines: Vec<(usize, &str)> = image
        .history
        .iter()
        .enumerate()
        .filter(|(_, h)| h.created_by.contains("/bin/sh -c") && !h.created_by.contains("#(nop)"))
        .map(|(i, h)| (i, h.created_by.as_str()))
        .collect();
    if let Some((i, line)) = shell_lines
        .iter()
        .find(|(_, l)| package_manager().is_match(l))
    {
        let used = package_manager()
            .find(line)
            .map(|m| m.as_str())
            .unwrap_or_default();
        out.add(
            "image.shell_and_package_manager",
            "",
            format!("history[{i}] runs a shell and a package manager: {used}"),
        );
    }
    let max_bytes = policy.image_max_size_mb * 1024 * 1024;
    if image.size > max_bytes {
        out.add(
            "image.oversized",
            "",
            format!(
                "{} MiB, over the {} MiB limit",
                image.size / (1024 * 1024),
                policy.image_max_size_mb
            ),
        );
    }
    if let Some(created) = image.created {
        let age_days = (now - created) / 86_400;
        if age_days > policy.image_max_age_days {
            out.add(
                "image.stale",
                "",
                format!(
                    "built {age_days} days ago, over the {}-day limit",
                    policy.image_max_age_days
                ),
            );
        }
    }
    if !policy.trusted_registries.is_empty() {
        let mut registries: Vec<String> = image
            .repo_tags
            .iter()
            .chain(&image.repo_digests)
            .map(|r| registry_of(r))
            .collect();
        registries.sort();
        registries.dedup();
        for registry in registries {
            if !coastguard_model::docker::registry_trusted(&policy.trusted_registries, &registry) {
                out.add(
                    "image.untrusted_registry",
                    registry.as_str(),
                    format!("from {registry}"),
                );
            }
        }
    }
    out.0
}

/// Capabilities that amount to (or lead straight to) control of the host.
const DANGEROUS_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "DAC_OVERRIDE",
    "BPF",
    "SYS_BOOT",
    "MAC_ADMIN",
    "SYS_TIME",
];

/// Host paths whose mounting exposes the host (exact path, or anything below it).
const SENSITIVE_PATHS: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/boot",
    "/dev",
    "/var/run",
    "/run",
    "/usr",
    "/lib",
    "/root",
    "/var/lib/docker",
];

fn normalise_cap(cap: &str) -> String {
    cap.trim()
        .to_ascii_uppercase()
        .trim_start_matches("CAP_")
        .to_string()
}

fn is_docker_socket(path: &str) -> bool {
    path.ends_with("/docker.sock")
        || path.ends_with("/containerd.sock")
        || path.ends_with("/podman.sock")
}

fn is_sensitive(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty()
        || SENSITIVE_PATHS
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// Every check on one container, in the catalogue's groups.
pub fn evaluate_container(c: &ContainerFacts, host: &HostFacts) -> Vec<Detected> {
    let mut out = Out(Vec::new());
    privileges(c, &mut out);
    limits(c, &mut out);
    namespaces(c, &mut out);
    mounts(c, &mut out);
    confinement(c, host, &mut out);
    network(c, &mut out);
    operation(c, &mut out);
    out.0
}

fn host_mode(mode: &Option<String>) -> bool {
    mode.as_deref() == Some("host")
}

/// Privileged mode, added and kept capabilities, the user.
fn privileges(c: &ContainerFacts, out: &mut Out) {
    if c.privileged {
        out.add("container.privileged", "", "HostConfig.Privileged is true");
    }
    for cap in &c.cap_add {
        let cap = normalise_cap(cap);
        let severity = if DANGEROUS_CAPS.contains(&cap.as_str()) {
            Severity::High
        } else {
            Severity::Medium
        };
        out.add_rated(
            "container.capability_added",
            severity,
            cap.as_str(),
            format!("--cap-add {cap}"),
        );
    }
    if !c.privileged && !c.cap_drop.iter().any(|d| normalise_cap(d) == "ALL") {
        out.add(
            "container.capabilities_not_dropped",
            "",
            "CapDrop does not include ALL",
        );
    }
    if is_root(c.user.as_deref()) {
        out.add(
            "container.runs_as_root",
            "",
            user_evidence(c.user.as_deref()),
        );
    }
    if !c.read_only_rootfs {
        out.add("container.rootfs_writable", "", "ReadonlyRootfs is false");
    }
}

/// Memory, CPU and process limits.
fn limits(c: &ContainerFacts, out: &mut Out) {
    if c.memory_limit.is_none() {
        out.add("container.no_memory_limit", "", "Memory is 0 (unlimited)");
    }
    if c.cpu_limit.is_none() {
        out.add(
            "container.no_cpu_limit",
            "",
            "NanoCpus and CpuQuota are 0 (unlimited)",
        );
    }
    if c.pids_limit.is_none() {
        out.add("container.no_pids_limit", "", "PidsLimit is unset");
    }
}

/// Namespaces shared with the host.
fn namespaces(c: &ContainerFacts, out: &mut Out) {
    if host_mode(&c.pid_mode) {
        out.add("container.host_pid", "", "PidMode is host");
    }
    if host_mode(&c.ipc_mode) {
        out.add("container.host_ipc", "", "IpcMode is host");
    }
    if host_mode(&c.uts_mode) {
        out.add("container.host_uts", "", "UTSMode is host");
    }
    if host_mode(&c.network_mode) {
        out.add("container.host_network", "", "NetworkMode is host");
    }
    if host_mode(&c.userns_mode) {
        out.add("container.host_userns", "", "UsernsMode is host");
    }
}

/// Bind mounts of the Docker socket or sensitive host paths, shared propagation, devices.
fn mounts(c: &ContainerFacts, out: &mut Out) {
    for m in &c.mounts {
        if m.kind != "bind" {
            continue;
        }
        let access = if m.read_write {
            "read-write"
        } else {
            "read-only"
        };
        if is_docker_socket(&m.source) {
            out.add(
                "container.docker_socket",
                m.source.as_str(),
                format!("{} mounted at {} ({access})", m.source, m.destination),
            );
        } else if is_sensitive(&m.source) {
            out.add(
                "container.sensitive_mount",
                m.source.as_str(),
                format!("{} mounted at {} ({access})", m.source, m.destination),
            );
        }
        if matches!(m.propagation.as_str(), "shared" | "rshared") {
            out.add(
                "container.mount_propagation_shared",
                m.destination.as_str(),
                format!("{} has {} propagation", m.destination, m.propagation),
            );
        }
    }
    for d in &c.devices {
        out.add("container.host_device", d.as_str(), format!("--device {d}"));
    }
}

/// seccomp, AppArmor (where the host has it) and no-new-privileges.
fn confinement(c: &ContainerFacts, host: &HostFacts, out: &mut Out) {
    if c.seccomp_profile.as_deref() == Some("unconfined") {
        out.add(
            "container.seccomp_unconfined",
            "",
            "security-opt seccomp=unconfined",
        );
    }
    if host.apparmor && c.apparmor_profile.as_deref() == Some("unconfined") && !c.privileged {
        out.add(
            "container.apparmor_unconfined",
            "",
            "AppArmorProfile is unconfined",
        );
    }
    if !c.no_new_privileges {
        out.add(
            "container.new_privileges_allowed",
            "",
            "no-new-privileges is not among the security options",
        );
    }
}

/// Published ports and the default bridge.
fn network(c: &ContainerFacts, out: &mut Out) {
    // Engines bind IPv4 and IPv6 separately: one finding per published port.
    let mut seen_ports = std::collections::BTreeSet::new();
    for p in &c.ports {
        let key = format!("{} → {}", p.host_port, p.container_port);
        if p.on_all_interfaces() && seen_ports.insert(("all", key.clone())) {
            out.add(
                "container.port_on_all_interfaces",
                key.as_str(),
                format!("host port {key} on every interface"),
            );
        }
        let low = p.host_port.parse::<u16>().is_ok_and(|n| n > 0 && n < 1024);
        if low && seen_ports.insert(("low", key.clone())) {
            out.add(
                "container.privileged_port",
                key.as_str(),
                format!("host port {key}"),
            );
        }
    }
    let on_default_bridge = c.networks.iter().any(|n| n == "bridge")
        || matches!(c.network_mode.as_deref(), Some("default") | Some("bridge"));
    if on_default_bridge && !host_mode(&c.network_mode) {
        out.add(
            "container.default_bridge",
            "",
            "attached to the network \"bridge\"",
        );
    }
}

/// Health check, restart policy, mutable image tag, secrets in the environment.
fn operation(c: &ContainerFacts, out: &mut Out) {
    if c.healthcheck.is_none() {
        out.add(
            "container.no_healthcheck",
            "",
            "no health check in the container or its image",
        );
    }
    match (
        c.restart_policy.as_deref(),
        c.restart_max_retries.unwrap_or(0),
    ) {
        (Some(p @ ("always" | "unless-stopped")), _) => {
            out.add(
                "container.restart_unbounded",
                "",
                format!("restart policy {p}"),
            );
        }
        (Some("on-failure"), n) if n == 0 || n > 5 => {
            out.add(
                "container.restart_unbounded",
                "",
                format!("restart policy on-failure with {n} retries"),
            );
        }
        _ => {}
    }
    if !c.image_ref.contains("@sha256:") && !c.image_ref.starts_with("sha256:") {
        let tag = tag_of(&c.image_ref);
        let severity = if tag.is_none() || tag == Some("latest") {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.add_rated(
            "container.mutable_image_tag",
            severity,
            "",
            format!(
                "runs {} ({})",
                c.image_ref,
                tag.map_or("no tag: latest".to_string(), |t| format!("tag {t}"))
            ),
        );
    }
    for secret in &c.secrets {
        out.add(
            "container.secret_in_env",
            secret.location.as_str(),
            format!("{}: {}", secret.location, secret.reason),
        );
    }
}

/// The tag of `repo:tag` (not to be confused with a registry port).
fn tag_of(reference: &str) -> Option<&str> {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.split_once(':').map(|(_, tag)| tag)
}

/// Drift: files added or changed since the container started, under paths that hold
/// binaries or configuration.
pub fn evaluate_drift(changes: &[(String, char)]) -> Option<Detected> {
    const WATCHED: &[&str] = &[
        "/bin",
        "/sbin",
        "/usr/bin",
        "/usr/sbin",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/lib",
        "/usr/lib",
        "/usr/local/lib",
        "/etc",
        "/opt",
        "/app",
    ];
    let mut hits: Vec<String> = changes
        .iter()
        .filter(|(path, kind)| {
            matches!(kind, 'A' | 'C') && WATCHED.iter().any(|w| path.starts_with(&format!("{w}/")))
        })
        .map(|(path, kind)| format!("{kind} {path}"))
        .collect();
    if hits.is_empty() {
        return None;
    }
    hits.sort();
    let total = hits.len();
    hits.truncate(20);
    let more = if total > 20 {
        format!(" (+{} more)", total - 20)
    } else {
        String::new()
    };
    let check = check("container.drift").expect("in catalogue");
    Some(Detected {
        check,
        severity: check.severity,
        instance: String::new(),
        evidence: format!("{total} files added or changed: {}{more}", hits.join(", ")),
    })
}

/// CIS 5.7: an SSH daemon among a running container's processes (`docker top`, read by
/// the runtime pass; see [`super::normalize::runs_sshd`]).
pub fn evaluate_sshd(runs_sshd: bool) -> Option<Detected> {
    if !runs_sshd {
        return None;
    }
    let check = check("container.sshd_running").expect("in catalogue");
    Some(Detected {
        check,
        severity: check.severity,
        instance: String::new(),
        evidence: "an sshd process runs in the container (docker top)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_follow_docker_defaulting() {
        assert_eq!(registry_of("nginx:latest"), "docker.io");
        assert_eq!(registry_of("library/nginx"), "docker.io");
        assert_eq!(registry_of("ghcr.io/org/app:1"), "ghcr.io");
        assert_eq!(registry_of("localhost:5000/app"), "localhost:5000");
        assert_eq!(
            registry_of("127.0.0.1:5000/app@sha256:ab"),
            "127.0.0.1:5000"
        );
    }

    #[test]
    fn tags_are_not_registry_ports() {
        assert_eq!(tag_of("localhost:5000/app"), None);
        assert_eq!(tag_of("localhost:5000/app:1.2"), Some("1.2"));
        assert_eq!(tag_of("nginx"), None);
    }

    #[test]
    fn root_users() {
        assert!(is_root(None));
        assert!(is_root(Some("0:0")));
        assert!(is_root(Some("root")));
        assert!(!is_root(Some("1000")));
        assert!(!is_root(Some("app:app")));
    }

    #[test]
    fn sensitive_paths() {
        assert!(is_sensitive("/"));
        assert!(is_sensitive("/etc"));
        assert!(is_sensitive("/etc/ssl/"));
        assert!(is_sensitive("/proc/1"));
        assert!(!is_sensitive("/etcetera"));
        assert!(!is_sensitive("/srv/data"));
    }

    #[test]
    fn drift_watches_binary_and_config_paths() {
        let changes = vec![
            ("/tmp/x".to_string(), 'A'),
            ("/usr/bin/nc".to_string(), 'A'),
            ("/etc/passwd".to_string(), 'C'),
            ("/etc/old".to_string(), 'D'),
        ];
        let d = evaluate_drift(&changes).expect("drift");
        assert_eq!(
            d.evidence,
            "2 files added or changed: A /usr/bin/nc, C /etc/passwd"
        );
        assert!(evaluate_drift(&[("/tmp/x".into(), 'A')]).is_none());
    }
}
