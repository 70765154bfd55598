//! Provenance findings: where what runs comes from, judged against the image policy and
//! the registries' history.
//!
//! - `provenance.signature_required`: a running image the policy's `require_signatures`
//!   cover where it runs (everywhere, or on the hosts, clusters and namespaces a
//!   requirement names) has no verified signature (invalid, untrusted, unsigned, could not be
//!   checked, or no registry names it by digest so nothing can be verified). An image
//!   named by digest and not checked yet is left alone: the check follows within minutes.
//! - `provenance.tag_moved`: a running container or pod was started from a tag that a
//!   configured registry now resolves to another digest than the one it runs, which that
//!   tag named before.
//!
//! The decisions are plain functions; the pass reads the inventory, decides, and
//! reconciles the findings in the caller's transaction (they resolve when the gap
//! closes, and keep their triage meanwhile).

use super::reference::ImageReference;
use super::store::RegistryConfig;
use crate::lifecycle::Extent;
use crate::scans::coverage::{
    running_image_ids_sql, running_image_places_sql, RUNNING_CONTAINER, RUNNING_POD,
};
use crate::scans::ingest::short;
use crate::store::config_findings::{Content, Key, Scope};
use crate::store::query::{push_list, Arg, IDS_PER_LIST};
use crate::store::{StoreResult, Write};
use crate::with_tx;
use coastguard_model::findings::SubjectKind;
use coastguard_model::signatures::{Place, SignatureCheck, SignatureRequirement, SignatureStatus};
use coastguard_model::{format_timestamp, Severity};
use std::collections::{HashMap, HashSet};

pub const SIGNATURE_REQUIRED: &str = "provenance.signature_required";
pub const TAG_MOVED: &str = "provenance.tag_moved";

/// An image's latest signature check, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheck {
    pub status: SignatureStatus,
    pub signatures: Vec<SignatureCheck>,
    pub error: Option<String>,
}

/// `registry/repository` with Docker's defaults (`nginx` → `docker.io/library/nginx`).
pub fn canonical_name(repository: &str) -> Option<String> {
    ImageReference::parse(repository).ok().map(|r| r.name())
}

/// Why a running image breaks a signature requirement, if it does: `names` are its
/// repositories (`registry/repository`), `places` where it runs, `named_by_digest`
/// whether any registry names it by a manifest digest, `check` its latest signature check.
pub fn signature_gap(
    required: &[SignatureRequirement],
    names: &[String],
    places: &[Place],
    named_by_digest: bool,
    check: Option<&StoredCheck>,
) -> Option<(Severity, String)> {
    let (requirement, place) = required.iter().find_map(|r| {
        places
            .iter()
            .find(|p| names.iter().any(|n| r.covers(n, p)))
            .map(|p| (r, p))
    })?;
    let pattern = if requirement.everywhere() {
        requirement.to_string()
    } else {
        format!("{requirement}, as it runs in {place}")
    };
    let first_reason = |c: &StoredCheck| {
        c.signatures
            .iter()
            .map(|s| s.reason.as_str())
            .find(|r| !r.is_empty())
            .unwrap_or_default()
            .to_string()
    };
    let evidence = |what: String| format!("{what} (required by {pattern})");
    match check {
        None if named_by_digest => None,
        None => Some((
            Severity::High,
            evidence("no registry names this image by digest, so no signature can be verified: it was built here or loaded, never pulled".into()),
        )),
        Some(c) => match c.status {
            SignatureStatus::Verified => None,
            SignatureStatus::Invalid => Some((
                Severity::High,
                evidence(format!("a signature is present but fails its checks: {}", first_reason(c))),
            )),
            SignatureStatus::Untrusted => Some((
                Severity::High,
                evidence(format!("signed, but by no trusted key or identity: {}", first_reason(c))),
            )),
            SignatureStatus::Unsigned => Some((
                Severity::High,
                evidence("no signature was found in its registry".into()),
            )),
            SignatureStatus::Unknown => Some((
                Severity::Medium,
                evidence(format!(
                    "its signatures could not be checked: {}",
                    c.error.clone().unwrap_or_default()
                )),
            )),
        },
    }
}

/// One digest a tag has named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagStep {
    pub digest: String,
    pub current: bool,
    pub first_seen_at: i64,
}

