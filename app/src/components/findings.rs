//! The configuration findings table, shared by the findings page and detail pages, with
//! the analyst's accept/withdraw actions.

use super::common::{SeverityBadge, Timestamp};
use crate::server_fns::inventory::{AcceptFinding, UnacceptFinding};
use coastguard_model::findings::{ConfigFindingView, FindingState, SubjectKind};
use coastguard_model::format_timestamp;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The actions a findings table triggers; pages refetch when their versions change.
#[derive(Clone, Copy)]
pub struct TriageActions {
    pub accept: ServerAction<AcceptFinding>,
    pub unaccept: ServerAction<UnacceptFinding>,
}

impl TriageActions {
    pub fn new() -> TriageActions {
        TriageActions {
            accept: ServerAction::new(),
            unaccept: ServerAction::new(),
        }
    }

    /// Changes whenever either action completes.
    pub fn version(&self) -> usize {
        self.accept.version().get() + self.unaccept.version().get()
    }
}

impl Default for TriageActions {
    fn default() -> Self {
        Self::new()
    }
}

pub fn subject_href(kind: SubjectKind, id: i64) -> String {
    match kind {
        SubjectKind::Host => format!("/hosts/{id}"),
        SubjectKind::Image => format!("/images/{id}"),
        SubjectKind::Container => format!("/containers/{id}"),
        SubjectKind::Pod => format!("/kubernetes/pods/{id}"),
        SubjectKind::Workload => format!("/kubernetes/workloads/{id}"),
        SubjectKind::Namespace => format!("/kubernetes/namespaces/{id}"),
        SubjectKind::Cluster => format!("/kubernetes/clusters/{id}"),
    }
}

#[component]
pub fn FindingsTable(
    findings: Vec<ConfigFindingView>,
    show_subject: bool,
    can_triage: bool,
    actions: TriageActions,
) -> impl IntoView {
    if findings.is_empty() {
        return view! { <p class="muted">"No findings."</p> }.into_any();
    }
    // Keyed by id and state, so a row that changes state is rebuilt (an open
    // "Accept risk" form must not stay open on whichever row takes its place).
    let row = move |f: ConfigFindingView| {
        view! { <FindingRow finding=f show_subject can_triage actions /> }
    };
    view! {
        <div class="table-wrap">
        <table class="table findings-table">
            <thead>
                <tr>
                    <th scope="col">"Severity"</th>
                    <th scope="col">"Finding"</th>
                    {show_subject.then(|| view! { <th scope="col">"Subject"</th> })}
                    <th scope="col">"Evidence"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"First seen"</th>
                    {can_triage.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                <For each=move || findings.clone() key=|f| (f.id, f.state) children=row />
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// One row of [`FindingsTable`]. A component of its own, erased with `.into_any()`, so
/// the table's view type stays shallow (release builds lay the whole type out).
#[component]
fn FindingRow(
    finding: ConfigFindingView,
    show_subject: bool,
    can_triage: bool,
    actions: TriageActions,
) -> AnyView {
    let f = finding;
    let id = f.id.to_string();
    let state = f.state;
    let subject = show_subject.then(|| {
            let href = subject_href(f.subject_kind, f.subject_id);
            view! {
                <td>
                    <span class="muted small">{f.subject_kind.as_str()}" "</span>
                    <a href=href>{f.subject_name.clone()}</a>
                    {f.host_name.clone().filter(|_| f.subject_kind == SubjectKind::Container).map(|h| view! {
                        <div class="muted small">"on " {h}</div>
                    })}
                </td>
            }
        });
    let state_cell = match state {
            FindingState::Accepted => view! {
                <span class="status status-neutral">"accepted"</span>
                <div class="small muted">
                    {f.accepted_by.clone().unwrap_or_default()}": “"{f.accepted_reason.clone().unwrap_or_default()}"”"
                    {f.accepted_until.map(|u| format!(" until {}", format_timestamp(u)))}
                </div>
            }
            .into_any(),
            FindingState::Resolved => view! {
                <span class="status status-good">"resolved"</span>
                <div class="small muted">{f.resolved_at.map(format_timestamp)}</div>
            }
            .into_any(),
            FindingState::Open => view! {
                <span class="status status-bad">"open"</span>
                {f.reopened_at.map(|r| view! { <div class="small muted">"reopened " {format_timestamp(r)}</div> })}
            }
            .into_any(),
        };
    let actions_cell = can_triage.then(|| match state {
            FindingState::Open => {
                let (id_a, label) = (id.clone(), format!("Reason for accepting {}", f.title));
                view! {
                    <details class="inline-details">
                        <summary class="btn btn-small">"Accept risk"</summary>
                        <ActionForm action=actions.accept attr:class="stack-form">
                            <input type="hidden" name="id" value=id_a />
                            <input name="reason" required minlength="3" maxlength="1000" placeholder="Why is this acceptable?"
                                aria-label=label />
                            <input name="expires_in_days" type="number" min="1" max="3650" placeholder="days (optional)"
                                aria-label="Accept for this many days" />
                            <button class="btn btn-small btn-primary" type="submit">"Accept"</button>
                        </ActionForm>
                    </details>
                }
                .into_any()
            }
            FindingState::Accepted => view! {
                <ActionForm action=actions.unaccept attr:class="inline-form">
                    <input type="hidden" name="id" value=id.clone() />
                    <button class="btn btn-small" type="submit">"Withdraw acceptance"</button>
                </ActionForm>
            }
            .into_any(),
            FindingState::Resolved => ().into_any(),
        });
    view! {
        <tr>
            <td><SeverityBadge severity=f.severity /></td>
            <td>
                <strong>{f.title.clone()}</strong>
                <div class="small muted">
                    <code>{f.check_id.clone()}</code>
                    {f.cis.clone().map(|c| {
                        let benchmark = f.cis_benchmark.clone().unwrap_or_else(|| "CIS".into());
                        view! { " · " <span title=benchmark.clone()>{format!("{benchmark} {c}")}</span> }
                    })}
                </div>
                <details class="fix">
                    <summary>"How to fix"</summary>
                    <p>{f.remediation.clone()}</p>
                </details>
            </td>
            {subject}
            <td class="evidence">{f.evidence.clone()}</td>
            <td>{state_cell}</td>
            <td class="small nowrap"><Timestamp at=Some(f.first_seen_at) /><div class="muted">"last " {format_timestamp(f.last_seen_at)}</div></td>
            {actions_cell.map(|a| view! { <td class="actions">{a}</td> })}
        </tr>
    }
    .into_any()
}
