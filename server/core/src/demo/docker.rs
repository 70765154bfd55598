//! The demo's hosts, images and containers as a Docker engine would describe them: the
//! JSON of `GET /info`, `/version`, `/images/{id}/json`, `/images/{id}/history` and
//! `/containers/{id}/json`, read into bollard's types and normalised by the same code
//! the collector uses. Checks and secret detection then see exactly what they would
//! see from a real engine.

use super::estate::{self, ContainerSpec, HostSpec, ImageSpec, RunSpec};
use crate::docker::collect::Snapshot;
use crate::docker::normalize;
use bollard::models::{
    ContainerInspectResponse, ImageHistoryResponseItem, ImageInspect, SystemInfo, SystemVersion,
};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

const DAY: i64 = 86_400;

/// `sha256:` and 64 hex digits derived from `what`: stable ids and digests.
pub fn digest(what: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(format!("coastguard-demo:{what}")))
    )
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// An image's digest (its id) and its manifest digest.
pub fn image_id(image: &ImageSpec) -> String {
    digest(&format!("image:{}", image.reference))
}

fn repository(reference: &str) -> &str {
    reference.rsplit_once(':').map_or(reference, |(r, _)| r)
}

pub fn host_facts(host: &HostSpec) -> coastguard_model::docker::HostFacts {
    let mut index = Map::new();
    for r in host.insecure_registries {
        index.insert(
            r.to_string(),
            json!({ "Name": r, "Secure": false, "Official": false, "Mirrors": [] }),
        );
    }
    let info: SystemInfo = from_json(json!({
        "Name": host.name,
        "ServerVersion": host.engine,
        "OperatingSystem": host.os,
        "OSType": "linux",
        "KernelVersion": host.kernel,
        "Architecture": "x86_64",
        "Driver": "overlay2",
        "LoggingDriver": "json-file",
        "CgroupVersion": "2",
        "CgroupDriver": "systemd",
        "LiveRestoreEnabled": host.live_restore,
        "ExperimentalBuild": false,
        "SecurityOptions": host.security_options,
        "RegistryConfig": {
            "IndexConfigs": index,
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "Mirrors": []
        },
        "NCPU": host.ncpu,
        "MemTotal": host.mem_gib << 30,
        "Warnings": []
    }));
    let api = if host.engine.starts_with("20.") {
        "1.41"
    } else {
        "1.43"
    };
    let version: SystemVersion = from_json(json!({ "Version": host.engine, "ApiVersion": api }));
    normalize::host_facts(&info, Some(&version), Some(host.icc), host.transport)
}

/// A build step that adds no layer (metadata only).
fn is_empty_step(step: &str) -> bool {
    ["USER ", "WORKDIR ", "HEALTHCHECK ", "ENV ", "CMD "]
        .iter()
        .any(|p| step.starts_with(p))
        || (step.contains("#(nop)") && !step.contains(" ADD ") && !step.contains(" COPY "))
}

/// The image's layers (diff ids), one per build step that adds files.
pub fn layers(image: &ImageSpec) -> Vec<String> {
    image
        .history
        .iter()
        .enumerate()
        .filter(|(_, step)| !is_empty_step(step))
        .map(|(i, _)| digest(&format!("layer:{}:{i}", image.reference)))
        .collect()
}

