//! Docker API answers (bollard's types) → Coastguard's facts. Pure functions, so the
//! real payloads in `shared/fixtures/docker-api` can test them.

use super::secrets::{redact_command, redact_label, redact_text, scan_env, SecretHit};
use bollard::models::{
    ContainerInspectResponse, HostConfig, ImageHistoryResponseItem, ImageInspect, SystemInfo,
    SystemVersion,
};
use coastguard_model::docker::{
    ContainerFacts, HistoryEntry, HostFacts, ImageFacts, MountFact, PublishedPort, SecretRef,
    Transport,
};
use std::collections::HashSet;

/// RFC 3339 (with nanoseconds, as Docker writes it) to Unix seconds. Docker's "zero"
/// time (`0001-01-01T00:00:00Z`) means unset.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    (t.year() > 1970).then(|| t.unix_timestamp())
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).cloned()
}

fn to_refs(hits: Vec<SecretHit>, prefix: &str) -> Vec<SecretRef> {
    hits.into_iter()
        .map(|h| SecretRef {
            location: format!("{prefix}{}", h.location),
            reason: h.reason,
        })
        .collect()
}

/// A command (`Cmd`, `Entrypoint`, a healthcheck) with suspected secrets redacted; what
/// was found goes to `secrets` under `location`.
fn redacted_command(
    parts: Vec<String>,
    location: &str,
    secrets: &mut Vec<SecretRef>,
) -> Vec<String> {
    let (parts, hits) = redact_command(&parts);
    secrets.extend(hits.into_iter().map(|(what, reason)| SecretRef {
        location: format!("{location}:{what}"),
        reason,
    }));
    parts
}

/// Labels with suspected secrets in their values redacted (see [`redact_label`]).
fn redacted_labels<M: FromIterator<(String, String)>>(
    labels: impl IntoIterator<Item = (String, String)>,
    secrets: &mut Vec<SecretRef>,
) -> M {
    labels
        .into_iter()
        .map(|(key, value)| {
            let (value, why) = redact_label(&key, &value);
            if let Some(reason) = why {
                secrets.push(SecretRef {
                    location: format!("label:{key}"),
                    reason,
                });
            }
            (key, value)
        })
        .collect()
}

pub fn host_facts(
    info: &SystemInfo,
    version: Option<&SystemVersion>,
    default_bridge_icc: Option<bool>,
    transport: Transport,
) -> HostFacts {
    let security_options = info.security_options.clone().unwrap_or_default();
    let mut facts = HostFacts {
        name: info.name.clone(),
        engine_version: info
            .server_version
            .clone()
            .or_else(|| version.and_then(|v| v.version.clone())),
        api_version: version.and_then(|v| v.api_version.clone()),
        os: info.operating_system.clone(),
        os_type: info.os_type.clone(),
        kernel: info.kernel_version.clone(),
        arch: info.architecture.clone(),
        storage_driver: info.driver.clone(),
        logging_driver: info.logging_driver.clone(),
        cgroup_version: info.cgroup_version.as_ref().map(|v| v.to_string()),
        cgroup_driver: info.cgroup_driver.as_ref().map(|v| v.to_string()),
        live_restore: info.live_restore_enabled.unwrap_or(false),
        experimental: info.experimental_build.unwrap_or(false),
        swarm_active: info
            .swarm
            .as_ref()
            .and_then(|s| s.local_node_state.as_ref())
            .is_some_and(|s| s.to_string() == "active"),
        default_bridge_icc,
        transport: Some(transport),
        ncpu: info.ncpu,
        mem_total: info.mem_total,
        warnings: info.warnings.clone().unwrap_or_default(),
        ..HostFacts::default()
    };
    // Entries look like `name=seccomp,profile=builtin`; very old engines say `seccomp`.
    for option in &security_options {
        let mut name = None;
        let mut profile = None;
        for part in option.split(',') {
            match part.split_once('=') {
                Some(("name", v)) => name = Some(v),
                Some(("profile", v)) => profile = Some(v),
                None => name = Some(part),
                _ => {}
            }
        }
        match name {
            Some("seccomp") => {
                facts.seccomp_profile = Some(profile.unwrap_or("default").to_string())
            }
            Some("apparmor") => facts.apparmor = true,
            Some("selinux") => facts.selinux = true,
            Some("userns") => facts.userns = true,
            Some("rootless") => facts.rootless = true,
            _ => {}
        }
    }
    facts.security_options = security_options;
    if let Some(registry) = &info.registry_config {
        let mut insecure: Vec<String> = registry
            .index_configs
            .iter()
            .flatten()
            .filter(|(_, index)| index.secure == Some(false))
            .map(|(name, _)| name.clone())
            .collect();
        insecure.extend(
            registry
                .insecure_registry_cidrs
                .iter()
                .flatten()
                // Loopback is insecure by default in every engine and reachable only locally.
                .filter(|cidr| !matches!(cidr.as_str(), "127.0.0.0/8" | "::1/128"))
                .cloned(),
        );
        insecure.retain(|name| {
            !(name.starts_with("127.")
                || name.starts_with("localhost")
                || name.starts_with("[::1]"))
        });
        insecure.sort();
        insecure.dedup();
        facts.insecure_registries = insecure;
        facts.registry_mirrors = registry.mirrors.clone().unwrap_or_default();
    }
    facts
}

