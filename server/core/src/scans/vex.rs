//! Where a VEX statement applies. A statement applies only to what it names: an image
//! digest to that image, a package purl to that package, and nothing at all when its
//! product is something this instance cannot match (a vendor's product name, an image by
//! tag, a `bom-ref` that is not a purl). A statement must never widen its scope: one
//! vendor's "not affected" must not close a CVE across the estate.

use super::pkg::parse_purl;
use super::PackageRef;

/// What a statement's product names, decided from the text alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VexScope {
    /// An image by its config or manifest digest (`sha256:` and 64 hex digits).
    Image { digest: String },
    /// A package, by the name findings record for it.
    Package { name: String },
    /// The statement names no product; it applies to the image the upload names, if any.
    Unnamed,
    /// Nothing Coastguard can match, and why.
    Nothing { reason: String },
}

/// `sha256:` followed by 64 hex digits, lower-cased.
pub fn image_digest(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// The scope of one statement's product.
pub fn scope(product: Option<&str>) -> VexScope {
    let Some(product) = product.map(str::trim).filter(|p| !p.is_empty()) else {
        return VexScope::Unnamed;
    };
    if let Some(purl) = parse_purl(product) {
        if purl.kind == "oci" || purl.kind == "docker" {
            return match purl.version.as_deref().and_then(image_digest) {
                Some(digest) => VexScope::Image { digest },
                None => VexScope::Nothing {
                    reason: "names an image without its sha256 digest".into(),
                },
            };
        }
        let pkg = PackageRef::new(&purl.kind, "", "", Some(product));
        return VexScope::Package { name: pkg.name };
    }
    if let Some(digest) = image_digest(product) {
        return VexScope::Image { digest };
    }
    VexScope::Nothing {
        reason: "is neither an image digest nor a package purl".into(),
    }
}

/// Whether a statement's status suppresses findings. `fixed` says a later version no
/// longer has the vulnerability, not that the one installed is safe: it suppresses nothing.
pub fn suppresses(status: &str) -> bool {
    status == "not_affected"
}

/// The outcome line for statements that matched nothing, naming up to five of them.
pub fn unmatched_note(unmatched: &[(String, String)]) -> Option<String> {
    if unmatched.is_empty() {
        return None;
    }
    let shown: Vec<String> = unmatched
        .iter()
        .take(5)
        .map(|(vuln, product)| format!("{vuln} for {product}"))
        .collect();
    let more = unmatched.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let n = unmatched.len();
    Some(format!(
        "{n} {} matched nothing and {} applied: {}{tail}.",
        if n == 1 { "statement" } else { "statements" },
        if n == 1 { "was not" } else { "were not" },
        shown.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108";

    #[test]
    fn an_oci_purl_with_a_digest_names_that_image() {
        let product = format!(
            "pkg:oci/vendor-image@{}?repository_url=ghcr.io/x",
            DIGEST.replace(':', "%3A")
        );
        assert_eq!(
            scope(Some(&product)),
            VexScope::Image {
                digest: DIGEST.into()
            }
        );
        assert_eq!(
            scope(Some(DIGEST)),
            VexScope::Image {
                digest: DIGEST.into()
            }
        );
        assert_eq!(
            scope(Some(
                &DIGEST.to_ascii_uppercase().replace("SHA256", "sha256")
            )),
            VexScope::Image {
                digest: DIGEST.into()
            }
        );
    }

    #[test]
    fn an_image_without_a_digest_matches_nothing() {
        for product in [
            "pkg:oci/vendor-image",
            "pkg:docker/library/nginx@1.25",
            "pkg:oci/x@sha256:1234",
        ] {
            assert!(
                matches!(scope(Some(product)), VexScope::Nothing { .. }),
                "{product}"
            );
        }
    }

    #[test]
    fn a_package_purl_names_the_package() {
        assert_eq!(
            scope(Some("pkg:deb/debian/openssl@3.0.11-1?arch=amd64")),
            VexScope::Package {
                name: "openssl".into()
            }
        );
        assert_eq!(
            scope(Some("pkg:npm/%40babel/core@7.0.0")),
            VexScope::Package {
                name: "@babel/core".into()
            }
        );
    }

    #[test]
    fn anything_else_matches_nothing_rather_than_everything() {
        for product in [
            "vendor-image",
            "urn:uuid:1234",
            "acme/widget 2.0",
            "sha256:abc",
        ] {
            assert!(
                matches!(scope(Some(product)), VexScope::Nothing { .. }),
                "{product}"
            );
        }
        assert_eq!(scope(None), VexScope::Unnamed);
        assert_eq!(scope(Some("  ")), VexScope::Unnamed);
    }

    #[test]
    fn only_not_affected_suppresses() {
        assert!(suppresses("not_affected"));
        for status in ["fixed", "affected", "under_investigation", ""] {
            assert!(!suppresses(status), "{status}");
        }
    }

    #[test]
    fn the_unmatched_note_counts_and_names_them() {
        assert_eq!(unmatched_note(&[]), None);
        let one = vec![("CVE-2024-1".to_string(), "vendor-image".to_string())];
        assert_eq!(
            unmatched_note(&one).unwrap(),
            "1 statement matched nothing and was not applied: CVE-2024-1 for vendor-image."
        );
        let many: Vec<(String, String)> = (0..7)
            .map(|i| (format!("CVE-2024-{i}"), "p".to_string()))
            .collect();
        let note = unmatched_note(&many).unwrap();
        assert!(note
            .starts_with("7 statements matched nothing and were not applied: CVE-2024-0 for p;"));
        assert!(note.ends_with("and 2 more."), "{note}");
    }
}
