//! One severity scale for every source (scanners, checks, runtime alerts).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Ordered from least to most severe, so `max()` picks the worst.
///
/// `Negligible` is a scanner's explicit judgement that a flaw does not matter here (Grype's
/// and Debian's "negligible", CycloneDX's "info" and "none"); `Unknown` is no judgement at
/// all, and may hide anything, so it ranks above `Negligible` and below `Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Negligible,
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Most severe first: the order tables and charts use.
    pub const DESCENDING: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
        Severity::Negligible,
    ];

    /// The sortable number the store keeps beside the word (`severity_rank`). Negligible
    /// is −1 so that the ranks stored before it existed (unknown 0 … critical 4) stand.
    pub const fn rank(self) -> i64 {
        match self {
            Severity::Negligible => -1,
            Severity::Unknown => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// The severity a stored rank stands for; a rank no severity has is `Unknown`.
    pub fn from_rank(rank: i64) -> Severity {
        Severity::DESCENDING
            .into_iter()
            .find(|s| s.rank() == rank)
            .unwrap_or(Severity::Unknown)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Negligible => "negligible",
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Negligible => "Negligible",
            Severity::Unknown => "Unknown",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Maps the many spellings scanners use (`CRITICAL`, `Moderate`, `Negligible`,
    /// `warning`, `error`, Falco priorities...) onto the scale, each scale's levels below
    /// its "low" (Grype's `Negligible`, CycloneDX's `info` and `none`, SARIF's `none`,
    /// Falco's `Informational` and `Debug`) onto `Negligible`. Unknown words are `Unknown`.
    pub fn normalise(word: &str) -> Severity {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" | "emergency" | "alert" => Severity::Critical,
            "high" | "important" | "error" => Severity::High,
            "medium" | "moderate" | "warning" | "warn" => Severity::Medium,
            "low" | "minor" | "note" | "notice" => Severity::Low,
            "negligible" | "informational" | "info" | "none" | "debug" => Severity::Negligible,
            _ => Severity::Unknown,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "unknown" => Ok(Severity::Unknown),
            "low" => Ok(Severity::Low),
            "negligible" => Ok(Severity::Negligible),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity '{other}': expected critical, high, medium, low, negligible or unknown"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_scanner_vocabularies() {
        assert_eq!(Severity::normalise("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::normalise("Moderate"), Severity::Medium);
        // Grype's 688 negligible matches are not 688 more low ones.
        assert_eq!(Severity::normalise("Negligible"), Severity::Negligible);
        assert_eq!(Severity::normalise("Low"), Severity::Low);
        assert_eq!(Severity::normalise("info"), Severity::Negligible);
        assert_eq!(Severity::normalise("none"), Severity::Negligible);
        assert_eq!(Severity::normalise("notice"), Severity::Low);
        assert_eq!(Severity::normalise("error"), Severity::High);
        assert_eq!(Severity::normalise("whatever"), Severity::Unknown);
    }

    #[test]
    fn ranks_follow_the_order_and_round_trip() {
        for pair in Severity::DESCENDING.windows(2) {
            assert!(pair[0].rank() > pair[1].rank(), "{pair:?}");
        }
        for s in Severity::DESCENDING {
            assert_eq!(Severity::from_rank(s.rank()), s);
        }
        assert_eq!(Severity::from_rank(99), Severity::Unknown);
    }

    #[test]
    fn negligible_is_below_unknown_and_low() {
        assert!(Severity::Negligible < Severity::Unknown);
        assert!(Severity::Unknown < Severity::Low);
        assert_eq!("negligible".parse(), Ok(Severity::Negligible));
        let mut sorted = Severity::DESCENDING;
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sorted, Severity::DESCENDING);
    }

    #[test]
    fn orders_worst_last() {
        assert_eq!(
            [Severity::Low, Severity::Critical, Severity::Medium]
                .iter()
                .max(),
            Some(&Severity::Critical)
        );
    }
}
