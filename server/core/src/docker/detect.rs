//! Built-in runtime detectors on a Docker engine's event stream: what they see is raised
//! as runtime alerts (source `coastguard`, one stable rule id each, switched off in the
//! image policy's `disabled_detectors`). Decided here in plain code from the events and
//! the inspected container; the collector stores what they raise through
//! [`crate::alerts::raise`].

use coastguard_model::alerts::{DetectorId, NewAlert};
use coastguard_model::docker::ContainerFacts;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The source built-in detectors raise alerts as.
pub const SOURCE: &str = "coastguard";
use DetectorId::{
    DockerDrift as DRIFT, DockerExec as EXEC, DockerHostNamespaceStart as HOST_NAMESPACE,
    DockerPrivilegedStart as PRIVILEGED, DockerRestartLoop as RESTART_LOOP,
    DockerSocketMountStart as SOCKET, DockerTagMoved as TAG_MOVED,
};

/// Restarts (`die` events) within [`LOOP_WINDOW`] seconds that make a loop.
pub const LOOP_DIES: usize = 5;
pub const LOOP_WINDOW: i64 = 600;

/// Where an alert happened: the engine's host and the container.
pub struct Place<'a> {
    pub host: &'a str,
    pub container_id: &'a str,
    pub container: &'a str,
    pub image: &'a str,
}

fn raise(
    rule: DetectorId,
    place: &Place,
    output: String,
    fields: BTreeMap<String, Value>,
) -> NewAlert {
    let severity = rule.detector().severity;
    let mut fields = fields;
    fields.insert("container.name".into(), json!(place.container));
    NewAlert {
        source: SOURCE.into(),
        rule: rule.as_str().into(),
        severity,
        output,
        time: None,
        hostname: Some(place.host.to_string()),
        container_id: Some(place.container_id.to_string()),
        image: (!place.image.is_empty()).then(|| place.image.to_string()),
        image_digest: None,
        namespace: None,
        pod: None,
        tags: vec!["container".into(), "docker".into()],
        fields,
    }
}

/// `exec_start: <command>`: someone ran a command in a running container. Docker's event
/// names the command, not who ran it.
pub fn exec(place: &Place, action: &str, exec_id: Option<&str>) -> NewAlert {
    let command = action
        .split_once(':')
        .map(|(_, c)| c.trim())
        .filter(|c| !c.is_empty())
        .unwrap_or("(not given)");
    let mut fields = BTreeMap::from([("proc.cmdline".into(), json!(command))]);
    if let Some(id) = exec_id {
        fields.insert("exec.id".into(), json!(id));
    }
    raise(
        EXEC,
        place,
        format!(
            "A command was run in container {} ({}): {command}",
            place.container, place.image
        ),
        fields,
    )
}

fn host_mode(mode: &Option<String>) -> bool {
    mode.as_deref() == Some("host")
}

/// A container that started: privileged, in a host namespace, with the Docker socket.
pub fn started(place: &Place, facts: &ContainerFacts) -> Vec<NewAlert> {
    let mut out = Vec::new();
    if facts.privileged {
        out.push(raise(
            PRIVILEGED,
            place,
            format!(
                "Container {} ({}) started privileged: it holds every capability and device of the host",
                place.container, place.image
            ),
            BTreeMap::new(),
        ));
    }
    let namespaces: Vec<&str> = [
        ("network", &facts.network_mode),
        ("pid", &facts.pid_mode),
        ("ipc", &facts.ipc_mode),
        ("uts", &facts.uts_mode),
    ]
    .into_iter()
    .filter(|(_, mode)| host_mode(mode))
    .map(|(name, _)| name)
    .collect();
    if !namespaces.is_empty() {
        out.push(raise(
            HOST_NAMESPACE,
            place,
            format!(
                "Container {} ({}) started in the host's {} namespace{}",
                place.container,
                place.image,
                namespaces.join(", "),
                if namespaces.len() == 1 { "" } else { "s" }
            ),
            BTreeMap::from([("namespaces".into(), json!(namespaces))]),
        ));
    }
    let sockets: Vec<&str> = facts
        .mounts
        .iter()
        .filter(|m| {
            m.source.ends_with("/docker.sock")
                || m.source.ends_with("/containerd.sock")
                || m.destination.ends_with("/docker.sock")
        })
        .map(|m| m.source.as_str())
        .collect();
    if !sockets.is_empty() {
        out.push(raise(
            SOCKET,
            place,
            format!(
                "Container {} ({}) started with {} mounted: it controls the engine, and so the host",
                place.container,
                place.image,
                sockets.join(", ")
            ),
            BTreeMap::from([("mounts".into(), json!(sockets))]),
        ));
    }
    out
}

/// Files an exec left changed in binary or configuration paths (the drift check's
/// evidence).
pub fn drift(place: &Place, evidence: &str) -> NewAlert {
    raise(
        DRIFT,
        place,
        format!(
            "Files changed in running container {} ({}): {evidence}",
            place.container, place.image
        ),
        BTreeMap::from([("changes".into(), json!(evidence))]),
    )
}

/// Counts containers' exits; a loop is [`LOOP_DIES`] within [`LOOP_WINDOW`] seconds.
#[derive(Debug, Default)]
pub struct Restarts {
    dies: HashMap<String, VecDeque<i64>>,
}

