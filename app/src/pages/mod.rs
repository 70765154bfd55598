//! One module per page.

pub mod account;
pub mod audit;
pub mod container;
pub mod containers;
pub mod findings;
pub mod getting_started;
pub mod host;
pub mod hosts;
pub mod image;
pub mod image_vulns;
pub mod images;
pub mod kube;
pub mod kube_detail;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod registries;
pub mod risk;
pub mod scans;
pub mod settings;
pub mod suppressions;
pub mod tokens;
pub mod trends;
pub mod users;
pub mod vuln;
pub mod vulns;
