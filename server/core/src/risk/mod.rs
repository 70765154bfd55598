//! Risk scoring: pure functions from evidence (vulnerability findings, configuration
//! findings, runtime alerts, what runs where) to explainable scores. The store gathers
//! the evidence and keeps the results (`store/risk.rs`); docs/risk.md explains the model
//! to users.
//!
//! Every score is `score_of(raw)`, raw being the sum of its factors' points, and every
//! factor's points are its evidence's points times a weight ≥ 1. Evidence only ever adds
//! points, so adding a vulnerability, a privilege or an exposure never lowers a score.

pub mod store;

use coastguard_model::risk::{
    score_of, RiskBreakdown, RiskFactor, RiskFactorKind, RiskFix, RiskItem, RiskSubject,
};
use coastguard_model::Severity;
use std::collections::{BTreeMap, HashMap};

/// Items kept per factor in a breakdown.
const ITEMS: usize = 10;
/// Packages proposed as fixes.
const FIXES: usize = 5;

/// One open, unsuppressed vulnerability finding.
#[derive(Debug, Clone)]
pub struct VulnEvidence {
    pub severity: Severity,
    pub cvss: Option<f64>,
    pub fixable: bool,
    pub known_exploited: bool,
    pub epss: Option<f64>,
}

/// The severity a CVSS base score falls in (CVSS v3 bands).
fn cvss_band(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Unknown,
    }
}

fn severity_points(s: Severity) -> f64 {
    match s {
        Severity::Critical => 10.0,
        Severity::High => 4.0,
        Severity::Medium => 1.0,
        Severity::Low => 0.25,
        Severity::Unknown => 0.25,
        Severity::Negligible => 0.01,
    }
}

/// Points of one vulnerability finding: its severity (the worse of the scanner's and the
/// CVSS score's band, except that a scanner's `negligible` stands: the distribution judged
/// the flaw harmless in its package, whatever its generic score), times 3 when known to be
/// exploited, times `1 + 4 × EPSS`, times 1.25 when a fix is published (the flaw is public
/// and the way out exists).
pub fn vuln_points(v: &VulnEvidence) -> f64 {
    let severity = match v.cvss.map(cvss_band) {
        Some(band) if v.severity != Severity::Negligible => v.severity.max(band),
        _ => v.severity,
    };
    let mut p = severity_points(severity);
    if v.known_exploited {
        p *= 3.0;
    }
    if let Some(epss) = v.epss.filter(|e| e.is_finite()) {
        p *= 1.0 + 4.0 * epss.clamp(0.0, 1.0);
    }
    if v.fixable {
        p *= 1.25;
    }
    p
}

/// Points of one open configuration finding, by its severity.
pub fn config_points(s: Severity) -> f64 {
    match s {
        Severity::Critical => 15.0,
        Severity::High => 8.0,
        Severity::Medium => 3.0,
        Severity::Low => 1.0,
        Severity::Unknown => 0.5,
        Severity::Negligible => 0.05,
    }
}

/// Points of one open runtime alert, by its severity.
pub fn alert_points(s: Severity) -> f64 {
    match s {
        Severity::Critical => 20.0,
        Severity::High => 10.0,
        Severity::Medium => 4.0,
        Severity::Low => 1.0,
        Severity::Unknown => 1.0,
        Severity::Negligible => 0.1,
    }
}

/// Which factor a configuration check feeds.
pub fn factor_of_check(check_id: &str) -> RiskFactorKind {
    use RiskFactorKind::*;
    match check_id {
        "container.port_on_all_interfaces"
        | "container.privileged_port"
        | "container.host_network"
        | "container.default_bridge"
        | "host.tcp_without_tls"
        | "host.icc_enabled" => Exposure,
        "container.privileged"
        | "container.capability_added"
        | "container.capabilities_not_dropped"
        | "container.runs_as_root"
        | "container.rootfs_writable"
        | "container.host_pid"
        | "container.host_ipc"
        | "container.host_uts"
        | "container.host_userns"
        | "container.docker_socket"
        | "container.sensitive_mount"
        | "container.mount_propagation_shared"
        | "container.host_device"
        | "container.seccomp_unconfined"
        | "container.apparmor_unconfined"
        | "container.new_privileges_allowed"
        | "image.runs_as_root"
        | "host.userns_disabled"
        | "host.seccomp_unavailable" => Privilege,
        "image.untrusted_registry"
        | "image.stale"
        | "container.mutable_image_tag"
        | "host.insecure_registry"
        | "provenance.signature_required"
        | "provenance.tag_moved" => Provenance,
        "container.drift" => Runtime,
        // Pod Security Standards: host ports reach the pod from outside the cluster's
        // network; every other check is about what the pod may do to its node.
        "k8s.pss.hostPorts" => Exposure,
        // Network isolation: what can reach the pod, and what it can reach.
        c if c.starts_with("k8s.network.") => Exposure,
        "k8s.hygiene.mutable_tag"
        | "k8s.hygiene.pull_policy"
        | "k8s.hygiene.untrusted_registry" => Provenance,
        c if c.starts_with("k8s.pss.") => Privilege,
        // An image nobody scanned may hold anything: counted with its vulnerabilities.
        c if c.starts_with("coverage.") => Vulnerabilities,
        _ => Configuration,
    }
}

