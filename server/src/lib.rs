//! The Coastguard server: wiring of the axum router (the Leptos UI, the REST API,
//! authentication, security headers, metrics), start-up and the command line.
//! Domain logic lives in `coastguard-core`; the UI in `coastguard-app`.

pub mod api;
pub mod audit;
pub mod check_pod;
pub mod cli;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod verify_image;
