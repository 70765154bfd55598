//! Scan reports, vulnerability findings, suppressions, and exports.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coastguard_core::auth::{Analyst, Authed, Viewer};
use coastguard_core::scans::{ingest, manage};
use coastguard_core::{now, Error, Result, StoreError};
use coastguard_model::vulns::{
    FeedStatus, IngestSummary, NewSuppression, ScanView, SuppressionView, VulnPage, VulnQuery,
    VulnerabilityDetail,
};
use coastguard_model::{ErrorBody, Page};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Tie the report to this image: a digest (`sha256:…`) or a `repository:tag` the
    /// inventory knows. Needed when the report names no image (filesystem scans, most
    /// SARIF).
    image: Option<String>,
}

/// Upload a scan report (Trivy, Grype, SARIF, CycloneDX), a VEX document (CycloneDX,
/// OpenVEX) or an exploit intelligence feed (the CISA KEV catalog's JSON, FIRST's EPSS
/// CSV) as the request body; the format is detected from the content. Gzip bodies are
/// accepted. The whole document is stored in one transaction, or nothing is. A feed
/// marks the vulnerabilities it names, now and when later reports bring them.
#[utoipa::path(post, path = "/scans", tag = "scans", params(UploadQuery),
    request_body(content = String, description = "The report (JSON), optionally gzip-compressed", content_type = "application/json"),
    responses((status = 201, body = Vec<IngestSummary>), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid report, with where"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn upload(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<Vec<IngestSummary>>)> {
    let limit = state.app.settings.max_report_mb as usize * 1024 * 1024;
    let body: Bytes = axum::body::to_bytes(request.into_body(), limit + 1)
        .await
        .map_err(|_| {
            Error::PayloadTooLarge(format!(
                "the report is larger than the {} MiB limit",
                limit >> 20
            ))
        })?;
    let summaries = ingest::ingest(&state.app, &by, &body, q.image, "api").await?;
    Ok((StatusCode::CREATED, Json(summaries)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanListQuery {
    /// Only this image's scans (its scan history).
    image: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The last import of each exploit intelligence feed (KEV, EPSS), for those imported.
#[utoipa::path(get, path = "/feeds", tag = "scans",
    responses((status = 200, body = Vec<FeedStatus>), (status = 401, body = ErrorBody)))]
pub async fn list_feeds(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Vec<FeedStatus>>> {
    Ok(Json(
        coastguard_core::scans::ingest::feeds(&state.app).await?,
    ))
}

/// Scans received, newest first.
#[utoipa::path(get, path = "/scans", tag = "scans", params(ScanListQuery),
    responses((status = 200, body = Page<ScanView>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_scans(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ScanListQuery>,
) -> Result<Json<Page<ScanView>>> {
    Ok(Json(
        manage::list_scans(&state.app, q.image, q.cursor.as_deref(), q.limit).await?,
    ))
}

/// Vulnerability findings (one per image + package + vulnerability), worst first by
/// default. Keyset-paged: pass `next_cursor` back as `cursor`.
#[utoipa::path(get, path = "/vulnerabilities", tag = "scans", params(VulnQuery),
    responses((status = 200, body = VulnPage), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_vulnerabilities(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<VulnQuery>,
) -> Result<Json<VulnPage>> {
    Ok(Json(state.app.store.list_vuln_findings(&q).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `json` (one array).
    format: Option<String>,
}

/// Every finding matching the filters of `/vulnerabilities`, as CSV or JSON, streamed.
#[utoipa::path(get, path = "/vulnerabilities/export", tag = "scans", params(ExportQuery, VulnQuery),
    responses((status = 200, description = "CSV or JSON", content_type = "text/csv"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn export(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(format): ApiQuery<ExportQuery>,
    ApiQuery(mut q): ApiQuery<VulnQuery>,
) -> Result<Response> {
    let csv = match format
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or("csv")
    {
        "csv" => true,
        "json" => false,
        other => {
            return Err(Error::invalid_at(
                "format",
                format!("unknown format '{other}': use csv or json"),
            ))
        }
    };
    if q.limit.is_some() || q.cursor.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(Error::invalid_at(
            "limit",
            "the export streams every matching finding: limit and cursor do not apply",
        ));
    }
    q.limit = Some(500);
    // Check the filters before the first byte goes out.
    let first = state.app.store.list_vuln_findings(&q).await?;
    let store = state.app.store.clone();
    let stream = futures::stream::unfold(Some((first, q, true)), move |step| {
        let store = store.clone();
        async move {
            let (page, mut q, first_page) = step?;
            let mut chunk = String::new();
            if first_page {
                chunk.push_str(if csv {
                    "vuln_id,severity,cvss,epss,known_exploited,package_type,package,installed_version,fixed_version,image,image_digest,state,first_seen,last_seen,scanners,scanner_severity\n"
                } else {
                    "["
                });
            }
            for (i, f) in page.items.iter().enumerate() {
                if csv {
                    let cells = [
                        f.vuln_id.clone(),
                        f.severity.as_str().into(),
                        f.cvss_score.map(|s| s.to_string()).unwrap_or_default(),
                        f.epss.map(|s| s.to_string()).unwrap_or_default(),
                        f.known_exploited.to_string(),
                        f.pkg_type.clone(),
                        f.pkg_name.clone(),
                        f.installed_version.clone(),
                        f.fixed_version.clone().unwrap_or_default(),
                        f.image.name.clone(),
                        f.image.digest.clone(),
                        f.state.as_str().into(),
                        coastguard_model::format_timestamp(f.first_seen_at),
                        coastguard_model::format_timestamp(f.last_seen_at),
                        f.scanners.join(" "),
                        f.scanner_severity.clone().unwrap_or_default(),
                    ];
                    chunk.push_str(
                        &cells
                            .iter()
                            .map(|c| csv_cell(c))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    chunk.push('\n');
                } else {
                    if !(first_page && i == 0) {
                        chunk.push(',');
                    }
                    chunk.push_str(&serde_json::to_string(f).unwrap_or_default());
                }
            }
            let next = match page.next_cursor {
                Some(cursor) => {
                    q.cursor = Some(cursor);
                    match store.list_vuln_findings(&q).await {
                        Ok(next) => Some((next, q, false)),
                        Err(e) => {
                            tracing::error!(error = %e, "export stopped");
                            None
                        }
                    }
                }
                None => None,
            };
            if next.is_none() && !csv {
                chunk.push(']');
            }
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    let (kind, name) = if csv {
        ("text/csv; charset=utf-8", "vulnerabilities.csv")
    } else {
        ("application/json", "vulnerabilities.json")
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// CSV cell, quoted when needed; cells that a spreadsheet would run as a formula are
/// prefixed with `'` (CSV injection).
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A vulnerability by any of its ids (`CVE-…`, `GHSA-…`), with every image, container
/// and host it affects.
#[utoipa::path(get, path = "/vulnerabilities/{id}", tag = "scans", params(("id" = String, Path)),
    responses((status = 200, body = VulnerabilityDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_vulnerability(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VulnerabilityDetail>> {
    match state.app.store.vulnerability_detail(&id).await {
        Ok(d) => Ok(Json(d)),
        Err(StoreError::NotFound) => {
            Err(Error::NotFound(format!("no vulnerability {id} is known")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Suppressions (manual and from VEX), active first.
#[utoipa::path(get, path = "/suppressions", tag = "scans",
    responses((status = 200, body = Vec<SuppressionView>), (status = 401, body = ErrorBody)))]
pub async fn list_suppressions(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Vec<SuppressionView>>> {
    Ok(Json(state.app.store.list_suppressions(now()).await?))
}

/// Accept a risk or mark a vulnerability not affecting, everywhere or for one image or
/// package. Returns the suppression's id.
#[utoipa::path(post, path = "/suppressions", tag = "scans", request_body = NewSuppression,
    responses((status = 201, body = i64, content_type = "application/json"), (status = 404, body = ErrorBody, description = "image_id names no image"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_suppression(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewSuppression>,
) -> Result<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            coastguard_core::exceptions::compat::create_suppression(&state.app, &by, input).await?,
        ),
    ))
}

/// Revoke a suppression: its findings are open again.
#[utoipa::path(delete, path = "/suppressions/{id}", tag = "scans", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke_suppression(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    coastguard_core::exceptions::compat::revoke_suppression(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(super::csv_cell("plain"), "plain");
        assert_eq!(super::csv_cell("a,b"), "\"a,b\"");
        assert_eq!(super::csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_cell("=cmd()"), "'=cmd()");
    }
}
