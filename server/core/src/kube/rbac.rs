//! Who may do what dangerous thing in a cluster, from its Roles, ClusterRoles and their
//! bindings, as Kubernetes' RBAC authorizer grants it (rules are additive; a
//! RoleBinding grants within its namespace, a ClusterRoleBinding everywhere):
//!
//! - full control (`*` verbs on `*` resources in `*` groups, as `cluster-admin` has),
//! - wildcard verbs or resources,
//! - reading secrets (`get`, `list` or `watch` on `secrets`; cluster-wide reads every
//!   namespace's),
//! - `create` on `pods/exec` or `pods/attach` (a shell in any selected pod),
//! - `create` on `pods` (a pod can mount any service account of its namespace),
//! - `escalate`, `bind` or `impersonate` (granting oneself more than one has).
//!
//! Each is a finding on the scope the binding grants it in (the cluster for a
//! ClusterRoleBinding, the namespace for a RoleBinding), one per check and subject (user,
//! group or service account), naming the bindings and roles that grant it. Subjects and
//! bindings named `system:…` are Kubernetes' own (the control plane's components and
//! bootstrap groups) and are not reported.
//!
//! A pod's service account token is mounted (unless the pod or its account says not to)
//! while the account is bound to nothing: the pod has a credential it does not use.

use super::objects::{strings, KubeFinding};
use crate::store::config_findings::Content;
use coastguard_model::findings::SubjectKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub const PREFIX: &str = "k8s.rbac.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
    /// A rule limited to named objects grants nothing on the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// What the checks keep of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleFacts {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Subject {
    fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    fn is_system(&self) -> bool {
        self.name.starts_with("system:")
    }
}

/// What the checks keep of a RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingFacts {
    pub role_kind: String,
    pub role_name: String,
    pub subjects: Vec<Subject>,
}

/// What the checks keep of a ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount: Option<bool>,
}

impl RoleFacts {
    /// From a Role or ClusterRole object (its top-level `rules`).
    pub fn read(obj: &Value) -> RoleFacts {
        RoleFacts {
            rules: obj
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| Rule {
                    groups: strings(r.get("apiGroups")),
                    resources: strings(r.get("resources")),
                    verbs: strings(r.get("verbs")),
                    names: strings(r.get("resourceNames")),
                })
                .collect(),
        }
    }
}

impl BindingFacts {
    /// From a RoleBinding or ClusterRoleBinding object (`roleRef`, `subjects`). A
    /// service account subject without a namespace is in the binding's (`namespace`).
    pub fn read(obj: &Value, namespace: &str) -> BindingFacts {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        BindingFacts {
            role_kind: text(obj.pointer("/roleRef/kind")),
            role_name: text(obj.pointer("/roleRef/name")),
            subjects: obj
                .get("subjects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| {
                    let kind = text(s.get("kind"));
                    let mut ns = text(s.get("namespace"));
                    if ns.is_empty() && kind == "ServiceAccount" {
                        ns = namespace.to_string();
                    }
                    Subject {
                        kind,
                        name: text(s.get("name")),
                        namespace: ns,
                    }
                })
                .collect(),
        }
    }
}

impl AccountFacts {
    pub fn read(obj: &Value) -> AccountFacts {
        AccountFacts {
            automount: obj
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool),
        }
    }
}

/// A dangerous grant, as a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Danger {
    FullControl,
    Wildcard,
    ReadSecrets,
    PodExec,
    CreatePods,
    Escalate,
}

