//! Admin settings: the image policy the checks apply, and the remediation SLA.

use crate::components::common::{ActionOutcome, ErrorBox, Loading};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::inventory::{get_policy, SetPolicy};
use crate::server_fns::trends::{get_sla, SetSla};
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
    view! {
        <Title text="Settings" />
        <AdminOnly>
            <PolicyForm save=save_policy policy />
            <SlaForm save=save_sla sla />
        </AdminOnly>
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
                                <label>"Trusted registries (one per line; empty: the check is off)"
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
                                <button class="btn btn-primary" type="submit">"Save"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionOutcome value=save.value() ok="Saved. Image findings follow at each engine's next sync." />
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