/// Whether something running `runs` (its digests) from a tag with this `history` runs
/// what the tag named before and no longer names: then the digest it names now, and
/// since when.
pub fn moved_under(history: &[TagStep], runs: &[String]) -> Option<(String, i64)> {
    let current = history.iter().find(|s| s.current)?;
    if runs.contains(&current.digest) {
        return None;
    }
    history
        .iter()
        .any(|s| !s.current && runs.contains(&s.digest))
        .then(|| (current.digest.clone(), current.first_seen_at))
}

#[derive(sqlx::FromRow)]
struct RunningImage {
    image_id: i64,
    status: Option<String>,
    details: Option<String>,
    error: Option<String>,
}

/// Where a running image runs (`scans::coverage::running_image_places_sql`).
#[derive(sqlx::FromRow)]
struct PlaceRow {
    image_id: i64,
    host: Option<String>,
    cluster: Option<String>,
    namespace: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TagRow {
    config: Option<String>,
    repository: String,
    tag: String,
    digest: String,
    is_current: bool,
    first_seen_at: i64,
}

/// Something running from a tag: a container (`instance` empty) or a pod's container.
#[derive(sqlx::FromRow)]
struct Runner {
    subject_id: i64,
    instance: String,
    image_ref: String,
    image_id: Option<i64>,
    image_digest: Option<String>,
}

fn finding(
    check: &str,
    kind: SubjectKind,
    subject_id: i64,
    instance: String,
    severity: Severity,
    evidence: String,
) -> (Key, Content) {
    (
        Key {
            check_id: check.to_string(),
            subject_kind: kind,
            subject_id,
            instance,
        },
        Content {
            severity: severity.as_str().to_string(),
            cis_section: None,
            evidence,
            title: None,
            remediation: None,
        },
    )
}

/// Evaluates the provenance findings as a pass of its own, with the stored image
/// policy: after signature checks, and from housekeeping (so a changed policy, or a
/// container started from a moved tag, is judged within minutes).
pub async fn evaluate(state: &crate::AppState, now: i64) -> StoreResult<()> {
    let required = state.store.policy().await.require_signatures;
    let mut w = state.store.begin_pass().await?;
    w.evaluate_provenance(&required, now).await?;
    w.commit().await
}

/// Changes the image policy (`docker::manage::set_policy`: one commit with its audit
/// record) and applies its signature requirements at once, as a pass of its own.
pub async fn set_policy(
    state: &crate::AppState,
    by: &crate::auth::Authed<crate::auth::Admin>,
    policy: coastguard_model::docker::Policy,
) -> crate::Result<coastguard_model::docker::Policy> {
    let policy = crate::docker::manage::set_policy(state, by, policy).await?;
    evaluate(state, crate::now()).await?;
    Ok(policy)
}

impl Write {
    /// Brings both provenance checks in line with what runs now, `required` being the
    /// image policy's signature patterns.
    pub async fn evaluate_provenance(&mut self, required: &[String], now: i64) -> StoreResult<()> {
        let mut found = self.signature_gaps(required).await?;
        found.extend(self.moved_tags().await?);
        let scope = Scope {
            parts: vec![(
                "cf.check_id IN ($1, $2)".into(),
                vec![
                    Arg::Text(SIGNATURE_REQUIRED.into()),
                    Arg::Text(TAG_MOVED.into()),
                ],
            )],
        };
        self.reconcile_config_findings(&scope, found, Extent::Complete, now)
            .await?;
        Ok(())
    }

