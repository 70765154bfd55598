//! What a namespace's `pod-security.kubernetes.io/*` labels ask for, read as the
//! admission plugin reads them (its `PolicyToEvaluate`), with the cluster default of
//! privileged at latest for every mode.

use super::{Level, Version};
use serde::Serialize;
use std::collections::BTreeMap;

pub const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
pub const AUDIT: &str = "pod-security.kubernetes.io/audit";
pub const WARN: &str = "pod-security.kubernetes.io/warn";

/// A level at a version, for one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl LevelVersion {
    pub const PRIVILEGED: LevelVersion = LevelVersion {
        level: Level::Privileged,
        version: Version::Latest,
    };
}

/// The three modes of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

/// A label the plugin could not read: it then falls back as it does (enforce: restricted
/// at latest; audit and warn: privileged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelError {
    pub label: String,
    pub value: String,
    pub message: String,
}

/// The policy `labels` ask for, and the labels that could not be read.
pub fn policy(labels: &BTreeMap<String, String>) -> (Policy, Vec<LabelError>) {
    let mut p = Policy {
        enforce: LevelVersion::PRIVILEGED,
        audit: LevelVersion::PRIVILEGED,
        warn: LevelVersion::PRIVILEGED,
    };
    let mut errors = Vec::new();
    let mut note = |label: &str, value: &str, message: String| {
        errors.push(LabelError {
            label: label.to_string(),
            value: value.to_string(),
            message,
        })
    };
    let level_of = |value: &str| value.parse::<Level>();
    let version_of = |value: &str| value.parse::<Version>();
    let label = |mode: &str, suffix: &str| labels.get(&format!("{mode}{suffix}"));

    let mut has_enforce_level = false;
    if let Some(v) = label(ENFORCE, "") {
        match level_of(v) {
            Ok(l) => {
                p.enforce.level = l;
                has_enforce_level = true;
            }
            Err(e) => {
                p.enforce.level = Level::Restricted;
                note(ENFORCE, v, e);
            }
        }
    }
    if let Some(v) = label(ENFORCE, "-version") {
        p.enforce.version = version_of(v).unwrap_or_else(|e| {
            note(&format!("{ENFORCE}-version"), v, e);
            Version::Latest
        });
    }
    if let Some(v) = label(AUDIT, "") {
        p.audit.level = level_of(v).unwrap_or_else(|e| {
            note(AUDIT, v, e);
            Level::Privileged // Audit fails open.
        });
    }
    if let Some(v) = label(AUDIT, "-version") {
        p.audit.version = version_of(v).unwrap_or_else(|e| {
            note(&format!("{AUDIT}-version"), v, e);
            Version::Latest
        });
    }
    let has_warn_level = label(WARN, "").is_some();
    if let Some(v) = label(WARN, "") {
        p.warn.level = level_of(v).unwrap_or_else(|e| {
            note(WARN, v, e);
            Level::Privileged // Warn fails open.
        });
    }
    let has_warn_version = label(WARN, "-version").is_some();
    if let Some(v) = label(WARN, "-version") {
        p.warn.version = version_of(v).unwrap_or_else(|e| {
            note(&format!("{WARN}-version"), v, e);
            Version::Latest
        });
    }
    // Warn follows an explicitly stricter enforce level unless set itself.
    if !has_warn_level && has_enforce_level && p.enforce.level > p.warn.level {
        p.warn.level = p.enforce.level;
        if !has_warn_version {
            p.warn.version = p.enforce.version;
        }
    }
    (p, errors)
}
