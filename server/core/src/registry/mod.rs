//! Registries as a source: image references, the OCI distribution API client and the
//! manifests it reads; what a registry holds (discovery), stored beside the engines' and
//! clusters' images; and the registries admins configure. Signature checks use the client
//! and each configured registry's access.

pub mod client;
pub mod discover;
pub mod docker_config;
pub mod manage;
pub mod manifest;
pub mod provenance;
pub mod reference;
pub mod store;

/// Every `CERTIFICATE` block of a PEM text, as DER: a registry's CA file, a signature's
/// certificate chain.
pub fn certificates_from_pem(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not PEM: {e}"))?;
    Ok(blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect())
}
