//! The container inventory.

use crate::components::common::{ErrorBox, Loading};
use crate::components::listing::{
    list_query_from, FilterBar, Pager, SeverityPills, SortHeader, StatusBadge,
};
use crate::server_fns::inventory::list_containers;
use coastguard_model::inventory::{ContainerSummary, Listing};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ContainersPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || list_query_from(&query.get()), list_containers);
    view! {
        <Title text="Containers" />
        <h1>"Containers"</h1>
        <FilterBar path="/containers" placeholder="name or image" states=&["running", "exited", "created", "paused", "restarting", "dead"] severity=true />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <ContainerTable list /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ContainerTable(list: Listing<ContainerSummary>) -> impl IntoView {
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    view! {
        <table class="table">
            <thead>
                <tr>
                    <SortHeader path="/containers" label="Container" key="name" first_dir="asc" default=true />
                    <SortHeader path="/containers" label="Host" key="host" first_dir="asc" default=false />
                    <th scope="col">"Image"</th>
                    <SortHeader path="/containers" label="State" key="state" first_dir="asc" default=false />
                    <th scope="col">"User"</th>
                    <SortHeader path="/containers" label="Open findings" key="findings" first_dir="desc" default=false />
                </tr>
            </thead>
            <tbody><Rows items=list.items /></tbody>
        </table>
        <Pager path="/containers" total page per_page />
    }
}

#[component]
fn Rows(items: Vec<ContainerSummary>) -> impl IntoView {
    items
        .into_iter()
        .map(|c| {
            view! {
                <tr class:disabled-row=c.gone_at.is_some()>
                    <td>
                        <a href=format!("/containers/{}", c.id)><strong>{c.name.clone()}</strong></a>
                        {c.privileged.then(|| view! { <span class="status status-bad">"privileged"</span> })}
                    </td>
                    <td>{match (c.host_id, c.host_name.clone()) {
                        (Some(id), Some(name)) => view! { <a href=format!("/hosts/{id}")>{name}</a> }.into_any(),
                        _ => view! { <span class="muted">"—"</span> }.into_any(),
                    }}</td>
                    <td>{match c.image_id {
                        Some(id) => view! { <a href=format!("/images/{id}")><code>{c.image_ref.clone()}</code></a> }.into_any(),
                        None => view! { <code>{c.image_ref.clone()}</code> }.into_any(),
                    }}</td>
                    <td>
                        <StatusBadge status=if c.gone_at.is_some() { "gone".to_string() } else { c.state.clone() } />
                    </td>
                    <td>{c.user.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into())}</td>
                    <td><SeverityPills counts=c.open_findings.clone() /></td>
                </tr>
            }.into_any()
        })
        .collect_view()
}

/// Container rows in a table of their own (image detail page).
#[component]
pub fn ContainerRows(items: Vec<ContainerSummary>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted">"No containers."</p> }.into_any();
    }
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Container"</th><th scope="col">"Host"</th><th scope="col">"Image"</th>
                    <th scope="col">"State"</th><th scope="col">"User"</th><th scope="col">"Open findings"</th>
                </tr>
            </thead>
            <tbody><Rows items /></tbody>
        </table>
    }
    .into_any()
}
