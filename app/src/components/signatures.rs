//! Signature status shown on several pages: how many running images carry a verified
//! signature, everywhere (the overview) or on one host, cluster or namespace.

use crate::components::common::{CoverageMeter, ErrorBox, Loading};
use crate::error::AppError;
use crate::server_fns::signatures::get_signature_coverage;
use coastguard_model::signatures::SignatureCoverage;
use leptos::prelude::*;

/// The coverage of one place, fetched: made by the page, outside its `<Suspense>`.
pub type CoverageResource = Resource<Result<SignatureCoverage, AppError>>;

/// Where: `Host`, `Cluster` or `Namespace`, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    Host,
    Cluster,
    Namespace,
}

pub fn signature_coverage(
    kind: PlaceKind,
    id: impl Fn() -> i64 + Send + Sync + 'static,
) -> CoverageResource {
    Resource::new(id, move |id| {
        let (host, cluster, namespace) = match kind {
            PlaceKind::Host => (Some(id), None, None),
            PlaceKind::Cluster => (None, Some(id), None),
            PlaceKind::Namespace => (None, None, Some(id)),
        };
        get_signature_coverage(host, cluster, namespace)
    })
}

/// [`SignedImages`] for one place, once fetched.
#[component]
pub fn PlaceSignatures(data: CoverageResource, where_: &'static str) -> impl IntoView {
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(signatures) => view! { <SignedImages signatures where_ /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// How many of the images that run carry a verified signature, and why the others do not.
/// `where_`: "" for everywhere, else how to say the place (" on this host").
#[component]
pub fn SignedImages(signatures: SignatureCoverage, where_: &'static str) -> impl IntoView {
    let c = signatures;
    view! {
        <section class="panel" aria-labelledby="signed-heading">
            <h2 id="signed-heading">{format!("Signed running images {where_}").trim_end().to_string()}</h2>
            {if c.running_images == 0 {
                view! { <p class="muted">"No image runs here."</p> }.into_any()
            } else {
                view! {
                    <CoverageMeter part=c.verified whole=c.running_images label="Running images with a verified signature" />
                    <ul class="coverage-list">
                        <li>{format!("{} of {} running images verified", c.verified, c.running_images)}</li>
                        <li class:bad={c.failing > 0}>{format!("{} signed by no trusted key, or invalid", c.failing)}</li>
                        <li class:bad={c.unsigned > 0}>{format!("{} unsigned", c.unsigned)}</li>
                        <li>{format!("{} could not be checked, {} not checked", c.unknown, c.unchecked)}</li>
                        <li><a href="/findings?check=provenance.signature_required">"Where the image policy requires a signature"</a></li>
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}
