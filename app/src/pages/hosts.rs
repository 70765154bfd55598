//! Hosts (Docker engines) and, for admins, adding and removing engines.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::layout::use_me;
use crate::components::listing::{
    list_query_from, FilterBar, Pager, SeverityPills, SortHeader, StatusBadge,
};
use crate::server_fns::inventory::{list_hosts, AddEngine, RemoveEngine, SyncEngine};
use coastguard_model::inventory::{HostSummary, Listing};
use coastguard_model::Role;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Copy)]
struct EngineActions {
    add: ServerAction<AddEngine>,
    remove: ServerAction<RemoveEngine>,
    sync: ServerAction<SyncEngine>,
}

#[component]
pub fn HostsPage() -> impl IntoView {
    let query = use_query_map();
    let actions = EngineActions {
        add: ServerAction::new(),
        remove: ServerAction::new(),
        sync: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            (
                list_query_from(&query.get()),
                actions.add.version().get()
                    + actions.remove.version().get()
                    + actions.sync.version().get(),
            )
        },
        |(q, _)| list_hosts(q),
    );
    let me = use_me();
    view! {
        <Title text="Hosts" />
        <h1>"Hosts"</h1>
        <FilterBar path="/hosts" placeholder="name or address" states=&["ok", "unreachable", "pending"] />
        <ActionOutcome value=actions.sync.value() ok="Synced." />
        <ActionOutcome value=actions.remove.value() ok="Engine removed." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(list) => view! { <HostTable list role actions /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = me.await.map(|m| m.role == Role::Admin).unwrap_or(false);
                admin.then(|| view! { <AddEngineForm action=actions.add /> })
            })}
        </Suspense>
    }
}

#[component]
fn HostTable(list: Listing<HostSummary>, role: Role, actions: EngineActions) -> impl IntoView {
    if list.total == 0 {
        return view! {
            <div class="panel empty-state">
                <h2>"No hosts yet"</h2>
                <p>"Coastguard watches the local engine (" <code>"unix:///var/run/docker.sock"</code>
                   ") when its socket exists. Admins add remote engines below or with "
                   <code>"POST /api/v1/engines"</code> "."</p>
            </div>
        }
        .into_any();
    }
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    let rows = list
        .items
        .into_iter()
        .map(|h| {
            let id = h.id;
            let error = h.last_error.clone();
            // Kubernetes nodes are hosts too; their cluster is managed on its own page.
            let docker = h.kind == "docker";
            view! {
                <tr>
                    <td>
                        <a href=format!("/hosts/{id}")><strong>{h.name.clone()}</strong></a>
                        <div class="small muted">{if docker {
                            view! { <code>{h.endpoint.clone().unwrap_or_default()}</code> }.into_any()
                        } else {
                            view! { <span>"Kubernetes node"</span> }.into_any()
                        }}</div>
                    </td>
                    <td>
                        <StatusBadge status=h.status.clone() />
                        {error.map(|e| view! { <div class="small error-text" title=e.clone()>{e.clone()}</div> })}
                    </td>
                    <td>{h.engine_version.clone().unwrap_or_else(|| "—".into())}<div class="small muted">{h.os.clone()}</div></td>
                    <td><a href=format!("/containers?host={id}")>{h.containers_running}" / "{h.containers_total}</a></td>
                    <td><a href=format!("/images?host={id}")>{h.images}</a></td>
                    <td><SeverityPills counts=h.open_findings.clone() /></td>
                    <td><Timestamp at=h.last_seen_at /></td>
                    <td class="actions">
                        {(role >= Role::Analyst && docker).then(|| view! {
                            <ActionForm action=actions.sync attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small" type="submit">"Sync now"</button>
                            </ActionForm>
                        })}
                        {(role == Role::Admin && docker).then(|| view! {
                            <ActionForm action=actions.remove attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small btn-danger" type="submit"
                                    aria-label=format!("Remove engine {}", h.name)>"Remove"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <SortHeader path="/hosts" label="Host" key="name" first_dir="asc" default=true />
                    <SortHeader path="/hosts" label="Status" key="status" first_dir="asc" default=false />
                    <th scope="col">"Engine"</th>
                    <th scope="col">"Running / containers"</th>
                    <th scope="col">"Images"</th>
                    <SortHeader path="/hosts" label="Open findings" key="findings" first_dir="desc" default=false />
                    <SortHeader path="/hosts" label="Last seen" key="last_seen" first_dir="desc" default=false />
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager path="/hosts" total page per_page />
    }
    .into_any()
}

#[component]
fn AddEngineForm(action: ServerAction<AddEngine>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Add a Docker engine"</h2>
            <ActionForm action=action attr:class="form-grid">
                <label>"Name" <input name="name" required placeholder="build-server-1" autocomplete="off" /></label>
                <label>"Address"
                    <input name="endpoint" required placeholder="tcp://10.0.0.5:2376, ssh://ops@host or unix:///path" autocomplete="off" />
                </label>
                <details class="span-all">
                    <summary>"TLS client certificate or SSH key (paths on the Coastguard server)"</summary>
                    <div class="form-grid">
                        <label>"CA certificate" <input name="tls_ca" placeholder="/etc/coastguard/engines/b1/ca.pem" /></label>
                        <label>"Client certificate" <input name="tls_cert" placeholder="/etc/coastguard/engines/b1/cert.pem" /></label>
                        <label>"Client key" <input name="tls_key" placeholder="/etc/coastguard/engines/b1/key.pem" /></label>
                        <label>"SSH key" <input name="ssh_key" placeholder="/etc/coastguard/ssh/id_ed25519" /></label>
                    </div>
                </details>
                <div><button class="btn btn-primary" type="submit">"Add engine"</button></div>
            </ActionForm>
            <ActionOutcome value=action.value() ok="Engine added: it is synced within seconds." />
            <p class="muted small">
                "An engine reached over plain TCP is a critical finding: anyone who can reach its port controls it."
            </p>
        </section>
    }
}
