//! Registries as a source: image references, the OCI distribution API client and the
//! manifests it reads. The inventory of what registries hold builds on it (issue 14, to
//! come); signature checks use it today.

pub mod client;
pub mod manifest;
pub mod reference;

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
