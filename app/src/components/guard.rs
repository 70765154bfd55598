//! Page-level role checks. The server functions enforce roles whatever the page does;
//! this gives people a clear page (and the right HTTP status) instead of broken tables.

use super::common::ErrorBox;
use super::layout::use_me;
use coastguard_model::Role;
use leptos::prelude::*;

#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let is_admin = use_context::<axum::http::request::Parts>()
            .and_then(|p| {
                p.extensions
                    .get::<coastguard_core::auth::Principal>()
                    .map(|p| p.role == Role::Admin)
            })
            .unwrap_or(false);
        if !is_admin {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(axum::http::StatusCode::FORBIDDEN);
            }
        }
    }
    let me = use_me();
    view! {
        <Suspense fallback=super::common::Loading>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(me) if me.role == Role::Admin => children().into_any(),
                        Ok(_) => {
                            view! {
                                <div class="panel">
                                    <h1>"Admins only"</h1>
                                    <p>"This page needs the admin role. Ask an admin if you need access."</p>
                                </div>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
