//! An image's vulnerabilities, grouped by package or by the layer (build step) that
//! brought them in, and its scan history.

use super::scans::ScanTable;
use crate::components::common::{ErrorBox, Loading, SeverityBadge};
use crate::components::listing::{short_digest, SeverityPills};
use crate::components::vulns::vuln_href;
use crate::error::AppError;
use crate::server_fns::scans::{image_vulns, list_scans, IMAGE_FINDINGS_CAP};
use coastguard_model::docker::HistoryEntry;
use coastguard_model::vulns::{ScanView, VulnFindingView, VulnState};
use coastguard_model::{Page, Severity, SeverityCounts};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Findings that share a key (a package, or a layer), worst group first.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: String,
    /// What the key is, for people (`RUN apk add …`, `openssl 1.1.1 (apk)`).
    pub label: String,
    /// Fixed versions the findings name, distinct.
    pub fixes: Vec<String>,
    /// Open findings per severity.
    pub open: SeverityCounts,
    pub findings: Vec<VulnFindingView>,
}

impl Group {
    fn worst(&self) -> (Severity, i64) {
        let worst = Severity::DESCENDING
            .iter()
            .copied()
            .find(|s| self.open.get(*s) > 0)
            .unwrap_or(Severity::Unknown);
        (worst, self.open.total())
    }
}

fn group_by<F>(findings: &[VulnFindingView], key: F) -> Vec<Group>
where
    F: Fn(&VulnFindingView) -> (String, String),
{
    let mut groups: Vec<Group> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for f in findings.iter().filter(|f| f.state != VulnState::Fixed) {
        let (k, label) = key(f);
        let i = *index.entry(k.clone()).or_insert_with(|| {
            groups.push(Group {
                key: k,
                label,
                fixes: vec![],
                open: SeverityCounts::default(),
                findings: vec![],
            });
            groups.len() - 1
        });
        let g = &mut groups[i];
        if f.state == VulnState::Open {
            g.open.add(f.severity, 1);
        }
        if let Some(fix) = &f.fixed_version {
            if !g.fixes.contains(fix) {
                g.fixes.push(fix.clone());
            }
        }
        g.findings.push(f.clone());
    }
    groups.sort_by(|a, b| {
        b.worst()
            .cmp(&a.worst())
            .then_with(|| a.label.cmp(&b.label))
    });
    groups
}

/// One group per installed package (type, name, version).
pub fn by_package(findings: &[VulnFindingView]) -> Vec<Group> {
    group_by(findings, |f| {
        (
            format!(
                "{}\u{0}{}\u{0}{}",
                f.pkg_type, f.pkg_name, f.installed_version
            ),
            format!("{} {} ({})", f.pkg_name, f.installed_version, f.pkg_type),
        )
    })
}

/// One group per layer, named by the build step that created it. The engine lists
/// layers (`layers`, by DiffID) base first and the history newest first; the history's
/// steps that added files are the layers, in reverse. The engine's history does not say
/// which steps made a layer, only their size, so the steps are named only when the
/// steps with a size match the layers one for one.
pub fn by_layer(
    findings: &[VulnFindingView],
    layers: &[String],
    history: &[HistoryEntry],
) -> Vec<Group> {
    let mut steps: Vec<&HistoryEntry> = history.iter().rev().filter(|h| !h.empty_layer).collect();
    if steps.len() != layers.len() {
        steps.clear();
    }
    let mut groups = group_by(findings, |f| match &f.layer {
        None => ("".into(), "Layer not reported by the scanner".into()),
        Some(layer) => {
            let label = match layers.iter().position(|l| l == layer) {
                Some(n) => match steps.get(n) {
                    Some(step) => format!("Layer {}: {}", n + 1, step.created_by.trim()),
                    None => format!("Layer {}", n + 1),
                },
                None => format!("Layer {}", short_digest(layer)),
            };
            (layer.clone(), label)
        }
    });
    // Build order reads better than severity order for layers; unknown last.
    let position = |g: &Group| {
        layers
            .iter()
            .position(|l| *l == g.key)
            .unwrap_or(usize::MAX - usize::from(!g.key.is_empty()))
    };
    groups.sort_by_key(position);
    groups
}

