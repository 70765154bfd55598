//! What a parsed report means for the store, decided without one: which image it is
//! about, which entries are one finding, which ids are one vulnerability, what the
//! stored vulnerabilities must become, and (through [`crate::lifecycle`]) what becomes of
//! each finding. `scans::store` reads what is stored and applies these decisions.

use super::{Report, VulnRecord};
use crate::lifecycle::{self, Extent, Held, Plan, Stored};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The image a report is tied to: given with the request, or named by the report.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A digest (`sha256:…`, `repo@sha256:…`) or a `repository:tag` the inventory knows.
    pub reference: Option<String>,
}

/// How to find the image a report is about, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The sender named `repository:tag`: that tag's image, or a refusal.
    Tag { repository: String, tag: String },
    /// Digests to look up (config or manifest), the first known wins; the first one
    /// keys a new image when none is known.
    Digests(Vec<String>),
}

/// The digest of `repo@sha256:…` (or the text itself).
pub fn strip_repo(d: &str) -> &str {
    d.rsplit_once('@').map_or(d, |(_, digest)| digest)
}

/// `repository:tag` split at the tag's colon (not a registry port's); no tag is `latest`.
pub fn repository_and_tag(reference: &str) -> (&str, &str) {
    reference
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .unwrap_or((reference, "latest"))
}

/// Where to look for the report's image: an image the sender names wins over what the
/// report says.
pub fn lookup(report: &Report, target: &Target) -> Lookup {
    match &target.reference {
        Some(r) if r.contains("sha256:") => Lookup::Digests(vec![strip_repo(r).to_string()]),
        Some(r) => {
            let (repository, tag) = repository_and_tag(r);
            Lookup::Tag {
                repository: repository.into(),
                tag: tag.into(),
            }
        }
        None => Lookup::Digests(
            report
                .image_id
                .iter()
                .cloned()
                .chain(
                    report
                        .repo_digests
                        .iter()
                        .map(|d| strip_repo(d).to_string()),
                )
                .collect(),
        ),
    }
}

/// How a new image row is keyed when the report names no digest.
pub fn artifact_key(report: &Report, sha: &str) -> String {
    let name = report
        .artifact_name
        .clone()
        .unwrap_or_else(|| format!("report-{}", &sha[..12.min(sha.len())]));
    format!("artifact:{}:{name}", report.kind.as_str())
}

/// The name a summary shows for the image.
pub fn display_name(report: &Report, target: &Target, digest: &str) -> String {
    match &target.reference {
        Some(r) if !r.contains("sha256:") => r.clone(),
        _ => report
            .repo_tags
            .first()
            .cloned()
            .or_else(|| report.artifact_name.clone())
            .unwrap_or_else(|| digest.to_string()),
    }
}

/// One finding of a report after deduplication (image + package + vulnerability).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub record: &'a VulnRecord,
    /// Every id of its vulnerability the report gives, canonical (a CVE if any) first.
    pub ids: Vec<String>,
}

/// The report's findings, one per package and vulnerability: records naming the same
/// package and canonical id are one (the worse severity, or the one with a fix, wins),
/// and entries whose ids overlap name one vulnerability and get all its ids.
pub fn entries(report: &Report) -> Vec<Entry<'_>> {
    let mut by_key: BTreeMap<(&str, &str, &str), Entry> = BTreeMap::new();
    for v in &report.vulns {
        let canonical = v.canonical_id();
        let entry = by_key
            .entry((&v.package.kind, &v.package.name, canonical))
            .or_insert_with(|| Entry {
                record: v,
                ids: vec![canonical.to_string()],
            });
        for id in std::iter::once(&v.id).chain(&v.aliases) {
            if !entry.ids.contains(id) {
                entry.ids.push(id.clone());
            }
        }
        if v.severity > entry.record.severity
            || (entry.record.fixed_version.is_none() && v.fixed_version.is_some())
        {
            entry.record = v;
        }
    }
    let mut entries: Vec<Entry> = by_key.into_values().collect();
    join_synonyms(&mut entries);
    entries
}

