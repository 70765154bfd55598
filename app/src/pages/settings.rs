//! Admin settings: the image policy the checks apply, the remediation SLA, and the signers
//! and trust root trusted for image signatures.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::inventory::{get_policy, SetPolicy};
use crate::server_fns::signatures::{
    get_trust_root, list_signing_keys, AddSigningIdentity, AddSigningKey, RemoveSigningKey,
    RemoveTrustRoot, SetTrustRoot,
};
use crate::server_fns::trends::{get_sla, SetSla};
use coastguard_model::signatures::{SigningKeyView, TrustRootView};
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
    let actions = SignerActions {
        add_key: ServerAction::new(),
        add_identity: ServerAction::new(),
        remove: ServerAction::new(),
    };
    let keys = Resource::new(
        move || {
            (
                actions.add_key.version().get(),
                actions.add_identity.version().get(),
                actions.remove.version().get(),
            )
        },
        |_| list_signing_keys(),
    );
    let set_root = ServerAction::<SetTrustRoot>::new();
    let remove_root = ServerAction::<RemoveTrustRoot>::new();
    let root = Resource::new(
        move || (set_root.version().get(), remove_root.version().get()),
        |_| get_trust_root(),
    );
    view! {
        <Title text="Settings" />
        <AdminOnly>
            <PolicyForm save=save_policy policy />
            <SlaForm save=save_sla sla />
            <SigningKeys actions keys />
            <TrustRootPanel set=set_root remove=remove_root root />
        </AdminOnly>
    }
}

#[derive(Clone, Copy)]
struct SignerActions {
    add_key: ServerAction<AddSigningKey>,
    add_identity: ServerAction<AddSigningIdentity>,
    remove: ServerAction<RemoveSigningKey>,
}