/// What [`ImageVulns`] shows, loaded by the image page before its `<Suspense>` (see
/// `components::risk` for why a resource is never made inside one).
#[derive(Clone, Copy)]
pub struct ImageVulnsResources {
    findings: Resource<Result<Vec<VulnFindingView>, AppError>>,
    scans: Resource<Result<Page<ScanView>, AppError>>,
}

/// The findings and scan history of the image whose id `id` gives (the page's route).
pub fn image_vulns_resources(
    id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> ImageVulnsResources {
    ImageVulnsResources {
        findings: Resource::new(id, image_vulns),
        scans: Resource::new(id, |id| list_scans(Some(id), None)),
    }
}

#[component]
pub fn ImageVulns(
    image: i64,
    resources: ImageVulnsResources,
    layers: Vec<String>,
    history: Vec<HistoryEntry>,
) -> impl IntoView {
    let query = use_query_map();
    let ImageVulnsResources {
        findings: data,
        scans,
    } = resources;
    let layer_view = move || query.with(|q| q.get("group").as_deref() == Some("layer"));
    view! {
        <section class="panel" id="vulnerabilities">
            <div class="page-head">
                <h2>"Vulnerabilities"</h2>
                <nav class="head-links" aria-label="Group by">
                    <a href="?group=package#vulnerabilities" aria-current=move || (!layer_view()).then_some("true")>"By package"</a>
                    <a href="?group=layer#vulnerabilities" aria-current=move || layer_view().then_some("true")>"By layer"</a>
                    <a href=format!("/vulnerabilities?image={image}")>"As a list"</a>
                </nav>
            </div>
            <Suspense fallback=Loading>
                {move || Suspend::new({
                    let (layers, history) = (layers.clone(), history.clone());
                    async move {
                    match data.await {
                        Ok(findings) if findings.is_empty() => view! {
                            <p class="muted">"No vulnerability findings: no scan of this image has been received, or the scans found none. See the scan history below."</p>
                        }.into_any(),
                        Ok(findings) => {
                            let fixed = findings.iter().filter(|f| f.state == VulnState::Fixed).count();
                            let capped = findings.len() >= IMAGE_FINDINGS_CAP;
                            let groups = if layer_view() {
                                by_layer(&findings, &layers, &history)
                            } else {
                                by_package(&findings)
                            };
                            view! {
                                {capped.then(|| view! { <p class="alert alert-error">{format!("Showing the worst {IMAGE_FINDINGS_CAP} findings; the list has all of them.")}</p> })}
                                <GroupTable groups />
                                {(fixed > 0).then(|| view! {
                                    <p class="muted small">
                                        <a href=format!("/vulnerabilities?image={image}&state=fixed")>{format!("{fixed} fixed findings")}</a>
                                        " are no longer reported by the latest scans."
                                    </p>
                                })}
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                }})}
            </Suspense>
        </section>
        <section class="panel" id="scans">
            <h2>"Scan history"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match scans.await {
                        Ok(page) => view! { <ScanTable scans=page.items show_image=false /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn GroupTable(groups: Vec<Group>) -> impl IntoView {
    let rows = groups
        .into_iter()
        .map(|g| {
            let n = g.findings.len();
            let items = g
                .findings
                .iter()
                .map(|f| {
                    let state = (f.state == VulnState::Suppressed).then_some(" (suppressed)");
                    view! {
                        <li>
                            <SeverityBadge severity=f.severity />" "
                            <a href=vuln_href(&f.vuln_id)>{f.vuln_id.clone()}</a>
                            " " <span class="muted small">{f.pkg_name.clone()}" "{f.installed_version.clone()}
                            {f.fixed_version.clone().map(|v| format!(" → {v}"))}{state}</span>
                        </li>
                    }.into_any()
                })
                .collect_view();
            let fixes = if g.fixes.is_empty() {
                "no fix yet".to_string()
            } else {
                g.fixes.join(", ")
            };
            view! {
                <tr>
                    <td>
                        <details>
                            <summary><code class="history-line">{g.label.clone()}</code></summary>
                            <ul class="group-items">{items}</ul>
                        </details>
                    </td>
                    <td><SeverityPills counts=g.open.clone() /></td>
                    <td class="num">{n}</td>
                    <td class="small">{fixes}</td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Package or layer"</th>
                    <th scope="col">"Open"</th>
                    <th scope="col">"Findings"</th>
                    <th scope="col">"Fixed in"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::vulns::ImageBrief;

    fn finding(
        id: i64,
        pkg: &str,
        sev: Severity,
        state: VulnState,
        layer: Option<&str>,
    ) -> VulnFindingView {
        VulnFindingView {
            id,
            vuln_id: format!("CVE-2024-{id}"),
            title: None,
            severity: sev,
            scanner_severity: None,
            cvss_score: None,
            epss: None,
            known_exploited: false,
            pkg_type: "apk".into(),
            pkg_name: pkg.into(),
            installed_version: "1.0".into(),
            fixed_version: (id % 2 == 0).then(|| "1.1".to_string()),
            layer: layer.map(str::to_string),
            image: ImageBrief {
                id: 1,
                digest: "sha256:x".into(),
                name: "x".into(),
            },
            state,
            first_seen_at: 0,
            last_seen_at: 0,
            fixed_at: None,
            reopened_at: None,
            scanners: vec![],
            suppression: None,
        }
    }

    fn step(created_by: &str, empty_layer: bool) -> HistoryEntry {
        HistoryEntry {
            created: None,
            created_by: created_by.into(),
            size: 0,
            empty_layer,
        }
    }

    #[test]
    fn packages_group_worst_first_and_fixed_findings_are_left_out() {
        let findings = vec![
            finding(1, "zlib", Severity::Low, VulnState::Open, None),
            finding(2, "openssl", Severity::Critical, VulnState::Open, None),
            finding(3, "openssl", Severity::Medium, VulnState::Suppressed, None),
            finding(4, "busybox", Severity::Critical, VulnState::Fixed, None),
        ];
        let groups = by_package(&findings);
        let summary: Vec<(&str, usize, i64)> = groups
            .iter()
            .map(|g| (g.label.as_str(), g.findings.len(), g.open.total()))
            .collect();
        assert_eq!(
            summary,
            vec![("openssl 1.0 (apk)", 2, 1), ("zlib 1.0 (apk)", 1, 1)]
        );
        assert_eq!(groups[0].fixes, vec!["1.1".to_string()]);
    }

    #[test]
    fn layers_are_named_by_their_build_step_in_build_order() {
        let layers = vec!["sha256:base".to_string(), "sha256:app".to_string()];
        // Newest first, as the engine gives it.
        let history = vec![
            step("RUN apk add openssl", false),
            step("ENV PATH=/bin", true),
            step("ADD rootfs.tar /", false),
        ];
        let findings = vec![
            finding(
                1,
                "openssl",
                Severity::High,
                VulnState::Open,
                Some("sha256:app"),
            ),
            finding(
                2,
                "musl",
                Severity::Low,
                VulnState::Open,
                Some("sha256:base"),
            ),
            finding(3, "gem", Severity::Critical, VulnState::Open, None),
            finding(
                4,
                "x",
                Severity::Low,
                VulnState::Open,
                Some("sha256:elsewhere"),
            ),
        ];
        let labels: Vec<String> = by_layer(&findings, &layers, &history)
            .into_iter()
            .map(|g| g.label)
            .collect();
        assert_eq!(
            labels,
            vec![
                "Layer 1: ADD rootfs.tar /",
                "Layer 2: RUN apk add openssl",
                "Layer elsewhere",
                "Layer not reported by the scanner",
            ]
        );
        // A history that does not line up with the layers names no steps.
        let labels: Vec<String> = by_layer(&findings[..2], &layers, &history[..1])
            .into_iter()
            .map(|g| g.label)
            .collect();
        assert_eq!(labels, vec!["Layer 1", "Layer 2"]);
    }
}