/// Entries whose ids overlap name one vulnerability, even when each names only part of
/// it (a GHSA alone, and a CVE naming that GHSA): every entry gets all the ids of its
/// group, the group's canonical id (a CVE when there is one) first.
fn join_synonyms(entries: &mut [Entry<'_>]) {
    fn root(parent: &mut HashMap<String, String>, id: &str) -> String {
        let mut r = id.to_string();
        while let Some(p) = parent.get(&r).filter(|p| **p != r) {
            r = p.clone();
        }
        parent.insert(id.to_string(), r.clone());
        r
    }
    let mut parent: HashMap<String, String> = HashMap::new();
    for e in entries.iter() {
        let first = root(&mut parent, &e.ids[0]);
        for id in &e.ids[1..] {
            let other = root(&mut parent, id);
            if other != first {
                parent.insert(other, first.clone());
            }
        }
    }
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    let ids: Vec<String> = parent.keys().cloned().collect();
    for id in ids {
        let r = root(&mut parent, &id);
        groups.entry(r).or_default().push(id);
    }
    for ids in groups.values_mut() {
        ids.sort();
        if let Some(cve) = ids.iter().position(|i| i.starts_with("CVE-")) {
            let canonical = ids.remove(cve);
            ids.insert(0, canonical);
        }
    }
    for e in entries.iter_mut() {
        let r = root(&mut parent, &e.ids[0]);
        if let Some(ids) = groups.get(&r) {
            e.ids = ids.clone();
        }
    }
}

/// Every id the entries name, once each, sorted.
pub fn all_ids(entries: &[Entry<'_>]) -> Vec<String> {
    let ids: BTreeSet<&String> = entries.iter().flat_map(|e| &e.ids).collect();
    ids.into_iter().cloned().collect()
}

/// What the stored vulnerabilities must become for this report's entries.
#[derive(Debug, Default, PartialEq)]
pub struct VulnPlan<'a> {
    /// Vulnerabilities no id of which is stored, by canonical id.
    pub new: Vec<(String, &'a VulnRecord)>,
    /// Stored vulnerabilities the report shows to be one: (kept, merged into it).
    pub merges: Vec<(i64, Vec<i64>)>,
}

/// Decides from the stored aliases (id → vulnerability) which vulnerabilities are new
/// and which stored ones the report shows to be one (the lowest id is kept).
pub fn vulnerabilities<'a>(entries: &[Entry<'a>], stored: &HashMap<String, i64>) -> VulnPlan<'a> {
    let mut plan = VulnPlan::default();
    let mut new_seen = HashSet::new();
    // Merges chain: a vulnerability merged away is known by its survivor from then on.
    let mut survivor: HashMap<i64, i64> = HashMap::new();
    let resolve = |survivor: &HashMap<i64, i64>, mut v: i64| {
        while let Some(&s) = survivor.get(&v) {
            v = s;
        }
        v
    };
    for e in entries {
        let known: BTreeSet<i64> = e
            .ids
            .iter()
            .filter_map(|i| stored.get(i))
            .map(|v| resolve(&survivor, *v))
            .collect();
        match known.len() {
            0 => {
                if new_seen.insert(e.ids[0].clone()) {
                    plan.new.push((e.ids[0].clone(), e.record));
                }
            }
            1 => {}
            _ => {
                let mut ids = known.into_iter();
                let keep = ids.next().expect("two or more");
                let others: Vec<i64> = ids.collect();
                for o in &others {
                    survivor.insert(*o, keep);
                }
                plan.merges.push((keep, others));
            }
        }
    }
    plan
}

/// The aliases to add so every id of every entry names its vulnerability: `known` maps
/// ids to vulnerabilities (stored aliases, and the canonical ids of new ones), `stored`
/// is what `vulnerability_aliases` already holds.
pub fn new_aliases(
    entries: &[Entry<'_>],
    known: &HashMap<String, i64>,
    stored: &HashSet<String>,
) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut queued = HashSet::new();
    for e in entries {
        let Some(vid) = e.ids.iter().find_map(|i| known.get(i).copied()) else {
            continue;
        };
        for id in &e.ids {
            if !stored.contains(id) && queued.insert(id.clone()) {
                out.push((id.clone(), vid));
            }
        }
    }
    out
}

/// A vulnerability finding's identity on its image: package type, name, vulnerability.
pub type FindingKey = (String, String, i64);

/// What a vulnerability finding says; a difference from the stored one is a change.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingContent {
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub severity: coastguard_model::Severity,
    pub scanner_severity: Option<String>,
    pub layer: Option<String>,
    pub cvss_score: Option<f64>,
}

impl FindingContent {
    pub fn of(v: &VulnRecord) -> FindingContent {
        FindingContent {
            installed_version: v.package.version.clone(),
            fixed_version: v.fixed_version.clone(),
            severity: v.severity,
            scanner_severity: v.scanner_severity.clone(),
            layer: v.layer.clone(),
            cvss_score: v.cvss_score,
        }
    }
}

