//! The demo estate: a small, invented company's Docker hosts, images, containers, scans
//! and ninety days of history, for people with no engine at hand. `coastguard demo load`
//! writes it into a database of its own (never one that holds anything else), and a
//! server on that database runs in demo mode: every page says so, no collector runs,
//! engines can't be added. `coastguard demo remove` deletes it.
//!
//! Everything goes through production code: the Docker payloads through the collector's
//! normalisation and checks into the same store calls as a sync, the reports and feeds
//! through the ingestion behind uploads, the analysts' decisions through the same
//! functions as the UI, each as of its day in the story. Nothing is random: every load
//! tells the same story, ending at the moment of the load.

pub mod docker;
pub mod documents;
pub mod estate;
pub mod vulns;

use crate::access;
use crate::auth::{Analyst, Authed};
use crate::db::Db;
use crate::docker::collector;
use crate::docker::engine::EngineConfig;
use crate::error::{Error, Result};
use crate::{AppState, Store, StoreError};
use coastguard_model::inventory::{AcceptRisk, ListQuery};
use coastguard_model::vulns::{NewSuppression, SuppressionKind};
use coastguard_model::{NewUser, Role};
use serde::{Deserialize, Serialize};

/// Settings key of the mark a demo database carries.
pub const MARK_KEY: &str = "demo_estate";

const DAY: i64 = 86_400;

/// What marks a database as the demo's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoMark {
    /// The story's version: a later Coastguard may tell a longer one.
    pub version: u32,
    /// When it was loaded (Unix seconds); the story ends then.
    pub loaded_at: i64,
}

pub const VERSION: u32 = 1;

/// The demo's people besides the admin: an analyst who triages and a viewer.
pub const ANALYST: &str = "ana";
pub const VIEWER: &str = "victor";

/// The mark, when the database holds the demo estate.
pub async fn mark(store: &Store) -> Result<Option<DemoMark>> {
    Ok(store.setting::<DemoMark>(MARK_KEY).await?)
}

/// What a database holds, told before anything is written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    Nothing,
    Demo(DemoMark),
    /// Something the demo must never touch, and what.
    Other(&'static str),
}

/// Looks at a database without changing it unless it is Coastguard's: a Coastguard
/// database is migrated (so its tables can be read), anything else is left alone.
pub async fn examine(db: &Db) -> Result<Holds> {
    let tables = db.table_names().await.map_err(StoreError::from)?;
    if tables.is_empty() {
        return Ok(Holds::Nothing);
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") || !tables.iter().any(|t| t == "settings") {
        return Ok(Holds::Other("tables that are not Coastguard's"));
    }
    db.migrate()
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("migrating: {e}")))?;
    let store = Store::new(db.clone());
    if let Some(mark) = mark(&store).await? {
        return Ok(Holds::Demo(mark));
    }
    if store.holds_data().await? {
        return Ok(Holds::Other("a Coastguard estate"));
    }
    Ok(Holds::Nothing)
}

/// What a load stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub hosts: usize,
    pub images: usize,
    pub containers: usize,
    pub scans: usize,
    pub days: i64,
}