/// The signers image signatures are verified with, each for the images its scope names:
/// cosign public keys, Notation CA certificates and cosign keyless identities.
#[component]
fn SigningKeys(
    actions: SignerActions,
    keys: Resource<Result<Vec<SigningKeyView>, AppError>>,
) -> impl IntoView {
    let remove = actions.remove;
    view! {
        <section class="panel" id="signing-keys">
            <h2>"Trusted signers"</h2>
            <p class="muted small">
                "A signature verifies when a signer trusted for the image made it: a cosign public key, a Notation "
                "trust-store CA certificate, or a cosign keyless identity (under the Sigstore trust root below). "
                "A signer applies to the images whose registry/repository its scope matches: "
                <code>"*"</code> " for every image, " <code>"registry.example.com/team/*"</code> " for one team's."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No signer is trusted yet."</p> }.into_any(),
                        Ok(list) => view! { <KeyTable list remove /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=remove.value() ok="The signer is no longer trusted." />
            <h3>"Trust a key or a Notation CA"</h3>
            <ActionForm action=actions.add_key attr:class="form-stack" attr:id="add-signing-key">
                <label>"Name" <input name="name" required maxlength="100" placeholder="release signing key" /></label>
                <label>"Public key (ECDSA P-256/P-384, Ed25519 or RSA, as cosign.pub) or one CA certificate (PEM)"
                    <textarea name="public_pem" rows="5" required placeholder="-----BEGIN PUBLIC KEY-----"></textarea>
                </label>
                <label>"Scope (empty: every image)" <input name="scope" maxlength="256" placeholder="registry.example.com/team/*" /></label>
                <button class="btn btn-primary" type="submit">"Trust this key"</button>
            </ActionForm>
            <ActionOutcome value=actions.add_key.value() ok="Trusted. Images are checked again within ten minutes." />
            <h3>"Trust a keyless identity"</h3>
            <ActionForm action=actions.add_identity attr:class="form-stack" attr:id="add-signing-identity">
                <label>"Name" <input name="name" required maxlength="100" placeholder="release workflow" /></label>
                <label>"Identity (a regular expression the certificate's email or URI matches whole)"
                    <input name="identity" required maxlength="1024" placeholder="https://github.com/example/app/\\.github/workflows/release\\.yml@refs/tags/.*" />
                </label>
                <label>"OIDC issuer (URL, matched exactly)"
                    <input name="issuer" type="url" required maxlength="1024" placeholder="https://token.actions.githubusercontent.com" />
                </label>
                <label>"Scope (empty: every image)" <input name="scope" maxlength="256" placeholder="registry.example.com/team/*" /></label>
                <button class="btn btn-primary" type="submit">"Trust this identity"</button>
            </ActionForm>
            <ActionOutcome value=actions.add_identity.value() ok="Trusted. Images are checked again within ten minutes." />
        </section>
    }
}

#[component]
fn KeyTable(list: Vec<SigningKeyView>, remove: ServerAction<RemoveSigningKey>) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|k| {
            let signer = match k.identity {
                Some(_) => view! { <span class="wrap-anywhere">{k.signer()}</span> }.into_any(),
                None => view! { <code title=k.fingerprint.clone()>{short_fingerprint(&k.fingerprint)}</code> }.into_any(),
            };
            view! {
                <tr>
                    <td>{k.name.clone()}</td>
                    <td>{k.kind.clone()}</td>
                    <td>{signer}</td>
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
                    <th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"Fingerprint or identity"</th>
                    <th scope="col">"Scope"</th><th scope="col">"Added"</th><th scope="col"></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The Sigstore trust root keyless certificates chain to: given by an admin, never
/// downloaded.
#[component]
fn TrustRootPanel(
    set: ServerAction<SetTrustRoot>,
    remove: ServerAction<RemoveTrustRoot>,
    root: Resource<Result<Option<TrustRootView>, AppError>>,
) -> impl IntoView {
    view! {
        <section class="panel" id="trust-root">
            <h2>"Sigstore trust root"</h2>
            <p class="muted small">
                "Keyless signatures are checked against this trust root: its Fulcio certificate authorities issue the "
                "signing certificates and its Rekor logs prove when each signature was made. Give a "
                <code>"trusted_root.json"</code>
                " (Sigstore's public one, or your own instance's); Coastguard never downloads one."
            </p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match root.await {
                        Ok(None) => view! { <p class="muted">"No trust root is set: keyless signatures are untrusted."</p> }.into_any(),
                        Ok(Some(r)) => view! { <TrustRootSummary root=r remove /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=remove.value() ok="Removed: keyless signatures are untrusted from the next check on." />
            <ActionForm action=set attr:class="form-stack" attr:id="set-trust-root">
                <label>"trusted_root.json"
                    <textarea name="trusted_root" rows="5" required placeholder="{\"mediaType\": \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\", ...}"></textarea>
                </label>
                <button class="btn btn-primary" type="submit">"Set the trust root"</button>
            </ActionForm>
            <ActionOutcome value=set.value() ok="Set. Images are checked again within ten minutes." />
        </section>
    }
}

#[component]
fn TrustRootSummary(root: TrustRootView, remove: ServerAction<RemoveTrustRoot>) -> impl IntoView {
    let authorities = root
        .authorities
        .iter()
        .map(|a| {
            view! {
                <li>
                    {format!("{}: certificates in its chain {}", a.name, a.certificates)}
                    {a.valid_from.map(|at| view! { ", issuing since " <Timestamp at=Some(at) /> })}
                    {a.valid_to.map(|at| view! { ", until " <Timestamp at=Some(at) /> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <p>
            <code title=root.sha256.clone()>{short_fingerprint(&root.sha256)}</code>
            {format!(
                ": certificate authorities {}, transparency logs {}; set by {} ",
                root.authorities.len(),
                root.transparency_logs,
                root.set_by
            )}
            <Timestamp at=Some(root.set_at) />
        </p>
        <ul class="small">{authorities}</ul>
        <ActionForm action=remove attr:class="inline-form">
            <button class="btn btn-danger btn-small" type="submit">"Remove the trust root"</button>
        </ActionForm>
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
                                <label>"Require a verified signature for (one per line: a pattern over registry/repository, * any run, then where if not everywhere: host=, cluster=, namespace=; empty: no requirement)"
                                    <textarea name="require_signatures" rows="3" placeholder="registry.example.com/prod/*\n* cluster=prod-* namespace=payments\n* host=edge-*">
                                        {p.require_signatures.join("\n")}
                                    </textarea>
                                </label>
                                <label>"Built-in runtime detectors switched off (rule ids, one per line; empty: all on)"
                                    <textarea name="disabled_detectors" rows="2" placeholder="docker.exec">
                                        {p.disabled_detectors.iter().map(|d| d.as_str()).collect::<Vec<_>>().join("\n")}
                                    </textarea>
                                    <span class="small muted">{detector_ids()}</span>
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

/// The detectors' ids, for the policy form's hint.
fn detector_ids() -> String {
    let ids: Vec<&str> = coastguard_model::alerts::DETECTORS
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    format!("Detectors: {}.", ids.join(", "))
}