/// A stored vulnerability finding of the image, as the lifecycle compares it.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    pub id: i64,
    pub key: FindingKey,
    pub state: String,
    pub content: FindingContent,
    pub last_seen_at: i64,
    /// Another scanner still reports it.
    pub vouched_elsewhere: bool,
}

/// The report's findings, each with its entry, for the plan and the new rows.
pub struct Found<'a> {
    pub key: FindingKey,
    pub record: &'a VulnRecord,
}

/// Keys the entries by stored vulnerability. Formats that don't say a package's type
/// (SARIF's `generic`) match a stored finding of that name and vulnerability; entries
/// that turn out to be one finding once aliases are resolved count once.
pub fn findings<'a>(
    entries: &[Entry<'a>],
    vuln_of: &HashMap<String, i64>,
    stored: &[StoredFinding],
) -> Vec<Found<'a>> {
    let keys: HashSet<&FindingKey> = stored.iter().map(|f| &f.key).collect();
    let by_name: HashMap<(&str, i64), &FindingKey> = stored
        .iter()
        .map(|f| ((f.key.1.as_str(), f.key.2), &f.key))
        .collect();
    let mut handled = HashSet::new();
    let mut out = Vec::new();
    for e in entries {
        let Some(vid) = vuln_of.get(&e.ids[0]).copied() else {
            continue;
        };
        let v = e.record;
        let mut key = (v.package.kind.clone(), v.package.name.clone(), vid);
        if v.package.kind == "generic" && !keys.contains(&key) {
            if let Some(k) = by_name.get(&(v.package.name.as_str(), vid)) {
                key = (*k).clone();
            }
        }
        if handled.insert(key.clone()) {
            out.push(Found { key, record: v });
        }
    }
    out
}

