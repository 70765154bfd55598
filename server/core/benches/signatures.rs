//! Discovery and verification of signed images in a real local registry (Debian's
//! docker-registry on loopback): N images (default 1,000, `SIG_BENCH_IMAGES`), each with
//! a cosign signature by a test key, checked through `signatures::verify::verify_image`,
//! the code `coastguard verify-image` and the server's checks run (first by tag, then by
//! digest, then again with the first outcomes, as the server re-checks), with at most `SIG_BENCH_CONCURRENCY` (default
//! 8) images at once on one client. Figures: images per second, registry requests per
//! image, peak heap. Before that, the same registry is discovered as the server's registry
//! sync reads it (`registry::discover::discover`: catalog, tags, a HEAD per tag, manifests
//! and configs of new digests), once new and once unchanged. Writes docs/benchmarks.md.
//! Asserts every image verified and found, no timing.

mod common;

use coastguard_core::registry::client::{Registry, RegistryAccess};
use coastguard_core::registry::discover::{discover, Known};
use coastguard_core::registry::reference::ImageReference;
use coastguard_core::signatures::cosign::TrustedKey;
use coastguard_core::signatures::keys::PublicKey;
use coastguard_core::signatures::verify::{verify_image, Previous, Trust, Verification};
use coastguard_core::testing::registry::{cosign_annotations, TestRegistry};
use coastguard_core::testing::signing::{simple_signing_payload, TestKey};
use coastguard_model::signatures::SignatureStatus;
use common::{env_usize, write_section};
use futures::StreamExt as _;
use peak_alloc::PeakAlloc;
use std::time::Instant;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

