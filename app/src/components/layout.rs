//! The frame around every signed-in page: top bar, section navigation, content.

use super::theme::ThemeToggle;
use crate::error::AppError;
use crate::server_fns::overview::current_user;
use coastguard_model::{Me, Role};
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

/// The signed-in principal, loaded once per page load and shared through context.
pub type MeResource = Resource<Result<Me, AppError>>;

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

/// The sections of the navigation.
const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/hosts", "Hosts"),
    ("/images", "Images"),
    ("/containers", "Containers"),
    ("/kubernetes", "Kubernetes"),
    ("/registries", "Registries"),
    ("/alerts", "Runtime alerts"),
    ("/vulnerabilities", "Vulnerabilities"),
    ("/findings", "Configuration"),
    ("/scans", "Scans"),
    ("/risk", "Risk"),
    ("/trends", "Trends"),
    ("/exceptions", "Exceptions"),
];
const ADMIN: &[(&str, &str)] = &[
    ("/admin/users", "Users"),
    ("/admin/tokens", "API tokens"),
    ("/admin/notifications", "Notifications"),
    ("/admin/audit", "Audit log"),
    ("/admin/settings", "Settings"),
];

#[component]
pub fn Layout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| current_user());
    provide_context(me);

    let main_links = SECTIONS
        .iter()
        .map(|(href, label)| {
            view! { <li><A href=*href exact=*href == "/">{*label}</A></li> }.into_any()
        })
        .collect_view();

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">
                <Logo />
                <span>"Coastguard"</span>
            </a>
            <div class="topbar-right">
                <ThemeToggle />
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|me| {
                            view! {
                                <span class="who">
                                    <span class="who-name">{me.name}</span>
                                    <span class=format!("role role-{}", me.role.as_str())>{me.role.as_str()}</span>
                                </span>
                            }
                        })
                    })}
                </Suspense>
                <A href="/account" attr:class="btn btn-ghost">"Account"</A>
                <form method="post" action="/logout" class="inline">
                    <button type="submit" class="btn btn-ghost">"Log out"</button>
                </form>
            </div>
        </header>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().filter(|m| m.demo).map(|_| view! { <DemoBanner /> })
            })}
        </Suspense>
        <div class="frame">
            <nav class="sidebar" aria-label="Sections">
                <ul class="nav">{main_links}</ul>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let is_admin = me.await.map(|m| m.role == Role::Admin).unwrap_or(false);
                        is_admin.then(|| {
                            let links = ADMIN
                                .iter()
                                .map(|(href, label)| view! { <li><A href=*href>{*label}</A></li> }.into_any())
                                .collect_view();
                            view! {
                                <h2 class="nav-heading">"Admin"</h2>
                                <ul class="nav">{links}</ul>
                            }
                        })
                    })}
                </Suspense>
            </nav>
            <main id="main" class="content" tabindex="-1">
                <Outlet />
            </main>
        </div>
    }
}

/// Says on every page that the data is invented, and how to leave the demo.
#[component]
pub fn DemoBanner() -> impl IntoView {
    view! {
        <div class="demo-banner" role="note">
            <strong>"Demo estate."</strong>
            " Every host, image, finding and person here is invented (loaded by "
            <code>"coastguard demo load"</code> "). Nothing is collected. Remove it with "
            <code>"coastguard demo remove"</code> "."
        </div>
    }
}

/// A shield with a wave: the mark, drawn inline so it needs no request.
#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <path d="M16 2 L28 7 V15 C28 23 22.5 28.5 16 30 C9.5 28.5 4 23 4 15 V7 Z" class="logo-shield" />
            <path d="M8 18 C10.5 15.5 13 15.5 16 18 C19 20.5 21.5 20.5 24 18" class="logo-wave" />
        </svg>
    }
}
