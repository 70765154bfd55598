//! Pod Security Standards evaluation rate on one core: the real kube-system pods of the
//! k8s-api fixtures (Kubernetes v1.20, v1.32 and v1.36 clusters), each judged at baseline
//! and restricted, at the newest policy version and at v1.25, through the same
//! `kube::pss` functions the collector and `check-pod` call. Writes docs/benchmarks.md.
//! Asserts the verdicts' count, no timing.

mod common;

use coastguard_core::kube::pss::{self, Level, PodView, Version};
use common::{env_usize, write_section};
use serde_json::Value;
use std::time::Instant;

fn pods() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k8s-api/k8s-openapi-replays");
    let mut pods = Vec::new();
    for name in [
        "v1.20-pod-list.json",
        "v1.32-pod-list.json",
        "v1.36-pod-list.json",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
        let list: Value = serde_json::from_str(&text).expect("a PodList");
        pods.extend(list["items"].as_array().expect("items").iter().cloned());
    }
    pods
}

fn main() {
    let pods = pods();
    let rounds = env_usize("PSS_ROUNDS", 20_000);
    let judgements = [
        (Level::Baseline, Version::Latest),
        (Level::Restricted, Version::Latest),
        (Level::Baseline, Version::Minor(25)),
        (Level::Restricted, Version::Minor(25)),
    ];

    // Full verdicts, with every reason's detail, as findings need them.
    let start = Instant::now();
    let mut violations = 0usize;
    for _ in 0..rounds {
        for pod in &pods {
            for (level, version) in judgements {
                violations += pss::evaluate(PodView::of(pod), level, version).len();
            }
        }
    }
    let full = start.elapsed();
    let pod_levels = rounds * pods.len() * judgements.len();
    assert!(violations > 0);

    // The highest level each pod passes, as the namespace view needs it.
    let start = Instant::now();
    let mut restricted = 0usize;
    for _ in 0..rounds {
        for pod in &pods {
            if pss::highest_level(PodView::of(pod), Version::Latest) == Level::Restricted {
                restricted += 1;
            }
        }
    }
    let highest = start.elapsed();

    let rate = |n: usize, d: std::time::Duration| n as f64 / d.as_secs_f64();
    let section = format!(
        "<!-- pss:start -->\n## Pod Security Standards evaluation (one core)\n\n\
`cargo bench -p coastguard-core --bench pss`: the {} real kube-system pods of the k8s-api \
fixtures (kind clusters at v1.20, v1.32, v1.36), judged {} times each at baseline and \
restricted, latest and v1.25, on this 2-core machine, one thread.\n\n\
| What | Pod-levels | Time | Rate |\n|---|---|---|---|\n\
| Full verdict with details (`pss::evaluate`) | {} | {:.2} s | {:.0} pod-levels/s |\n\
| Highest level passed (`pss::highest_level`, stops at the first failure) | {} pods | {:.2} s | {:.0} pods/s |\n\n\
Target: over 100,000 pod-levels per second on one core.\n<!-- pss:end -->",
        pods.len(),
        rounds,
        pod_levels,
        full.as_secs_f64(),
        rate(pod_levels, full),
        rounds * pods.len(),
        highest.as_secs_f64(),
        rate(rounds * pods.len(), highest),
    );
    assert_eq!(
        restricted, 0,
        "no kube-system pod of the fixtures passes restricted"
    );
    println!("{section}");
    write_section(&section, "pss");
}
