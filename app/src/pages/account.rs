//! The signed-in user's own account: who they are, and changing their password.

use crate::components::common::{ActionOutcome, Loading};
use crate::components::layout::use_me;
use crate::server_fns::access::ChangePassword;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = use_me();
    let change = ServerAction::<ChangePassword>::new();
    view! {
        <Title text="Account" />
        <h1>"Account"</h1>
        <section class="panel">
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    me.await.ok().map(|me| view! {
                        <p>"Signed in as " <strong>{me.name}</strong> " with the " <strong>{me.role.as_str()}</strong> " role."</p>
                    })
                })}
            </Suspense>
        </section>
        <section class="panel">
            <h2>"Change password"</h2>
            <ActionForm action=change attr:class="form-stack">
                <label>
                    "Current password"
                    <input name="current_password" type="password" required autocomplete="current-password" />
                </label>
                <label>
                    "New password (at least 12 characters)"
                    <input name="new_password" type="password" minlength="12" required autocomplete="new-password" />
                </label>
                <button class="btn btn-primary" type="submit">"Change password"</button>
            </ActionForm>
            <ActionOutcome value=change.value() ok="Password changed. Your other sessions have ended." />
        </section>
    }
}
