//! Daily posture snapshots and the trend series built from them.

use crate::{Severity, SeverityCounts};
use serde::{Deserialize, Serialize};

/// How many days a finding of each severity may stay open before it breaches its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub critical_days: i64,
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub high_days: i64,
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub medium_days: i64,
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub low_days: i64,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            critical_days: 7,
            high_days: 30,
            medium_days: 90,
            low_days: 180,
        }
    }
}

impl SlaPolicy {
    /// Days allowed for a severity; unknown and negligible severities get the low allowance.
    pub fn days(&self, s: Severity) -> i64 {
        match s {
            Severity::Critical => self.critical_days,
            Severity::High => self.high_days,
            Severity::Medium => self.medium_days,
            Severity::Low | Severity::Unknown | Severity::Negligible => self.low_days,
        }
    }

    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, v) in [
            ("critical_days", self.critical_days),
            ("high_days", self.high_days),
            ("medium_days", self.medium_days),
            ("low_days", self.low_days),
        ] {
            if !(1..=3650).contains(&v) {
                return Err((field, format!("{field} must be between 1 and 3650")));
            }
        }
        Ok(())
    }
}

/// Findings fixed on a day for one severity, and how long they had been open in total,
/// so remediation times add up correctly over a week or a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Remediation {
    pub fixed: i64,
    /// Sum of (fixed at − first seen) over them, in seconds.
    pub open_seconds: i64,
}

impl Remediation {
    /// Mean time to remediate, in days.
    pub fn mean_days(&self) -> Option<f64> {
        (self.fixed > 0).then(|| self.open_seconds as f64 / self.fixed as f64 / 86_400.0)
    }
}

/// Per severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemediationBySeverity {
    pub critical: Remediation,
    pub high: Remediation,
    pub medium: Remediation,
    pub low: Remediation,
    pub unknown: Remediation,
    #[serde(default)]
    pub negligible: Remediation,
}

impl RemediationBySeverity {
    pub fn get(&self, s: Severity) -> Remediation {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
            Severity::Negligible => self.negligible,
        }
    }

    pub fn get_mut(&mut self, s: Severity) -> &mut Remediation {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Unknown => &mut self.unknown,
            Severity::Negligible => &mut self.negligible,
        }
    }
}

/// The estate's posture at the end of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Open vulnerability findings (not fixed, not suppressed) by severity.
    pub open: SeverityCounts,
    /// Findings first seen that day.
    pub new_findings: i64,
    /// Findings fixed that day.
    pub fixed_findings: i64,
    /// Of the findings fixed that day, how long they had been open, by severity.
    pub remediation: RemediationBySeverity,
    /// Open findings older than their severity's SLA at the end of the day.
    pub sla_breaches: i64,
    /// Share (0–1) of running images scanned within the coverage age; `None` when
    /// nothing was running.
    pub scan_coverage: Option<f64>,
    /// Share (0–1) of running images with a verified signature; `None` until signature
    /// verification exists.
    pub signed_share: Option<f64>,
    pub open_alerts: i64,
    /// Open findings with a fixed version available; known for days snapshotted live
    /// (not for backfilled ones).
    #[serde(default)]
    pub fixable_open: Option<i64>,
    /// Suppressed findings; known for days snapshotted live.
    #[serde(default)]
    pub suppressed: Option<i64>,
    /// When it was taken (Unix seconds). Today's snapshot is retaken through the day.
    pub taken_at: i64,
}

/// One week of the new-versus-fixed chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekFlow {
    /// The Monday the week starts (`YYYY-MM-DD`).
    pub week: String,
    pub new_findings: i64,
    pub fixed_findings: i64,
}

/// Snapshots over a range, with the series the trends page charts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trends {
    pub from: String,
    pub to: String,
    /// One per day that has a snapshot, oldest first.
    pub days: Vec<Snapshot>,
    pub weeks: Vec<WeekFlow>,
    /// Over the whole range: mean days to remediate by severity.
    pub mttr_days: Vec<(Severity, Option<f64>)>,
    pub sla: SlaPolicy,
    /// The part of the estate these snapshots describe.
    #[serde(default)]
    pub scope: TrendScope,
    /// Every scope with snapshots to choose from: the whole estate, each host, each team.
    #[serde(default)]
    pub scopes: Vec<TrendScope>,
}

/// A part of the estate with its own daily snapshots: everything, one host (the images
/// it has run), or one team (the images of containers labelled `team=NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendScope {
    /// `global`, `host`, `team`, `cluster` or `namespace`.
    pub kind: String,
    /// The host, cluster or namespace id, or the team name; empty for `global`.
    pub key: String,
    /// What people read: "Whole estate", the host's, team's, cluster's or namespace's name.
    pub label: String,
}

impl Default for TrendScope {
    fn default() -> Self {
        TrendScope {
            kind: "global".into(),
            key: String::new(),
            label: "Whole estate".into(),
        }
    }
}

impl TrendScope {
    /// `global`, `host:ID`, `team:NAME`, `cluster:ID` or `namespace:ID`: how the trends
    /// page names it in its URL.
    pub fn param(&self) -> String {
        if self.kind == "global" {
            "global".into()
        } else {
            format!("{}:{}", self.kind, self.key)
        }
    }
}

/// Which chart of the trends page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Chart {
    /// Open findings by severity over time.
    Open,
    /// New versus fixed findings per week.
    Flow,
    /// Mean time to remediate per severity, per week.
    Mttr,
    /// Findings past their SLA over time.
    Sla,
    /// Scan coverage of running images over time.
    Coverage,
}

impl Chart {
    pub const ALL: [Chart; 5] = [
        Chart::Open,
        Chart::Flow,
        Chart::Mttr,
        Chart::Sla,
        Chart::Coverage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Chart::Open => "open",
            Chart::Flow => "flow",
            Chart::Mttr => "mttr",
            Chart::Sla => "sla",
            Chart::Coverage => "coverage",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Chart::Open => "Open vulnerability findings by severity",
            Chart::Flow => "New and fixed findings per week",
            Chart::Mttr => "Mean time to remediate (days), by week fixed",
            Chart::Sla => "Open findings past their SLA",
            Chart::Coverage => "Running images scanned recently (%)",
        }
    }
}

impl std::str::FromStr for Chart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chart::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown chart '{s}': use one of {}",
                    Chart::ALL.map(|c| c.as_str()).join(", ")
                )
            })
    }
}

/// The trends page: the data and each chart drawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendsPage {
    pub trends: Trends,
    /// (chart, SVG document).
    pub charts: Vec<(Chart, String)>,
}
