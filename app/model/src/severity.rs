//! One severity scale for every source (scanners, checks, runtime alerts).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Ordered from least to most severe, so `max()` picks the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Most severe first: the order tables and charts use.
    pub const DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Maps the many spellings scanners use (`CRITICAL`, `Moderate`, `negligible`,
    /// `warning`, `error`, Falco priorities...) onto the scale. Unknown words are `Unknown`.
    pub fn normalise(word: &str) -> Severity {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" | "emergency" | "alert" => Severity::Critical,
            "high" | "important" | "error" => Severity::High,
            "medium" | "moderate" | "warning" | "warn" => Severity::Medium,
            "low" | "negligible" | "minor" | "note" | "notice" | "informational" | "info" => {
                Severity::Low
            }
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
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity '{other}': expected critical, high, medium, low or unknown"
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
        assert_eq!(Severity::normalise("Negligible"), Severity::Low);
        assert_eq!(Severity::normalise("error"), Severity::High);
        assert_eq!(Severity::normalise("whatever"), Severity::Unknown);
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
