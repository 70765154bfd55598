//! The login page: a plain form posted to `POST /login`, so it works before hydration.

use crate::components::layout::{DemoBanner, Logo};
use crate::server_fns::overview::get_instance_info;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("locked") => Some((
                "alert alert-error",
                "Too many failed attempts from here. Wait a few minutes, then try again.",
            )),
            Some("busy") => Some((
                "alert alert-error",
                "The server is busy checking other sign-ins. Try again in a moment.",
            )),
            Some(_) => Some(("alert alert-error", "Wrong user name or password.")),
            None if q.get("signed_out").is_some() => {
                Some(("alert alert-ok", "You are logged out."))
            }
            None => None,
        })
    };
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let instance = Resource::new(|| (), |_| get_instance_info());
    view! {
        <Title text="Log in" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                instance.await.ok().filter(|i| i.demo).map(|_| view! { <DemoBanner /> })
            })}
        </Suspense>
        <main class="centered-page">
            <form class="card narrow login-form" method="post" action="/login">
                <div class="brand brand-large">
                    <Logo />
                    <span>"Coastguard"</span>
                </div>
                <h1>"Log in"</h1>
                {move || message().map(|(class, text)| view! { <p class=class role="alert">{text}</p> })}
                <label for="username">"User name"</label>
                <input id="username" name="username" autocomplete="username" required autofocus />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <input type="hidden" name="next" value=next />
                <button type="submit" class="btn btn-primary btn-block">"Log in"</button>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        if instance.await.is_ok_and(|i| i.demo) {
                            view! {
                                <p class="muted small">
                                    "Demo: log in as " <code>"admin"</code> ", " <code>"ana"</code> " (analyst) or "
                                    <code>"victor"</code> " (viewer), with the password " <code>"coastguard demo load"</code>
                                    " printed (or the value of " <code>"COASTGUARD_ADMIN_PASSWORD"</code> ")."
                                </p>
                            }
                            .into_any()
                        } else {
                            view! {
                                <p class="muted small">
                                    "First start: the user is " <code>"admin"</code>
                                    ", with the password printed by the server when it created the account (or the value of "
                                    <code>"COASTGUARD_ADMIN_PASSWORD"</code> ")."
                                </p>
                            }
                            .into_any()
                        }
                    })}
                </Suspense>
            </form>
        </main>
    }
}
