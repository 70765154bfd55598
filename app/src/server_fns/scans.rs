//! Scans, vulnerability findings and suppressions. Uploads go through the same
//! `coastguard_core::scans::ingest` as the REST API and the command line.

use crate::error::AppError;
use coastguard_model::vulns::{
    FeedStatus, IngestSummary, ScanView, SuppressionView, VulnFindingView, VulnPage, VulnQuery,
    VulnerabilityDetail,
};
use coastguard_model::Page;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Analyst, Viewer},
    coastguard_core::scans::{ingest, manage},
};

/// An image's findings, at most this many, for its page; the vulnerability list pages
/// through any number.
pub const IMAGE_FINDINGS_CAP: usize = 5_000;

/// What happened to one uploaded file: its reports' summaries, or why it was refused
/// (nothing of a refused file is stored; the other files are unaffected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadOutcome {
    pub file: String,
    pub summaries: Vec<IngestSummary>,
    pub error: Option<String>,
}

#[server(prefix = "/ui")]
pub async fn list_vulns(
    // An empty query encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] q: VulnQuery,
) -> Result<VulnPage, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.list_vuln_findings(&q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_vulnerability(id: String) -> Result<VulnerabilityDetail, AppError> {
    ctx::require::<Viewer>()?;
    match ctx::state()?.store.vulnerability_detail(&id).await {
        Err(coastguard_core::StoreError::NotFound) => Err(AppError::NotFound(format!(
            "No vulnerability {id} is known."
        ))),
        other => Ok(other?),
    }
}

/// Every finding of one image (all states), worst first, up to [`IMAGE_FINDINGS_CAP`].
#[server(prefix = "/ui")]
pub async fn image_vulns(image: i64) -> Result<Vec<VulnFindingView>, AppError> {
    ctx::require::<Viewer>()?;
    let store = ctx::state()?.store;
    let mut q = VulnQuery {
        image: Some(image),
        state: Some("all".into()),
        limit: Some(500),
        ..VulnQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list_vuln_findings(&q).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) if out.len() < IMAGE_FINDINGS_CAP => q.cursor = Some(c),
            _ => break,
        }
    }
    out.truncate(IMAGE_FINDINGS_CAP);
    Ok(out)
}

#[server(prefix = "/ui")]
pub async fn list_scans(
    image: Option<i64>,
    cursor: Option<String>,
) -> Result<Page<ScanView>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(manage::list_scans(&ctx::state()?, image, cursor.as_deref(), Some(50)).await?)
}

/// The last import of each exploit intelligence feed.
#[server(prefix = "/ui")]
pub async fn list_feeds() -> Result<Vec<FeedStatus>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ingest::feeds(&ctx::state()?).await?)
}

#[server(prefix = "/ui")]
pub async fn list_suppressions() -> Result<Vec<SuppressionView>, AppError> {
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?
        .store
        .list_suppressions(coastguard_core::now())
        .await?)
}

/// From a suppression form. `scope` is `package` (this package in this image), `image`,
/// `everywhere`, or `custom` (the image and package fields as given; empty means any).
/// An empty `expires_in_days` means until revoked.
#[server(prefix = "/ui")]
#[allow(clippy::too_many_arguments)]
pub async fn suppress(
    vuln_id: String,
    image_id: String,
    pkg_name: String,
    scope: String,
    kind: String,
    justification: String,
    expires_in_days: String,
) -> Result<i64, AppError> {
    use coastguard_model::vulns::{NewSuppression, SuppressionKind};
    let by = ctx::require::<Analyst>()?;
    let invalid = |field: &str, message: &str| AppError::Invalid {
        message: message.into(),
        field: Some(field.into()),
    };
    let number = |field: &str, raw: &str| match raw.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid(field, "must be a whole number")),
    };
    let kind = match kind.as_str() {
        "accepted" => SuppressionKind::Accepted,
        "not_affected" => SuppressionKind::NotAffected,
        _ => return Err(invalid("kind", "choose accepted or not affected")),
    };
    let (image_id, pkg_name) = match scope.as_str() {
        "package" | "custom" => (
            number("image_id", &image_id)?,
            Some(pkg_name).filter(|p| !p.trim().is_empty()),
        ),
        "image" => (number("image_id", &image_id)?, None),
        "everywhere" => (None, None),
        _ => {
            return Err(invalid(
                "scope",
                "choose a package, an image or every image",
            ))
        }
    };
    if scope == "package" && (image_id.is_none() || pkg_name.is_none()) {
        return Err(invalid(
            "scope",
            "a package scope needs the image and the package",
        ));
    }
    let input = NewSuppression {
        vuln_id,
        image_id,
        pkg_name,
        kind,
        justification,
        expires_in_days: number("expires_in_days", &expires_in_days)?,
    };
    Ok(coastguard_core::exceptions::compat::create_suppression(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn revoke_suppression(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Analyst>()?;
    Ok(coastguard_core::exceptions::compat::revoke_suppression(&ctx::state()?, &by, id).await?)
}

/// A multipart form with an optional `image` field and one or more `report` files. The
/// whole upload is limited to the report size limit; each file is ingested on its own.
#[server(prefix = "/ui", endpoint = "upload_scan", input = MultipartFormData)]
pub async fn upload_scan(data: MultipartData) -> Result<Vec<UploadOutcome>, AppError> {
    let by = ctx::require::<Analyst>()?;
    let state = ctx::state()?;
    let limit = state.settings.max_report_mb as usize * 1024 * 1024;
    use coastguard_core::Error;
    // Through the core error, so the response carries the matching HTTP status.
    let too_large = || -> AppError {
        Error::PayloadTooLarge(format!(
            "The upload is larger than the {} MiB limit.",
            state.settings.max_report_mb
        ))
        .into()
    };
    let malformed = |e: &dyn std::fmt::Display| -> AppError {
        Error::Malformed(format!("The upload could not be read: {e}")).into()
    };
    let mut form = data.into_inner().ok_or(AppError::Internal)?;
    let mut image = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(|e| malformed(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
            total += chunk.len();
            if total > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "image" => image = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "report" if !bytes.is_empty() => {
                files.push((file_name.unwrap_or_else(|| "report".into()), bytes))
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(Error::invalid_at("report", "Choose at least one report file.").into());
    }
    let mut outcomes = Vec::with_capacity(files.len());
    for (file, bytes) in files {
        let outcome = match ingest::ingest(&state, &by, &bytes, image.clone(), "ui").await {
            Ok(summaries) => UploadOutcome {
                file,
                summaries,
                error: None,
            },
            Err(e @ Error::Internal(_)) => return Err(e.into()),
            Err(e) => {
                // A refused file is that file's outcome, not the request's status.
                UploadOutcome {
                    file,
                    summaries: vec![],
                    error: Some(e.detailed()),
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
