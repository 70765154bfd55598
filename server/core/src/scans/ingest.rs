//! Ingesting a report: the one code path behind `POST /api/v1/scans`, the upload form
//! and `coastguard ingest`. Bad input is refused before anything is stored, and a
//! document is stored in one transaction.

use super::intel::Feed;
use super::reconcile::{repository_and_tag, strip_repo, Target};
use super::store::{ingest_record, ScanSource};
use super::vex::{self, VexScope};
use super::{parse, Document, ParseError};
use crate::access::audit_by;
use crate::auth::{Analyst, Authed};
use crate::error::{Error, Result};
use crate::scans::feeds::{FeedRecord, IntelImport};
use crate::scans::vulns::{VexRow, VexTarget};
use crate::{now, AppState};
use coastguard_model::vulns::{FeedStatus, IngestSummary, VexMatch};
use sha2::{Digest, Sha256};
use std::io::Read;

/// Gunzips a body that starts with the gzip magic, refusing to inflate past `limit`
/// (a small bomb must not fill memory).
pub fn decompress(bytes: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>> {
    if bytes.len() > limit {
        return Err(Error::PayloadTooLarge(format!(
            "the report is larger than the {} MiB limit",
            limit >> 20
        )));
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| Error::invalid_at("body", format!("the gzip stream is damaged: {e}")))?;
    if out.len() > limit {
        return Err(Error::PayloadTooLarge(format!(
            "the uncompressed report is larger than the {} MiB limit",
            limit >> 20
        )));
    }
    Ok(std::borrow::Cow::Owned(out))
}

fn invalid(e: ParseError) -> Error {
    match e.location {
        Some(location) => Error::invalid_at(location, e.message),
        None => Error::invalid(e.message),
    }
}

/// The people's name of a feed kind.
fn feed_name(kind: &str) -> &'static str {
    match kind {
        "kev" => "CISA Known Exploited Vulnerabilities",
        _ => "FIRST EPSS",
    }
}

const FEED_KINDS: [&str; 2] = ["kev", "epss"];

/// Stores a feed, marks the vulnerabilities it names, and records the import (its status
/// and its audit record) in the same transaction.
async fn import_feed(
    state: &AppState,
    by: &Authed<Analyst>,
    feed: &Feed,
    channel: &'static str,
    at: i64,
) -> Result<IngestSummary> {
    let status = |done: IntelImport| FeedStatus {
        kind: feed.kind().into(),
        name: feed_name(feed.kind()).into(),
        version: feed.version(),
        entries: feed.len() as i64,
        matched: done.matched,
        changed: done.changed,
        imported_at: at,
        imported_by: by.principal.name.clone(),
    };
    let summary = |done: IntelImport| {
        let note = match feed {
            Feed::Kev { .. } => format!(
                "{} of the vulnerabilities found in this estate are in the catalog ({} newly marked known exploited).",
                done.matched, done.changed
            ),
            Feed::Epss { .. } => format!(
                "{} of the vulnerabilities found in this estate have a score in it ({} changed).",
                done.matched, done.changed
            ),
        };
        IngestSummary {
            format: feed.kind().into(),
            scanner: feed_name(feed.kind()).into(),
            kind: "feed".into(),
            entries: feed.len() as i64,
            findings: done.matched,
            updated: done.changed,
            notes: vec![format!("{note} Risk scores follow within seconds.")],
            ..IngestSummary::default()
        }
    };
    let actor = audit_by(by, "scan.ingest", None, None);
    let record = |done: IntelImport| FeedRecord {
        setting_key: format!("intel.{}", feed.kind()),
        setting_value: serde_json::to_string(&status(done)).unwrap_or_default(),
        audit: ingest_record(&actor, &summary(done), channel),
    };
    let done = match feed {
        Feed::Kev { entries, .. } => state.store.import_kev(entries, record, at).await?,
        Feed::Epss { scores, .. } => state.store.import_epss(scores, record, at).await?,
    };
    Ok(summary(done))
}

/// The last import of each feed, for those imported at least once.
pub async fn feeds(state: &AppState) -> Result<Vec<FeedStatus>> {
    let mut out = Vec::new();
    for kind in FEED_KINDS {
        if let Some(s) = state
            .store
            .setting::<FeedStatus>(&format!("intel.{kind}"))
            .await?
        {
            out.push(s);
        }
    }
    Ok(out)
}