impl Danger {
    pub fn check_id(self) -> &'static str {
        match self {
            Danger::FullControl => "k8s.rbac.full_control",
            Danger::Wildcard => "k8s.rbac.wildcard",
            Danger::ReadSecrets => "k8s.rbac.read_secrets",
            Danger::PodExec => "k8s.rbac.pods_exec",
            Danger::CreatePods => "k8s.rbac.create_pods",
            Danger::Escalate => "k8s.rbac.escalate_bind_impersonate",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Danger::FullControl => "Subject with full control (cluster-admin or equivalent)",
            Danger::Wildcard => "Subject granted wildcard verbs or resources",
            Danger::ReadSecrets => "Subject that can read secrets",
            Danger::PodExec => "Subject that can exec into pods",
            Danger::CreatePods => "Subject that can create pods",
            Danger::Escalate => "Subject that can escalate, bind or impersonate",
        }
    }

    fn remediation(self) -> &'static str {
        match self {
            Danger::FullControl => "Bind the subject to a role with the verbs and resources it needs; keep cluster-admin for break-glass accounts.",
            Danger::Wildcard => "Replace `*` with the verbs and resources the subject uses: a wildcard also grants every resource added later.",
            Danger::ReadSecrets => "Grant get on the named secrets it needs (resourceNames), in its own namespace, instead of reading every secret.",
            Danger::PodExec => "Remove create on pods/exec and pods/attach; use it through a just-in-time access process when debugging is needed.",
            Danger::CreatePods => "Let a controller (a Deployment) create pods; a subject that creates pods can run them as any service account of the namespace.",
            Danger::Escalate => "Remove escalate, bind and impersonate: each lets the subject gain permissions it was not given.",
        }
    }

    /// Severity where the grant is cluster-wide, and within one namespace.
    fn severity(self, cluster_wide: bool) -> &'static str {
        match (self, cluster_wide) {
            (Danger::FullControl, true) => "critical",
            (
                Danger::FullControl
                | Danger::Wildcard
                | Danger::ReadSecrets
                | Danger::PodExec
                | Danger::Escalate,
                _,
            ) => "high",
            (Danger::CreatePods, _) => "medium",
        }
    }
}

fn any(list: &[String], wanted: &[&str]) -> bool {
    list.iter()
        .any(|x| x == "*" || wanted.contains(&x.as_str()))
}

/// The dangerous grants among `rules` (full control subsumes the rest).
pub fn dangers(rules: &[Rule]) -> BTreeSet<Danger> {
    let mut found = BTreeSet::new();
    for r in rules {
        let core = any(&r.groups, &[""]);
        let all_names = r.names.is_empty();
        let star = |l: &[String]| l.iter().any(|x| x == "*");
        if star(&r.verbs) && star(&r.resources) && star(&r.groups) && all_names {
            return BTreeSet::from([Danger::FullControl]);
        }
        if star(&r.verbs) || star(&r.resources) {
            found.insert(Danger::Wildcard);
        }
        if core
            && all_names
            && any(&r.resources, &["secrets"])
            && any(&r.verbs, &["get", "list", "watch"])
        {
            found.insert(Danger::ReadSecrets);
        }
        if core
            && any(
                &r.resources,
                &["pods/exec", "pods/attach", "*/exec", "*/attach"],
            )
            && any(&r.verbs, &["create"])
        {
            found.insert(Danger::PodExec);
        }
        if core && any(&r.resources, &["pods"]) && any(&r.verbs, &["create"]) {
            found.insert(Danger::CreatePods);
        }
        let escalate = any(&r.verbs, &["escalate", "bind"])
            && any(&r.groups, &["rbac.authorization.k8s.io"])
            && any(&r.resources, &["roles", "clusterroles"]);
        let impersonate = any(&r.verbs, &["impersonate"])
            && any(&r.groups, &["", "authentication.k8s.io"])
            && any(
                &r.resources,
                &["users", "groups", "serviceaccounts", "uids", "userextras/*"],
            );
        if escalate || impersonate {
            found.insert(Danger::Escalate);
        }
    }
    found
}

/// A role or binding by namespace ("" for cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq)]
pub struct Named<T> {
    pub namespace: String,
    pub name: String,
    pub facts: T,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodAccount {
    pub id: i64,
    pub namespace: String,
    /// `spec.serviceAccountName` ("default" when unset).
    pub account: String,
    /// `spec.automountServiceAccountToken`.
    pub automount: Option<bool>,
}

/// A cluster's RBAC objects and pods, as the pass reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub cluster: i64,
    /// (id, name) of the live namespaces.
    pub namespaces: Vec<(i64, String)>,
    pub roles: Vec<Named<RoleFacts>>,
    pub cluster_roles: Vec<Named<RoleFacts>>,
    pub bindings: Vec<Named<BindingFacts>>,
    pub cluster_bindings: Vec<Named<BindingFacts>>,
    pub accounts: Vec<Named<AccountFacts>>,
    pub pods: Vec<PodAccount>,
}