#[tokio::main]
async fn main() {
    let n = env_usize("SIG_BENCH_IMAGES", 1_000);
    let concurrency = env_usize("SIG_BENCH_CONCURRENCY", 8);
    let registry = TestRegistry::open().await;
    let host = registry.host();
    let key = TestKey::new();

    let setup = Instant::now();
    let mut references = Vec::with_capacity(n);
    for i in 0..n {
        // Ten repositories, as an estate spreads its images.
        let repo = format!("bench/app{}", i % 10);
        let image = registry
            .push_image(&repo, &format!("v{i}"), format!("layer {i}").as_bytes())
            .await;
        let payload = simple_signing_payload(&format!("{host}/{repo}"), &image.digest);
        let annotations = cosign_annotations(&key.sign(&payload));
        registry
            .attach_cosign(&repo, &image.digest, &[(payload, annotations)])
            .await;
        references.push(ImageReference::parse(&format!("{host}/{repo}:v{i}")).unwrap());
    }
    let setup = setup.elapsed();

    let access = RegistryAccess {
        host: host.clone(),
        insecure: true,
        ..RegistryAccess::default()
    };

    // Discovery, first of a registry never seen, then of the same registry unchanged.
    let mut discovery = Vec::new();
    let mut known = Known::default();
    for pass in ["new", "unchanged"] {
        let client = Registry::new(access.clone()).unwrap();
        ALLOC.reset_peak_usage();
        let before = ALLOC.current_usage();
        let start = Instant::now();
        let found = discover(&client, &[], &known).await.unwrap();
        let took = start.elapsed();
        let peak = ALLOC.peak_usage().saturating_sub(before);
        assert_eq!(
            found.tags.len(),
            n,
            "every tag found, no signature tag among them"
        );
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        if pass == "new" {
            assert_eq!(found.images.len(), n, "every image read");
        } else {
            assert!(found.images.is_empty(), "nothing read again");
        }
        discovery.push(format!(
            "| {pass} | {n} | {:.2} s | {:.0} | {:.2} | {:.1} MB |",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            client.requests() as f64 / n as f64,
            peak as f64 / 1e6,
        ));
        known = Known {
            tags: found
                .tags
                .iter()
                .map(|t| ((t.repository.clone(), t.tag.clone()), t.digest.clone()))
                .collect(),
            digests: found
                .images
                .iter()
                .map(|i| i.manifest_digest.clone())
                .collect(),
        };
    }

    let trust = Trust {
        keys: vec![TrustedKey {
            name: "bench".into(),
            key: PublicKey::from_pem(key.public_pem()).unwrap(),
        }],
        ..Trust::default()
    };
    let now = coastguard_core::now();
    // Each pass on a fresh client: what it learns of the registry (no referrers API) is
    // learnt again, as a server's check pass does.
    let pass = |references: Vec<ImageReference>, previous: Vec<Option<Previous>>| {
        let (access, trust) = (access.clone(), &trust);
        async move {
            let client = Registry::new(access).unwrap();
            ALLOC.reset_peak_usage();
            let before = ALLOC.current_usage();
            let start = Instant::now();
            let outcomes: Vec<Verification> =
                futures::stream::iter(references.iter().zip(&previous))
                    .map(|(r, p)| {
                        let client = &client;
                        async move { verify_image(client, r, trust, now, p.as_ref()).await }
                    })
                    .buffered(concurrency)
                    .collect()
                    .await;
            let took = start.elapsed();
            let peak = ALLOC.peak_usage().saturating_sub(before);
            let verified = outcomes
                .iter()
                .filter(|v| v.status == SignatureStatus::Verified)
                .count();
            assert_eq!(verified, n, "every image is verified");
            let row = format!(
                "{n} | {:.2} s | {:.0} | {:.2} | {:.1} MB |",
                took.as_secs_f64(),
                n as f64 / took.as_secs_f64(),
                client.requests() as f64 / n as f64,
                peak as f64 / 1e6,
            );
            (outcomes, row)
        }
    };
    let (by_tag, tag_row) = pass(references.clone(), vec![None; n]).await;
    let by_digest: Vec<ImageReference> = references
        .iter()
        .zip(&by_tag)
        .map(|(r, v)| ImageReference {
            tag: None,
            digest: v.digest.clone(),
            ..r.clone()
        })
        .collect();
    let (first, first_row) = pass(by_digest.clone(), vec![None; n]).await;
    assert!(first.iter().all(|v| !v.reused));
    let previous = first
        .iter()
        .map(|v| {
            Some(Previous {
                evidence: v.evidence.clone(),
                signatures: v.signatures.clone(),
            })
        })
        .collect();
    let (again, again_row) = pass(by_digest, previous).await;
    assert!(
        again.iter().all(|v| v.reused),
        "unchanged signatures are not read again"
    );

    let section = format!(
        "<!-- signatures:start -->\n## Registry discovery and image signature verification (local registry)\n\n\
`cargo bench -p coastguard-core --bench signatures`, first part: the registry below ({n} \
tags in ten repositories, beside their {n} cosign `.sig` tags, which are not images) read \
by `registry::discover::discover`, the server's registry sync without its database \
writes: the catalog, each repository's tags, one HEAD per tag, and for a digest not known \
before its manifest and config blob (four requests in flight).\n\n\
| Pass | Tags | Time | Tags/s | Registry requests per tag | Peak heap |\n|---|---|---|---|---|---|\n\
{}\n\n\
Unchanged, an image costs its HEAD plus its share of the tag lists (one per repository, \
paged by 1,000) and the catalog; a new one two more requests (manifest and config).\n\n\
### Image signature verification\n\n\
`cargo bench -p coastguard-core --bench signatures`: {n} images in ten repositories of \
Debian's docker-registry 2.8 on loopback, each signed with cosign's format by a P-256 \
key, found and verified by `signatures::verify::verify_image` (the code of both \
`coastguard verify-image` and the server's checks), {concurrency} at a time over one \
client, on this 2-core machine (the registry shares the cores). Setting the registry up \
took {:.1} s.\n\n\
| Pass | Images | Time | Images/s | Registry requests per image | Peak heap of the checks |\n|---|---|---|---|---|---|\n\
| first, by tag (`verify-image`) | {tag_row}\n\
| first, by digest (the server's check) | {first_row}\n\
| signatures unchanged since the last check (the server's re-check) | {again_row}\n\n\
A first check reads the `.sig` manifest, its payload blob and the referrers (distribution \
2.8 has no referrers API: its 404 is remembered per client, so later images go straight \
to the `sha256-<hex>` referrers tag), plus the tag's manifest when given a tag. A re-check \
under the same trust reads the `.sig` manifest and the referrers tag only: both digests \
as stored with the last check (`signature_checks.signature_tag`, `.referrers`), the \
verdicts stand (target: at most three requests).\n\
<!-- signatures:end -->",
        discovery.join("\n"),
        setup.as_secs_f64(),
    );
    println!("{section}");
    write_section(&section, "signatures");
}