/// Parses and stores one document. `image` ties the report to an image (a digest, or a
/// `repository:tag` the inventory knows) when the report names none or another.
pub async fn ingest(
    state: &AppState,
    by: &Authed<Analyst>,
    body: &[u8],
    image: Option<String>,
    channel: &'static str,
) -> Result<Vec<IngestSummary>> {
    ingest_at(state, by, body, image, channel, now()).await
}

/// [`ingest`] as of `at`: the demo estate replays ninety days of its pipelines' uploads.
pub async fn ingest_at(
    state: &AppState,
    by: &Authed<Analyst>,
    body: &[u8],
    image: Option<String>,
    channel: &'static str,
    at: i64,
) -> Result<Vec<IngestSummary>> {
    let limit = state.settings.max_report_mb as usize * 1024 * 1024;
    let bytes = decompress(body, limit)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let document = parse(&bytes).map_err(invalid)?;
    let summaries = match document {
        Document::Reports(reports) => {
            // A report about nothing (`null`, `[]`, `{"Results": []}` from a pipeline
            // that scanned nothing) would make a placeholder image out of thin air.
            // The same for one whose every entry was unreadable: it says nothing.
            let named_by_upload = image.as_deref().is_some_and(|i| !i.trim().is_empty());
            if !named_by_upload && reports.iter().all(super::Report::is_about_nothing) {
                if let Some(first) = reports.iter().find_map(|r| r.skipped.first()) {
                    return Err(Error::invalid_at(
                        first.path.clone(),
                        format!("no entry of the report could be read: {}", first.reason),
                    ));
                }
                return Err(Error::invalid_at(
                    "body",
                    "the report names no artifact and holds no findings: name the image it is about (image=…) or send the scanner's full report",
                ));
            }
            let source = ScanSource {
                channel,
                uploaded_by: by.principal.name.clone(),
                report_sha256: sha,
            };
            let target = Target {
                reference: image
                    .filter(|i| !i.trim().is_empty())
                    .map(|i| i.trim().to_string()),
            };
            // One upload, one commit: the reports, their records, the suppressions
            // they meet and the coverage gaps a scan closes.
            let actor = audit_by(by, "scan.ingest", None, None);
            let policy = state.store.policy().await;
            let mut w = state.store.begin().await?;
            let summaries = w
                .ingest_reports(&reports, &target, &source, &actor, at)
                .await?;
            for s in &summaries {
                if let Some(image) = &s.image {
                    w.apply_suppressions(Some(image.id), at).await?;
                }
            }
            w.evaluate_scan_coverage(policy.scan_max_age_days, at)
                .await?;
            w.commit().await?;
            summaries
        }
        Document::Feed(feed) => vec![import_feed(state, by, &feed, channel, at).await?],
        Document::Vex { format, statements } => {
            let input = VexInput {
                format,
                statements: &statements,
                image: image.as_deref(),
                channel,
            };
            vec![ingest_vex(state, by, input, at).await?]
        }
    };
    Ok(summaries)
}

/// Stores a VEX document's statements, each applied only to what it names (see
/// [`vex`]); `image` (the upload's) scopes statements that name a package or nothing.
struct VexInput<'a> {
    format: super::Format,
    statements: &'a [super::VexStatement],
    /// The upload's `image=`.
    image: Option<&'a str>,
    channel: &'static str,
}