/// One open configuration finding (instances of one check on one subject folded).
#[derive(Debug, Clone)]
pub struct ConfigEvidence {
    pub check_id: String,
    pub severity: Severity,
    /// How many instances (mounts, ports, env keys) it has.
    pub count: i64,
}

/// A subject's vulnerabilities, folded by package.
#[derive(Debug, Clone, Default)]
pub struct PackageVulns {
    pub points: f64,
    pub findings: i64,
    pub fixable: i64,
}

/// An image's vulnerability evidence: points per package.
#[derive(Debug, Clone, Default)]
pub struct ImageVulns {
    pub packages: HashMap<String, PackageVulns>,
}

impl ImageVulns {
    pub fn add(&mut self, package: &str, v: &VulnEvidence) {
        let p = self.packages.entry(package.to_string()).or_default();
        p.points += vuln_points(v);
        p.findings += 1;
        p.fixable += i64::from(v.fixable);
    }

    pub fn points(&self) -> f64 {
        self.packages.values().map(|p| p.points).sum()
    }

    /// Packages worst first (ties by name, so breakdowns are stable).
    fn ranked(&self) -> Vec<(&String, &PackageVulns)> {
        let mut v: Vec<_> = self.packages.iter().collect();
        v.sort_by(|a, b| b.1.points.total_cmp(&a.1.points).then(a.0.cmp(b.0)));
        v
    }
}

/// One open runtime alert rule on a container (repeats folded).
#[derive(Debug, Clone)]
pub struct AlertEvidence {
    pub rule: String,
    pub severity: Severity,
    pub count: i64,
}

/// A factor under construction.
#[derive(Default)]
struct Acc {
    weight: f64,
    evidence: f64,
    count: i64,
    items: Vec<RiskItem>,
    link: Option<String>,
}

/// Builds a breakdown factor by factor.
pub struct Builder {
    subject: RiskSubject,
    id: i64,
    factors: BTreeMap<RiskFactorKind, Acc>,
}

impl Builder {
    pub fn new(subject: RiskSubject, id: i64) -> Self {
        Builder {
            subject,
            id,
            factors: BTreeMap::new(),
        }
    }

    fn acc(&mut self, kind: RiskFactorKind) -> &mut Acc {
        self.factors.entry(kind).or_insert_with(|| Acc {
            weight: 1.0,
            ..Acc::default()
        })
    }

    fn item(
        &mut self,
        kind: RiskFactorKind,
        label: String,
        points: f64,
        count: i64,
        link: Option<String>,
    ) {
        let acc = self.acc(kind);
        acc.evidence += points;
        acc.count += count;
        acc.items.push(RiskItem {
            label,
            points: round2(points),
            link,
        });
    }

    /// Configuration findings of `owner` (this subject, or the image a container runs),
    /// each in its factor.
    pub fn config(&mut self, findings: &[ConfigEvidence], owner: (&str, i64), prefix: &str) {
        for f in findings {
            let kind = factor_of_check(&f.check_id);
            let label = format!("{prefix}{} ({})", f.check_id, f.severity.as_str());
            let link = format!(
                "/findings?subject_kind={}&subject_id={}&check={}",
                owner.0, owner.1, f.check_id
            );
            self.item(
                kind,
                label,
                config_points(f.severity) * f.count.max(1) as f64,
                f.count.max(1),
                Some(link),
            );
            if self.acc(kind).link.is_none() {
                self.acc(kind).link = Some(format!(
                    "/findings?subject_kind={}&subject_id={}",
                    owner.0, owner.1
                ));
            }
        }
    }

    /// An image's vulnerabilities, by package, multiplied by `weight`.
    pub fn vulns(&mut self, image_id: i64, vulns: &ImageVulns, weight: f64) {
        let acc = self.acc(RiskFactorKind::Vulnerabilities);
        acc.weight = weight.max(1.0);
        acc.link = Some(format!("/vulnerabilities?image={image_id}"));
        for (pkg, p) in vulns.ranked() {
            self.item(
                RiskFactorKind::Vulnerabilities,
                format!(
                    "{pkg}: {} finding{}",
                    p.findings,
                    if p.findings == 1 { "" } else { "s" }
                ),
                p.points,
                p.findings,
                Some(format!(
                    "/vulnerabilities?image={image_id}&package={}",
                    urlencode(pkg)
                )),
            );
        }
    }

    /// Open runtime alerts.
    pub fn alerts(&mut self, alerts: &[AlertEvidence]) {
        for a in alerts {
            self.item(
                RiskFactorKind::Runtime,
                format!("alert: {} ({}, ×{})", a.rule, a.severity.as_str(), a.count),
                alert_points(a.severity),
                a.count,
                // Runtime alerts get their own page with their issue.
                None,
            );
        }
    }

