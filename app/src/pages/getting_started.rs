//! What an empty overview shows: each way in, with the exact commands for this server
//! and, for admins, the token those commands need, created right here.

use crate::components::common::{Command, ErrorBox, NewSecret, RoleSelect};
use crate::components::layout::use_me;
use crate::error::AppError;
use crate::server_fns::access::CreateToken;
use coastguard_model::{Role, SetupInfo};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// `info` is loaded by the overview before its `<Suspense>` (see `components::risk`).
#[component]
pub fn GettingStarted(info: Resource<Result<SetupInfo, AppError>>) -> impl IntoView {
    view! {
        <section class="panel empty-state">
            <h2>"Nothing is connected yet"</h2>
            <p>
                "Coastguard shows where your containers stand against security best practice. "
                "It needs sources: Docker engines and the reports your scanners produce. "
                "Each step below says where to do it; the commands are written for this server."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info) => view! { <Steps info /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Steps(info: SetupInfo) -> impl IntoView {
    let url = info.base_url;
    let local = match (info.docker_local, info.local_socket) {
        (true, true) => "The engine on this server (/var/run/docker.sock) is watched: its first sync shows up here within seconds.",
        (true, false) => "This server watches its local engine when /var/run/docker.sock exists; there is none on this machine.",
        (false, _) => "This server does not watch its local engine (COASTGUARD_DOCKER_LOCAL=false).",
    };
    let engine = format!(
        "curl -fsS -X POST \"{url}/api/v1/engines\" \\\n  -H \"Authorization: Bearer $COASTGUARD_TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"name\": \"build-01\", \"endpoint\": \"tcp://build-01.example.com:2376\",\n       \"tls_ca\": \"/etc/coastguard/build-01/ca.pem\", \"tls_cert\": \"/etc/coastguard/build-01/cert.pem\",\n       \"tls_key\": \"/etc/coastguard/build-01/key.pem\"}}'"
    );
    let scan = format!(
        "trivy image --format json --output report.json registry.example.com/shop/api:2.4.1\ncurl -fsS \"{url}/api/v1/scans\" \\\n  -H \"Authorization: Bearer $COASTGUARD_TOKEN\" --data-binary @report.json"
    );
    view! {
        <ol class="steps">
            <li>
                <h3>"Connect a Docker engine"</h3>
                <p>{local}</p>
                <p>
                    "Admins add remote engines (" <code>"tcp://"</code> " with TLS client certificates, or "
                    <code>"ssh://"</code> ") under " <a href="/hosts">"Hosts → Add a Docker engine"</a>
                    ", or from a script with an admin token:"
                </p>
                <Command text=engine />
                <p class="muted small">
                    "In a pipeline, without a server: "
                    <code>"coastguard audit docker --host tcp://build-01.example.com:2376 --fail-on high"</code>
                    " runs the same checks once."
                </p>
            </li>
            <li>
                <h3>"Push a scan report"</h3>
                <p>
                    "Trivy, Grype, SARIF and CycloneDX JSON reports (and VEX documents) are uploaded on "
                    <a href="/scans">"Scans"</a> ", sent by pipelines with an analyst token, or stored on the server with "
                    <code>"coastguard ingest report.json"</code> ":"
                </p>
                <Command text=scan />
            </li>
            <li>
                <h3>"Create the token these commands use"</h3>
                <TokenStep url=url.clone() />
            </li>
            <li>
                <h3>"Add a Kubernetes cluster"</h3>
                <p class="muted">"Not in this version: the Kubernetes collector is being built."</p>
            </li>
            <li>
                <h3>"Or look around a demo estate first"</h3>
                <p>
                    "Invented hosts, images, findings and ninety days of history, in a database of their own: "
                    <code>"scripts/run --demo"</code> " from a checkout, or "
                    <code>"coastguard demo load && coastguard demo serve"</code>
                    ". It never mixes with this server's data; " <code>"coastguard demo remove"</code> " deletes it."
                </p>
            </li>
        </ol>
    }
}

/// Admins create the token here and see it once, with the line that puts it where the
/// commands above expect it; others are told whom to ask.
#[component]
fn TokenStep(url: String) -> impl IntoView {
    let me = use_me();
    let create = ServerAction::<CreateToken>::new();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let url = url.clone();
                Suspend::new(async move {
                    let admin = me.await.map(|m| m.role == Role::Admin).unwrap_or(false);
                    if !admin {
                        return view! {
                            <p>"An admin creates API tokens (Admin → API tokens). Engines need an admin token, scan uploads an analyst one."</p>
                        }
                        .into_any();
                    }
                    let created = move || match create.value().get() {
                        Some(Ok(new)) => {
                            let export = format!("export COASTGUARD_TOKEN={}\ncurl -fsS -H \"Authorization: Bearer $COASTGUARD_TOKEN\" \"{url}/api/v1/me\"", new.secret);
                            Some(view! {
                                <NewSecret name=new.token.name secret=new.secret />
                                <p>"Then, where the commands run:"</p>
                                <Command text=export />
                            }.into_any())
                        }
                        Some(Err(e)) => Some(view! { <ErrorBox error=e /> }.into_any()),
                        None => None,
                    };
                    view! {
                        <p>
                            "Engines need an admin token, scan uploads an analyst one. The secret is shown once, "
                            "and the token expires after 90 days; "
                            <a href="/admin/tokens">"Admin → API tokens"</a> " lists and revokes tokens and makes longer-lived ones."
                        </p>
                        <ActionForm action=create attr:class="form-row" attr:id="setup-token">
                            <label>"Name" <input name="name" required value="ci-pipeline" autocomplete="off" /></label>
                            <label>"Role" <RoleSelect name="role" selected=Role::Analyst token=true /></label>
                            <input type="hidden" name="expires_in_days" value="90" />
                            <button class="btn btn-primary" type="submit">"Create token"</button>
                        </ActionForm>
                        {created}
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
}
