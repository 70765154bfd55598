//! Pod Security Standards, judged as Kubernetes' pod-security admission judges them.
//!
//! The checks, their ids, the versions at which each changed, which restricted checks
//! replace which baseline ones, the order of the verdict and its wording follow
//! `k8s.io/pod-security-admission/policy` (the checks of policy versions v1.0 to
//! [`NEWEST`]). Objects are read raw (`serde_json::Value`), as they come from the API
//! server or a manifest: a typed struct would silently drop fields it does not know.
//!
//! A field of the wrong JSON type reads as not set (the API server would have refused
//! such an object): where "not set" is itself a violation (`allowPrivilegeEscalation`,
//! `runAsNonRoot`, restricted seccomp and capabilities) the pod fails, never passes.

mod checks;
pub mod manifest;
pub mod namespace;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

/// The newest policy version any check names (`sysctls` changed at v1.37). "latest" and
/// any newer version are judged as this one, as the admission plugin does.
pub const NEWEST: u32 = 37;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Privileged, Level::Baseline, Level::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| "must be one of privileged, baseline, restricted".to_string())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy version: `v1.N` or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Minor(u32),
    Latest,
}

impl Version {
    /// The policy version whose checks apply: newer than [`NEWEST`] (or latest) is
    /// judged as [`NEWEST`].
    pub fn effective(self) -> u32 {
        match self {
            Version::Minor(n) => n.min(NEWEST),
            Version::Latest => NEWEST,
        }
    }
}

impl std::str::FromStr for Version {
    type Err = String;
    /// `latest` or `v1.N` (no leading zeros, as the admission plugin's labels require).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let minor = s
            .strip_prefix("v1.")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse::<u32>().ok());
        minor
            .map(Version::Minor)
            .ok_or_else(|| r#"must be "latest" or "v1.x""#.to_string())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Minor(n) => write!(f, "v1.{n}"),
            Version::Latest => f.write_str("latest"),
        }
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One failed check: Kubernetes' check id, its short reason ("host namespaces") and the
/// detail the admission plugin gives for a single pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub check: &'static str,
    pub reason: &'static str,
    pub detail: String,
}

/// A pod to judge: its metadata (annotations are read) and its spec, both raw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodView<'a> {
    pub metadata: &'a Value,
    pub spec: &'a Value,
}

impl<'a> PodView<'a> {
    /// A Pod object (`metadata`, `spec`) or a pod template (the same two fields).
    pub fn of(object: &'a Value) -> Self {
        PodView {
            metadata: object.get("metadata").unwrap_or(&Value::Null),
            spec: object.get("spec").unwrap_or(&Value::Null),
        }
    }
}

/// The checks that fail for `pod` at `level` and `version`, in the admission plugin's
/// order (baseline ids sorted, then restricted ids sorted). Empty: allowed.
pub fn evaluate(pod: PodView<'_>, level: Level, version: Version) -> Vec<Violation> {
    let mut failed = Vec::new();
    for check in checks_for(level, version) {
        if let Some((reason, detail)) = (check.run)(pod) {
            failed.push(Violation {
                check: check.id,
                reason,
                detail,
            });
        }
    }
    failed
}

/// Whether `pod` passes `level` at `version`, stopping at the first failed check.
pub fn allows(pod: PodView<'_>, level: Level, version: Version) -> bool {
    checks_for(level, version)
        .iter()
        .all(|check| (check.run)(pod).is_none())
}

/// The strictest level `pod` passes at `version`.
pub fn highest_level(pod: PodView<'_>, version: Version) -> Level {
    if allows(pod, Level::Restricted, version) {
        Level::Restricted
    } else if allows(pod, Level::Baseline, version) {
        Level::Baseline
    } else {
        Level::Privileged
    }
}

/// The admission plugin's one-line message for a denied pod, e.g.
/// `host namespaces (hostNetwork=true), privileged (container "app" must not set …)`.
pub fn message(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| {
            if v.detail.is_empty() {
                v.reason.to_string()
            } else {
                format!("{} ({})", v.reason, v.detail)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every check id at any version and level, for the finding catalog.
pub fn check_ids() -> impl Iterator<Item = (&'static str, Level)> {
    checks::ALL.iter().map(|c| (c.id, c.level))
}

type RunFn = fn(PodView<'_>) -> Option<(&'static str, String)>;

/// One check as the admission plugin registers it: its versions (each the first policy
/// version it applies to), and the baseline checks a restricted one replaces.
struct Check {
    id: &'static str,
    level: Level,
    versions: &'static [(u32, RunFn)],
    overrides: &'static [&'static str],
}

#[derive(Clone, Copy)]
struct Active {
    id: &'static str,
    run: RunFn,
}

impl Check {
    /// The revision in force at policy version `v`, if the check exists then.
    fn at(&self, v: u32) -> Option<RunFn> {
        self.versions
            .iter()
            .rev()
            .find(|(min, _)| *min <= v)
            .map(|(_, run)| *run)
    }
}

/// The checks of each (level, version), computed once: index `[level][minor]`.
fn checks_for(level: Level, version: Version) -> &'static [Active] {
    static TABLE: OnceLock<[Vec<Vec<Active>>; 2]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let build = |restricted: bool| -> Vec<Vec<Active>> {
            (0..=NEWEST)
                .map(|v| active_at(v, restricted))
                .collect::<Vec<_>>()
        };
        [build(false), build(true)]
    });
    match level {
        Level::Privileged => &[],
        Level::Baseline => &table[0][version.effective() as usize],
        Level::Restricted => &table[1][version.effective() as usize],
    }
}

fn active_at(v: u32, restricted: bool) -> Vec<Active> {
    let in_force = |level: Level| {
        let mut found: Vec<(&'static str, RunFn, &'static [&'static str])> = checks::ALL
            .iter()
            .filter(|c| c.level == level)
            .filter_map(|c| c.at(v).map(|run| (c.id, run, c.overrides)))
            .collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        found
    };
    let baseline = in_force(Level::Baseline);
    if !restricted {
        return baseline
            .into_iter()
            .map(|(id, run, _)| Active { id, run })
            .collect();
    }
    let strict = in_force(Level::Restricted);
    let replaced: Vec<&str> = strict.iter().flat_map(|c| c.2.iter().copied()).collect();
    baseline
        .into_iter()
        .filter(|c| !replaced.contains(&c.0))
        .chain(strict)
        .map(|(id, run, _)| Active { id, run })
        .collect()
}