    /// What runs on a host or namespace: the riskiest counts in full, each other one
    /// for a quarter of its points.
    pub fn workloads(&mut self, children: &[(RiskSubject, i64, String, f64)]) {
        let mut sorted: Vec<_> = children.iter().filter(|c| c.3 > 0.0).collect();
        sorted.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.1.cmp(&b.1)));
        for (i, (kind, id, name, raw)) in sorted.into_iter().enumerate() {
            let share = if i == 0 { 1.0 } else { 0.25 };
            self.item(
                RiskFactorKind::Workloads,
                format!("{} {name} (score {})", kind.as_str(), score_of(*raw)),
                raw * share,
                1,
                kind.page(*id),
            );
        }
    }

    /// Points of one factor so far (evidence × weight).
    pub fn points(&self, kind: RiskFactorKind) -> f64 {
        self.factors
            .get(&kind)
            .map(|a| a.evidence * a.weight)
            .unwrap_or(0.0)
    }

    /// The raw total.
    pub fn raw(&self) -> f64 {
        self.factors.values().map(|a| a.evidence * a.weight).sum()
    }

    /// The finished breakdown; `vulns` proposes package fixes when the subject carries
    /// an image's vulnerabilities.
    pub fn finish(
        self,
        name: String,
        vulns: Option<&ImageVulns>,
        computed_at: i64,
    ) -> RiskBreakdown {
        let raw = self.raw();
        let vuln_weight = self
            .factors
            .get(&RiskFactorKind::Vulnerabilities)
            .map(|a| a.weight)
            .unwrap_or(1.0);
        let score = score_of(raw);
        let (fixes, score_after_fixes) = match vulns {
            Some(v) if !v.packages.is_empty() => {
                let ranked = v.ranked();
                let removed: f64 =
                    ranked.iter().take(3).map(|(_, p)| p.points).sum::<f64>() * vuln_weight;
                let image = match self.subject {
                    RiskSubject::Image => self.id,
                    _ => 0,
                };
                let fixes = ranked
                    .iter()
                    .take(FIXES)
                    .map(|(pkg, p)| RiskFix {
                        package: (*pkg).clone(),
                        findings: p.findings,
                        fixable: p.fixable,
                        link: if image > 0 {
                            format!("/vulnerabilities?image={image}&package={}", urlencode(pkg))
                        } else {
                            format!("/vulnerabilities?package={}", urlencode(pkg))
                        },
                    })
                    .collect();
                (fixes, Some(score_of((raw - removed).max(0.0))))
            }
            _ => (Vec::new(), None),
        };
        let factors = self
            .factors
            .into_iter()
            .map(|(kind, mut acc)| {
                let points = acc.evidence * acc.weight;
                acc.items
                    .sort_by(|a, b| b.points.total_cmp(&a.points).then(a.label.cmp(&b.label)));
                acc.items.truncate(ITEMS);
                RiskFactor {
                    kind,
                    weight: round2(acc.weight),
                    points: round2(points),
                    share: if raw > 0.0 { round2(points / raw) } else { 0.0 },
                    count: acc.count,
                    items: acc.items,
                    link: acc.link,
                }
            })
            .collect();
        RiskBreakdown {
            subject: self.subject,
            id: self.id,
            name,
            score,
            raw: round2(raw),
            factors,
            fixes,
            score_after_fixes,
            computed_at,
        }
    }
}

/// How much a container's exposure and privileges multiply the vulnerabilities it runs:
/// each of the two adds up to 100% (at 20 points of its findings), so the same image
/// counts up to four times as much running privileged and exposed.
pub fn container_vuln_weight(exposure_points: f64, privilege_points: f64) -> f64 {
    let part = |p: f64| 1.0 + (p / 20.0).clamp(0.0, 1.0);
    part(exposure_points) * part(privilege_points)
}

/// Evidence points of a set of configuration findings that feed `kind`.
pub fn config_points_for(findings: &[ConfigEvidence], kind: RiskFactorKind) -> f64 {
    findings
        .iter()
        .filter(|f| factor_of_check(&f.check_id) == kind)
        .map(|f| config_points(f.severity) * f.count.max(1) as f64)
        .sum()
}

/// An image's score.
pub fn score_image(
    id: i64,
    name: String,
    vulns: Option<&ImageVulns>,
    config: &[ConfigEvidence],
    now: i64,
) -> RiskBreakdown {
    let mut b = Builder::new(RiskSubject::Image, id);
    if let Some(v) = vulns {
        b.vulns(id, v, 1.0);
    }
    b.config(config, ("image", id), "");
    b.finish(name, vulns, now)
}

/// What a container's score is made of.
pub struct ContainerEvidence<'a> {
    pub id: i64,
    pub name: String,
    pub image_id: Option<i64>,
    pub image_vulns: Option<&'a ImageVulns>,
    pub image_config: &'a [ConfigEvidence],
    pub config: &'a [ConfigEvidence],
    pub alerts: &'a [AlertEvidence],
}

/// A container's score: its image's vulnerabilities weighted by its own exposure and
/// privileges, its image's and its own configuration findings, its runtime alerts.
pub fn score_container(c: &ContainerEvidence<'_>, now: i64) -> RiskBreakdown {
    let mut b = Builder::new(RiskSubject::Container, c.id);
    let all: Vec<ConfigEvidence> = c.config.iter().chain(c.image_config).cloned().collect();
    let weight = container_vuln_weight(
        config_points_for(&all, RiskFactorKind::Exposure),
        config_points_for(&all, RiskFactorKind::Privilege),
    );
    if let (Some(image), Some(v)) = (c.image_id, c.image_vulns) {
        b.vulns(image, v, weight);
    }
    b.config(c.config, ("container", c.id), "");
    if let Some(image) = c.image_id {
        b.config(c.image_config, ("image", image), "image: ");
    }
    b.alerts(c.alerts);
    b.finish(c.name.clone(), c.image_vulns, now)
}

