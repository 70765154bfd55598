//! Image references (`registry/repository[:tag][@digest]`) with Docker's defaults, so
//! that `busybox`, `docker.io/library/busybox` and `index.docker.io/library/busybox` name
//! one repository, as they do for the engine and for cosign.

use std::fmt;

/// Docker Hub, however it is written.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// Host and optional port: `docker.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Path inside the registry: `library/busybox`, `shop/web`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses a reference the way `docker pull` reads one. Bounded and strict: an
    /// uppercase repository, an empty component or a malformed digest is an error.
    pub fn parse(text: &str) -> Result<ImageReference, String> {
        let text = text.trim();
        if text.is_empty() || text.len() > 512 {
            return Err("an image reference is 1 to 512 characters".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest)?;
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => {
                if tag.is_empty()
                    || tag.len() > 128
                    || !tag
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                {
                    return Err(format!("{tag:?} is not a valid tag"));
                }
                (name, Some(tag.to_string()))
            }
            _ => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_ascii_lowercase(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.split('/').any(|part| {
            part.is_empty()
                || !part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        }) {
            return Err(format!(
                "{repository:?} is not a valid repository (lowercase letters, digits, '.', '_', '-' between '/')"
            ));
        }
        Ok(ImageReference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`: what a cosign payload's docker-reference must name.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> ImageReference {
        ImageReference {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `sha256:` and 64 lowercase hex digits.
pub fn check_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) => {
            Ok(())
        }
        _ => Err(format!("{digest:?} is not a sha256 digest")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ImageReference {
        ImageReference::parse(s).unwrap()
    }

    #[test]
    fn docker_hub_names_are_one_repository() {
        for s in [
            "busybox",
            "library/busybox",
            "docker.io/library/busybox",
            "index.docker.io/library/busybox",
            "registry-1.docker.io/library/busybox:1.36",
        ] {
            assert_eq!(parse(s).name(), "docker.io/library/busybox", "{s}");
        }
        assert_eq!(parse("bitnami/redis").name(), "docker.io/bitnami/redis");
    }

    #[test]
    fn registries_ports_tags_and_digests() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse(&format!("127.0.0.1:5000/shop/web:3.2@{d}"));
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "shop/web");
        assert_eq!(r.tag.as_deref(), Some("3.2"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/shop/web:3.2@{d}"));
        // A port is not a tag.
        let r = parse("localhost:5000/app");
        assert_eq!((r.registry.as_str(), r.tag), ("localhost:5000", None));
        assert_eq!(parse("localhost/app").registry, "localhost");
    }

    #[test]
    fn malformed_references_are_refused() {
        for s in [
            "",
            "Shop/Web",
            "shop//web",
            "shop/web:",
            "shop/web:bad tag",
            "shop/web@sha256:short",
            "shop/web@md5:abcd",
        ] {
            assert!(ImageReference::parse(s).is_err(), "{s:?}");
        }
        assert!(ImageReference::parse(&"a".repeat(600)).is_err());
    }
}
