//! Admin: the audit log, newest first, fifty per page.

use crate::components::common::{ErrorBox, Loading, Timestamp};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::access::list_audit;
use coastguard_model::{AuditEntry, Page};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    // Made here, outside <AdminOnly>'s <Suspense> (see components::risk).
    let query = use_query_map();
    let before = move || query.with(|q| q.get("before").and_then(|b| b.parse::<i64>().ok()));
    let page = Resource::new(before, list_audit);
    view! {
        <Title text="Audit log" />
        <AdminOnly>
            <AuditLog page />
        </AdminOnly>
    }
}

#[component]
fn AuditLog(page: Resource<Result<Page<AuditEntry>, AppError>>) -> impl IntoView {
    view! {
        <h1>"Audit log"</h1>
        <section class="panel">
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) => view! { <AuditTable page=p /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AuditTable(page: Page<AuditEntry>) -> impl IntoView {
    let rows = page
        .items
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td><Timestamp at=Some(e.at) /></td>
                    <td>{e.actor_name}<span class="muted">" (" {e.actor_kind} ")"</span></td>
                    <td><code>{e.action}</code></td>
                    <td>{e.target.unwrap_or_default()}</td>
                    <td class="detail"><code>{e.detail.unwrap_or_default()}</code></td>
                    <td>{e.ip.unwrap_or_default()}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"Detail"</th>
                    <th scope="col">"Address"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            <a href="/admin/audit">"Newest"</a>
            {page.next_cursor.map(|c| view! { <a href=format!("/admin/audit?before={c}")>"Older entries →"</a> })}
        </nav>
    }
}
