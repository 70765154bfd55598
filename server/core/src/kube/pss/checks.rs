//! The checks of the Pod Security Standards, one function per revision. Each returns
//! `None` when the pod passes, or the admission plugin's reason and detail.

use super::{Check, Level, PodView, RunFn};
use serde_json::Value;
use std::collections::BTreeSet;

type Outcome = Option<(&'static str, String)>;

pub(super) static ALL: &[Check] = &[
    // Baseline.
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        versions: &[(0, app_armor_profile)],
        overrides: &[],
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        versions: &[(0, capabilities_baseline)],
        overrides: &[],
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        versions: &[(0, host_namespaces)],
        overrides: &[],
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        versions: &[(0, host_path_volumes)],
        overrides: &[],
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        versions: &[(0, host_ports)],
        overrides: &[],
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        versions: &[(34, host_probes_and_lifecycle)],
        overrides: &[],
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        versions: &[(0, privileged)],
        overrides: &[],
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        versions: &[(0, proc_mount), (35, proc_mount_1_35)],
        overrides: &[],
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        versions: &[(0, se_linux_options_1_0), (31, se_linux_options_1_31)],
        overrides: &[],
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[(0, seccomp_annotations), (19, seccomp_baseline)],
        overrides: &[],
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        versions: &[
            (0, sysctls_1_0),
            (27, sysctls_1_27),
            (29, sysctls_1_29),
            (32, sysctls_1_32),
            (37, sysctls_1_37),
        ],
        overrides: &[],
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        versions: &[(0, windows_host_process)],
        overrides: &[],
    },
    // Restricted.
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[
            (8, allow_privilege_escalation),
            (25, allow_privilege_escalation_1_25),
        ],
        overrides: &[],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[
            (22, capabilities_restricted),
            (25, capabilities_restricted_1_25),
        ],
        overrides: &["capabilities_baseline"],
    },
    Check {
        id: "procMount_restricted",
        level: Level::Restricted,
        versions: &[(35, proc_mount)],
        overrides: &["procMount"],
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        versions: &[(0, restricted_volumes)],
        overrides: &["hostPathVolumes"],
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        versions: &[(0, run_as_non_root), (35, run_as_non_root_1_35)],
        overrides: &[],
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        versions: &[(23, run_as_user), (35, run_as_user_1_35)],
        overrides: &[],
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[(19, seccomp_restricted), (25, seccomp_restricted_1_25)],
        overrides: &["seccompProfile_baseline"],
    },
];

// ---- Reading raw objects the way Go's decoder would fill the typed fields. ----

/// `v[key]` when present and not null (Go's nil pointer otherwise).
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// A string field, `""` when unset (Go's zero value).
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn security_context(v: &Value) -> Option<&Value> {
    field(v, "securityContext")
}

/// Init containers, containers, then ephemeral containers, as the plugin visits them.
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |key| list(spec, key).iter())
}

fn name(container: &Value) -> &str {
    text(container, "name")
}

fn annotations(metadata: &Value) -> impl Iterator<Item = (&String, &str)> {
    metadata
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
}

fn annotation<'a>(metadata: &'a Value, key: &str) -> Option<&'a str> {
    metadata.get("annotations")?.get(key)?.as_str()
}

fn windows_pod(spec: &Value) -> bool {
    field(spec, "os").is_some_and(|os| text(os, "name") == "windows")
}

/// `hostUsers: false`: the pod runs in a user namespace.
fn user_namespace_pod(spec: &Value) -> bool {
    flag(spec, "hostUsers") == Some(false)
}

fn pluralize(singular: &'static str, plural: &'static str, n: usize) -> &'static str {
    if n == 1 {
        singular
    } else {
        plural
    }
}

/// `"a", "b"` (the plugin's joinQuote).
fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let quoted: Vec<String> = items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect();
    quoted.join(", ")
}

