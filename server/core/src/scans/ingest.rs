//! Ingesting a report: the one code path behind `POST /api/v1/scans`, the upload form
//! and `coastguard ingest`. Bad input is refused before anything is stored, and a
//! document is stored in one transaction.

use super::intel::Feed;
use super::{parse, Document, ParseError};
use crate::access::audit_by;
use crate::auth::{Analyst, Authed};
use crate::error::{Error, Result};
use crate::store::vulns::{ScanSource, Target, VexTarget};
use crate::{now, AppState};
use coastguard_model::vulns::{FeedStatus, IngestSummary};
use serde_json::json;
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

/// Stores a feed, marks the vulnerabilities it names, and records the import.
async fn import_feed(
    state: &AppState,
    by: &Authed<Analyst>,
    feed: &Feed,
    at: i64,
) -> Result<IngestSummary> {
    let done = match feed {
        Feed::Kev { entries, .. } => state.store.import_kev(entries, at).await?,
        Feed::Epss { scores, .. } => state.store.import_epss(scores, at).await?,
    };
    let status = FeedStatus {
        kind: feed.kind().into(),
        name: feed_name(feed.kind()).into(),
        version: feed.version(),
        entries: feed.len() as i64,
        matched: done.matched,
        changed: done.changed,
        imported_at: at,
        imported_by: by.principal.name.clone(),
    };
    state
        .store
        .put_setting(
            &format!("intel.{}", feed.kind()),
            &status,
            &by.principal.name,
            at,
        )
        .await?;
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
    Ok(IngestSummary {
        format: feed.kind().into(),
        scanner: status.name.clone(),
        kind: "feed".into(),
        entries: status.entries,
        findings: done.matched,
        updated: done.changed,
        notes: vec![format!("{note} Risk scores follow within seconds.")],
        ..IngestSummary::default()
    })
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
            let summaries = state
                .store
                .ingest_reports(&reports, &target, &source, at)
                .await?;
            for s in &summaries {
                if let Some(image) = &s.image {
                    state.store.apply_suppressions(Some(image.id), at).await?;
                }
            }
            // A scan of a running image closes its coverage gap now, not at the next
            // housekeeping run.
            let policy = crate::docker::collector::policy(state).await;
            state
                .store
                .evaluate_scan_coverage(policy.scan_max_age_days, at)
                .await?;
            summaries
        }
        Document::Feed(feed) => vec![import_feed(state, by, &feed, at).await?],
        Document::Vex { format, statements } => {
            let mut resolved = Vec::with_capacity(statements.len());
            for s in &statements {
                let target = vex_target(state, s.product.as_deref()).await?;
                let applies = matches!(s.status.as_str(), "not_affected" | "fixed");
                resolved.push((
                    target,
                    s.vuln_id.as_str(),
                    s.justification.as_deref(),
                    applies,
                ));
            }
            let active = state
                .store
                .apply_vex(&resolved, &by.principal.name, at)
                .await?;
            state.store.apply_suppressions(None, at).await?;
            vec![IngestSummary {
                format: format.as_str().into(),
                scanner: "vex".into(),
                kind: "vex".into(),
                entries: statements.len() as i64,
                suppressions: active,
                ..IngestSummary::default()
            }]
        }
    };
    for s in &summaries {
        state
            .store
            .audit(
                &audit_by(
                    by,
                    "scan.ingest",
                    s.scan_id.map(|id| format!("scan:{id}")),
                    Some(json!({
                        "format": s.format, "scanner": s.scanner, "channel": channel, "entries": s.entries,
                        "created": s.created, "fixed": s.fixed, "suppressions": s.suppressions,
                        "image": s.image.as_ref().map(|i| i.digest.clone()),
                    })),
                ),
                at,
            )
            .await?;
    }
    Ok(summaries)
}

/// A VEX product: an image digest (`pkg:oci/...@sha256:…`, `sha256:…`), a package purl,
/// or anything else (applies everywhere).
async fn vex_target(state: &AppState, product: Option<&str>) -> Result<VexTarget> {
    let Some(product) = product else {
        return Ok(VexTarget::default());
    };
    if let Some(purl) = super::pkg::parse_purl(product) {
        if purl.kind == "oci" || purl.kind == "docker" {
            let digest = purl.version.unwrap_or_default();
            return Ok(VexTarget {
                image_id: state.store.image_by_digest(&digest).await?,
                pkg_name: None,
            });
        }
        let pkg = super::PackageRef::new(&purl.kind, "", "", Some(product));
        return Ok(VexTarget {
            image_id: None,
            pkg_name: Some(pkg.name),
        });
    }
    if product.starts_with("sha256:") {
        return Ok(VexTarget {
            image_id: state.store.image_by_digest(product).await?,
            pkg_name: None,
        });
    }
    Ok(VexTarget::default())
}