/// Tells the story into an empty database: the users (`admin` with `password`, and
/// the analyst and viewer with the same), the engines, ninety days of syncs, scans,
/// feeds and decisions, then today's risk scores and posture snapshots. Refuses a
/// database that holds anything.
pub async fn load(state: &AppState, password: &str, now: i64) -> Result<Loaded> {
    if mark(&state.store).await?.is_some() || state.store.holds_data().await? {
        return Err(Error::Conflict(
            "the demo estate loads only into an empty database of its own".into(),
        ));
    }
    // The mark first: a load that fails halfway still leaves a database that says
    // it is the demo's, and that `demo remove` may delete.
    let mut w = state.store.begin().await?;
    let mark = DemoMark {
        version: VERSION,
        loaded_at: now,
    };
    w.put_setting(MARK_KEY, &mark, "demo", now).await?;
    w.audit(&crate::store::AuditRecord::system("demo.load", "demo"), now)
        .await?;
    w.commit().await?;
    let cli = Authed::cli();
    for (name, role) in [
        ("admin", Role::Admin),
        (ANALYST, Role::Analyst),
        (VIEWER, Role::Viewer),
    ] {
        access::create_user(
            state,
            &cli,
            NewUser {
                name: name.into(),
                role,
                password: password.into(),
            },
        )
        .await?;
    }

    let mut engines = Vec::new();
    for host in estate::HOSTS {
        let engine = state
            .store
            .add_docker_engine(
                host.name,
                &EngineConfig::new(host.endpoint),
                at(now, estate::FIRST_DAY, -180),
            )
            .await?;
        engines.push((host, engine.id));
    }

    let pipeline = Authed::acting_as("demo:ci-pipeline");
    let analyst = Authed::acting_as(ANALYST);
    let intel = Authed::acting_as("demo:intel-sync");
    let policy = state.store.policy().await;
    let mut loaded = Loaded {
        hosts: engines.len(),
        images: estate::IMAGES.len(),
        containers: estate::CONTAINERS.len(),
        days: estate::FIRST_DAY + 1,
        ..Loaded::default()
    };
    for day in (0..=estate::FIRST_DAY).rev() {
        if estate::SYNC_DAYS.contains(&day) {
            let when = at(now, day, -120);
            for (host, id) in &engines {
                let snapshot = docker::snapshot(host, day, now);
                let findings = collector::evaluate(&snapshot, &policy, when);
                state
                    .store
                    .apply_docker_snapshot(*id, &snapshot, &findings, when)
                    .await?;
            }
        }
        for (i, image) in estate::IMAGES.iter().enumerate() {
            if image.scan_days().contains(&day) {
                let when = at(now, day, -60 + i as i64);
                let report = documents::trivy_report(image, day, when);
                crate::scans::ingest::ingest_at(state, &pipeline, &report, None, "api", when)
                    .await?;
                loaded.scans += 1;
            }
        }
        decisions(state, day, now, &analyst, &intel).await?;
    }

    state.store.recompute_risk(now).await?;
    state
        .store
        .evaluate_scan_coverage(policy.scan_max_age_days, now)
        .await?;
    crate::posture::take_snapshots_at(state, true, now).await?;
    Ok(loaded)
}

/// `minutes` after the start of `day` days ago, never later than a minute before now.
fn at(now: i64, day: i64, minutes: i64) -> i64 {
    (now - day * DAY + minutes * 60).min(now - 60)
}

/// What the people of the story decided, on the day they did.
async fn decisions(
    state: &AppState,
    day: i64,
    now: i64,
    analyst: &Authed<Analyst>,
    intel: &Authed<Analyst>,
) -> Result<()> {
    let when = at(now, day, -30);
    match day {
        44 => {
            // docker-gc needs the engine API; the platform team isolates the build host.
            let id = open_finding(state, "container.docker_socket", "docker-gc").await?;
            crate::exceptions::compat::accept_finding_at(
                state,
                analyst,
                id,
                AcceptRisk {
                    reason: "docker-gc prunes images through the engine API; build-01 runs nothing else of value. Revisit when the rootless runners land.".into(),
                    expires_in_days: Some(90),
                },
                when,
            )
            .await?;
        }
        30 => {
            for document in [documents::kev_catalog(when), documents::epss_scores(when)] {
                crate::scans::ingest::ingest_at(state, intel, &document, None, "api", when).await?;
            }
        }
        29 => {
            crate::scans::ingest::ingest_at(
                state,
                analyst,
                &documents::payments_vex(when),
                None,
                "ui",
                when,
            )
            .await?;
        }
        28 => {
            let postgres = state
                .store
                .image_by_digest(&docker::image_id(estate::image("postgres")))
                .await?;
            crate::exceptions::compat::create_suppression_at(
                state,
                analyst,
                NewSuppression {
                    vuln_id: vulns::LOONEY_TUNABLES.id.into(),
                    image_id: postgres,
                    pkg_name: Some(vulns::LOONEY_TUNABLES.pkg.into()),
                    kind: SuppressionKind::Accepted,
                    justification: "No setuid binaries reachable by the postgres user; the 15.5 rebuild is planned for the next maintenance window.".into(),
                    expires_in_days: Some(60),
                },
                when,
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The open finding of `check` on the container named `container`.
async fn open_finding(state: &AppState, check: &str, container: &str) -> Result<i64> {
    let page = state
        .store
        .list_config_findings(&ListQuery {
            check: Some(check.into()),
            q: Some(container.into()),
            state: Some("open".into()),
            ..ListQuery::default()
        })
        .await?;
    page.items
        .into_iter()
        .find(|f| f.subject_name == container)
        .map(|f| f.id)
        .ok_or_else(|| Error::NotFound(format!("no open {check} finding on {container}")))
}