/// Image facts, with history lines redacted and suspected secrets listed.
pub fn image_facts(inspect: &ImageInspect, history: &[ImageHistoryResponseItem]) -> ImageFacts {
    let config = inspect.config.as_ref();
    let env = config.and_then(|c| c.env.clone()).unwrap_or_default();
    let mut secrets = to_refs(scan_env(env.iter().map(String::as_str)), "env:");
    let history = history
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (created_by, hits) = redact_text(&item.created_by);
            secrets.extend(hits.into_iter().map(|(what, reason)| SecretRef {
                location: format!("history[{i}]:{what}"),
                reason,
            }));
            HistoryEntry {
                created: (item.created > 0).then_some(item.created),
                created_by,
                size: item.size,
                empty_layer: item.size == 0,
            }
        })
        .collect();
    let labels = redacted_labels(
        config.and_then(|c| c.labels.clone()).unwrap_or_default(),
        &mut secrets,
    );
    let entrypoint = redacted_command(
        config
            .and_then(|c| c.entrypoint.clone())
            .unwrap_or_default(),
        "entrypoint",
        &mut secrets,
    );
    let cmd = redacted_command(
        config.and_then(|c| c.cmd.clone()).unwrap_or_default(),
        "cmd",
        &mut secrets,
    );
    ImageFacts {
        id: inspect.id.clone().unwrap_or_default(),
        repo_tags: inspect
            .repo_tags
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t != "<none>:<none>")
            .collect(),
        repo_digests: inspect
            .repo_digests
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d != "<none>@<none>")
            .collect(),
        size: inspect.size.unwrap_or(0),
        created: inspect.created.as_deref().and_then(parse_time),
        os: inspect.os.clone(),
        arch: inspect.architecture.clone(),
        user: non_empty(config.and_then(|c| c.user.as_ref())),
        exposed_ports: config
            .and_then(|c| c.exposed_ports.clone())
            .unwrap_or_default(),
        env: env
            .iter()
            .map(|e| e.split('=').next().unwrap_or_default().to_string())
            .collect(),
        labels,
        entrypoint,
        cmd,
        healthcheck: config
            .and_then(|c| c.healthcheck.as_ref())
            .and_then(|h| h.test.as_ref())
            .is_some_and(|t| !t.is_empty() && t[0] != "NONE"),
        layers: inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default(),
        history,
        secrets,
    }
}

