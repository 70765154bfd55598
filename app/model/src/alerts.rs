//! Runtime alerts: events from Falco and other tools, each matched to what it happened
//! in, and folded into groups (the same rule on the same container, or on the same
//! workload's pods) that are triaged as one.

use crate::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a group is in triage. New and acknowledged groups are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged,
    Resolved,
    FalsePositive,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [
        AlertState::New,
        AlertState::Acknowledged,
        AlertState::Resolved,
        AlertState::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
            AlertState::FalsePositive => "false_positive",
        }
    }

    pub fn parse(text: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_open(self) -> bool {
        matches!(self, AlertState::New | AlertState::Acknowledged)
    }
}

/// A built-in detector's rule id: the `rule` of the alerts it raises (source
/// `coastguard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DetectorId {
    #[serde(rename = "docker.exec")]
    DockerExec,
    #[serde(rename = "docker.privileged_start")]
    DockerPrivilegedStart,
    #[serde(rename = "docker.host_namespace_start")]
    DockerHostNamespaceStart,
    #[serde(rename = "docker.socket_mount_start")]
    DockerSocketMountStart,
    #[serde(rename = "docker.drift")]
    DockerDrift,
    #[serde(rename = "docker.restart_loop")]
    DockerRestartLoop,
    #[serde(rename = "docker.tag_moved")]
    DockerTagMoved,
}

impl DetectorId {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorId::DockerExec => "docker.exec",
            DetectorId::DockerPrivilegedStart => "docker.privileged_start",
            DetectorId::DockerHostNamespaceStart => "docker.host_namespace_start",
            DetectorId::DockerSocketMountStart => "docker.socket_mount_start",
            DetectorId::DockerDrift => "docker.drift",
            DetectorId::DockerRestartLoop => "docker.restart_loop",
            DetectorId::DockerTagMoved => "docker.tag_moved",
        }
    }

    /// The detector an id names (as typed in a form: surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<DetectorId> {
        DETECTORS
            .iter()
            .map(|d| d.id)
            .find(|id| id.as_str() == text.trim())
    }

    /// What it sees and the severity it raises.
    pub fn detector(self) -> &'static Detector {
        DETECTORS
            .iter()
            .find(|d| d.id == self)
            .expect("every detector is in DETECTORS")
    }
}

/// A detector Coastguard runs itself on Docker engines' events: its id, the severity it
/// raises and what it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detector {
    pub id: DetectorId,
    pub severity: Severity,
    pub title: &'static str,
}

/// A built-in detector as the API lists it: on unless the image policy switched it off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetectorView {
    pub id: DetectorId,
    pub severity: Severity,
    pub title: String,
    pub enabled: bool,
}

/// Every built-in detector; each can be switched off in the image policy
/// (`disabled_detectors`).
pub const DETECTORS: &[Detector] = &[
    Detector {
        id: DetectorId::DockerExec,
        severity: Severity::Medium,
        title: "A command was run in a running container (docker exec); the event names the command, not who ran it",
    },
    Detector {
        id: DetectorId::DockerPrivilegedStart,
        severity: Severity::Critical,
        title: "A container started privileged",
    },
    Detector {
        id: DetectorId::DockerHostNamespaceStart,
        severity: Severity::High,
        title: "A container started in the host's network, PID, IPC or UTS namespace",
    },
    Detector {
        id: DetectorId::DockerSocketMountStart,
        severity: Severity::Critical,
        title: "A container started with the Docker (or containerd) socket mounted",
    },
    Detector {
        id: DetectorId::DockerDrift,
        severity: Severity::High,
        title: "Files were added or changed in a running container's binary or configuration paths",
    },
    Detector {
        id: DetectorId::DockerRestartLoop,
        severity: Severity::Medium,
        title: "A container exited five times within ten minutes",
    },
    Detector {
        id: DetectorId::DockerTagMoved,
        severity: Severity::Medium,
        title: "A container started from a tag that names another image than when it last started here",
    },
];

/// The most characters kept of an event's output line (longer ones are cut, marked).
pub const MAX_OUTPUT: usize = 8 * 1024;
/// The most bytes an event's fields take, as JSON.
pub const MAX_FIELDS_BYTES: usize = 64 * 1024;
/// The most fields an event carries.
pub const MAX_FIELDS: usize = 512;