/// What becomes of each finding of the image (see [`crate::lifecycle`]): a report is a
/// complete scan of its image by its scanner.
pub fn finding_plan(
    stored: Vec<StoredFinding>,
    found: &[Found<'_>],
    now: i64,
) -> Plan<FindingKey, FindingContent> {
    let stored = stored.into_iter().map(|f| Stored {
        id: f.id,
        held: Held::from_stored(&f.state, None),
        key: f.key,
        content: f.content,
        last_seen_at: f.last_seen_at,
        vouched_elsewhere: f.vouched_elsewhere,
    });
    let found = found
        .iter()
        .map(|f| (f.key.clone(), FindingContent::of(f.record)));
    lifecycle::plan(stored, found, Extent::Complete, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scans::{ArtifactKind, Format, PackageRef};
    use coastguard_model::Severity;

    fn vuln(id: &str, aliases: &[&str], pkg: &str, severity: Severity) -> VulnRecord {
        VulnRecord {
            id: id.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            package: PackageRef {
                kind: "deb".into(),
                name: pkg.into(),
                version: "1.0".into(),
                purl: None,
            },
            fixed_version: None,
            severity,
            scanner_severity: None,
            cvss_score: None,
            cvss_vector: None,
            epss: None,
            known_exploited: false,
            published: None,
            modified: None,
            layer: None,
            title: None,
            description: None,
            references: Vec::new(),
        }
    }

    fn report(vulns: Vec<VulnRecord>) -> Report {
        Report {
            format: Format::Trivy,
            scanner: "trivy".into(),
            scanner_version: None,
            kind: ArtifactKind::Image,
            artifact_name: Some("app".into()),
            image_id: Some("sha256:aa".into()),
            repo_tags: vec!["app:1".into()],
            repo_digests: vec!["registry/app@sha256:bb".into()],
            scanned_at: None,
            entries: vulns.len(),
            vulns,
            misconfigs: Vec::new(),
            notes: Vec::new(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn the_sender_names_the_image_before_the_report_does() {
        let r = report(Vec::new());
        assert_eq!(
            lookup(&r, &Target::default()),
            Lookup::Digests(vec!["sha256:aa".into(), "sha256:bb".into()])
        );
        let by_digest = Target {
            reference: Some("other@sha256:cc".into()),
        };
        assert_eq!(
            lookup(&r, &by_digest),
            Lookup::Digests(vec!["sha256:cc".into()])
        );
        let by_tag = Target {
            reference: Some("registry:5000/app".into()),
        };
        assert_eq!(
            lookup(&r, &by_tag),
            Lookup::Tag {
                repository: "registry:5000/app".into(),
                tag: "latest".into()
            }
        );
        assert_eq!(display_name(&r, &by_tag, "sha256:aa"), "registry:5000/app");
        assert_eq!(display_name(&r, &Target::default(), "sha256:aa"), "app:1");
    }

    #[test]
    fn one_package_and_vulnerability_is_one_entry_with_the_worse_record() {
        let r = report(vec![
            vuln("CVE-1", &[], "a", Severity::Low),
            vuln("GHSA-1", &["CVE-1"], "a", Severity::High),
            vuln("CVE-1", &[], "b", Severity::Medium),
        ]);
        let e = entries(&r);
        assert_eq!(e.len(), 2);
        let a = e.iter().find(|e| e.record.package.name == "a").unwrap();
        assert_eq!(a.record.severity, Severity::High);
        assert_eq!(a.ids, vec!["CVE-1", "GHSA-1"]);
    }

    #[test]
    fn ids_that_name_each_other_become_one_group_with_the_cve_first() {
        // A GHSA alone on one package, and a CVE naming it on another.
        let r = report(vec![
            vuln("GHSA-x", &[], "a", Severity::High),
            vuln("CVE-9", &["GHSA-x"], "b", Severity::High),
        ]);
        for e in entries(&r) {
            assert_eq!(e.ids, vec!["CVE-9", "GHSA-x"]);
        }
        assert_eq!(all_ids(&entries(&r)), vec!["CVE-9", "GHSA-x"]);
    }

    #[test]
    fn stored_vulnerabilities_the_report_joins_are_merged_into_the_oldest() {
        let r = report(vec![
            vuln("CVE-1", &["GHSA-1"], "a", Severity::High),
            vuln("CVE-2", &[], "a", Severity::High),
        ]);
        let e = entries(&r);
        let stored = HashMap::from([("CVE-1".to_string(), 9), ("GHSA-1".to_string(), 4)]);
        let plan = vulnerabilities(&e, &stored);
        assert_eq!(plan.merges, vec![(4, vec![9])]);
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.new[0].0, "CVE-2");
        let mut known = stored.clone();
        known.insert("CVE-2".into(), 10);
        // The new vulnerability's own id is an alias to store too.
        let in_table: HashSet<String> = stored.keys().cloned().collect();
        assert_eq!(
            new_aliases(&e, &known, &in_table),
            vec![("CVE-2".to_string(), 10)]
        );
        let mut partly: HashSet<String> = in_table.clone();
        partly.remove("GHSA-1");
        partly.insert("CVE-2".into());
        assert_eq!(
            new_aliases(&e, &known, &partly),
            vec![("GHSA-1".to_string(), 9)]
        );
    }

    #[test]
    fn a_generic_package_matches_a_stored_finding_by_name() {
        let mut v = vuln("CVE-1", &[], "openssl", Severity::High);
        v.package.kind = "generic".into();
        let r = report(vec![v]);
        let e = entries(&r);
        let vuln_of = HashMap::from([("CVE-1".to_string(), 3)]);
        let stored = vec![StoredFinding {
            id: 1,
            key: ("deb".into(), "openssl".into(), 3),
            state: "open".into(),
            content: FindingContent::of(e[0].record),
            last_seen_at: 0,
            vouched_elsewhere: false,
        }];
        let found = findings(&e, &vuln_of, &stored);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, ("deb".to_string(), "openssl".to_string(), 3));
        let plan = finding_plan(stored, &found, 10);
        assert_eq!((plan.unchanged, plan.insert.len()), (1, 0));
    }

    #[test]
    fn a_fixed_finding_reported_again_reopens_and_one_no_scanner_reports_is_fixed() {
        let r = report(vec![vuln("CVE-1", &[], "a", Severity::High)]);
        let e = entries(&r);
        let vuln_of = HashMap::from([("CVE-1".to_string(), 3), ("CVE-2".to_string(), 4)]);
        let stored = |id, vid, state: &str, elsewhere| StoredFinding {
            id,
            key: ("deb".into(), "a".into(), vid),
            state: state.into(),
            content: FindingContent::of(e[0].record),
            last_seen_at: 0,
            vouched_elsewhere: elsewhere,
        };
        let found = findings(&e, &vuln_of, &[]);
        let plan = finding_plan(
            vec![stored(1, 3, "fixed", false), stored(2, 4, "open", false)],
            &found,
            10,
        );
        assert_eq!(plan.count(lifecycle::Transition::Reopened), 1);
        assert_eq!(plan.resolve, vec![2]);
        let kept = finding_plan(vec![stored(2, 4, "open", true)], &found, 10);
        assert_eq!((kept.unseen, kept.resolve), (vec![2], vec![]));
    }
}