async fn ingest_vex(
    state: &AppState,
    by: &Authed<Analyst>,
    input: VexInput<'_>,
    at: i64,
) -> Result<IngestSummary> {
    let VexInput {
        format,
        statements,
        image,
        channel,
    } = input;
    let upload = match image.map(str::trim).filter(|i| !i.is_empty()) {
        Some(reference) => Some(image_target(state, reference).await?),
        None => None,
    };
    let mut rows = Vec::with_capacity(statements.len());
    let mut matches = Vec::with_capacity(statements.len());
    let mut unmatched = Vec::new();
    for s in statements {
        let suppresses = vex::suppresses(&s.status);
        let (target, scope, matched) = match vex::scope(s.product.as_deref()) {
            VexScope::Image { digest } => {
                let target = image_target(state, &digest).await?;
                (
                    Some(target.clone()),
                    image_scope(&target),
                    describe(&target),
                )
            }
            VexScope::Package { name } => {
                let target = VexTarget {
                    pkg_name: Some(name),
                    ..upload.clone().unwrap_or_default()
                };
                let scope = if upload.is_some() {
                    "package_in_image"
                } else {
                    "package"
                };
                let matched = describe(&target);
                (Some(target), scope, matched)
            }
            VexScope::Unnamed => match &upload {
                Some(target) => (Some(target.clone()), image_scope(target), describe(target)),
                None => (
                    None,
                    "nothing",
                    "names no product, and the upload names no image".to_string(),
                ),
            },
            VexScope::Nothing { reason } => (None, "nothing", reason),
        };
        let product = s.product.clone();
        match target {
            Some(target) => rows.push(VexRow {
                vuln_id: &s.vuln_id,
                target,
                justification: s.justification.as_deref(),
                suppresses,
            }),
            None => unmatched.push((
                s.vuln_id.clone(),
                product.clone().unwrap_or_else(|| "(no product)".into()),
            )),
        }
        matches.push(VexMatch {
            vuln_id: s.vuln_id.clone(),
            product,
            status: s.status.clone(),
            scope: scope.into(),
            suppresses: suppresses && scope != "nothing",
            matched,
        });
    }
    let notes = vex::unmatched_note(&unmatched).into_iter().collect();
    let mut summary = IngestSummary {
        format: format.as_str().into(),
        scanner: "vex".into(),
        kind: "vex".into(),
        entries: statements.len() as i64,
        notes,
        vex: matches,
        ..IngestSummary::default()
    };
    let actor = audit_by(by, "scan.ingest", None, None);
    let record = |active| {
        let counted = IngestSummary {
            suppressions: active,
            ..summary.clone()
        };
        ingest_record(&actor, &counted, channel)
    };
    summary.suppressions = state
        .store
        .apply_vex(&rows, &by.principal.name, record, at)
        .await?;
    Ok(summary)
}

/// The image a reference names: a digest (`sha256:…`, `repo@sha256:…`), known or kept
/// pending, or a `repository:tag` the inventory knows.
async fn image_target(state: &AppState, reference: &str) -> Result<VexTarget> {
    let digest_part = strip_repo(reference);
    if digest_part.starts_with("sha256:") {
        let digest = vex::image_digest(digest_part).ok_or_else(|| {
            Error::invalid_at("image", format!("'{reference}' is not a sha256 digest"))
        })?;
        let image_id = state.store.image_by_digest(&digest).await?;
        return Ok(VexTarget {
            image_digest: Some(digest),
            image_id,
            pkg_name: None,
        });
    }
    let (repository, tag) = repository_and_tag(reference);
    match state.store.image_by_tag(repository, tag).await? {
        Some(id) => Ok(VexTarget {
            image_id: Some(id),
            ..VexTarget::default()
        }),
        None => Err(Error::invalid_at(
            "image",
            format!("no image is tagged {repository}:{tag}; name it by digest"),
        )),
    }
}

/// The outcome's scope of a target naming an image: known, or waiting for its digest.
fn image_scope(target: &VexTarget) -> &'static str {
    if target.image_id.is_some() {
        "image"
    } else {
        "pending_image"
    }
}

/// A VEX target in words, for the upload's outcome.
fn describe(target: &VexTarget) -> String {
    let image = match (&target.image_digest, target.image_id) {
        (Some(digest), None) => Some(format!(
            "image {} (not seen yet: applies when it appears)",
            short(digest)
        )),
        (Some(digest), Some(_)) => Some(format!("image {}", short(digest))),
        (None, Some(id)) => Some(format!("image #{id}")),
        (None, None) => None,
    };
    match (&target.pkg_name, image) {
        (Some(pkg), Some(image)) => format!("package {pkg} in {image}"),
        (Some(pkg), None) => format!("package {pkg} in every image"),
        (None, Some(image)) => image,
        (None, None) => "nothing".into(),
    }
}

/// `sha256:` and the first twelve hex digits of a digest, as people read one.
pub(crate) fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}
