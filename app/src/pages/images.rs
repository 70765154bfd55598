//! The image inventory.

use crate::components::common::{ErrorBox, Loading};
use crate::components::listing::{
    human_size, list_query_from, short_digest, FilterBar, Pager, SeverityPills, SortHeader,
};
use crate::server_fns::inventory::list_images;
use coastguard_model::inventory::{ImageSummary, Listing};
use coastguard_model::{format_age, format_timestamp};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ImagesPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || list_query_from(&query.get()), list_images);
    view! {
        <Title text="Images" />
        <h1>"Images"</h1>
        <FilterBar path="/images" placeholder="tag or digest" severity=true />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <ImageTable list /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ImageTable(list: Listing<ImageSummary>) -> impl IntoView {
    let now = list.items.iter().map(|i| i.last_seen_at).max().unwrap_or(0);
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    let rows = list
        .items
        .into_iter()
        .map(|i| {
            let name = i.tags.first().cloned().unwrap_or_else(|| format!("<untagged> {}", short_digest(&i.digest)));
            let more = (i.tags.len() > 1).then(|| format!(" +{} tags", i.tags.len() - 1));
            view! {
                <tr>
                    <td>
                        <a href=format!("/images/{}", i.id)><strong>{name}</strong></a>
                        <span class="muted small">{more}</span>
                        <div class="small muted"><code>{short_digest(&i.digest)}</code></div>
                    </td>
                    <td class="num">{human_size(i.size_bytes)}</td>
                    <td>{i.created.map(|c| format_age(c, now)).unwrap_or_else(|| "—".into())}</td>
                    <td>{i.user.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into())}</td>
                    <td class="num">{i.hosts}</td>
                    <td class="num"><a href=format!("/images/{}#containers", i.id)>{i.containers}</a></td>
                    <td><a href=format!("/images/{}#vulnerabilities", i.id) class="plain"><SeverityPills counts=i.open_vulnerabilities.clone() /></a></td>
                    <td class="small">{i.last_scan_at.map(format_timestamp).unwrap_or_else(|| "never".into())}</td>
                    <td><SeverityPills counts=i.open_findings.clone() /></td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Image"</th>
                    <SortHeader path="/images" label="Size" key="size" first_dir="desc" default=false />
                    <SortHeader path="/images" label="Built" key="created" first_dir="desc" default=false />
                    <th scope="col">"User"</th>
                    <th scope="col">"Hosts"</th>
                    <SortHeader path="/images" label="Containers" key="containers" first_dir="desc" default=false />
                    <th scope="col">"Open vulnerabilities"</th>
                    <th scope="col">"Last scan"</th>
                    <SortHeader path="/images" label="Open config findings" key="findings" first_dir="desc" default=false />
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager path="/images" total page per_page />
    }
}
