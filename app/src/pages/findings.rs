//! Every configuration finding, filtered.

use crate::components::common::{ErrorBox, Loading};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{list_query_from, FilterBar, Pager};
use crate::server_fns::inventory::list_config_findings;
use coastguard_model::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FindingsPage() -> impl IntoView {
    let query = use_query_map();
    let actions = TriageActions::new();
    let data = Resource::new(
        move || (list_query_from(&query.get()), actions.version()),
        |(q, _)| list_config_findings(q),
    );
    let me = use_me();
    view! {
        <Title text="Configuration findings" />
        <h1>"Configuration findings"</h1>
        <FilterBar path="/findings" placeholder="check, container, image or host" states=&["accepted", "resolved", "all"] any_state="open" severity=true />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(list) => {
                        let (total, page, per_page) = (list.total, list.page, list.per_page);
                        view! {
                            <FindingsTable findings=list.items show_subject=true can_triage={role >= Role::Analyst} actions />
                            <Pager path="/findings" total page per_page />
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
