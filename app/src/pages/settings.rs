//! Admin settings: the image policy the checks apply, the remediation SLA, and the keys
//! trusted for image signatures.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::inventory::{get_policy, SetPolicy};
use crate::server_fns::signatures::{list_signing_keys, AddSigningKey, RemoveSigningKey};
use crate::server_fns::trends::{get_sla, SetSla};
use coastguard_model::signatures::SigningKeyView;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    // Made here, outside <AdminOnly>'s <Suspense> (see components::risk).
    let save_policy = ServerAction::<SetPolicy>::new();
    let policy = Resource::new(move || save_policy.version().get(), |_| get_policy());
    let save_sla = ServerAction::<SetSla>::new();
    let sla = Resource::new(move || save_sla.version().get(), |_| get_sla());
    let add_key = ServerAction::<AddSigningKey>::new();
    let remove_key = ServerAction::<RemoveSigningKey>::new();
    let keys = Resource::new(
        move || (add_key.version().get(), remove_key.version().get()),
        |_| list_signing_keys(),
    );
    view! {
        <Title text="Settings" />
        <AdminOnly>
            <PolicyForm save=save_policy policy />
            <SlaForm save=save_sla sla />
            <SigningKeys add=add_key remove=remove_key keys />
        </AdminOnly>
    }
}

/// The public keys cosign signatures are verified with, each for the images its scope names.
#[component]
fn SigningKeys(
    add: ServerAction<AddSigningKey>,
    remove: ServerAction<RemoveSigningKey>,
    keys: Resource<Result<Vec<SigningKeyView>, AppError>>,
) -> impl IntoView {
    view! {
        <section class="panel" id="signing-keys">
            <h2>"Signing keys"</h2>
            <p class="muted small">
                "Public keys trusted for cosign signatures (ECDSA P-256/P-384, Ed25519 or RSA, PEM as "
                <code>"cosign.pub"</code>
                "). A key applies to the images whose registry/repository its scope matches: "
                <code>"*"</code> " for every image, " <code>"registry.example.com/team/*"</code> " for one team's."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No key is trusted yet."</p> }.into_any(),
                        Ok(list) => view! { <KeyTable list remove /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=remove.value() ok="The key is no longer trusted." />
            <h3>"Trust a key"</h3>
            <ActionForm action=add attr:class="form-stack">
                <label>"Name" <input name="name" required maxlength="100" placeholder="release signing key" /></label>
                <label>"Public key (PEM)"
                    <textarea name="public_pem" rows="5" required placeholder="-----BEGIN PUBLIC KEY-----"></textarea>
                </label>
                <label>"Scope (empty: every image)" <input name="scope" maxlength="256" placeholder="registry.example.com/team/*" /></label>
                <button class="btn btn-primary" type="submit">"Trust this key"</button>
            </ActionForm>
            <ActionOutcome value=add.value() ok="Trusted." />
        </section>
    }
}

#[component]
fn KeyTable(list: Vec<SigningKeyView>, remove: ServerAction<RemoveSigningKey>) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|k| {
            view! {
                <tr>
                    <td>{k.name.clone()}</td>
                    <td>{k.kind.clone()}</td>
                    <td><code title=k.fingerprint.clone()>{short_fingerprint(&k.fingerprint)}</code></td>
                    <td><code>{k.scope.clone()}</code></td>
                    <td>{k.created_by.clone().unwrap_or_default()} " " <Timestamp at=Some(k.created_at) /></td>
                    <td>
                        <ActionForm action=remove attr:class="inline-form">
                            <input type="hidden" name="id" value=k.id.to_string() />
                            <button class="btn btn-danger btn-small" type="submit">"Remove"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"Fingerprint"</th>
                    <th scope="col">"Scope"</th><th scope="col">"Added"</th><th scope="col"></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn PolicyForm(
    save: ServerAction<SetPolicy>,
    policy: Resource<Result<coastguard_model::docker::Policy, AppError>>,
) -> impl IntoView {
    view! {
        <h1>"Settings"</h1>
        <section class="panel">
            <h2>"Image policy"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match policy.await {
                        Ok(p) => view! {
                            <ActionForm action=save attr:class="form-stack">
                                <label>"Trusted registries (one per line, * for any run as in *.example.com; empty: the check is off)"
                                    <textarea name="trusted_registries" rows="4" placeholder="docker.io\nghcr.io\nregistry.example.com:5000">
                                        {p.trusted_registries.join("\n")}
                                    </textarea>
                                </label>
                                <label>"Maximum image age (days)"
                                    <input name="image_max_age_days" type="number" min="1" max="3650" value=p.image_max_age_days.to_string() required />
                                </label>
                                <label>"Maximum image size (MiB)"
                                    <input name="image_max_size_mb" type="number" min="1" value=p.image_max_size_mb.to_string() required />
                                </label>
                                <label>"A running image's newest scan may be this old (days)"
                                    <input name="scan_max_age_days" type="number" min="1" max="365" value=p.scan_max_age_days.to_string() required />
                                </label>
                                <label>"Require a verified signature for (one pattern per line over registry/repository, * any run; empty: no requirement)"
                                    <textarea name="require_signatures" rows="3" placeholder="registry.example.com/prod/*">
                                        {p.require_signatures.join("\n")}
                                    </textarea>
                                </label>
                                <button class="btn btn-primary" type="submit">"Save"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=save.value() ok="Saved. Image findings follow at each engine's next sync; signature requirements are applied now." />
        </section>
    }
}

#[component]
fn SlaForm(
    save: ServerAction<SetSla>,
    sla: Resource<Result<coastguard_model::trends::SlaPolicy, AppError>>,
) -> impl IntoView {
    view! {
        <section class="panel" id="sla">
            <h2>"Remediation SLA"</h2>
            <p class="muted small">
                "How many days a vulnerability finding of each severity may stay open. Findings older than this count as "
                "SLA breaches in today's snapshot and on the Trends page; earlier days keep what they counted."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match sla.await {
                        Ok(p) => view! {
                            <ActionForm action=save attr:class="form-stack">
                                <label>"Critical (days)"
                                    <input name="critical_days" type="number" min="1" max="3650" value=p.critical_days.to_string() required />
                                </label>
                                <label>"High (days)"
                                    <input name="high_days" type="number" min="1" max="3650" value=p.high_days.to_string() required />
                                </label>
                                <label>"Medium (days)"
                                    <input name="medium_days" type="number" min="1" max="3650" value=p.medium_days.to_string() required />
                                </label>
                                <label>"Low and unknown (days)"
                                    <input name="low_days" type="number" min="1" max="3650" value=p.low_days.to_string() required />
                                </label>
                                <button class="btn btn-primary" type="submit">"Save the SLA"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=save.value() ok="Saved. Today's snapshot was retaken with it." />
        </section>
    }
}

/// `sha256:c87a79018f346cc0…`: enough to tell keys apart; the whole one is its title.
fn short_fingerprint(fingerprint: &str) -> String {
    match fingerprint.char_indices().nth(23) {
        Some((at, _)) => format!("{}…", &fingerprint[..at]),
        None => fingerprint.to_string(),
    }
}