/// One runtime event in Coastguard's own schema (`POST /api/v1/alerts`); Falco's are read
/// into it too. Only `source`, `rule`, `severity` and `output` are required; the rest say
/// where it happened, and are matched to the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    /// The tool that raised it: `falco`, `tetragon`, a script's name (1 to 100
    /// characters).
    pub source: String,
    /// The rule or detector that fired (1 to 200 characters).
    pub rule: String,
    pub severity: Severity,
    /// What happened, for people (at most 8 KiB; longer is cut).
    pub output: String,
    /// When it happened: RFC 3339. Default: when it arrives.
    #[serde(default)]
    pub time: Option<String>,
    /// The machine that saw it (a Docker host's or node's name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The container's id, full or the 12-character short form.
    #[serde(default)]
    pub container_id: Option<String>,
    /// The image: `repository[:tag]`.
    #[serde(default)]
    pub image: Option<String>,
    /// The image's manifest digest, `sha256:…`.
    #[serde(default)]
    pub image_digest: Option<String>,
    /// The Kubernetes namespace and pod.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Anything else the tool said, by name (values are kept as given).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A line (or event) of a batch that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedLine {
    /// 1-based: the line of a newline-delimited body, or the event of a JSON array.
    pub line: usize,
    pub error: String,
}

/// What a batch did: every accepted event is stored before this answer is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    pub accepted: usize,
    /// The groups the accepted events went to (new or existing), by id.
    pub groups: Vec<i64>,
    pub rejected: Vec<RejectedLine>,
}

/// An alert group: every event of one rule on one subject while the group is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertGroup {
    pub id: i64,
    pub source: String,
    pub rule: String,
    pub severity: Severity,
    pub state: AlertState,
    /// The latest event's output.
    pub output: String,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub assignee: Option<String>,
    /// What it was matched to (none until the inventory knows it).
    pub host_id: Option<i64>,
    pub host: Option<String>,
    pub container_id: Option<i64>,
    pub container: Option<String>,
    pub pod_id: Option<i64>,
    pub workload_id: Option<i64>,
    pub image_id: Option<i64>,
    /// What the events named, as they named it.
    pub hostname: Option<String>,
    pub container_ref: Option<String>,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub image_ref: Option<String>,
    /// The exception that covers it: kept and countable, out of the queue.
    #[serde(default)]
    pub exception_id: Option<i64>,
}

/// One stored event of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    pub id: i64,
    pub at: i64,
    pub received_at: i64,
    pub severity: Severity,
    pub output: String,
    pub tags: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A group with its latest events and its triage history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertDetail {
    pub group: AlertGroup,
    /// The newest first, at most 100.
    pub events: Vec<AlertEvent>,
    /// Every triage action on the group, oldest first.
    pub activity: Vec<AlertActivity>,
}

/// The most characters of a triage comment.
pub const MAX_COMMENT: usize = 2000;

/// One triage action (`POST /api/v1/alerts/{id}/triage`): a state to move to, an
/// assignee to set (`""` unassigns), a comment; at least one. A false positive needs a
/// comment saying why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertTriage {
    #[serde(default)]
    pub state: Option<AlertState>,
    /// A user's name, or `""` to unassign.
    #[serde(default)]
    pub assignee: Option<String>,
    /// At most 2,000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// One triage action as the group's history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertActivity {
    pub at: i64,
    /// Who did it: a user's or a token's name.
    pub actor: String,
    /// The state it moved the group to.
    pub state: Option<AlertState>,
    /// The assignee it set; `""` when it unassigned.
    pub assignee: Option<String>,
    pub comment: Option<String>,
}

/// A change to the alert queue, as `GET /api/v1/alerts/stream` sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertFeedEvent {
    /// Sent first: the stream is open; what follows is newer than a list read now.
    Ready,
    /// A group was made or changed (new events, triage): its state now.
    Changed { group: Box<AlertGroup> },
    /// Changes may have been missed (a reconnect, a slow reader): read the list again.
    Resync,
}