fn image_inspect(image: &ImageSpec, now: i64) -> (ImageInspect, Vec<ImageHistoryResponseItem>) {
    let created = now - image.created_days_ago * DAY;
    let id = image_id(image);
    let layers = layers(image);
    let exposed: Map<String, Value> = image
        .exposed
        .iter()
        .map(|p| (p.to_string(), json!({})))
        .collect();
    let health = if image.healthcheck {
        json!({ "Test": ["CMD-SHELL", "wget -q -O- http://localhost/healthz || exit 1"] })
    } else {
        Value::Null
    };
    let inspect: ImageInspect = from_json(json!({
        "Id": id,
        "RepoTags": [image.reference],
        "RepoDigests": [format!("{}@{}", repository(image.reference), digest(&format!("manifest:{}", image.reference)))],
        "Created": rfc3339(created),
        "Size": image.size_mb << 20,
        "Os": "linux",
        "Architecture": "amd64",
        "Config": {
            "User": image.user,
            "Env": image.env,
            "ExposedPorts": exposed,
            "Labels": { "org.opencontainers.image.source": format!("https://git.demo.invalid/{}", repository(image.reference)) },
            "Cmd": image.cmd,
            "Healthcheck": health,
        },
        "RootFS": { "Type": "layers", "Layers": layers }
    }));
    let history = image
        .history
        .iter()
        .enumerate()
        .rev()
        .map(|(i, step)| {
            from_json(json!({
                "Id": if i + 1 == image.history.len() { id.clone() } else { "<missing>".to_string() },
                "Created": created - (image.history.len() - i) as i64 * 60,
                "CreatedBy": step,
                "Tags": [],
                "Size": if is_empty_step(step) { 0 } else { (image.size_mb << 20) / layers.len().max(1) as i64 },
                "Comment": "",
            }))
        })
        .collect();
    (inspect, history)
}

fn container_inspect(
    c: &ContainerSpec,
    run: &RunSpec,
    image: &ImageSpec,
    day: i64,
    now: i64,
) -> ContainerInspectResponse {
    let created = now - c.created * DAY;
    // Recreated with its new settings on the day they changed (one id throughout, so
    // the container's page shows which findings that change resolved).
    let started = now - c.changed.filter(|ch| day <= *ch).unwrap_or(c.created) * DAY + 60;
    let mut security = Vec::new();
    if run.no_new_privileges {
        security.push("no-new-privileges:true".to_string());
    }
    let mut ports = Map::new();
    for (port, ip, host_port) in run.ports {
        let entry = ports.entry(port.to_string()).or_insert_with(|| json!([]));
        if let Value::Array(list) = entry {
            list.push(json!({ "HostIp": ip, "HostPort": host_port }));
        }
    }
    let mut labels = Map::new();
    labels.insert(
        "com.docker.compose.project".into(),
        json!(c.team.unwrap_or("ops")),
    );
    if let Some(team) = c.team {
        labels.insert("team".into(), json!(team));
    }
    let networks: Map<String, Value> = match run.network_mode {
        "host" => [("host".to_string(), json!({}))].into_iter().collect(),
        mode => [(mode.to_string(), json!({}))].into_iter().collect(),
    };
    let mut env: Vec<String> = image.env.iter().map(|e| e.to_string()).collect();
    env.extend(run.env.iter().map(|e| e.to_string()));
    let health = if run.healthcheck || image.healthcheck {
        json!({ "Test": ["CMD-SHELL", "wget -q -O- http://localhost/healthz || exit 1"] })
    } else {
        Value::Null
    };
    from_json(json!({
        "Id": digest(&format!("container:{}", c.name)).trim_start_matches("sha256:"),
        "Created": rfc3339(created),
        "Name": format!("/{}", c.name),
        "Image": image_id(image),
        "RestartCount": if day == 0 { c.restarts } else { 0 },
        "AppArmorProfile": "docker-default",
        "State": {
            "Status": "running",
            "Running": true,
            "StartedAt": rfc3339(started),
        },
        "Config": {
            "Image": image.reference,
            "User": run.user.unwrap_or(image.user),
            "Env": env,
            "Labels": labels,
            "Healthcheck": health,
        },
        "HostConfig": {
            "Privileged": run.privileged,
            "CapAdd": run.cap_add,
            "CapDrop": run.cap_drop,
            "ReadonlyRootfs": run.read_only,
            "SecurityOpt": security,
            "PidMode": run.pid_mode,
            "NetworkMode": run.network_mode,
            "Memory": run.memory_mb << 20,
            "NanoCpus": (run.cpus * 1e9) as i64,
            "PidsLimit": run.pids_limit,
            "RestartPolicy": { "Name": run.restart, "MaximumRetryCount": 0 },
        },
        "Mounts": run.mounts.iter().map(|(kind, source, destination, rw)| json!({
            "Type": kind, "Source": source, "Destination": destination, "RW": rw, "Propagation": "rprivate",
        })).collect::<Vec<_>>(),
        "NetworkSettings": { "Ports": ports, "Networks": networks },
    }))
}