/// `containers "a", "b"` or `container "a"`.
fn containers_named(names: &[&str]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// Go's `%q` for the strings these checks quote (annotation values): a double-quoted
/// string with backslash escapes.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Containers for which `bad` holds, by name, in visiting order.
fn bad_containers(spec: &Value, bad: impl Fn(&Value) -> bool) -> Vec<&str> {
    containers(spec).filter(|c| bad(c)).map(name).collect()
}

// ---- Revisions that exempt some pods. ----

/// From v1.25: a pod whose `spec.os.name` is `windows` is exempt (the API server's own
/// validation refuses the Linux-only fields on such pods).
fn unless_windows(pod: PodView<'_>, check: RunFn) -> Outcome {
    if windows_pod(pod.spec) {
        return None;
    }
    check(pod)
}

/// From v1.35: a pod in a user namespace (`hostUsers: false`) is exempt.
fn unless_user_namespace(pod: PodView<'_>, check: RunFn) -> Outcome {
    if user_namespace_pod(pod.spec) {
        return None;
    }
    check(pod)
}

fn allow_privilege_escalation_1_25(pod: PodView<'_>) -> Outcome {
    unless_windows(pod, allow_privilege_escalation)
}

fn capabilities_restricted_1_25(pod: PodView<'_>) -> Outcome {
    unless_windows(pod, capabilities_restricted)
}

fn seccomp_restricted_1_25(pod: PodView<'_>) -> Outcome {
    unless_windows(pod, seccomp_restricted)
}

fn run_as_non_root_1_35(pod: PodView<'_>) -> Outcome {
    unless_user_namespace(pod, run_as_non_root)
}

fn run_as_user_1_35(pod: PodView<'_>) -> Outcome {
    unless_user_namespace(pod, run_as_user)
}

fn proc_mount_1_35(pod: PodView<'_>) -> Outcome {
    unless_user_namespace(pod, proc_mount)
}

// ---- Baseline. ----

fn app_armor_profile(pod: PodView<'_>) -> Outcome {
    let allowed_type =
        |profile: &Value| matches!(text(profile, "type"), "RuntimeDefault" | "Localhost");
    let mut setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    if let Some(profile) = security_context(pod.spec).and_then(|sc| field(sc, "appArmorProfile")) {
        if !allowed_type(profile) {
            setters.push("pod".to_string());
            bad_values.insert(text(profile, "type").to_string());
        }
    }
    let mut bad = Vec::new();
    for c in containers(pod.spec) {
        if let Some(profile) = security_context(c).and_then(|sc| field(sc, "appArmorProfile")) {
            if !allowed_type(profile) {
                bad.push(name(c));
                bad_values.insert(text(profile, "type").to_string());
            }
        }
    }
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    let mut values: Vec<String> = bad_values.into_iter().collect();
    let mut forbidden: Vec<String> = annotations(pod.metadata)
        .filter(|(k, v)| {
            k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
        })
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    if !forbidden.is_empty() {
        forbidden.sort();
        setters.push(pluralize("annotation", "annotations", forbidden.len()).to_string());
        values.extend(forbidden);
    }
    if setters.is_empty() {
        return None;
    }
    Some((
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&values)
        ),
    ))
}

const CAPABILITIES_BASELINE: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn added_capabilities(c: &Value) -> Option<&[Value]> {
    let caps = field(security_context(c)?, "capabilities")?;
    Some(list(caps, "add"))
}

fn capabilities_baseline(pod: PodView<'_>) -> Outcome {
    let mut names = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(pod.spec) {
        let mut valid = true;
        for cap in added_capabilities(c).unwrap_or(&[]) {
            let cap = cap.as_str().unwrap_or("");
            if !CAPABILITIES_BASELINE.contains(&cap) {
                valid = false;
                forbidden.insert(cap);
            }
        }
        if !valid {
            names.push(name(c));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some((
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&names),
            join_quote(forbidden)
        ),
    ))
}

fn host_namespaces(pod: PodView<'_>) -> Outcome {
    let set: Vec<&str> = [
        ("hostNetwork", "hostNetwork=true"),
        ("hostPID", "hostPID=true"),
        ("hostIPC", "hostIPC=true"),
    ]
    .into_iter()
    .filter(|(key, _)| flag(pod.spec, key) == Some(true))
    .map(|(_, shown)| shown)
    .collect();
    (!set.is_empty()).then(|| ("host namespaces", set.join(", ")))
}

