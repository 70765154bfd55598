//! Coastguard's UI: a server-rendered Leptos app that hydrates in the browser.
//!
//! - `shell` renders the HTML document around [`App`] (server only).
//! - `pages/` one module per page, `components/` shared pieces.
//! - `server_fns/` the server functions the pages call; with `ssr` they run on the
//!   server and call `coastguard-core`, in the browser they are HTTP calls.
//!
//! No SQL and no server-only types leak into the browser build.

pub mod components;
pub mod error;
mod pages;
pub mod server_fns;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The CSP nonce of the current response, put into the request by the server's security
/// middleware; the shell hands it to Leptos so its inline hydration script may run.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let theme = {
        use axum::http::request::Parts;
        let parts = use_context::<Parts>();
        if let Some(nonce) = parts.as_ref().and_then(|p| p.extensions.get::<CspNonce>()) {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
        }
        parts
            .as_ref()
            .and_then(components::theme::from_cookie_header)
    };
    #[cfg(not(feature = "ssr"))]
    let theme: Option<&'static str> = None;

    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects only run in the browser, after hydration: the marker tells people and
    // browser tests that the page is interactive.
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="coastguard" href="/pkg/coastguard.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Coastguard".to_string() } else { format!("{page} · Coastguard") }
        } />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage />
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=pages::overview::OverviewPage />
                    <Route path=path!("account") view=pages::account::AccountPage />
                    <Route path=path!("hosts") view=pages::hosts::HostsPage />
                    <Route path=path!("hosts/:id") view=pages::host::HostPage />
                    <Route path=path!("images") view=pages::images::ImagesPage />
                    <Route path=path!("images/:id") view=pages::image::ImagePage />
                    <Route path=path!("containers") view=pages::containers::ContainersPage />
                    <Route path=path!("containers/:id") view=pages::container::ContainerPage />
                    <Route path=path!("kubernetes") view=pages::kube::ClustersPage />
                    <Route path=path!("kubernetes/clusters/:id") view=pages::kube_detail::ClusterPage />
                    <Route path=path!("kubernetes/namespaces") view=pages::kube::NamespacesPage />
                    <Route path=path!("kubernetes/namespaces/:id") view=pages::kube_detail::NamespacePage />
                    <Route path=path!("kubernetes/workloads") view=pages::kube::WorkloadsPage />
                    <Route path=path!("kubernetes/workloads/:id") view=pages::kube_detail::WorkloadPage />
                    <Route path=path!("kubernetes/pods") view=pages::kube::PodsPage />
                    <Route path=path!("kubernetes/pods/:id") view=pages::kube_detail::PodPage />
                    <Route path=path!("kubernetes/rbac") view=pages::findings::RbacPage />
                    <Route path=path!("alerts") view=pages::alerts::AlertsPage />
                    <Route path=path!("alerts/:id") view=pages::alerts::AlertPage />
                    <Route path=path!("registries") view=pages::registries::RegistriesPage />
                    <Route path=path!("registries/:id") view=pages::registries::RegistryPage />
                    <Route path=path!("findings") view=pages::findings::FindingsPage />
                    <Route path=path!("vulnerabilities") view=pages::vulns::VulnsPage />
                    <Route path=path!("vulnerabilities/:id") view=pages::vuln::VulnPage />
                    <Route path=path!("scans") view=pages::scans::ScansPage />
                    <Route path=path!("risk") view=pages::risk::RiskPage />
                    <Route path=path!("trends") view=pages::trends::TrendsPage />
                    <Route path=path!("suppressions") view=pages::suppressions::SuppressionsPage />
                    <Route path=path!("exceptions") view=pages::exceptions::ExceptionsPage />
                    <Route path=path!("exceptions/:id") view=pages::exceptions::ExceptionPage />
                    <Route path=path!("admin/settings") view=pages::settings::SettingsPage />
                    <Route path=path!("admin/users") view=pages::users::UsersPage />
                    <Route path=path!("admin/tokens") view=pages::tokens::TokensPage />
                    <Route path=path!("admin/notifications") view=pages::notifications::NotificationsPage />
                    <Route path=path!("admin/audit") view=pages::audit::AuditPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
