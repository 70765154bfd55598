//! The catalogue of configuration checks: one entry per check with a stable id, what it
//! means, how to fix it, and the section of the CIS Docker Benchmark v1.6.0 it maps to
//! (the version docker-bench-security implements; v1.6.0 added 5.1 on swarm mode, so
//! section 5 is numbered one on from v1.5.0's).

/// The benchmark the `cis` sections cite.
pub const CIS_BENCHMARK: &str = "CIS Docker Benchmark v1.6.0";

use coastguard_model::findings::{CheckInfo, SubjectKind};
use coastguard_model::Severity;

#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub subject: SubjectKind,
    pub severity: Severity,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub cis: Option<&'static str>,
}

impl Check {
    pub fn info(&self) -> CheckInfo {
        CheckInfo {
            id: self.id.into(),
            title: self.title.into(),
            subject: self.subject,
            severity: self.severity,
            rationale: self.rationale.into(),
            remediation: self.remediation.into(),
            cis: self.cis.map(Into::into),
            cis_benchmark: self.cis.map(|_| CIS_BENCHMARK.into()),
        }
    }
}

use Severity::{Critical, High, Low, Medium};
use SubjectKind::{Container, Host, Image};

macro_rules! checks {
    ($($id:literal, $subject:ident, $severity:ident, $cis:expr, $title:literal, $rationale:literal, $remediation:literal;)*) => {
        pub static CHECKS: &[Check] = &[
            $(Check {
                id: $id,
                subject: $subject,
                severity: $severity,
                cis: $cis,
                title: $title,
                rationale: $rationale,
                remediation: $remediation,
            },)*
        ];
    };
}

