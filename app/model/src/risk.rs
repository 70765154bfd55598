//! Risk scores and their breakdowns: what is scored, the factors a score is made of, and
//! what would lower it. The scoring itself lives in `coastguard_core::risk`; these are the
//! plain views the pages and the REST API show.

use serde::{Deserialize, Serialize};

/// What a score is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskSubject {
    Image,
    Container,
    Pod,
    Workload,
    /// A Docker engine or a Kubernetes node.
    Host,
    Namespace,
    Cluster,
}

impl RiskSubject {
    pub const ALL: [RiskSubject; 7] = [
        RiskSubject::Image,
        RiskSubject::Container,
        RiskSubject::Pod,
        RiskSubject::Workload,
        RiskSubject::Host,
        RiskSubject::Namespace,
        RiskSubject::Cluster,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskSubject::Image => "image",
            RiskSubject::Container => "container",
            RiskSubject::Pod => "pod",
            RiskSubject::Workload => "workload",
            RiskSubject::Host => "host",
            RiskSubject::Namespace => "namespace",
            RiskSubject::Cluster => "cluster",
        }
    }

    /// The page that shows one subject of this kind.
    pub fn page(self, id: i64) -> Option<String> {
        match self {
            RiskSubject::Image => Some(format!("/images/{id}")),
            RiskSubject::Container => Some(format!("/containers/{id}")),
            RiskSubject::Host => Some(format!("/hosts/{id}")),
            RiskSubject::Pod => Some(format!("/kubernetes/pods/{id}")),
            RiskSubject::Workload => Some(format!("/kubernetes/workloads/{id}")),
            RiskSubject::Namespace => Some(format!("/kubernetes/namespaces/{id}")),
            RiskSubject::Cluster => Some(format!("/kubernetes/clusters/{id}")),
        }
    }
}

impl std::str::FromStr for RiskSubject {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RiskSubject::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown subject kind '{s}': use one of {}",
                    RiskSubject::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

/// The families of evidence a score combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskFactorKind {
    /// Open, unsuppressed vulnerability findings (severity, CVSS, fix, exploitation).
    Vulnerabilities,
    /// Reachability: ports on every interface, host network, node ports.
    Exposure,
    /// Privileges: root, privileged, capabilities, host namespaces and mounts.
    Privilege,
    /// Where the image comes from: registry trust, mutable tags, age, signatures.
    Provenance,
    /// Runtime alerts and drift.
    Runtime,
    /// Other configuration findings (limits, health checks, secrets, engine settings).
    Configuration,
    /// What runs on a host, namespace or cluster.
    Workloads,
}

impl RiskFactorKind {
    pub fn label(self) -> &'static str {
        match self {
            RiskFactorKind::Vulnerabilities => "Vulnerabilities",
            RiskFactorKind::Exposure => "Exposure",
            RiskFactorKind::Privilege => "Privilege",
            RiskFactorKind::Provenance => "Provenance",
            RiskFactorKind::Runtime => "Runtime",
            RiskFactorKind::Configuration => "Configuration",
            RiskFactorKind::Workloads => "What runs on it",
        }
    }
}

/// One piece of evidence behind a factor: a package's vulnerabilities, a finding, a
/// container on a host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskItem {
    pub label: String,
    /// Its points before the factor's weight.
    pub points: f64,
    /// Where the findings behind it are listed.
    pub link: Option<String>,
}

/// One factor of a score: its weight, the points it adds and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskFactor {
    pub kind: RiskFactorKind,
    /// What multiplies the evidence's points (exposure and privilege multiply a
    /// container's inherited vulnerabilities; 1 elsewhere).
    pub weight: f64,
    /// Points this factor adds to the raw total (evidence points × weight).
    pub points: f64,
    /// This factor's part of the raw total, 0–1.
    pub share: f64,
    /// How many findings, alerts or assets stand behind it.
    pub count: i64,
    /// The largest contributors, worst first (at most 10).
    pub items: Vec<RiskItem>,
    /// Every finding behind this factor, listed.
    pub link: Option<String>,
}

/// Fixing one package: what the score would become.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskFix {
    pub package: String,
    /// Open findings in that package.
    pub findings: i64,
    /// Of them, with a fixed version available.
    pub fixable: i64,
    pub link: String,
}

/// A score with everything that explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskBreakdown {
    pub subject: RiskSubject,
    pub id: i64,
    pub name: String,
    /// 0–100: `100 × (1 − e^(−raw / 50))`.
    pub score: i64,
    /// The sum of the factors' points.
    pub raw: f64,
    pub factors: Vec<RiskFactor>,
    /// The packages whose fixes lower the score most, in that order (at most 5).
    pub fixes: Vec<RiskFix>,
    /// The score after fixing the first three packages of `fixes`.
    pub score_after_fixes: Option<i64>,
    pub computed_at: i64,
}

impl RiskBreakdown {
    /// "Fix these 3 packages to remove 60% of this image's risk", when fixes help.
    pub fn fix_summary(&self) -> Option<String> {
        let after = self.score_after_fixes?;
        if self.score == 0 || after >= self.score {
            return None;
        }
        let n = self.fixes.len().min(3);
        let removed = (self.score - after) * 100 / self.score;
        Some(format!(
            "Fixing {} package{} ({}) removes {removed}% of this {}'s risk (score {} → {after}).",
            n,
            if n == 1 { "" } else { "s" },
            self.fixes
                .iter()
                .take(3)
                .map(|f| f.package.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            self.subject.as_str(),
            self.score
        ))
    }
}

/// One row of a ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskEntry {
    pub subject: RiskSubject,
    pub id: i64,
    pub name: String,
    pub score: i64,
    /// The factor adding the most points.
    pub top_factor: Option<RiskFactorKind>,
    pub computed_at: i64,
}

/// Maps raw points to the 0–100 score: strictly increasing, 50 raw points ≈ 63.
pub fn score_of(raw: f64) -> i64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 0;
    }
    (100.0 * (1.0 - (-raw / 50.0).exp()))
        .round()
        .clamp(0.0, 100.0) as i64
}
