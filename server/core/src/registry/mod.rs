//! Registries as a source: the OCI distribution API client. The inventory of what
//! registries hold builds on it (issue 14, to come); signature checks use it today.

pub mod client;
pub mod manifest;