checks! {
    // ------------------------------------------------------------ engines
    "host.tcp_without_tls", Host, Critical, Some("2.7"),
        "Engine API reachable over TCP without TLS",
        "Anyone who can reach the port controls the engine, and through it the host, with no authentication.",
        "Serve the API only on the unix socket, or require mutual TLS (--tlsverify with --tlscacert, --tlscert, --tlskey).";
    "host.insecure_registry", Host, High, Some("2.5"),
        "Engine pulls from a registry without TLS verification",
        "Images from an insecure registry can be altered in transit.",
        "Remove the registry from insecure-registries in daemon.json and give it a trusted certificate.";
    "host.icc_enabled", Host, Medium, Some("2.2"),
        "Containers on the default bridge can talk to each other",
        "Inter-container communication lets one compromised container reach every other on the default bridge.",
        "Set \"icc\": false in daemon.json and connect containers that must talk on user-defined networks.";
    "host.userns_disabled", Host, Medium, Some("2.9"),
        "User namespace remapping is off",
        "Without remapping, root in a container is root on the host if it escapes.",
        "Enable userns-remap in daemon.json (or run the engine rootless).";
    "host.live_restore_disabled", Host, Low, Some("2.15"),
        "Live restore is off",
        "Containers stop whenever the engine restarts or is upgraded.",
        "Set \"live-restore\": true in daemon.json.";
    "host.seccomp_unavailable", Host, High, Some("2.17"),
        "Engine applies no seccomp profile",
        "Without seccomp every container can call every system call, widening the kernel attack surface.",
        "Run an engine and kernel with seccomp support and keep the default (or a custom) profile.";
    "host.experimental", Host, Low, Some("2.18"),
        "Experimental features are enabled",
        "Experimental features are not supported for production and may change or be insecure.",
        "Remove \"experimental\": true from daemon.json.";
    // ------------------------------------------------------------ images
    "image.runs_as_root", Image, Medium, Some("4.1"),
        "Image runs as root",
        "A process running as root in the container is closer to root on the host.",
        "Create a user in the Dockerfile (RUN adduser ...) and switch to it with USER.";
    "image.no_healthcheck", Image, Low, Some("4.6"),
        "Image has no HEALTHCHECK",
        "Without a health check, the engine and orchestrators can't tell a hung service from a healthy one.",
        "Add a HEALTHCHECK instruction to the Dockerfile.";
    "image.secret_in_env", Image, High, Some("4.10"),
        "Secret in the image's environment",
        "Environment values are part of the image: anyone who can pull it can read them.",
        "Remove the value from ENV; pass secrets at run time (secrets mounts, a vault), and rotate the exposed one.";
    "image.secret_in_history", Image, High, Some("4.10"),
        "Secret in the image's build history",
        "ENV, ARG and RUN lines are kept in the image history and readable by anyone who can pull it.",
        "Use BuildKit secret mounts (RUN --mount=type=secret) instead of ARG/ENV, rebuild, and rotate the exposed secret.";
    "image.shell_and_package_manager", Image, Low, Some("4.3"),
        "Image ships a shell and a package manager",
        "A shell and package manager help an attacker who gets in; minimal images carry only the application.",
        "Use a multi-stage build and a minimal (distroless or scratch) final stage.";
    "image.oversized", Image, Low, Some("4.3"),
        "Image is larger than the allowed size",
        "Large images usually carry tools and packages the application does not need, and their vulnerabilities.",
        "Slim the image (multi-stage builds, a smaller base) or raise the limit under Settings if this size is needed.";
    "image.stale", Image, Medium, Some("4.4"),
        "Image is older than the allowed age",
        "Old images miss the security fixes released since they were built.",
        "Rebuild the image on a current base regularly and redeploy.";
    "image.untrusted_registry", Image, Medium, Some("4.2"),
        "Image comes from a registry outside the trusted list",
        "Images from unknown sources may not be built or vetted by anyone you trust.",
        "Pull through a trusted registry, or add this registry to the trusted list under Settings.";
    // ------------------------------------------------------------ scan coverage
    // Evaluated from the scans received, not by the Docker collector.
    "coverage.unscanned", Image, Medium, Some("4.4"),
        "Running image has never been scanned for vulnerabilities",
        "Containers run from it, and nobody knows which known vulnerabilities it carries.",
        "Scan the image (trivy image, grype) and send the report to Coastguard: the Scans page, POST /api/v1/scans or coastguard ingest.";
    "coverage.scan_outdated", Image, Low, Some("4.4"),
        "Running image's last scan is older than the allowed age",
        "Vulnerabilities are published every day; a scan that old misses the recent ones.",
        "Rescan running images on a schedule (a nightly CI job) and send the reports; the allowed age is set under Settings.";
    // ------------------------------------------------------------ provenance
    // Evaluated from signature checks and registries' tag history, not by the Docker
    // collector (so a Docker sync never ends them).
    "provenance.signature_required", Image, High, Some("4.5"),
        "Running image has no verified signature where the image policy requires one",
        "An image no trusted key or identity signed may not be the one that was built and reviewed: it may have been replaced in the registry or on the way.",
        "Sign the image (cosign sign, notation sign) with a key, CA or keyless identity trusted under Settings → Trusted signers, or correct the image policy's signature requirement.";
    "provenance.tag_moved", Container, Medium, None,
        "Runs a tag that now names another image",
        "The tag it was started from was pushed again: what runs is not what the tag names now, so a restart or a new replica runs different code.",
        "Run images by digest (repo@sha256:…), and redeploy deliberately after a push; keep release tags immutable in the registry.";
    // ------------------------------------------------------------ containers
    "container.privileged", Container, Critical, Some("5.5"),
        "Container runs privileged",
        "A privileged container has every capability and all host devices: it can take over the host.",
        "Remove --privileged; add only the capabilities the workload needs.";
    "container.capability_added", Container, Medium, Some("5.4"),
        "Container adds a Linux capability",
        "Extra capabilities give the container powers over the host kernel (SYS_ADMIN, NET_ADMIN and ALL most of all).",
        "Remove --cap-add, or keep only the capabilities the workload provably needs.";
    "container.capabilities_not_dropped", Container, Low, Some("5.4"),
        "Container keeps Docker's default capabilities",
        "The default set includes capabilities few workloads need (NET_RAW, SETUID, CHOWN...).",
        "Run with --cap-drop ALL and add back only what is needed.";
    "container.runs_as_root", Container, Medium, Some("4.1"),
        "Container runs as root",
        "Neither the image nor the container sets a non-root user.",
        "Set USER in the image or run with --user UID:GID.";
    "container.rootfs_writable", Container, Low, Some("5.13"),
        "Root filesystem is writable",
        "A writable root filesystem lets an intruder change binaries and configuration.",
        "Run with --read-only and mount writable tmpfs or volumes only where needed.";
    "container.no_memory_limit", Container, Medium, Some("5.11"),
        "No memory limit",
        "One container can exhaust the host's memory and take its neighbours down.",
        "Set --memory (and --memory-swap).";
    "container.no_cpu_limit", Container, Low, Some("5.12"),
        "No CPU limit",
        "One container can starve the others of CPU.",
        "Set --cpus (or --cpu-quota).";
    "container.no_pids_limit", Container, Low, Some("5.29"),
        "No process limit",
        "A fork bomb in one container can exhaust the host's process table.",
        "Set --pids-limit.";
    "container.host_pid", Container, High, Some("5.16"),
        "Shares the host's process namespace",
        "The container sees and can signal every process on the host.",
        "Remove --pid=host.";
    "container.host_ipc", Container, High, Some("5.17"),
        "Shares the host's IPC namespace",
        "The container can reach the host's shared memory and IPC objects.",
        "Remove --ipc=host.";
    "container.host_uts", Container, Medium, Some("5.21"),
        "Shares the host's UTS namespace",
        "The container can change the host's hostname.",
        "Remove --uts=host.";
    "container.host_network", Container, High, Some("5.10"),
        "Shares the host's network namespace",
        "The container sees every host interface and can bind host ports and sniff host traffic.",
        "Remove --network=host and publish only the needed ports.";
    "container.host_userns", Container, Medium, Some("5.31"),
        "Opts out of user namespace remapping",
        "--userns=host disables the remapping the engine applies to other containers.",
        "Remove --userns=host.";
    "container.docker_socket", Container, Critical, Some("5.32"),
        "Docker socket mounted into the container",
        "Access to the engine socket is root on the host.",
        "Remove the socket mount; if a tool needs the API, give it a filtering proxy with read-only access.";
    "container.sensitive_mount", Container, High, Some("5.6"),
        "Sensitive host path mounted",
        "Mounting system directories (/, /etc, /proc, /sys, /boot, /var/run...) lets the container read or change the host.",
        "Mount only application data directories, read-only where possible.";
    "container.mount_propagation_shared", Container, Medium, Some("5.20"),
        "Mount propagation set to shared",
        "Shared propagation lets mounts made in the container appear on the host.",
        "Use private (the default) or slave propagation.";
    "container.host_device", Container, Medium, Some("5.18"),
        "Host device exposed to the container",
        "Direct device access can bypass the container's isolation.",
        "Remove --device unless the workload needs that device.";
    "container.seccomp_unconfined", Container, High, Some("5.22"),
        "Seccomp disabled",
        "seccomp=unconfined lets the container make every system call.",
        "Remove --security-opt seccomp=unconfined, or use a custom profile.";
    "container.apparmor_unconfined", Container, Medium, Some("5.2"),
        "AppArmor disabled",
        "The engine supports AppArmor but this container runs unconfined.",
        "Remove --security-opt apparmor=unconfined, or apply a profile.";
    "container.new_privileges_allowed", Container, Low, Some("5.26"),
        "no-new-privileges is not set",
        "Processes can gain privileges through setuid and setgid binaries.",
        "Run with --security-opt no-new-privileges (or set it as the engine default).";
    "container.port_on_all_interfaces", Container, Medium, Some("5.14"),
        "Port published on every interface",
        "A port bound to 0.0.0.0 is reachable from every network the host is on.",
        "Publish to a specific address: -p 127.0.0.1:8080:80.";
    "container.privileged_port", Container, Low, Some("5.8"),
        "Privileged host port published",
        "Host ports below 1024 are normally reserved for system services.",
        "Publish on a port of 1024 or above.";
    "container.default_bridge", Container, Low, Some("5.30"),
        "Attached to the default bridge",
        "The default bridge has no isolation between containers and no name resolution.",
        "Create a user-defined network per application and attach containers to it.";
    "container.sshd_running", Container, Medium, Some("5.7"),
        "SSH daemon in the container",
        "An SSH daemon adds a second way in, with its own keys, users and patches to manage, that the engine's access control does not see.",
        "Remove sshd from the image; use docker exec (or kubectl exec) for access.";
    "container.no_healthcheck", Container, Low, Some("5.27"),
        "No health check",
        "Neither the image nor the container defines a health check.",
        "Add HEALTHCHECK to the image or --health-cmd to the container.";
    "container.restart_unbounded", Container, Low, Some("5.15"),
        "Restarts without a limit",
        "A crashing container restarted forever hides failures and can be abused to exhaust resources.",
        "Use --restart on-failure:5.";
    "container.mutable_image_tag", Container, Medium, None,
        "Image referenced by a mutable tag",
        "A tag such as latest can point to different images over time, so what runs is not what was reviewed.",
        "Reference images by digest (repo@sha256:...) or pin an immutable version tag.";
    "container.secret_in_env", Container, High, Some("4.10"),
        "Secret in the container's environment",
        "Environment values are visible to anyone who can inspect the container, and often leak into logs.",
        "Pass secrets as files (secrets mounts) instead of environment variables, and rotate the exposed one.";
    "container.drift", Container, Medium, None,
        "Files changed in the running container",
        "Containers should be immutable: new or changed binaries or configuration since start suggest tampering or manual changes.",
        "Find out who changed what (exec sessions, the application), rebuild the image with the change, and redeploy; run with --read-only.";
}

pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in CHECKS {
            assert!(seen.insert(c.id), "duplicate {}", c.id);
            let (kind, _) = c.id.split_once('.').expect("id has a subject prefix");
            // Coverage checks sit on images but belong to scan ingestion, and provenance
            // checks (on images or what runs) to the registry and signature passes, not
            // to the Docker collector (which owns host., image. and container.).
            match kind {
                "coverage" => assert_eq!(c.subject.as_str(), "image", "{}", c.id),
                "provenance" => assert!(
                    matches!(c.subject.as_str(), "image" | "container"),
                    "{}",
                    c.id
                ),
                _ => assert_eq!(kind, c.subject.as_str(), "{}", c.id),
            }
            assert!(!c.remediation.is_empty() && !c.rationale.is_empty());
        }
        assert!(CHECKS.len() >= 40);
    }

    /// Each check cites the v1.6.0 section whose title says what the check looks at
    /// (titles from the benchmark, as docker-bench-security prints them).
    #[test]
    fn sections_follow_cis_docker_benchmark_1_6_0() {
        let titles: &[(&str, &str)] = &[
            (
                "2.2",
                "network traffic is restricted between containers on the default bridge",
            ),
            ("2.5", "insecure registries are not used"),
            ("2.7", "TLS authentication for Docker daemon is configured"),
            ("2.9", "Enable user namespace support"),
            ("2.15", "live restore is enabled"),
            ("2.17", "daemon-wide custom seccomp profile"),
            ("2.18", "experimental features are not implemented"),
            ("4.1", "a user for the container has been created"),
            ("4.2", "containers use only trusted base images"),
            ("4.3", "unnecessary packages are not installed"),
            ("4.4", "images are scanned and rebuilt"),
            ("4.5", "Content trust for Docker is Enabled"),
            ("4.6", "HEALTHCHECK instructions have been added"),
            ("4.10", "secrets are not stored in Dockerfiles"),
            ("5.2", "AppArmor Profile is enabled"),
            ("5.4", "Linux kernel capabilities are restricted"),
            ("5.5", "privileged containers are not used"),
            ("5.6", "sensitive host system directories are not mounted"),
            ("5.7", "sshd is not run within containers"),
            ("5.8", "privileged ports are not mapped"),
            ("5.10", "host's network namespace is not shared"),
            ("5.11", "memory usage for containers is limited"),
            ("5.12", "CPU priority is set appropriately"),
            ("5.13", "root filesystem is mounted as read only"),
            (
                "5.14",
                "incoming container traffic is bound to a specific host interface",
            ),
            ("5.15", "'on-failure' container restart policy"),
            ("5.16", "host's process namespace is not shared"),
            ("5.17", "host's IPC namespace is not shared"),
            ("5.18", "host devices are not directly exposed"),
            ("5.20", "mount propagation mode is not set to shared"),
            ("5.21", "host's UTS namespace is not shared"),
            ("5.22", "default seccomp profile is not Disabled"),
            ("5.26", "restricted from acquiring additional privileges"),
            ("5.27", "container health is checked at runtime"),
            ("5.29", "PIDs cgroup limit is used"),
            ("5.30", "default bridge 'docker0' is not used"),
            ("5.31", "host's user namespaces are not shared"),
            ("5.32", "Docker socket is not mounted inside any containers"),
        ];
        // What each check is about, in the words of its section's title.
        let expect: &[(&str, &str)] = &[
            ("container.privileged", "5.5"),
            ("container.capability_added", "5.4"),
            ("container.seccomp_unconfined", "5.22"),
            ("container.docker_socket", "5.32"),
            ("container.sensitive_mount", "5.6"),
            ("container.apparmor_unconfined", "5.2"),
            ("container.host_network", "5.10"),
            ("container.rootfs_writable", "5.13"),
            ("container.no_healthcheck", "5.27"),
            ("container.sshd_running", "5.7"),
            ("container.default_bridge", "5.30"),
        ];
        for c in CHECKS {
            if let Some(section) = c.cis {
                assert!(
                    titles.iter().any(|(s, _)| *s == section),
                    "{} cites {section}, which is not a v1.6.0 section this catalogue knows",
                    c.id
                );
                assert_eq!(c.info().cis_benchmark.as_deref(), Some(CIS_BENCHMARK));
            }
        }
        for (id, section) in expect {
            let check = CHECKS.iter().find(|c| c.id == *id).unwrap();
            assert_eq!(check.cis, Some(*section), "{id}");
        }
    }
}