/// Every RBAC finding, by subject (the cluster, its namespaces and pods; each listed, with
/// none where nothing was found).
pub fn evaluate(inputs: &Inputs) -> Vec<(SubjectKind, i64, Vec<KubeFinding>)> {
    let cluster_roles: HashMap<&str, &RoleFacts> = inputs
        .cluster_roles
        .iter()
        .map(|r| (r.name.as_str(), &r.facts))
        .collect();
    let roles: HashMap<(&str, &str), &RoleFacts> = inputs
        .roles
        .iter()
        .map(|r| ((r.namespace.as_str(), r.name.as_str()), &r.facts))
        .collect();
    // (scope namespace or "" for the cluster, danger, subject) → the grants' descriptions.
    let mut grants: BTreeMap<(String, Danger, Subject), Vec<String>> = BTreeMap::new();
    // Service accounts some binding names (whatever it grants).
    let mut bound: HashSet<(String, String)> = HashSet::new();
    let all = inputs
        .cluster_bindings
        .iter()
        .map(|b| (true, b))
        .chain(inputs.bindings.iter().map(|b| (false, b)));
    for (cluster_wide, b) in all {
        for s in b
            .facts
            .subjects
            .iter()
            .filter(|s| s.kind == "ServiceAccount")
        {
            bound.insert((s.namespace.clone(), s.name.clone()));
        }
        if b.name.starts_with("system:") {
            continue;
        }
        let role = match b.facts.role_kind.as_str() {
            "ClusterRole" => cluster_roles.get(b.facts.role_name.as_str()).copied(),
            "Role" => roles
                .get(&(b.namespace.as_str(), b.facts.role_name.as_str()))
                .copied(),
            _ => None,
        };
        let Some(role) = role else { continue };
        let dangers = dangers(&role.rules);
        if dangers.is_empty() {
            continue;
        }
        let kind = if cluster_wide {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        let how = format!(
            "{kind} {} → {} {}",
            b.name, b.facts.role_kind, b.facts.role_name
        );
        let scope = if cluster_wide {
            String::new()
        } else {
            b.namespace.clone()
        };
        for s in b.facts.subjects.iter().filter(|s| !s.is_system()) {
            for d in &dangers {
                grants
                    .entry((scope.clone(), *d, s.clone()))
                    .or_default()
                    .push(how.clone());
            }
        }
    }

    let namespace_ids: HashMap<&str, i64> = inputs
        .namespaces
        .iter()
        .map(|(id, name)| (name.as_str(), *id))
        .collect();
    let mut by_subject: BTreeMap<(SubjectKind, i64), Vec<KubeFinding>> = BTreeMap::new();
    by_subject.insert((SubjectKind::Cluster, inputs.cluster), Vec::new());
    for (id, _) in &inputs.namespaces {
        by_subject.insert((SubjectKind::Namespace, *id), Vec::new());
    }
    for ((scope, danger, subject), mut how) in grants {
        let target = if scope.is_empty() {
            (SubjectKind::Cluster, inputs.cluster)
        } else {
            match namespace_ids.get(scope.as_str()) {
                Some(id) => (SubjectKind::Namespace, *id),
                None => continue,
            }
        };
        how.sort();
        how.dedup();
        let within = if scope.is_empty() {
            "in every namespace".to_string()
        } else {
            format!("in namespace {scope}")
        };
        by_subject.entry(target).or_default().push(KubeFinding {
            check_id: danger.check_id().to_string(),
            instance: subject.label(),
            content: Content {
                severity: danger.severity(scope.is_empty()).to_string(),
                cis_section: None,
                evidence: format!("{} {within}, through {}", subject.label(), how.join("; ")),
                title: Some(danger.title().to_string()),
                remediation: Some(danger.remediation().to_string()),
            },
        });
    }

    let accounts: HashMap<(&str, &str), &AccountFacts> = inputs
        .accounts
        .iter()
        .map(|a| ((a.namespace.as_str(), a.name.as_str()), &a.facts))
        .collect();
    for pod in &inputs.pods {
        let account = accounts.get(&(pod.namespace.as_str(), pod.account.as_str()));
        // The pod's own setting wins over its account's; unset on both, the token is mounted.
        let mounted = pod
            .automount
            .or_else(|| account.and_then(|a| a.automount))
            .unwrap_or(true);
        let unused = !bound.contains(&(pod.namespace.clone(), pod.account.clone()));
        let mut found = Vec::new();
        if mounted && unused {
            found.push(KubeFinding {
                check_id: "k8s.rbac.token_automounted".to_string(),
                instance: String::new(),
                content: Content {
                    severity: "low".to_string(),
                    cis_section: None,
                    evidence: format!(
                        "service account {}/{} is bound to no role, yet its token is mounted in the pod",
                        pod.namespace, pod.account
                    ),
                    title: Some("Service account token mounted but not used".to_string()),
                    remediation: Some("Set automountServiceAccountToken: false on the pod (or its service account), so that a compromised container holds no cluster credential.".to_string()),
                },
            });
        }
        by_subject.insert((SubjectKind::Pod, pod.id), found);
    }
    by_subject
        .into_iter()
        .map(|((kind, id), found)| (kind, id, found))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> Vec<Rule> {
        RoleFacts::read(&json!({ "rules": v })).rules
    }

    #[test]
    fn dangerous_grants_are_recognised_rule_by_rule() {
        use Danger::*;
        let cases: Vec<(Value, Vec<Danger>)> = vec![
            // cluster-admin's rules: full control, which says it all.
            (
                json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                    {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
                vec![FullControl],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]),
                vec![Wildcard, ReadSecrets],
            ),
            (
                json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]),
                vec![Wildcard],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
                vec![ReadSecrets],
            ),
            // Named secrets only: a narrow grant, not "read secrets".
            (
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["tls"]}]),
                vec![],
            ),
            // Secrets of another group are not the core secrets.
            (
                json!([{"apiGroups": ["example.io"], "resources": ["secrets"], "verbs": ["get"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]),
                vec![PodExec],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete"]}]),
                vec![CreatePods],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}]),
                vec![Escalate],
            ),
            (
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}]),
                vec![Escalate],
            ),
            (
                json!([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}]),
                vec![Escalate],
            ),
            // bind on something else is not a binding of roles.
            (
                json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["bind"]}]),
                vec![],
            ),
            (
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["get", "list"]}]),
                vec![],
            ),
        ];
        for (v, expected) in cases {
            let got: Vec<Danger> = dangers(&rules(v.clone())).into_iter().collect();
            assert_eq!(got, expected, "{v}");
        }
    }

    fn named<T>(namespace: &str, name: &str, facts: T) -> Named<T> {
        Named {
            namespace: namespace.to_string(),
            name: name.to_string(),
            facts,
        }
    }

    fn binding(
        namespace: &str,
        name: &str,
        role: (&str, &str),
        subjects: Value,
    ) -> Named<BindingFacts> {
        let obj = json!({"roleRef": {"kind": role.0, "name": role.1}, "subjects": subjects});
        named(namespace, name, BindingFacts::read(&obj, namespace))
    }

    #[test]
    fn subjects_are_judged_where_their_bindings_grant() {
        let admin = RoleFacts::read(
            &json!({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
        );
        let secrets = RoleFacts::read(
            &json!({"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
        );
        let viewer = RoleFacts::read(
            &json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        );
        let inputs = Inputs {
            cluster: 7,
            namespaces: vec![(1, "shop".into()), (2, "ci".into())],
            cluster_roles: vec![
                named("", "cluster-admin", admin),
                named("", "secret-reader", secrets.clone()),
            ],
            roles: vec![named("ci", "pod-viewer", viewer)],
            cluster_bindings: vec![
                binding(
                    "",
                    "ops-admins",
                    ("ClusterRole", "cluster-admin"),
                    json!([{"kind": "Group", "name": "ops"}]),
                ),
                // Kubernetes' own: not reported.
                binding(
                    "",
                    "cluster-admin",
                    ("ClusterRole", "cluster-admin"),
                    json!([{"kind": "Group", "name": "system:masters"}]),
                ),
                binding(
                    "",
                    "system:controller:x",
                    ("ClusterRole", "secret-reader"),
                    json!([{"kind": "User", "name": "mallory"}]),
                ),
            ],
            bindings: vec![
                // A ClusterRole through a RoleBinding grants in that namespace only.
                binding(
                    "shop",
                    "deployer-secrets",
                    ("ClusterRole", "secret-reader"),
                    json!([{"kind": "ServiceAccount", "name": "deployer"}]),
                ),
                binding(
                    "ci",
                    "runner",
                    ("Role", "pod-viewer"),
                    json!([{"kind": "ServiceAccount", "name": "runner"}]),
                ),
                // A Role of another namespace is not found: nothing granted.
                binding(
                    "ci",
                    "borrowed",
                    ("Role", "missing"),
                    json!([{"kind": "User", "name": "eve"}]),
                ),
            ],
            accounts: vec![named(
                "shop",
                "quiet",
                AccountFacts::read(&json!({"automountServiceAccountToken": false})),
            )],
            pods: vec![
                PodAccount {
                    id: 10,
                    namespace: "shop".into(),
                    account: "default".into(),
                    automount: None,
                },
                PodAccount {
                    id: 11,
                    namespace: "shop".into(),
                    account: "quiet".into(),
                    automount: None,
                },
                PodAccount {
                    id: 12,
                    namespace: "shop".into(),
                    account: "deployer".into(),
                    automount: None,
                },
                PodAccount {
                    id: 13,
                    namespace: "shop".into(),
                    account: "default".into(),
                    automount: Some(false),
                },
                PodAccount {
                    id: 14,
                    namespace: "ci".into(),
                    account: "runner".into(),
                    automount: Some(true),
                },
            ],
        };
        let found = evaluate(&inputs);
        let of = |kind: SubjectKind, id: i64| -> Vec<(String, String, String)> {
            found
                .iter()
                .filter(|(k, i, _)| *k == kind && *i == id)
                .flat_map(|(_, _, f)| {
                    f.iter().map(|f| {
                        (
                            f.check_id.clone(),
                            f.instance.clone(),
                            f.content.severity.clone(),
                        )
                    })
                })
                .collect()
        };
        assert_eq!(
            of(SubjectKind::Cluster, 7),
            [(
                "k8s.rbac.full_control".to_string(),
                "Group ops".to_string(),
                "critical".to_string()
            )]
        );
        assert_eq!(
            of(SubjectKind::Namespace, 1),
            [(
                "k8s.rbac.read_secrets".to_string(),
                "ServiceAccount shop/deployer".to_string(),
                "high".to_string()
            )]
        );
        let evidence = &found
            .iter()
            .find(|(k, i, _)| *k == SubjectKind::Namespace && *i == 1)
            .unwrap()
            .2[0]
            .content
            .evidence;
        assert!(
            evidence.contains("RoleBinding deployer-secrets → ClusterRole secret-reader"),
            "{evidence}"
        );
        assert!(of(SubjectKind::Namespace, 2).is_empty());
        // Tokens: mounted by default on an unbound account; the account or the pod can say
        // no; a bound account uses its token.
        assert_eq!(of(SubjectKind::Pod, 10).len(), 1);
        assert!(of(SubjectKind::Pod, 11).is_empty());
        assert!(of(SubjectKind::Pod, 12).is_empty());
        assert!(of(SubjectKind::Pod, 13).is_empty());
        assert!(of(SubjectKind::Pod, 14).is_empty());
    }
}
