//! Admin: API tokens. A new token's secret is shown once, here, with a copy button.

use crate::components::common::{
    ActionOutcome, ErrorBox, Loading, NewSecret, RoleSelect, Timestamp,
};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::access::{list_tokens, CreateToken, RevokeToken};
use coastguard_model::{Role, TokenView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TokensPage() -> impl IntoView {
    // Made here, outside <AdminOnly>'s <Suspense> (see components::risk).
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <Title text="API tokens" />
        <AdminOnly>
            <TokensAdmin create revoke tokens />
        </AdminOnly>
    }
}

#[component]
fn TokensAdmin(
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeToken>,
    tokens: Resource<Result<Vec<TokenView>, AppError>>,
) -> impl IntoView {
    let created = move || match create.value().get() {
        Some(Ok(new)) => {
            Some(view! { <NewSecret name=new.token.name secret=new.secret /> }.into_any())
        }
        Some(Err(e)) => Some(view! { <ErrorBox error=e /> }.into_any()),
        None => None,
    };
    view! {
        <h1>"API tokens"</h1>
        <section class="panel">
            <h2>"Create a token"</h2>
            <p class="muted small">
                "Tokens authenticate scripts and pipelines against the REST API ("
                <code>"Authorization: Bearer …"</code>
                "). Each carries its own role; an "<code>"ingest"</code>" token only sends runtime events (Falco's, or any tool's) and reads nothing. Only a hash is stored: the secret is shown once."
            </p>
            <ActionForm action=create attr:class="form-row">
                <label>"Name" <input name="name" required placeholder="ci-pipeline" autocomplete="off" /></label>
                <label>"Role" <RoleSelect name="role" selected=Role::Analyst token=true /></label>
                <label>
                    "Expires after (days)"
                    <input name="expires_in_days" type="number" min="1" max="3650" value="90" />
                    <span class="small muted">"empty: never"</span>
                </label>
                <button class="btn btn-primary" type="submit">"Create token"</button>
            </ActionForm>
            {created}
        </section>
        <section class="panel">
            <ActionOutcome value=revoke.value() ok="Token revoked." />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) => view! { <TokenTable tokens=list revoke=revoke /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="muted">"No tokens yet."</p> }.into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() {
                "revoked"
            } else if t.owner_disabled {
                "refused: its owner is disabled"
            } else if !t.active {
                "expired"
            } else {
                "active"
            };
            let active = t.revoked_at.is_none();
            let usable = t.active;
            view! {
                <tr class:disabled-row=!usable>
                    <td><strong>{t.name.clone()}</strong></td>
                    <td><code>{t.prefix}"…"</code></td>
                    <td>{t.role.as_str()}</td>
                    <td>{state}</td>
                    <td>{t.created_by.unwrap_or_else(|| "—".into())}</td>
                    <td><Timestamp at=Some(t.created_at) /></td>
                    <td><Timestamp at=t.last_used_at /></td>
                    <td>
                        {match t.expires_at {
                            Some(at) => view! { <Timestamp at=Some(at) /> }.into_any(),
                            None => view! { <span class="status status-neutral" title="This token never expires: revoke it when it is no longer needed">"never expires"</span> }.into_any(),
                        }}
                    </td>
                    <td class="actions">
                        {active.then(|| view! {
                            <ActionForm action=revoke attr:class="inline-form">
                                <input type="hidden" name="id" value=t.id.to_string() />
                                <button class="btn btn-small btn-danger" type="submit"
                                    aria-label=format!("Revoke token {}", t.name)>"Revoke"</button>
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
                    <th scope="col">"Name"</th>
                    <th scope="col">"Prefix"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Owner"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
