//! Registries: each one's repositories, tags and images, and how much of it is scanned,
//! signed and running; one registry's tags with the digest each names and where it
//! pointed before. Admins add and remove registries; analysts sync one now.

use super::host::route_id;
use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::layout::use_me;
use crate::components::listing::{short_digest, StatusBadge};
use crate::server_fns::registries::{
    get_registry, list_registries, AddRegistry, ImportDockerConfig, RemoveRegistry, SyncRegistry,
};
use coastguard_model::registries::{RegistryDetail, RegistrySummary, RegistryTag};
use coastguard_model::Role;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

/// `part of whole` as a share, or a dash when there is nothing to share.
fn share(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{}%", part * 100 / whole)
    }
}

/// `1 tag`, `3 tags`.
fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[derive(Clone, Copy)]
struct RegistryActions {
    add: ServerAction<AddRegistry>,
    import: ServerAction<ImportDockerConfig>,
    remove: ServerAction<RemoveRegistry>,
    sync: ServerAction<SyncRegistry>,
}

#[component]
pub fn RegistriesPage() -> impl IntoView {
    let actions = RegistryActions {
        add: ServerAction::new(),
        import: ServerAction::new(),
        remove: ServerAction::new(),
        sync: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            actions.add.version().get()
                + actions.import.version().get()
                + actions.remove.version().get()
                + actions.sync.version().get()
        },
        |_| list_registries(),
    );
    let me = use_me();
    view! {
        <Title text="Registries" />
        <h1>"Registries"</h1>
        <ActionOutcome value=actions.remove.value() ok="Registry removed; its images stay in the inventory." />
        <SyncOutcome action=actions.sync />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(list) => view! { <RegistryTable list role actions /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = me.await.map(|m| m.role == Role::Admin).unwrap_or(false);
                admin.then(|| view! {
                    <AddRegistryForm action=actions.add />
                    <ImportForm action=actions.import />
                })
            })}
        </Suspense>
    }
}

/// What a "Sync now" found, or why it failed.
#[component]
fn SyncOutcome(action: ServerAction<SyncRegistry>) -> impl IntoView {
    move || {
        action.value().get().map(|outcome| match outcome {
            Ok(s) if s.registry.status == "ok" => view! {
                <p class="alert alert-ok" role="status">
                    {format!(
                        "Synced {}: {}, {} ({} new or moved), {}.",
                        s.registry.name,
                        counted(s.repositories, "repository", "repositories"),
                        counted(s.tags, "tag", "tags"),
                        s.changed_tags,
                        counted(s.requests, "request", "requests"),
                    )}
                </p>
            }
            .into_any(),
            Ok(s) => view! {
                <p class="alert alert-error" role="alert">
                    {format!(
                        "{} could not be synced ({}): {}. What it held before is kept.",
                        s.registry.name,
                        s.registry.status,
                        s.registry.last_error.clone().unwrap_or_default()
                    )}
                </p>
            }
            .into_any(),
            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
        })
    }
}

