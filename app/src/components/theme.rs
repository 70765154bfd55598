//! Light / dark / system theme. The choice lives in a `cg_theme` cookie so the server
//! renders the right theme on the first byte (no flash, no inline script); the toggle
//! only works once the page has hydrated.

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn parse(value: Option<&str>) -> Theme {
        match value {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }

    fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

/// The theme named by the request's `cg_theme` cookie, for `<html data-theme>`.
#[cfg(feature = "ssr")]
pub fn from_cookie_header(parts: &axum::http::request::Parts) -> Option<&'static str> {
    let cookies = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    let value = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "cg_theme")
        .map(|(_, v)| v)?;
    match Theme::parse(Some(value)) {
        Theme::Light => Some("light"),
        Theme::Dark => Some("dark"),
        Theme::System => None,
    }
}

fn initial() -> Theme {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<axum::http::request::Parts>();
        Theme::parse(parts.as_ref().and_then(from_cookie_header))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let attr = document()
            .document_element()
            .and_then(|el| el.get_attribute("data-theme"));
        Theme::parse(attr.as_deref())
    }
}

#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let doc = document();
    if let Some(root) = doc.document_element() {
        let _ = match theme {
            Theme::System => root.remove_attribute("data-theme"),
            Theme::Light => root.set_attribute("data-theme", "light"),
            Theme::Dark => root.set_attribute("data-theme", "dark"),
        };
    }
    let cookie = match theme {
        Theme::System => "cg_theme=; Path=/; Max-Age=0; SameSite=Lax".to_string(),
        Theme::Light => "cg_theme=light; Path=/; Max-Age=31536000; SameSite=Lax".to_string(),
        Theme::Dark => "cg_theme=dark; Path=/; Max-Age=31536000; SameSite=Lax".to_string(),
    };
    if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
        let _ = html.set_cookie(&cookie);
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(initial());
    let on_click = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        #[cfg(feature = "hydrate")]
        apply(next);
    };
    view! {
        <button
            type="button"
            class="btn btn-ghost theme-toggle"
            data-theme-state=move || match theme.get() {
                Theme::System => "system",
                Theme::Light => "light",
                Theme::Dark => "dark",
            }
            title="Switch between system, light and dark themes"
            on:click=on_click
        >
            {move || theme.get().label()}
        </button>
    }
}
