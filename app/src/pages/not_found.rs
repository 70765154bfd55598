use crate::components::layout::Logo;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="centered-page">
            <div class="card narrow">
                <Logo />
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address. It may have moved, or the link is wrong."</p>
                <a class="btn btn-primary" href="/">"Go to the overview"</a>
            </div>
        </main>
    }
}