#[component]
fn RegistryTable(
    list: Vec<RegistrySummary>,
    role: Role,
    actions: RegistryActions,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <div class="panel empty-state">
                <h2>"No registries yet"</h2>
                <p>"Admins add registries below or with "<code>"POST /api/v1/registries"</code>
                   ". Coastguard lists their repositories and tags, adds their images to the inventory, and checks their signatures."</p>
            </div>
        }
        .into_any();
    }
    let rows = list
        .into_iter()
        .map(|r| {
            let id = r.id;
            let sync_label = format!("Sync registry {} now", r.name);
            let remove_label = format!("Remove registry {}", r.name);
            view! {
                <tr>
                    <td>
                        <a href=format!("/registries/{id}")><strong>{r.name.clone()}</strong></a>
                        <div class="small muted"><code>{r.url.clone()}</code>
                            {r.authenticated.then_some(" · credentials")}
                            {r.insecure.then_some(" · plain HTTP")}
                        </div>
                    </td>
                    <td>
                        <StatusBadge status=r.status.clone() />
                        {r.last_error.clone().map(|e| view! { <div class="small error-text" title=e.clone()>{e.clone()}</div> })}
                    </td>
                    <td>{r.repository_count}</td>
                    <td>{r.tag_count}
                        {(r.moved_tag_count > 0).then(|| view! {
                            <div class="small warn-text">{format!("{} moved", r.moved_tag_count)}</div>
                        })}
                    </td>
                    <td>{r.image_count}</td>
                    <td>{share(r.scanned_count, r.image_count)}
                        <div class="small muted">{format!("{} of {}", r.scanned_count, r.image_count)}</div></td>
                    <td>{share(r.verified_count, r.image_count)}
                        <div class="small muted">{format!("{} of {}", r.verified_count, r.image_count)}</div></td>
                    <td>{r.running_count}</td>
                    <td><Timestamp at=r.last_sync_at /></td>
                    <td class="actions">
                        {(role >= Role::Analyst).then(|| view! {
                            <ActionForm action=actions.sync attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small" type="submit"
                                    aria-label=sync_label>"Sync now"</button>
                            </ActionForm>
                        })}
                        {(role == Role::Admin).then(|| view! {
                            <ActionForm action=actions.remove attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small btn-danger" type="submit"
                                    aria-label=remove_label>"Remove"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Registry"</th><th scope="col">"Status"</th><th scope="col">"Repositories"</th>
                    <th scope="col">"Tags"</th><th scope="col">"Images"</th><th scope="col">"Scanned"</th>
                    <th scope="col">"Signed (verified)"</th><th scope="col">"Running"</th><th scope="col">"Last sync"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AddRegistryForm(action: ServerAction<AddRegistry>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Add a registry"</h2>
            <ActionForm action=action attr:class="form-grid">
                <label>"Name" <input name="name" required autocomplete="off" placeholder="production" /></label>
                <label>"URL" <input name="url" required autocomplete="off" placeholder="https://registry.example.com" /></label>
                <label>"Transport"
                    <select name="transport">
                        <option value="https" selected>"HTTPS"</option>
                        <option value="http">"plain HTTP (insecure)"</option>
                    </select>
                </label>
                <label>"Username (optional)" <input name="username" autocomplete="off" /></label>
                <label>"Password or token (optional)" <input name="password" type="password" autocomplete="new-password" /></label>
                <label class="span-all">"CA certificates, PEM (optional)"
                    <textarea name="ca_pem" rows="3" spellcheck="false" autocomplete="off"
                        placeholder="-----BEGIN CERTIFICATE-----"></textarea>
                </label>
                <label class="span-all">"Repositories, one per line (optional: the registry's catalog otherwise)"
                    <textarea name="repositories" rows="3" spellcheck="false" autocomplete="off"
                        placeholder="team/api"></textarea>
                </label>
                <div><button class="btn btn-primary" type="submit">"Add"</button></div>
            </ActionForm>
            <ActionOutcome value=action.value() ok="Added: it is synced within a minute, or now with Sync now." />
            <p class="muted small">
                "Credentials are stored encrypted with the server's secret key and never shown again. "
                "Plain HTTP sends them in clear: use it for a registry on loopback or a network you trust."
            </p>
        </section>
    }
}

#[component]
fn ImportForm(action: ServerAction<ImportDockerConfig>) -> impl IntoView {
    let outcome = move || {
        action.value().get().map(|outcome| match outcome {
            Ok(imported) => {
                let skipped = imported
                    .skipped
                    .into_iter()
                    .map(|s| view! { <li>{s}</li> }.into_any())
                    .collect_view();
                view! {
                    <div class="alert alert-ok" role="status">
                        <p>{format!("Imported {} registries; they are synced within a minute.", imported.added.len())}</p>
                        <ul class="small">{skipped}</ul>
                    </div>
                }
                .into_any()
            }
            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
        })
    };
    view! {
        <section class="panel">
            <h2>"Import from Docker's config.json"</h2>
            <ActionForm action=action attr:class="form-stack">
                <label>"The file's text (~/.docker/config.json, as docker login writes it)"
                    <textarea name="docker_config" rows="5" required spellcheck="false" autocomplete="off"
                        placeholder="{\"auths\": {\"registry.example.com\": {\"auth\": \"…\"}}}"></textarea>
                </label>
                <div><button class="btn" type="submit">"Import"</button></div>
            </ActionForm>
            {outcome}
            <p class="muted small">
                "Each auths entry becomes a registry over HTTPS with its credentials (stored encrypted). "
                "Credential helpers, identity tokens and Docker Hub cannot be imported: they are listed with why."
            </p>
        </section>
    }
}

#[component]
pub fn RegistryPage() -> impl IntoView {
    let id = route_id();
    let data = Resource::new(id, get_registry);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <RegistryView d /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RegistryView(d: RegistryDetail) -> impl IntoView {
    let r = d.registry;
    let configured = if r.repositories.is_empty() {
        "every repository its catalog lists".to_string()
    } else {
        format!("{} configured repositories", r.repositories.len())
    };
    view! {
        <Title text=r.name.clone() />
        <nav class="crumbs"><a href="/registries">"Registries"</a>" / "</nav>
        <h1>{r.name.clone()} " " <StatusBadge status=r.status.clone() /></h1>
        <p class="muted"><code>{r.url.clone()}</code>" · " {configured} " · last sync " <Timestamp at=r.last_sync_at /></p>
        {r.last_error.clone().map(|e| {
            let lead = if r.status == "ok" { "Partly read: " } else { "Could not be synced: " };
            view! { <p class="alert alert-error">{lead} {e} ". What it held before is shown."</p> }
        })}
        <section class="stats">
            <div class="stat"><div class="stat-value">{r.repository_count}</div><div class="stat-label">"repositories"</div></div>
            <div class="stat"><div class="stat-value">{r.tag_count}</div><div class="stat-label">"tags"</div></div>
            <div class="stat"><div class="stat-value">{r.image_count}</div><div class="stat-label">"images"</div></div>
            <div class="stat"><div class="stat-value">{share(r.scanned_count, r.image_count)}</div><div class="stat-label">"scanned"</div></div>
            <div class="stat"><div class="stat-value">{share(r.verified_count, r.image_count)}</div><div class="stat-label">"signed (verified)"</div></div>
            <div class="stat"><div class="stat-value">{r.running_count}</div><div class="stat-label">"running"</div></div>
            <div class="stat"><div class="stat-value">{r.moved_tag_count}</div><div class="stat-label">"tags moved"</div></div>
        </section>
        <section class="panel">
            <h2>"Tags"</h2>
            <TagTable tags=d.tags />
            {d.truncated.then(|| view! {
                <p class="muted small">"The first 2,000 tags are listed; the REST API's registry detail has the same limit."</p>
            })}
        </section>
    }
}

#[component]
fn TagTable(tags: Vec<RegistryTag>) -> impl IntoView {
    if tags.is_empty() {
        return view! { <p class="muted">"No tags found yet."</p> }.into_any();
    }
    let rows = tags
        .into_iter()
        .map(|t| {
            let digest = view! { <code title=t.digest.clone()>{short_digest(&t.digest)}</code> };
            let image = match t.image_id {
                Some(id) => view! { <a href=format!("/images/{id}")>{digest}</a> }.into_any(),
                None => digest.into_any(),
            };
            let scan = match (t.scanned, t.last_scan_at) {
                (true, _) => view! { <span class="status status-good">"scanned"</span> }.into_any(),
                (false, Some(_)) => {
                    view! { <span class="status status-warn">"scan outdated"</span> }.into_any()
                }
                (false, None) => {
                    view! { <span class="status status-bad">"never scanned"</span> }.into_any()
                }
            };
            let signature = match t.signature {
                Some(s) => view! { <StatusBadge status=s.as_str().to_string() /> }.into_any(),
                None => view! { <span class="muted">"not checked yet"</span> }.into_any(),
            };
            let moved = (!t.previous_digests.is_empty()).then(|| {
                let before = t
                    .previous_digests
                    .iter()
                    .map(|d| short_digest(d))
                    .collect::<Vec<_>>()
                    .join(", ");
                view! { <div class="small warn-text">"moved; before: " <code>{before}</code></div> }
            });
            view! {
                <tr>
                    <td><code>{t.repository.clone()}</code></td>
                    <td><code>{t.tag.clone()}</code>{moved}</td>
                    <td>{image}</td>
                    <td>{scan}</td>
                    <td>{signature}</td>
                    <td>{if t.running { "yes" } else { "no" }}</td>
                    <td><Timestamp at=Some(t.first_seen_at) /></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Repository"</th><th scope="col">"Tag"</th><th scope="col">"Digest"</th>
                    <th scope="col">"Scan"</th><th scope="col">"Signature"</th><th scope="col">"Running"</th>
                    <th scope="col">"Named since"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