/// Which alert groups to list, as the alerts page's address and the REST API's query
/// say it. Empty text means no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// A state, `open` (new and acknowledged, not covered by an exception: the default),
    /// `suppressed` (open ones an exception covers) or `all`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    /// A host's id.
    #[serde(default)]
    pub host: Option<i64>,
    /// A cluster's id.
    #[serde(default)]
    pub cluster: Option<i64>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// A user's name, or `none` for unassigned groups.
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl AlertFilter {
    /// Whether `g` belongs in the list this filter shows; `None` when the group does not
    /// say (the cluster is not part of a group: read the list again).
    pub fn matches(&self, g: &AlertGroup) -> Option<bool> {
        fn text(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        if self.cluster.is_some() {
            return None;
        }
        let state = match text(&self.state) {
            None | Some("open") => g.state.is_open() && g.exception_id.is_none(),
            Some("suppressed") => g.state.is_open() && g.exception_id.is_some(),
            Some("all") => true,
            Some(s) => AlertState::parse(s) == Some(g.state),
        };
        let assignee = match text(&self.assignee) {
            None => true,
            Some("none") => g.assignee.is_none(),
            Some(a) => g.assignee.as_deref() == Some(a),
        };
        Some(
            state
                && assignee
                && self.severity.is_none_or(|s| s == g.severity)
                && text(&self.source).is_none_or(|s| s == g.source)
                && text(&self.rule).is_none_or(|r| r == g.rule)
                && self.host.is_none_or(|h| g.host_id == Some(h))
                && text(&self.namespace).is_none_or(|n| g.namespace.as_deref() == Some(n)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> AlertGroup {
        AlertGroup {
            id: 1,
            source: "falco".into(),
            rule: "Terminal shell in container".into(),
            severity: Severity::Critical,
            state: AlertState::New,
            output: "shell".into(),
            count: 1,
            first_at: 0,
            last_at: 0,
            assignee: None,
            host_id: Some(3),
            host: Some("node-1".into()),
            container_id: None,
            container: None,
            pod_id: None,
            workload_id: None,
            image_id: None,
            hostname: None,
            container_ref: None,
            namespace: Some("payments".into()),
            pod: Some("api-0".into()),
            image_ref: None,
            exception_id: None,
        }
    }

    #[test]
    fn detector_ids_read_as_they_are_written() {
        for d in DETECTORS {
            assert_eq!(DetectorId::parse(d.id.as_str()), Some(d.id));
            assert_eq!(
                serde_json::to_value(d.id).unwrap(),
                serde_json::json!(d.id.as_str())
            );
            assert_eq!(d.id.detector(), d);
        }
        assert_eq!(
            DetectorId::parse(" docker.exec "),
            Some(DetectorId::DockerExec)
        );
        assert_eq!(DetectorId::parse("docker.nope"), None);
    }

    #[test]
    fn a_live_change_is_kept_only_where_the_filter_shows_it() {
        let g = group();
        let open = AlertFilter::default();
        assert_eq!(open.matches(&g), Some(true));
        let resolved = AlertGroup {
            state: AlertState::Resolved,
            ..group()
        };
        assert_eq!(
            open.matches(&resolved),
            Some(false),
            "the queue is open groups"
        );
        let all = AlertFilter {
            state: Some("all".into()),
            ..AlertFilter::default()
        };
        assert_eq!(all.matches(&resolved), Some(true));
        let f = AlertFilter {
            severity: Some(Severity::High),
            ..AlertFilter::default()
        };
        assert_eq!(f.matches(&g), Some(false));
        let f = AlertFilter {
            namespace: Some("payments".into()),
            host: Some(3),
            rule: Some(" ".into()),
            ..AlertFilter::default()
        };
        assert_eq!(f.matches(&g), Some(true), "blank text filters nothing");
        let mine = AlertFilter {
            assignee: Some("ana".into()),
            ..AlertFilter::default()
        };
        assert_eq!(mine.matches(&g), Some(false));
        let unassigned = AlertFilter {
            assignee: Some("none".into()),
            ..AlertFilter::default()
        };
        assert_eq!(unassigned.matches(&g), Some(true));
        let cluster = AlertFilter {
            cluster: Some(1),
            ..AlertFilter::default()
        };
        assert_eq!(
            cluster.matches(&g),
            None,
            "a group does not say its cluster"
        );
    }
}