/// A host's score: its own findings and what runs on it.
pub fn score_host(
    id: i64,
    name: String,
    config: &[ConfigEvidence],
    containers: &[(RiskSubject, i64, String, f64)],
    now: i64,
) -> RiskBreakdown {
    let mut b = Builder::new(RiskSubject::Host, id);
    b.config(config, ("host", id), "");
    b.workloads(containers);
    b.finish(name, None, now)
}

/// What a pod's (or a workload's) score is made of: its own findings (Pod Security and
/// hygiene), and the images it runs with their vulnerabilities and image findings.
pub struct PodEvidence<'a> {
    pub subject: RiskSubject,
    pub id: i64,
    pub name: String,
    pub config: &'a [ConfigEvidence],
    /// The images it runs: id, vulnerabilities, the image's own findings.
    pub images: Vec<(i64, Option<&'a ImageVulns>, &'a [ConfigEvidence])>,
}

/// A pod's or workload's score, as a container's: the vulnerabilities of every image it
/// runs, weighted by its exposure and privileges (host ports, privileged, host
/// namespaces...), its own and its images' findings. Package fixes are proposed for the
/// image that carries the most vulnerability points.
pub fn score_pod(p: &PodEvidence<'_>, now: i64) -> RiskBreakdown {
    let mut b = Builder::new(p.subject, p.id);
    let all: Vec<ConfigEvidence> = p
        .config
        .iter()
        .chain(p.images.iter().flat_map(|(_, _, c)| c.iter()))
        .cloned()
        .collect();
    let weight = container_vuln_weight(
        config_points_for(&all, RiskFactorKind::Exposure),
        config_points_for(&all, RiskFactorKind::Privilege),
    );
    b.config(p.config, (p.subject.as_str(), p.id), "");
    let mut worst: Option<&ImageVulns> = None;
    for &(image, vulns, config) in &p.images {
        if let Some(v) = vulns {
            b.vulns(image, v, weight);
            if worst.is_none_or(|w| v.points() > w.points()) {
                worst = Some(v);
            }
        }
        b.config(config, ("image", image), "image: ");
    }
    b.finish(p.name.clone(), worst, now)
}

/// A namespace's or cluster's score: its own findings and what runs in it (the riskiest
/// child in full, each other one for a quarter, as a host's).
pub fn score_group(
    subject: RiskSubject,
    id: i64,
    name: String,
    config: &[ConfigEvidence],
    children: &[(RiskSubject, i64, String, f64)],
    now: i64,
) -> RiskBreakdown {
    let mut b = Builder::new(subject, id);
    b.config(config, (subject.as_str(), id), "");
    b.workloads(children);
    b.finish(name, None, now)
}

/// A live pod as the store read it: id, name, the images it runs, its top-level
/// workload (a Deployment for a ReplicaSet's pod), namespace and node (a host).
#[derive(Debug, Clone, Default)]
pub struct PodUnit {
    pub id: i64,
    pub name: String,
    pub images: Vec<i64>,
    pub workload: Option<i64>,
    pub namespace: Option<i64>,
    pub node: Option<i64>,
}

/// Everything the scores of an estate are computed from, as the store read it.
#[derive(Debug, Default)]
pub struct Estate {
    /// Open vulnerability findings, per image.
    pub vulns: HashMap<i64, ImageVulns>,
    /// Open configuration findings, per (subject kind, id).
    pub config: HashMap<(String, i64), Vec<ConfigEvidence>>,
    /// Open runtime alerts, per container.
    pub alerts: HashMap<i64, Vec<AlertEvidence>>,
    /// Every image: id and name.
    pub images: Vec<(i64, String)>,
    /// Running containers: id, name, image, host.
    pub containers: Vec<(i64, String, Option<i64>, Option<i64>)>,
    /// Hosts (Docker engines and Kubernetes nodes): id and name.
    pub hosts: Vec<(i64, String)>,
    /// Live pods that run or are about to.
    pub pods: Vec<PodUnit>,
    /// Live top-level workloads (not a Deployment's ReplicaSets): id, name, namespace.
    pub workloads: Vec<(i64, String, Option<i64>)>,
    /// Live namespaces: id, name, cluster.
    pub namespaces: Vec<(i64, String, i64)>,
    /// Clusters: id and name.
    pub clusters: Vec<(i64, String)>,
}