/// Images pulled on a host without a container running them.
const PULLED: &[(&str, &str)] = &[("build-01", "alpine")];

/// What `host` reports on `day` (days ago): the engine, its images and its containers.
pub fn snapshot(host: &HostSpec, day: i64, now: i64) -> Snapshot {
    let mut images: Vec<&ImageSpec> = Vec::new();
    let mut containers = Vec::new();
    for c in estate::CONTAINERS.iter().filter(|c| c.host == host.name) {
        let Some(run) = c.on(day) else { continue };
        let image = estate::image(c.image);
        if !images.iter().any(|i| i.key == image.key) {
            images.push(image);
        }
        let inspect = container_inspect(c, run, image, day, now);
        let image_env: Vec<String> = image.env.iter().map(|e| e.to_string()).collect();
        containers.push(normalize::container_facts(&inspect, Some(&image_env)));
    }
    for (_, key) in PULLED.iter().filter(|(h, _)| *h == host.name) {
        images.push(estate::image(key));
    }
    Snapshot {
        host: host_facts(host),
        images: images
            .into_iter()
            .map(|i| {
                let (inspect, history) = image_inspect(i, now);
                normalize::image_facts(&inspect, &history)
            })
            .collect(),
        containers,
    }
}

/// The payloads above are written here, so a field bollard cannot read is a bug in this
/// file, found by the tests.
fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the demo's Docker payloads match the Docker API")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::checks::{evaluate_container, evaluate_host};

    fn checks_of(found: &[crate::docker::checks::Detected]) -> Vec<&'static str> {
        found.iter().map(|d| d.check.id).collect()
    }

    #[test]
    fn the_build_host_is_seen_as_an_engine_would_report_it() {
        let host = estate::host("build-01");
        let snap = snapshot(host, 0, 1_800_000_000);
        assert_eq!(snap.host.name.as_deref(), Some("build-01"));
        assert_eq!(
            snap.host.insecure_registries,
            vec!["registry.demo.invalid:5000"]
        );
        let host_checks = checks_of(&evaluate_host(&snap.host));
        assert!(
            host_checks.contains(&"host.tcp_without_tls"),
            "{host_checks:?}"
        );
        assert!(
            host_checks.contains(&"host.insecure_registry"),
            "{host_checks:?}"
        );

        let agent = snap
            .containers
            .iter()
            .find(|c| c.name == "jenkins-agent")
            .unwrap();
        assert!(agent.privileged);
        assert_eq!(agent.restart_count, 14);
        assert_eq!(
            agent.labels.get("team").map(String::as_str),
            Some("platform")
        );
        // The secret's value went through the collector's detection and is not kept.
        assert!(agent
            .secrets
            .iter()
            .any(|s| s.location == "env:JENKINS_SECRET"));
        let found = checks_of(&evaluate_container(agent, &snap.host));
        for check in [
            "container.privileged",
            "container.docker_socket",
            "container.secret_in_env",
        ] {
            assert!(found.contains(&check), "{check} missing from {found:?}");
        }
        // alpine is pulled but runs nowhere; legacy-cron was removed 30 days ago.
        assert!(snap
            .images
            .iter()
            .any(|i| i.repo_tags == vec!["alpine:3.18.4".to_string()]));
        assert!(snap.containers.iter().all(|c| c.name != "legacy-cron"));
    }

    #[test]
    fn image_history_is_redacted_and_layers_skip_metadata_steps() {
        let jenkins = estate::image("jenkins-agent");
        let snap = snapshot(estate::host("build-01"), 0, 1_800_000_000);
        let facts = snap
            .images
            .iter()
            .find(|i| i.id == image_id(jenkins))
            .unwrap();
        assert!(facts
            .history
            .iter()
            .all(|h| !h.created_by.contains("ghp_DEMO")));
        assert!(facts
            .secrets
            .iter()
            .any(|s| s.location.starts_with("history[")));
        // ADD and two RUN steps add layers; USER does not.
        assert_eq!(layers(jenkins).len(), 3);
        assert_eq!(facts.layers, layers(jenkins));
    }
}