    async fn signature_gaps(&mut self, required: &[String]) -> StoreResult<Vec<(Key, Content)>> {
        let required: Vec<SignatureRequirement> = required
            .iter()
            .filter_map(|line| match SignatureRequirement::parse(line) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(requirement = %line, error = %e, "ignoring an unreadable signature requirement");
                    None
                }
            })
            .collect();
        if required.is_empty() {
            return Ok(Vec::new());
        }
        let running_images = running_image_ids_sql(&crate::store::Scope::Global);
        let sql = format!(
            "SELECT r.image_id, sc.status, sc.details, sc.error FROM ({running_images}) r \
             LEFT JOIN signature_checks sc ON sc.image_id = r.image_id"
        );
        let running: Vec<RunningImage> = with_tx!(&mut self.tx, |t| sqlx::query_as(&sql)
            .fetch_all(&mut **t)
            .await)?;
        let place_rows: Vec<PlaceRow> = with_tx!(&mut self.tx, |t| {
            sqlx::query_as(&running_image_places_sql())
                .fetch_all(&mut **t)
                .await
        })?;
        let mut places: HashMap<i64, Vec<Place>> = HashMap::new();
        for row in place_rows {
            let id = row.image_id;
            let place = match (row.host, row.cluster, row.namespace) {
                (Some(host), _, _) => Place::Host(host),
                (None, Some(cluster), Some(namespace)) => Place::Pod { cluster, namespace },
                _ => continue,
            };
            places.entry(id).or_default().push(place);
        }
        let names_sql = format!(
            "SELECT d.image_id, d.repository, CAST(1 AS BIGINT) AS by_digest FROM image_digests d \
               WHERE d.repository <> '' AND d.image_id IN ({running_images}) \
             UNION SELECT t.image_id, t.repository, CAST(0 AS BIGINT) AS by_digest FROM image_tags t \
               WHERE t.image_id IN ({running_images})"
        );
        let rows: Vec<(i64, String, i64)> = with_tx!(&mut self.tx, |t| sqlx::query_as(&names_sql)
            .fetch_all(&mut **t)
            .await)?;
        let mut names: HashMap<i64, (Vec<String>, bool)> = HashMap::new();
        for (id, repository, by_digest) in rows {
            let entry = names.entry(id).or_default();
            if let Some(name) = canonical_name(&repository) {
                if !entry.0.contains(&name) {
                    entry.0.push(name);
                }
            }
            entry.1 |= by_digest == 1;
        }
        Ok(running
            .into_iter()
            .filter_map(|r| {
                let (image_names, by_digest) = names.get(&r.image_id).cloned().unwrap_or_default();
                let check = r.status.as_deref().map(|status| StoredCheck {
                    status: SignatureStatus::parse(status),
                    signatures: r
                        .details
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or_default(),
                    error: r.error.clone(),
                });
                let image_places = places.get(&r.image_id).map_or(&[][..], Vec::as_slice);
                let (severity, evidence) = signature_gap(
                    &required,
                    &image_names,
                    image_places,
                    by_digest,
                    check.as_ref(),
                )?;
                Some(finding(
                    SIGNATURE_REQUIRED,
                    SubjectKind::Image,
                    r.image_id,
                    String::new(),
                    severity,
                    evidence,
                ))
            })
            .collect())
    }

    async fn moved_tags(&mut self) -> StoreResult<Vec<(Key, Content)>> {
        // Only tags that ever named more than one digest can have moved.
        let rows: Vec<TagRow> = with_tx!(&mut self.tx, |t| sqlx::query_as(
            "SELECT r.config, t.repository, t.tag, t.digest, t.is_current, t.first_seen_at \
             FROM registry_tags t JOIN registries r ON r.id = t.registry_id \
             WHERE EXISTS (SELECT 1 FROM registry_tags o WHERE o.registry_id = t.registry_id \
               AND o.repository = t.repository AND o.tag = t.tag AND o.digest <> t.digest)"
        )
        .fetch_all(&mut **t)
        .await)?;
        let mut history: HashMap<String, Vec<TagStep>> = HashMap::new();
        for row in rows {
            let host = row
                .config
                .as_deref()
                .and_then(|c| serde_json::from_str::<RegistryConfig>(c).ok())
                .map(|c| c.host)
                .unwrap_or_default();
            if let Ok(r) = ImageReference::parse(&format!("{host}/{}:{}", row.repository, row.tag))
            {
                history.entry(r.to_string()).or_default().push(TagStep {
                    digest: row.digest,
                    current: row.is_current,
                    first_seen_at: row.first_seen_at,
                });
            }
        }
        if history.is_empty() {
            return Ok(Vec::new());
        }
        let containers_sql = format!(
            "SELECT c.id AS subject_id, CAST('' AS TEXT) AS instance, c.image_ref, c.image_id, CAST(NULL AS TEXT) AS image_digest \
             FROM containers c WHERE {RUNNING_CONTAINER}"
        );
        let containers: Vec<Runner> = with_tx!(&mut self.tx, |t| sqlx::query_as(&containers_sql)
            .fetch_all(&mut **t)
            .await)?;
        let pods_sql = format!(
            "SELECT pc.pod_id AS subject_id, pc.name AS instance, pc.image_ref, pc.image_id, pc.image_digest \
             FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id WHERE {RUNNING_POD}"
        );
        let pods: Vec<Runner> = with_tx!(&mut self.tx, |t| sqlx::query_as(&pods_sql)
            .fetch_all(&mut **t)
            .await)?;
        // A tag's key as `ImageReference` prints it; a reference pinned by digest runs
        // what it names whatever the tag does.
        let key_of = |image_ref: &str| {
            let mut r = ImageReference::parse(image_ref)
                .ok()
                .filter(|r| r.digest.is_none())?;
            r.tag.get_or_insert_with(|| "latest".into());
            Some(r.to_string()).filter(|k| history.contains_key(k))
        };
        let candidates: Vec<(SubjectKind, &Runner, String)> = containers
            .iter()
            .map(|c| (SubjectKind::Container, c))
            .chain(pods.iter().map(|p| (SubjectKind::Pod, p)))
            .filter_map(|(kind, r)| key_of(&r.image_ref).map(|k| (kind, r, k)))
            .collect();
        // The digests each candidate's image is known by.
        let ids: HashSet<i64> = candidates
            .iter()
            .filter_map(|(_, r, _)| r.image_id)
            .collect();
        let ids: Vec<i64> = ids.into_iter().collect();
        let mut digests: HashMap<i64, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IDS_PER_LIST) {
            let rows: Vec<(i64, String)> = with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT image_id, digest FROM image_digests WHERE image_id IN ",
                );
                push_list(&mut q, chunk);
                q.build_query_as().fetch_all(&mut **t).await
            })?;
            for (id, digest) in rows {
                digests.entry(id).or_default().push(digest);
            }
        }
        Ok(candidates
            .into_iter()
            .filter_map(|(kind, r, key)| {
                let mut runs = r
                    .image_id
                    .and_then(|id| digests.get(&id).cloned())
                    .unwrap_or_default();
                runs.extend(r.image_digest.clone());
                let (now_names, since) = moved_under(&history[&key], &runs)?;
                let was = history[&key]
                    .iter()
                    .find(|s| !s.current && runs.contains(&s.digest))
                    .map(|s| short(&s.digest).to_string())
                    .unwrap_or_default();
                let evidence = format!(
                    "runs {} at {was}; the tag names {} since {}",
                    r.image_ref,
                    short(&now_names),
                    format_timestamp(since)
                );
                Some(finding(
                    TAG_MOVED,
                    kind,
                    r.subject_id,
                    r.instance.clone(),
                    Severity::Medium,
                    evidence,
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::signatures::{SignatureKind, SignatureVerdict};

    fn check(status: SignatureStatus, reason: Option<&str>) -> StoredCheck {
        StoredCheck {
            status,
            signatures: reason
                .map(|r| SignatureCheck {
                    kind: SignatureKind::CosignKey,
                    verdict: SignatureVerdict::Untrusted,
                    signer: None,
                    reason: r.into(),
                    signed_at: None,
                    expires_at: None,
                })
                .into_iter()
                .collect(),
            error: Some("cannot reach registry r.example".into()),
        }
    }

    fn requirements(lines: &[&str]) -> Vec<SignatureRequirement> {
        lines
            .iter()
            .map(|l| SignatureRequirement::parse(l).unwrap())
            .collect()
    }

    #[test]
    fn a_signature_is_required_only_where_a_requirement_covers_the_image() {
        let required = requirements(&["r.example/prod/*"]);
        let prod = vec!["r.example/prod/api".to_string()];
        let dev = vec!["r.example/dev/api".to_string()];
        let on = [Place::Host("edge-1".into())];
        let unsigned = check(SignatureStatus::Unsigned, None);
        assert!(signature_gap(&required, &dev, &on, true, Some(&unsigned)).is_none());
        assert!(signature_gap(&[], &prod, &on, true, Some(&unsigned)).is_none());
        let (severity, evidence) =
            signature_gap(&required, &prod, &on, true, Some(&unsigned)).unwrap();
        assert_eq!(severity, Severity::High);
        assert!(
            evidence.contains("no signature") && evidence.contains("r.example/prod/*"),
            "{evidence}"
        );
    }

    #[test]
    fn a_scoped_requirement_holds_where_the_image_runs_in_its_scope() {
        let required = requirements(&["* cluster=prod namespace=payments", "* host=edge-*"]);
        let names = vec!["r.example/app".to_string()];
        let unsigned = check(SignatureStatus::Unsigned, None);
        let gap =
            |places: &[Place]| signature_gap(&required, &names, places, true, Some(&unsigned));
        let pod = |c: &str, n: &str| Place::Pod {
            cluster: c.into(),
            namespace: n.into(),
        };
        assert!(gap(&[pod("prod", "default"), Place::Host("build-1".into())]).is_none());
        assert!(gap(&[]).is_none(), "runs nowhere: nothing required");
        let (_, evidence) = gap(&[pod("prod", "default"), pod("prod", "payments")]).unwrap();
        assert!(
            evidence.contains("cluster=prod namespace=payments")
                && evidence.contains("namespace payments of cluster prod"),
            "{evidence}"
        );
        let (_, evidence) = gap(&[Place::Host("edge-7".into())]).unwrap();
        assert!(evidence.contains("host edge-7"), "{evidence}");
    }

    #[test]
    fn each_signature_status_decides_the_finding() {
        let required = requirements(&["*"]);
        let names = vec!["r.example/app".to_string()];
        let on = [Place::Host("h".into())];
        let gap = |named: bool, c: Option<StoredCheck>| {
            signature_gap(&required, &names, &on, named, c.as_ref())
        };
        assert!(gap(true, Some(check(SignatureStatus::Verified, None))).is_none());
        // Not checked yet, but checkable: the check decides soon.
        assert!(gap(true, None).is_none());
        // Never checkable: no registry names it by digest.
        let (s, e) = gap(false, None).unwrap();
        assert_eq!(s, Severity::High);
        assert!(e.contains("by digest"), "{e}");
        let (_, e) = gap(
            true,
            Some(check(
                SignatureStatus::Untrusted,
                Some("no key is configured"),
            )),
        )
        .unwrap();
        assert!(
            e.contains("no trusted key") && e.contains("no key is configured"),
            "{e}"
        );
        let (_, e) = gap(
            true,
            Some(check(
                SignatureStatus::Invalid,
                Some("payload names another digest"),
            )),
        )
        .unwrap();
        assert!(e.contains("fails") && e.contains("another digest"), "{e}");
        let (s, e) = gap(true, Some(check(SignatureStatus::Unknown, None))).unwrap();
        assert_eq!(s, Severity::Medium);
        assert!(e.contains("cannot reach registry"), "{e}");
    }

    #[test]
    fn a_tag_moved_under_what_runs_only_when_it_ran_an_earlier_digest() {
        let history = vec![
            TagStep {
                digest: "sha256:old".into(),
                current: false,
                first_seen_at: 1,
            },
            TagStep {
                digest: "sha256:new".into(),
                current: true,
                first_seen_at: 2,
            },
        ];
        assert_eq!(
            moved_under(&history, &["sha256:old".into()]),
            Some(("sha256:new".into(), 2))
        );
        // Runs what the tag names now.
        assert_eq!(
            moved_under(&history, &["sha256:new".into(), "sha256:old".into()]),
            None
        );
        // Runs something the registry never named under this tag: nothing to say.
        assert_eq!(moved_under(&history, &["sha256:other".into()]), None);
        // The tag is gone from the registry: no current digest.
        let gone: Vec<TagStep> = history
            .iter()
            .cloned()
            .map(|s| TagStep {
                current: false,
                ..s
            })
            .collect();
        assert_eq!(moved_under(&gone, &["sha256:old".into()]), None);
    }

    #[test]
    fn repositories_are_named_with_dockers_defaults() {
        assert_eq!(
            canonical_name("nginx").as_deref(),
            Some("docker.io/library/nginx")
        );
        assert_eq!(
            canonical_name("127.0.0.1:5000/shop/app").as_deref(),
            Some("127.0.0.1:5000/shop/app")
        );
    }
}