impl Restarts {
    /// A container exited at `at`: true when that makes a loop (then counting starts
    /// over, so a loop that goes on is raised again every [`LOOP_DIES`] exits).
    pub fn died(&mut self, container: &str, at: i64) -> bool {
        let dies = self.dies.entry(container.to_string()).or_default();
        dies.push_back(at);
        while dies.front().is_some_and(|t| at - t > LOOP_WINDOW) {
            dies.pop_front();
        }
        if dies.len() >= LOOP_DIES {
            dies.clear();
            return true;
        }
        false
    }

    /// A container that is gone is forgotten.
    pub fn forget(&mut self, container: &str) {
        self.dies.remove(container);
    }
}

pub fn restart_loop(place: &Place, restart_count: i64) -> NewAlert {
    raise(
        RESTART_LOOP,
        place,
        format!(
            "Container {} ({}) exited {LOOP_DIES} times within {} minutes (restarts so far: {restart_count})",
            place.container,
            place.image,
            LOOP_WINDOW / 60
        ),
        BTreeMap::from([("restart_count".into(), json!(restart_count))]),
    )
}

/// The image each tag named when a container last started from it on this engine: a
/// start from the same tag with another image means the tag moved.
#[derive(Debug, Default)]
pub struct Tags {
    seen: HashMap<String, String>,
}

impl Tags {
    /// Remembers what `reference` names now without raising anything (a sync).
    pub fn saw(&mut self, reference: &str, image_id: &str) {
        let by_id = reference.starts_with("sha256:")
            || (reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit()));
        if !reference.is_empty() && !reference.contains('@') && !by_id {
            self.seen
                .insert(reference.to_string(), image_id.to_string());
        }
    }

    /// A container started from `reference` running `image_id`: the image the tag named
    /// before, when it was another one.
    pub fn started(&mut self, reference: &str, image_id: &str) -> Option<String> {
        let before = self.seen.get(reference).cloned();
        self.saw(reference, image_id);
        before.filter(|b| b != image_id)
    }
}

pub fn tag_moved(place: &Place, before: &str, now: &str) -> NewAlert {
    let short = |id: &str| {
        id.trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>()
    };
    raise(
        TAG_MOVED,
        place,
        format!(
            "Container {} started from {} as image {}, which named image {} before",
            place.container,
            place.image,
            short(now),
            short(before)
        ),
        BTreeMap::from([
            ("image.before".into(), json!(before)),
            ("image.now".into(), json!(now)),
        ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::docker::MountFact;
    use coastguard_model::Severity;

    fn place() -> Place<'static> {
        Place {
            host: "local",
            container_id: "0123456789abcdef0123456789abcdef",
            container: "web",
            image: "nginx:1.27",
        }
    }

    #[test]
    fn an_exec_names_its_command() {
        let a = exec(&place(), "exec_start: sh -c id", Some("e1"));
        assert_eq!(a.rule, "docker.exec");
        assert_eq!(a.fields["proc.cmdline"], "sh -c id");
        assert_eq!(a.fields["exec.id"], "e1");
        assert!(a.output.contains("web (nginx:1.27): sh -c id"));
        assert_eq!(a.container_id.as_deref(), Some(place().container_id));
        assert_eq!(
            exec(&place(), "exec_start", None).fields["proc.cmdline"],
            "(not given)"
        );
    }

    #[test]
    fn a_start_is_judged_by_what_the_container_holds() {
        assert!(started(&place(), &ContainerFacts::default()).is_empty());
        let risky = ContainerFacts {
            privileged: true,
            network_mode: Some("host".into()),
            pid_mode: Some("host".into()),
            ipc_mode: Some("private".into()),
            mounts: vec![MountFact {
                kind: "bind".into(),
                source: "/var/run/docker.sock".into(),
                destination: "/var/run/docker.sock".into(),
                read_write: true,
                propagation: String::new(),
            }],
            ..ContainerFacts::default()
        };
        let rules: Vec<String> = started(&place(), &risky)
            .into_iter()
            .map(|a| a.rule)
            .collect();
        let want: Vec<&str> = [PRIVILEGED, HOST_NAMESPACE, SOCKET]
            .iter()
            .map(|d| d.as_str())
            .collect();
        assert_eq!(rules, want);
        let ns = &started(&place(), &risky)[1];
        assert!(
            ns.output.contains("network, pid namespaces"),
            "{}",
            ns.output
        );
        assert_eq!(started(&place(), &risky)[0].severity, Severity::Critical);
    }

    #[test]
    fn five_exits_in_ten_minutes_are_a_loop() {
        let mut r = Restarts::default();
        for at in [0, 100, 200, 300] {
            assert!(!r.died("c", at));
        }
        assert!(r.died("c", 400), "the fifth exit");
        assert!(!r.died("c", 401), "counting starts over");
        let mut slow = Restarts::default();
        for at in [0, 200, 400, 601, 802, 1003] {
            assert!(!slow.died("c", at), "at most four within any ten minutes");
        }
        assert!(!r.died("other", 402));
    }

    #[test]
    fn a_tag_that_names_another_image_at_start_moved() {
        let mut t = Tags::default();
        t.saw("app:prod", "sha256:aaa");
        assert_eq!(t.started("app:prod", "sha256:aaa"), None);
        assert_eq!(
            t.started("app:prod", "sha256:bbb").as_deref(),
            Some("sha256:aaa")
        );
        assert_eq!(t.started("app:prod", "sha256:bbb"), None, "known now");
        assert_eq!(t.started("new:1", "sha256:ccc"), None, "first seen");
        t.saw("sha256:ddd", "sha256:ddd");
        assert_eq!(
            t.started("sha256:ddd", "sha256:eee"),
            None,
            "an id is not a tag"
        );
    }
}
