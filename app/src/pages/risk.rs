//! Every ranking, and how a score is made: the page the overview's "riskiest" panels and
//! every breakdown link to.

use crate::components::risk::{risk_ranking, RiskRanking};
use coastguard_model::risk::RiskSubject;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RiskPage() -> impl IntoView {
    view! {
        <Title text="Risk" />
        <h1>"Risk"</h1>
        <p class="muted">
            "Scores run from 0 to 100 and are recomputed within seconds of a change to what they depend on "
            "(a scan, a sync, a triage decision). Open an asset to see its breakdown."
        </p>
        <section class="grid-3" aria-label="Rankings">
            <RiskRanking kind=RiskSubject::Image title="Images" data=risk_ranking(RiskSubject::Image, 50) />
            <RiskRanking kind=RiskSubject::Container title="Running containers" data=risk_ranking(RiskSubject::Container, 50) />
            <RiskRanking kind=RiskSubject::Host title="Hosts and nodes" data=risk_ranking(RiskSubject::Host, 50) />
            <RiskRanking kind=RiskSubject::Pod title="Pods" data=risk_ranking(RiskSubject::Pod, 50) />
            <RiskRanking kind=RiskSubject::Workload title="Workloads" data=risk_ranking(RiskSubject::Workload, 50) />
            <RiskRanking kind=RiskSubject::Namespace title="Namespaces" data=risk_ranking(RiskSubject::Namespace, 50) />
            <RiskRanking kind=RiskSubject::Cluster title="Clusters" data=risk_ranking(RiskSubject::Cluster, 50) />
        </section>
        <section class="panel prose" id="how">
            <h2>"How a score is made"</h2>
            <p>
                "Every piece of evidence adds points; a score is " <code>"100 × (1 − e^(−points / 50))"</code>
                ", so 50 points score 63 and nothing ever lowers a score but removing evidence."
            </p>
            <table class="table">
                <thead><tr><th scope="col">"Evidence"</th><th scope="col">"Points"</th></tr></thead>
                <tbody>
                    <tr><td>"Open vulnerability (not fixed, not suppressed), by the worse of the scanner's severity and its CVSS band"</td>
                        <td>"critical 10, high 4, medium 1, low or unknown 0.25; ×3 if known to be exploited; ×(1 + 4 × EPSS); ×1.25 when a fix is published"</td></tr>
                    <tr><td>"Open configuration finding (accepted risks do not count)"</td>
                        <td>"critical 15, high 8, medium 3, low 1, per instance"</td></tr>
                    <tr><td>"Open runtime alert"</td><td>"critical 20, high 10, medium 4, low 1"</td></tr>
                </tbody>
            </table>
            <ul>
                <li><strong>"Image"</strong>": its vulnerabilities and its image findings (registry trust, age, root user, secrets, scan coverage)."</li>
                <li><strong>"Container"</strong>": its image's vulnerabilities weighted by its own exposure and privileges — each adds up to 100% (at 20 points of findings), so the same image counts up to four times as much running privileged and exposed — plus its image's and its own findings and its runtime alerts."</li>
                <li><strong>"Host"</strong>": its engine's findings, its riskiest running container (or, for a Kubernetes node, pod) in full and every other one at a quarter."</li>
                <li><strong>"Pod"</strong>": as a container, over every image it runs: their vulnerabilities weighted by the pod's exposure (host ports) and privileges (every other Pod Security check), plus its Pod Security, hygiene and image findings."</li>
                <li><strong>"Workload"</strong>": its pod template's findings and the images its pods run, scored as a pod: replicas of the same template do not add up."</li>
                <li><strong>"Namespace"</strong>" and "<strong>"cluster"</strong>": their own findings, their riskiest workload (or pod no workload owns; for a cluster, namespace) in full and every other one at a quarter."</li>
            </ul>
            <p class="muted small">"Signatures join provenance when signature verification lands."</p>
        </section>
    }
}