/// Container facts. `image_env` is the environment of the container's image (when
/// known): variables inherited unchanged from it are the image's findings, not the
/// container's.
pub fn container_facts(
    inspect: &ContainerInspectResponse,
    image_env: Option<&[String]>,
) -> ContainerFacts {
    let config = inspect.config.as_ref();
    let host = inspect.host_config.as_ref();
    let env = config.and_then(|c| c.env.clone()).unwrap_or_default();
    let inherited: HashSet<&str> = image_env
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    let mut secrets = to_refs(
        scan_env(
            env.iter()
                .map(String::as_str)
                .filter(|e| !inherited.contains(e)),
        ),
        "env:",
    );
    let healthcheck = config
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.test.clone())
        .filter(|t| !t.is_empty() && t[0] != "NONE")
        .map(|test| redacted_command(test, "healthcheck", &mut secrets));
    let labels = redacted_labels(
        config.and_then(|c| c.labels.clone()).unwrap_or_default(),
        &mut secrets,
    );

    let security = security_options(inspect, host);
    let ports = published_ports(inspect, host);
    let mounts = mounts_of(inspect);
    let cpu_limit = cpu_limit_of(host);
    let state = inspect.state.as_ref();
    let mut networks: Vec<String> = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();

    ContainerFacts {
        id: inspect.id.clone().unwrap_or_default(),
        name: inspect
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image_ref: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        image_id: inspect.image.clone().unwrap_or_default(),
        state: state
            .and_then(|s| s.status.as_ref())
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".into()),
        created: inspect.created.as_deref().and_then(parse_time),
        started_at: state
            .and_then(|s| s.started_at.as_deref())
            .and_then(parse_time),
        restart_count: inspect.restart_count.unwrap_or(0),
        user: non_empty(config.and_then(|c| c.user.as_ref())),
        privileged: host.and_then(|h| h.privileged).unwrap_or(false),
        cap_add: host.and_then(|h| h.cap_add.clone()).unwrap_or_default(),
        cap_drop: host.and_then(|h| h.cap_drop.clone()).unwrap_or_default(),
        read_only_rootfs: host.and_then(|h| h.readonly_rootfs).unwrap_or(false),
        seccomp_profile: security.seccomp,
        apparmor_profile: security.apparmor,
        selinux_options: security.selinux,
        no_new_privileges: security.no_new_privileges,
        pid_mode: non_empty(host.and_then(|h| h.pid_mode.as_ref())),
        ipc_mode: non_empty(host.and_then(|h| h.ipc_mode.as_ref())),
        uts_mode: non_empty(host.and_then(|h| h.uts_mode.as_ref())),
        network_mode: non_empty(host.and_then(|h| h.network_mode.as_ref())),
        userns_mode: non_empty(host.and_then(|h| h.userns_mode.as_ref())),
        cgroupns_mode: host
            .and_then(|h| h.cgroupns_mode.as_ref())
            .map(|m| m.to_string()),
        memory_limit: host.and_then(|h| h.memory).filter(|m| *m > 0),
        cpu_limit,
        cpu_shares: host.and_then(|h| h.cpu_shares).filter(|s| *s > 0),
        pids_limit: host.and_then(|h| h.pids_limit).filter(|p| *p > 0),
        restart_policy: host
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|r| r.name.as_ref())
            .map(|n| n.to_string())
            .filter(|n| !n.is_empty()),
        restart_max_retries: host
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|r| r.maximum_retry_count),
        healthcheck,
        ports,
        mounts,
        devices: host
            .and_then(|h| h.devices.as_ref())
            .into_iter()
            .flatten()
            .map(|d| {
                format!(
                    "{}:{}",
                    d.path_on_host.as_deref().unwrap_or_default(),
                    d.path_in_container.as_deref().unwrap_or_default()
                )
            })
            .collect(),
        networks,
        env: env
            .iter()
            .map(|e| e.split('=').next().unwrap_or_default().to_string())
            .collect(),
        labels,
        secrets,
    }
}

/// What a container's security options say.
struct SecurityOptions {
    seccomp: Option<String>,
    apparmor: Option<String>,
    selinux: Vec<String>,
    no_new_privileges: bool,
}

fn security_options(
    inspect: &ContainerInspectResponse,
    host: Option<&HostConfig>,
) -> SecurityOptions {
    let mut seccomp = None;
    let mut selinux = Vec::new();
    let mut no_new_privileges = false;
    for opt in host
        .and_then(|h| h.security_opt.as_ref())
        .into_iter()
        .flatten()
    {
        // `seccomp=unconfined`; older engines accept `seccomp:unconfined`.
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        match key {
            "seccomp" => seccomp = Some(value.to_string()),
            "label" => selinux.push(value.to_string()),
            "no-new-privileges" => no_new_privileges = value.is_empty() || value == "true",
            _ => {}
        }
    }
    let apparmor = inspect
        .app_armor_profile
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| {
            host.and_then(|h| h.security_opt.as_ref())
                .into_iter()
                .flatten()
                .find_map(|o| {
                    o.strip_prefix("apparmor=")
                        .or_else(|| o.strip_prefix("apparmor:"))
                })
                .map(str::to_string)
        });

    SecurityOptions {
        seccomp,
        apparmor,
        selinux,
        no_new_privileges,
    }
}