impl Estate {
    fn config_of(&self, kind: &str, id: i64) -> &[ConfigEvidence] {
        self.config
            .get(&(kind.to_string(), id))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The images `ids` with their vulnerabilities and image findings.
    fn images_of(&self, ids: &[i64]) -> Vec<(i64, Option<&ImageVulns>, &[ConfigEvidence])> {
        ids.iter()
            .map(|i| (*i, self.vulns.get(i), self.config_of("image", *i)))
            .collect()
    }
}

/// Scores every image, running container, pod, workload, host, namespace and cluster of
/// an estate: images first, then what runs them (containers and pods inherit their
/// images'), then what holds those (a host what runs on it, a workload the images its
/// pods run, a namespace its workloads and bare pods, a cluster its namespaces).
pub fn score_estate(e: &Estate, now: i64) -> Vec<RiskBreakdown> {
    let mut scores = Vec::with_capacity(
        e.images.len()
            + e.containers.len()
            + e.hosts.len()
            + e.pods.len()
            + e.workloads.len()
            + e.namespaces.len()
            + e.clusters.len(),
    );
    for (id, name) in &e.images {
        let config = e.config_of("image", *id);
        scores.push(score_image(*id, name.clone(), e.vulns.get(id), config, now));
    }
    let mut per_host: HashMap<i64, Vec<(RiskSubject, i64, String, f64)>> = HashMap::new();
    for (id, name, image_id, host_id) in &e.containers {
        let b = score_container(
            &ContainerEvidence {
                id: *id,
                name: name.clone(),
                image_id: *image_id,
                image_vulns: image_id.and_then(|i| e.vulns.get(&i)),
                image_config: image_id.map(|i| e.config_of("image", i)).unwrap_or(&[]),
                config: e.config_of("container", *id),
                alerts: e.alerts.get(id).map(Vec::as_slice).unwrap_or(&[]),
            },
            now,
        );
        if let Some(h) = host_id {
            let child = (RiskSubject::Container, *id, name.clone(), b.raw);
            per_host.entry(*h).or_default().push(child);
        }
        scores.push(b);
    }
    let mut held = score_pods(e, now, &mut per_host, &mut scores);
    for (id, name) in &e.hosts {
        let children = per_host.remove(id).unwrap_or_default();
        let config = e.config_of("host", *id);
        scores.push(score_host(*id, name.clone(), config, &children, now));
    }
    score_workloads(e, now, &mut held, &mut scores);
    score_namespaces_and_clusters(e, now, held.per_namespace, &mut scores);
    scores
}

/// Children of a host, namespace or cluster: kind, id, name, raw points.
type Children = Vec<(RiskSubject, i64, String, f64)>;

/// What pods leave for the scores above them: the pods no workload owns, per namespace,
/// and the images each workload's pods run.
#[derive(Default)]
struct Held {
    per_namespace: HashMap<i64, Children>,
    workload_images: HashMap<i64, Vec<i64>>,
}

fn score_pods(
    e: &Estate,
    now: i64,
    per_host: &mut HashMap<i64, Children>,
    scores: &mut Vec<RiskBreakdown>,
) -> Held {
    let mut held = Held::default();
    for pod in &e.pods {
        let b = score_pod(
            &PodEvidence {
                subject: RiskSubject::Pod,
                id: pod.id,
                name: pod.name.clone(),
                config: e.config_of("pod", pod.id),
                images: e.images_of(&pod.images),
            },
            now,
        );
        let child = (RiskSubject::Pod, pod.id, pod.name.clone(), b.raw);
        if let Some(node) = pod.node {
            per_host.entry(node).or_default().push(child.clone());
        }
        match (pod.workload, pod.namespace) {
            (Some(w), _) => held
                .workload_images
                .entry(w)
                .or_default()
                .extend(pod.images.iter().copied()),
            (None, Some(ns)) => held.per_namespace.entry(ns).or_default().push(child),
            (None, None) => {}
        }
        scores.push(b);
    }
    held
}

/// Top-level workloads, scored as a pod over their template's findings and the images
/// their pods run; each joins its namespace's children.
fn score_workloads(e: &Estate, now: i64, held: &mut Held, scores: &mut Vec<RiskBreakdown>) {
    for (id, name, namespace) in &e.workloads {
        let mut images = held.workload_images.remove(id).unwrap_or_default();
        images.sort_unstable();
        images.dedup();
        let b = score_pod(
            &PodEvidence {
                subject: RiskSubject::Workload,
                id: *id,
                name: name.clone(),
                config: e.config_of("workload", *id),
                images: e.images_of(&images),
            },
            now,
        );
        if let Some(ns) = namespace {
            let child = (RiskSubject::Workload, *id, name.clone(), b.raw);
            held.per_namespace.entry(*ns).or_default().push(child);
        }
        scores.push(b);
    }
}

fn score_namespaces_and_clusters(
    e: &Estate,
    now: i64,
    mut per_namespace: HashMap<i64, Children>,
    scores: &mut Vec<RiskBreakdown>,
) {
    let mut per_cluster: HashMap<i64, Children> = HashMap::new();
    for (id, name, cluster) in &e.namespaces {
        let children = per_namespace.remove(id).unwrap_or_default();
        let config = e.config_of("namespace", *id);
        let b = score_group(
            RiskSubject::Namespace,
            *id,
            name.clone(),
            config,
            &children,
            now,
        );
        let child = (RiskSubject::Namespace, *id, name.clone(), b.raw);
        per_cluster.entry(*cluster).or_default().push(child);
        scores.push(b);
    }
    for (id, name) in &e.clusters {
        let children = per_cluster.remove(id).unwrap_or_default();
        let config = e.config_of("cluster", *id);
        scores.push(score_group(
            RiskSubject::Cluster,
            *id,
            name.clone(),
            config,
            &children,
            now,
        ));
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Percent-encodes a query value (package names may hold `/`, `@`, `+`, spaces).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(severity: Severity) -> VulnEvidence {
        VulnEvidence {
            severity,
            cvss: None,
            fixable: false,
            known_exploited: false,
            epss: None,
        }
    }

    fn cfg(check: &str, severity: Severity) -> ConfigEvidence {
        ConfigEvidence {
            check_id: check.into(),
            severity,
            count: 1,
        }
    }

    fn image_with(vulns: &[(&str, VulnEvidence)]) -> ImageVulns {
        let mut iv = ImageVulns::default();
        for (pkg, e) in vulns {
            iv.add(pkg, e);
        }
        iv
    }

    fn container(vulns: &ImageVulns, config: &[ConfigEvidence]) -> RiskBreakdown {
        score_container(
            &ContainerEvidence {
                id: 1,
                name: "web".into(),
                image_id: Some(7),
                image_vulns: Some(vulns),
                image_config: &[],
                config,
                alerts: &[],
            },
            0,
        )
    }

    #[test]
    fn signature_and_tag_findings_count_as_provenance() {
        for check in [
            crate::registry::provenance::SIGNATURE_REQUIRED,
            crate::registry::provenance::TAG_MOVED,
            "image.untrusted_registry",
        ] {
            assert_eq!(
                factor_of_check(check),
                RiskFactorKind::Provenance,
                "{check}"
            );
        }
        // Their catalogue entries exist, so titles and remediation show.
        for check in [
            crate::registry::provenance::SIGNATURE_REQUIRED,
            crate::registry::provenance::TAG_MOVED,
        ] {
            assert!(crate::docker::catalog::check(check).is_some(), "{check}");
        }
    }

    #[test]
    fn the_score_curve_is_increasing_and_bounded() {
        assert_eq!(score_of(0.0), 0);
        assert_eq!(score_of(-3.0), 0);
        assert_eq!(score_of(f64::NAN), 0);
        assert_eq!(score_of(50.0), 63);
        let mut last = 0;
        for raw in 0..2000 {
            let s = score_of(raw as f64 / 2.0);
            assert!(s >= last && s <= 100, "raw {raw}");
            last = s;
        }
        assert_eq!(score_of(1e9), 100);
    }

    #[test]
    fn vulnerability_points_follow_severity_cvss_exploitation_and_fixes() {
        assert_eq!(vuln_points(&v(Severity::Critical)), 10.0);
        assert_eq!(vuln_points(&v(Severity::Medium)), 1.0);
        // A CVSS band above the scanner's severity wins; one below does not.
        let mut m = v(Severity::Medium);
        m.cvss = Some(9.8);
        assert_eq!(vuln_points(&m), 10.0);
        let mut c = v(Severity::Critical);
        c.cvss = Some(5.0);
        assert_eq!(vuln_points(&c), 10.0);
        // A scanner's negligible weighs next to nothing, and its generic score does not
        // lift it (688 negligible matches of one Grype report are not 688 lows).
        let mut n = v(Severity::Negligible);
        assert!(vuln_points(&n) < vuln_points(&v(Severity::Low)) / 10.0);
        n.cvss = Some(9.8);
        assert_eq!(vuln_points(&n), vuln_points(&v(Severity::Negligible)));
        let mut k = v(Severity::High);
        k.known_exploited = true;
        assert_eq!(vuln_points(&k), 12.0);
        k.epss = Some(0.5);
        assert_eq!(vuln_points(&k), 36.0);
        k.fixable = true;
        assert_eq!(vuln_points(&k), 45.0);
    }

    #[test]
    fn adding_a_critical_vulnerability_never_lowers_a_score() {
        let severities = [
            Severity::Negligible,
            Severity::Unknown,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        let mut evidence: Vec<(&str, VulnEvidence)> = Vec::new();
        let mut last_image = 0;
        let mut last_container = 0;
        for i in 0..200 {
            let mut e = v(severities[i % severities.len()]);
            e.fixable = i % 3 == 0;
            e.cvss = (i % 7 == 0).then_some((i % 11) as f64);
            evidence.push((["openssl", "zlib", "curl"][i % 3], e));
            let iv = image_with(&evidence);
            let image = score_image(7, "app".into(), Some(&iv), &[], 0);
            let c = container(&iv, &[cfg("container.privileged", Severity::Critical)]);
            assert!(
                image.score >= last_image && c.score >= last_container,
                "step {i}"
            );
            assert!(image.raw > 0.0);
            last_image = image.score;
            last_container = c.score;
        }
        let before = score_image(7, "app".into(), Some(&image_with(&evidence)), &[], 0).raw;
        evidence.push(("openssl", v(Severity::Critical)));
        let after = score_image(7, "app".into(), Some(&image_with(&evidence)), &[], 0).raw;
        assert_eq!(after - before, 10.0);
    }

    #[test]
    fn the_same_image_is_riskier_running_privileged_and_exposed() {
        let iv = image_with(&[
            ("openssl", v(Severity::Critical)),
            ("zlib", v(Severity::High)),
        ]);
        let plain = container(&iv, &[]);
        let exposed = container(
            &iv,
            &[cfg("container.port_on_all_interfaces", Severity::Medium)],
        );
        let both = container(
            &iv,
            &[
                cfg("container.port_on_all_interfaces", Severity::Medium),
                cfg("container.privileged", Severity::Critical),
                cfg("container.docker_socket", Severity::Critical),
            ],
        );
        assert_eq!(plain.raw, 14.0);
        assert!(plain.score < exposed.score && exposed.score < both.score);
        // Exposure (3 points of a medium finding) adds 15% to the vulnerabilities'
        // weight; privilege at 30 points doubles it again.
        let vulns = |b: &RiskBreakdown| {
            b.factors
                .iter()
                .find(|f| f.kind == RiskFactorKind::Vulnerabilities)
                .unwrap()
                .clone()
        };
        assert_eq!(vulns(&exposed).weight, 1.15);
        assert_eq!(vulns(&both).weight, 2.3);
        assert_eq!(vulns(&both).points, 32.2);
    }

    #[test]
    fn every_privilege_or_exposure_added_never_lowers_a_container() {
        let iv = image_with(&[("openssl", v(Severity::High))]);
        let checks = [
            "container.privileged",
            "container.port_on_all_interfaces",
            "container.host_network",
            "container.docker_socket",
            "container.runs_as_root",
            "container.capability_added",
            "container.no_memory_limit",
            "container.drift",
        ];
        let mut config = Vec::new();
        let mut last = container(&iv, &config).raw;
        for c in checks {
            config.push(cfg(c, Severity::Medium));
            let now = container(&iv, &config).raw;
            assert!(now > last, "{c}");
            last = now;
        }
    }

    #[test]
    fn a_container_is_never_below_what_its_exposure_warrants() {
        // No vulnerabilities at all: exposure findings alone carry the score.
        let empty = ImageVulns::default();
        let exposed = container(
            &empty,
            &[
                cfg("container.host_network", Severity::High),
                cfg("container.port_on_all_interfaces", Severity::Medium),
            ],
        );
        let exposure = exposed
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Exposure)
            .unwrap();
        assert_eq!(exposure.points, 11.0);
        assert!(exposed.raw >= exposure.points);
        assert_eq!(exposed.score, score_of(11.0));
        assert!(exposed.score > 0);
    }

    #[test]
    fn the_breakdown_adds_up_and_proposes_the_fixes_that_matter() {
        let iv = image_with(&[
            ("openssl", v(Severity::Critical)),
            ("openssl", v(Severity::Critical)),
            ("zlib", v(Severity::High)),
            ("bash", v(Severity::Medium)),
            ("tar", v(Severity::Low)),
        ]);
        let b = score_image(
            7,
            "app:1".into(),
            Some(&iv),
            &[cfg("image.untrusted_registry", Severity::Medium)],
            42,
        );
        assert_eq!(b.raw, 20.0 + 4.0 + 1.0 + 0.25 + 3.0);
        let sum: f64 = b.factors.iter().map(|f| f.points).sum();
        assert!((sum - b.raw).abs() < 1e-9);
        let shares: f64 = b.factors.iter().map(|f| f.share).sum();
        assert!((shares - 1.0).abs() < 0.02);
        let names: Vec<_> = b.fixes.iter().map(|f| f.package.as_str()).collect();
        assert_eq!(names, ["openssl", "zlib", "bash", "tar"]);
        assert_eq!(b.fixes[0].findings, 2);
        assert_eq!(b.fixes[0].link, "/vulnerabilities?image=7&package=openssl");
        // Fixing openssl, zlib and bash leaves the low finding and the registry.
        assert_eq!(b.score_after_fixes, Some(score_of(3.25)));
        let summary = b.fix_summary().unwrap();
        assert!(
            summary.starts_with("Fixing 3 packages (openssl, zlib, bash) removes"),
            "{summary}"
        );
        let vulns = &b.factors[0];
        assert_eq!(vulns.kind, RiskFactorKind::Vulnerabilities);
        assert_eq!(vulns.count, 5);
        assert_eq!(vulns.items[0].label, "openssl: 2 findings");
        assert_eq!(vulns.items[0].points, 20.0);
    }

    #[test]
    fn a_host_counts_its_riskiest_workload_in_full_and_the_rest_in_part() {
        let children = vec![
            (RiskSubject::Container, 1, "a".to_string(), 40.0),
            (RiskSubject::Container, 2, "b".to_string(), 20.0),
            (RiskSubject::Container, 3, "c".to_string(), 0.0),
        ];
        let h = score_host(
            5,
            "engine".into(),
            &[cfg("host.tcp_without_tls", Severity::Critical)],
            &children,
            0,
        );
        assert_eq!(h.raw, 15.0 + 40.0 + 5.0);
        let w = h
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Workloads)
            .unwrap();
        assert_eq!(w.count, 2);
        assert_eq!(w.items[0].link.as_deref(), Some("/containers/1"));
        // A riskier container never lowers its host.
        let mut more = children.clone();
        more[2].3 = 1.0;
        assert!(
            score_host(5, "engine".into(), &[], &more, 0).raw
                > score_host(5, "engine".into(), &[], &children, 0).raw
        );
    }

    #[test]
    fn a_pod_weighs_every_image_it_runs_by_its_privileges_and_exposure() {
        let web = image_with(&[("openssl", v(Severity::Critical))]);
        let side = image_with(&[("zlib", v(Severity::High))]);
        let pod = |config: &[ConfigEvidence]| {
            score_pod(
                &PodEvidence {
                    subject: RiskSubject::Pod,
                    id: 3,
                    name: "web-0".into(),
                    config,
                    images: vec![(7, Some(&web), &[]), (8, Some(&side), &[])],
                },
                0,
            )
        };
        let plain = pod(&[]);
        // Both images' vulnerabilities count, each linked to its image.
        let vulns = plain
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Vulnerabilities)
            .unwrap();
        assert_eq!(vulns.count, 2);
        let links: Vec<_> = vulns
            .items
            .iter()
            .filter_map(|i| i.link.as_deref())
            .collect();
        assert_eq!(
            links,
            [
                "/vulnerabilities?image=7&package=openssl",
                "/vulnerabilities?image=8&package=zlib"
            ]
        );
        // Fixes are proposed for the image with the most points.
        assert_eq!(plain.fixes[0].package, "openssl");
        // Privileged with host ports: the same images weigh more, and the findings
        // land in their factors.
        let risky = pod(&[
            cfg("k8s.pss.privileged", Severity::High),
            cfg("k8s.pss.hostPorts", Severity::High),
            cfg("k8s.hygiene.untrusted_registry", Severity::Medium),
            cfg("k8s.hygiene.no_requests", Severity::Low),
        ]);
        assert!(risky.score > plain.score);
        let factor = |b: &RiskBreakdown, k: RiskFactorKind| {
            b.factors
                .iter()
                .find(|f| f.kind == k)
                .map(|f| (f.count, f.weight))
        };
        assert_eq!(factor(&risky, RiskFactorKind::Privilege), Some((1, 1.0)));
        assert_eq!(factor(&risky, RiskFactorKind::Exposure), Some((1, 1.0)));
        assert_eq!(factor(&risky, RiskFactorKind::Provenance), Some((1, 1.0)));
        assert_eq!(
            factor(&risky, RiskFactorKind::Configuration),
            Some((1, 1.0))
        );
        assert!(factor(&risky, RiskFactorKind::Vulnerabilities).unwrap().1 > 1.0);
    }