fn host_path_volumes(pod: PodView<'_>) -> Outcome {
    let volumes: Vec<&str> = list(pod.spec, "volumes")
        .iter()
        .filter(|v| field(v, "hostPath").is_some())
        .map(|v| text(v, "name"))
        .collect();
    (!volumes.is_empty()).then(|| {
        (
            "hostPath volumes",
            format!(
                "{} {}",
                pluralize("volume", "volumes", volumes.len()),
                join_quote(&volumes)
            ),
        )
    })
}

fn host_ports(pod: PodView<'_>) -> Outcome {
    let mut names = Vec::new();
    let mut ports = BTreeSet::new();
    for c in containers(pod.spec) {
        let mut valid = true;
        for port in list(c, "ports") {
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port != 0 {
                valid = false;
                // Sorted as strings, as the plugin's string set sorts them.
                ports.insert(host_port.to_string());
            }
        }
        if !valid {
            names.push(name(c));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some((
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_named(&names),
            pluralize("uses", "use", names.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ))
}

fn host_probes_and_lifecycle(pod: PodView<'_>) -> Outcome {
    fn hosts<'a>(handler: Option<&'a Value>, found: &mut BTreeSet<&'a str>) -> bool {
        let Some(handler) = handler else {
            return false;
        };
        let mut any = false;
        for kind in ["httpGet", "tcpSocket"] {
            if let Some(action) = field(handler, kind) {
                let host = text(action, "host");
                if !host.is_empty() {
                    found.insert(host);
                    any = true;
                }
            }
        }
        any
    }
    let mut names = BTreeSet::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(pod.spec) {
        let lifecycle = field(c, "lifecycle");
        let handlers = [
            field(c, "livenessProbe"),
            field(c, "readinessProbe"),
            field(c, "startupProbe"),
            lifecycle.and_then(|l| field(l, "postStart")),
            lifecycle.and_then(|l| field(l, "preStop")),
        ];
        for handler in handlers {
            if hosts(handler, &mut forbidden) {
                names.insert(name(c));
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let names: Vec<&str> = names.into_iter().collect();
    Some((
        "probe or lifecycle host",
        format!(
            "{} {} {} {}",
            containers_named(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                forbidden.len()
            ),
            join_quote(forbidden)
        ),
    ))
}

fn privileged(pod: PodView<'_>) -> Outcome {
    let names = bad_containers(pod.spec, |c| {
        security_context(c).and_then(|sc| flag(sc, "privileged")) == Some(true)
    });
    (!names.is_empty()).then(|| {
        (
            "privileged",
            format!(
                "{} must not set securityContext.privileged=true",
                containers_named(&names)
            ),
        )
    })
}

fn proc_mount(pod: PodView<'_>) -> Outcome {
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(pod.spec) {
        let Some(value) = security_context(c).and_then(|sc| field(sc, "procMount")) else {
            continue;
        };
        let kind = value.as_str().unwrap_or("");
        if kind != "Default" {
            names.push(name(c));
            types.insert(kind);
        }
    }
    (!names.is_empty()).then(|| {
        (
            "procMount",
            format!(
                "{} must not set securityContext.procMount to {}",
                containers_named(&names),
                join_quote(types)
            ),
        )
    })
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options_1_0(pod: PodView<'_>) -> Outcome {
    se_linux_options(pod, SELINUX_TYPES_1_0)
}

fn se_linux_options_1_31(pod: PodView<'_>) -> Outcome {
    se_linux_options(pod, SELINUX_TYPES_1_31)
}

fn se_linux_options(pod: PodView<'_>, allowed: &[&str]) -> Outcome {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |opts: &Value| {
        let mut ok = true;
        let kind = text(opts, "type");
        if !allowed.contains(&kind) {
            ok = false;
            bad_types.insert(kind.to_string());
        }
        if !text(opts, "user").is_empty() {
            ok = false;
            set_user = true;
        }
        if !text(opts, "role").is_empty() {
            ok = false;
            set_role = true;
        }
        ok
    };
    fn options(v: &Value) -> Option<&Value> {
        security_context(v).and_then(|sc| field(sc, "seLinuxOptions"))
    }
    let mut setters = Vec::new();
    if let Some(opts) = options(pod.spec) {
        if !valid(opts) {
            setters.push("pod".to_string());
        }
    }
    let mut names = Vec::new();
    for c in containers(pod.spec) {
        if let Some(opts) = options(c) {
            if !valid(opts) {
                names.push(name(c));
            }
        }
    }
    if !names.is_empty() {
        setters.push(containers_named(&names));
    }
    if setters.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        data.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&bad_types)
        ));
    }
    if set_user {
        data.push("user may not be set".to_string());
    }
    if set_role {
        data.push("role may not be set".to_string());
    }
    Some((
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            data.join("; ")
        ),
    ))
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Before v1.19 the seccomp profile was an annotation.
fn seccomp_annotations(pod: PodView<'_>) -> Outcome {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let mut forbidden = BTreeSet::new();
    if let Some(v) = annotation(pod.metadata, SECCOMP_POD_ANNOTATION) {
        if !valid(v) {
            forbidden.insert(format!("{SECCOMP_POD_ANNOTATION}={}", go_quote(v)));
        }
    }
    for c in containers(pod.spec) {
        let key = format!("{SECCOMP_CONTAINER_ANNOTATION}{}", name(c));
        if let Some(v) = annotation(pod.metadata, &key) {
            if !valid(v) {
                forbidden.insert(format!("{key}={}", go_quote(v)));
            }
        }
    }
    (!forbidden.is_empty()).then(|| {
        (
            "seccompProfile",
            format!(
                "forbidden {} {}",
                pluralize("annotation", "annotations", forbidden.len()),
                forbidden.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

fn seccomp_profile(v: &Value) -> Option<&Value> {
    security_context(v).and_then(|sc| field(sc, "seccompProfile"))
}

fn valid_seccomp(profile: &Value) -> bool {
    matches!(text(profile, "type"), "Localhost" | "RuntimeDefault")
}

/// The seccomp checks of v1.19 on: `require` makes an unset profile (with no valid one
/// on the pod) a violation too, as restricted does.
fn seccomp(pod: PodView<'_>, require: bool) -> Outcome {
    let mut setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(profile) = seccomp_profile(pod.spec) {
        if valid_seccomp(profile) {
            pod_set = true;
        } else {
            setters.push("pod".to_string());
            bad_values.insert(text(profile, "type"));
        }
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(pod.spec) {
        match seccomp_profile(c) {
            Some(profile) if !valid_seccomp(profile) => {
                explicit.push(name(c));
                bad_values.insert(text(profile, "type"));
            }
            Some(_) => {}
            None if require && !pod_set => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    if !setters.is_empty() {
        return Some((
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                join_quote(bad_values)
            ),
        ));
    }
    (!implicit.is_empty()).then(|| {
        (
            "seccompProfile",
            format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                containers_named(&implicit)
            ),
        )
    })
}

fn seccomp_baseline(pod: PodView<'_>) -> Outcome {
    seccomp(pod, false)
}

fn seccomp_restricted(pod: PodView<'_>) -> Outcome {
    seccomp(pod, true)
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn sysctls(pod: PodView<'_>, allowed: &[&[&str]]) -> Outcome {
    let forbidden: Vec<&str> = security_context(pod.spec)
        .map(|sc| list(sc, "sysctls"))
        .unwrap_or(&[])
        .iter()
        .map(|s| text(s, "name"))
        .filter(|n| !allowed.iter().any(|set| set.contains(n)))
        .collect();
    (!forbidden.is_empty()).then(|| ("forbidden sysctls", forbidden.join(", ")))
}

fn sysctls_1_0(pod: PodView<'_>) -> Outcome {
    sysctls(pod, &[SYSCTLS_1_0])
}

fn sysctls_1_27(pod: PodView<'_>) -> Outcome {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27])
}

fn sysctls_1_29(pod: PodView<'_>) -> Outcome {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}

fn sysctls_1_32(pod: PodView<'_>) -> Outcome {
    sysctls(
        pod,
        &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32],
    )
}

fn sysctls_1_37(pod: PodView<'_>) -> Outcome {
    sysctls(
        pod,
        &[
            SYSCTLS_1_0,
            SYSCTLS_1_27,
            SYSCTLS_1_29,
            SYSCTLS_1_32,
            SYSCTLS_1_37,
        ],
    )
}

fn windows_host_process(pod: PodView<'_>) -> Outcome {
    let host_process = |v: &Value| {
        security_context(v)
            .and_then(|sc| field(sc, "windowsOptions"))
            .and_then(|w| flag(w, "hostProcess"))
            == Some(true)
    };
    let mut setters = Vec::new();
    if host_process(pod.spec) {
        setters.push("pod".to_string());
    }
    let names = bad_containers(pod.spec, host_process);
    if !names.is_empty() {
        setters.push(containers_named(&names));
    }
    (!setters.is_empty()).then(|| {
        (
            "hostProcess",
            format!(
                "{} must not set securityContext.windowsOptions.hostProcess=true",
                setters.join(" and ")
            ),
        )
    })
}

// ---- Restricted. ----

fn allow_privilege_escalation(pod: PodView<'_>) -> Outcome {
    let names = bad_containers(pod.spec, |c| {
        security_context(c).and_then(|sc| flag(sc, "allowPrivilegeEscalation")) != Some(false)
    });
    (!names.is_empty()).then(|| {
        (
            "allowPrivilegeEscalation != false",
            format!(
                "{} must set securityContext.allowPrivilegeEscalation=false",
                containers_named(&names)
            ),
        )
    })
}

fn capabilities_restricted(pod: PodView<'_>) -> Outcome {
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(pod.spec) {
        let Some(caps) = security_context(c).and_then(|sc| field(sc, "capabilities")) else {
            missing_drop.push(name(c));
            continue;
        };
        if !list(caps, "drop").iter().any(|d| d.as_str() == Some("ALL")) {
            missing_drop.push(name(c));
        }
        let mut added_forbidden = false;
        for cap in list(caps, "add") {
            let cap = cap.as_str().unwrap_or("");
            if cap != "NET_BIND_SERVICE" {
                added_forbidden = true;
                forbidden.insert(cap);
            }
        }
        if added_forbidden {
            adding.push(name(c));
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_named(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&adding),
            join_quote(forbidden)
        ));
    }
    (!details.is_empty()).then(|| ("unrestricted capabilities", details.join("; ")))
}

/// Volume sources restricted pods may use.
const ALLOWED_VOLUMES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Sources the plugin names when it refuses them, in the order it tests them; any other
/// is "unknown".
const NAMED_VOLUMES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(pod: PodView<'_>) -> Outcome {
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    for volume in list(pod.spec, "volumes") {
        if ALLOWED_VOLUMES.iter().any(|k| field(volume, k).is_some()) {
            continue;
        }
        names.push(text(volume, "name"));
        let kind = NAMED_VOLUMES
            .iter()
            .find(|k| field(volume, k).is_some())
            .copied()
            .unwrap_or("unknown");
        types.insert(kind);
    }
    if names.is_empty() {
        return None;
    }
    Some((
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(types)
        ),
    ))
}

fn run_as_non_root(pod: PodView<'_>) -> Outcome {
    let mut setters = Vec::new();
    let mut pod_non_root = false;
    match security_context(pod.spec).and_then(|sc| flag(sc, "runAsNonRoot")) {
        Some(false) => setters.push("pod".to_string()),
        Some(true) => pod_non_root = true,
        None => {}
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(pod.spec) {
        match security_context(c).and_then(|sc| flag(sc, "runAsNonRoot")) {
            Some(false) => explicit.push(name(c)),
            Some(true) => {}
            None if !pod_non_root => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    if !setters.is_empty() {
        return Some((
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        ));
    }
    (!implicit.is_empty()).then(|| {
        (
            "runAsNonRoot != true",
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_named(&implicit)
            ),
        )
    })
}

fn run_as_user(pod: PodView<'_>) -> Outcome {
    let root = |v: &Value| {
        security_context(v)
            .and_then(|sc| sc.get("runAsUser"))
            .and_then(Value::as_i64)
            == Some(0)
    };
    let mut setters = Vec::new();
    if root(pod.spec) {
        setters.push("pod".to_string());
    }
    let names = bad_containers(pod.spec, root);
    if !names.is_empty() {
        setters.push(containers_named(&names));
    }
    (!setters.is_empty()).then(|| {
        (
            "runAsUser=0",
            format!("{} must not set runAsUser=0", setters.join(" and ")),
        )
    })
}
