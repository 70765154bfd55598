//! Image signatures: cosign (by key, and keyless with Fulcio and Rekor) and Notation,
//! verified offline with the crypto already in the build (ring, rustls-webpki, RustCrypto
//! DER types). Why not the `sigstore` crate: `docs/design/signatures.md`.
//!
//! Everything here is plain code over bytes the caller fetched: it decides, it never
//! reaches a network or a database. Errors are `String` reasons meant for people: each
//! ends up in a signature's status.

pub mod cosign;
pub mod fulcio;
pub mod keys;
pub mod reference;
pub mod rekor;

#[cfg(test)]
mod tests;