    #[test]
    fn an_estate_scores_pods_workloads_nodes_namespaces_and_clusters_from_what_they_hold() {
        let mut e = Estate::default();
        e.vulns
            .insert(7, image_with(&[("openssl", v(Severity::Critical))]));
        e.images = vec![(7, "web:1".into()), (8, "clean:1".into())];
        e.hosts = vec![(50, "node-a".into())];
        e.clusters = vec![(1, "prod".into())];
        e.namespaces = vec![(10, "shop".into(), 1), (11, "empty".into(), 1)];
        e.workloads = vec![(20, "web".into(), Some(10))];
        e.config.insert(
            ("workload".into(), 20),
            vec![cfg("k8s.pss.privileged", Severity::High)],
        );
        e.config.insert(
            ("pod".into(), 30),
            vec![cfg("k8s.pss.privileged", Severity::High)],
        );
        let pod = |id: i64, name: &str, image: i64, workload: Option<i64>| PodUnit {
            id,
            name: name.into(),
            images: vec![image],
            workload,
            namespace: Some(10),
            node: Some(50),
        };
        e.pods = vec![
            pod(30, "web-1", 7, Some(20)),
            pod(31, "web-2", 7, Some(20)),
            pod(32, "debug", 8, None),
        ];
        let scores = score_estate(&e, 0);
        let of = |k: RiskSubject, id: i64| {
            scores
                .iter()
                .find(|b| b.subject == k && b.id == id)
                .unwrap_or_else(|| panic!("{k:?} {id} scored"))
        };
        // A workload is its template's findings and its pods' images, not the sum of
        // its replicas: two identical pods make it no riskier than one.
        let workload = of(RiskSubject::Workload, 20);
        assert_eq!(workload.raw, of(RiskSubject::Pod, 30).raw);
        // The namespace holds the workload and the bare pod (not the workload's pods
        // again); the cluster holds the namespace.
        let ns = of(RiskSubject::Namespace, 10);
        let children = &ns
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Workloads)
            .unwrap()
            .items;
        assert_eq!(children.len(), 1, "{children:?}");
        assert_eq!(
            children[0].link.as_deref(),
            Some("/kubernetes/workloads/20")
        );
        assert_eq!(ns.raw, workload.raw);
        assert_eq!(of(RiskSubject::Cluster, 1).raw, ns.raw);
        assert_eq!(of(RiskSubject::Namespace, 11).raw, 0.0);
        // The node counts its riskiest pod in full and the other in part.
        let pod30 = of(RiskSubject::Pod, 30).raw;
        let pod31 = of(RiskSubject::Pod, 31).raw;
        assert!(pod30 > pod31, "the pod with its own findings is riskier");
        assert_eq!(of(RiskSubject::Host, 50).raw, round2(pod30 + pod31 * 0.25));
    }

    #[test]
    fn package_links_are_encoded() {
        let iv = image_with(&[("@babel/core", v(Severity::High))]);
        let b = score_image(3, "x".into(), Some(&iv), &[], 0);
        assert_eq!(
            b.fixes[0].link,
            "/vulnerabilities?image=3&package=%40babel%2Fcore"
        );
    }
}