/// Ports published on the host: the live bindings, else the configured ones.
fn published_ports(
    inspect: &ContainerInspectResponse,
    host: Option<&HostConfig>,
) -> Vec<PublishedPort> {
    let mut ports = Vec::new();
    let bindings = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.clone())
        .filter(|p| p.values().any(Option::is_some))
        .or_else(|| host.and_then(|h| h.port_bindings.clone()))
        .unwrap_or_default();
    for (container_port, binds) in bindings {
        for b in binds.unwrap_or_default() {
            ports.push(PublishedPort {
                container_port: container_port.clone(),
                host_ip: b.host_ip.unwrap_or_default(),
                host_port: b.host_port.unwrap_or_default(),
            });
        }
    }
    ports.sort_by(|a, b| (&a.container_port, &a.host_ip).cmp(&(&b.container_port, &b.host_ip)));

    ports
}

fn mounts_of(inspect: &ContainerInspectResponse) -> Vec<MountFact> {
    inspect
        .mounts
        .iter()
        .flatten()
        .map(|m| MountFact {
            kind: m.typ.clone().unwrap_or_default(),
            source: m.source.clone().unwrap_or_default(),
            destination: m.destination.clone().unwrap_or_default(),
            read_write: m.rw.unwrap_or(true),
            propagation: m.propagation.clone().unwrap_or_default(),
        })
        .collect()
}

/// CPUs a container may use: `--cpus`, or quota over period.
fn cpu_limit_of(host: Option<&HostConfig>) -> Option<f64> {
    host.and_then(|h| match (h.nano_cpus, h.cpu_quota, h.cpu_period) {
        (Some(n), _, _) if n > 0 => Some(n as f64 / 1e9),
        (_, Some(q), Some(p)) if q > 0 && p > 0 => Some(q as f64 / p as f64),
        (_, Some(q), _) if q > 0 => Some(q as f64 / 100_000.0),
        _ => None,
    })
}

/// Whether `docker top`'s answer shows an SSH daemon: a process whose command (or one of
/// its arguments, for a script run by a shell) is `sshd`, or OpenSSH's retitled
/// `sshd: …` processes.
pub fn runs_sshd(top: &bollard::models::ContainerTopResponse) -> bool {
    let titles = top.titles.as_deref().unwrap_or_default();
    let Some(column) = titles.iter().position(|t| t == "CMD" || t == "COMMAND") else {
        return false;
    };
    top.processes
        .iter()
        .flatten()
        .filter_map(|p| p.get(column))
        .any(|cmd| {
            cmd.starts_with("sshd:")
                || cmd
                    .split_whitespace()
                    .take(3)
                    .any(|word| word.rsplit('/').next() == Some("sshd"))
        })
}

#[cfg(test)]
mod sshd_tests {
    use super::runs_sshd;
    use bollard::models::ContainerTopResponse;

    fn top(cmds: &[&str]) -> ContainerTopResponse {
        ContainerTopResponse {
            titles: Some(
                ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
                    .map(String::from)
                    .to_vec(),
            ),
            processes: Some(
                cmds.iter()
                    .map(|c| {
                        ["root", "1", "0", "0", "10:00", "?", "00:00:00", c]
                            .map(String::from)
                            .to_vec()
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn sshd_is_found_however_it_was_started() {
        assert!(runs_sshd(&top(&["/usr/sbin/sshd -D"])));
        assert!(runs_sshd(&top(&[
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"
        ])));
        assert!(runs_sshd(&top(&["/bin/sh /usr/sbin/sshd", "sleep 3600"])));
        assert!(!runs_sshd(&top(&["nginx: master process", "sleep 3600"])));
        assert!(!runs_sshd(&top(&[
            "/usr/bin/ssh-agent",
            "grep sshd_config x y z"
        ])));
        assert!(!runs_sshd(&ContainerTopResponse::default()));
    }
}
