//! What a registry holds: its repositories (the catalog, or the ones configured), their
//! tags, the digest each tag names, and for digests not seen before the images behind
//! them (an index resolved to its platforms' manifests, each image's config read).
//!
//! An unchanged registry costs one tag list per repository and one HEAD per tag; only a
//! new digest costs its manifest and config. Requests run a few at a time.

use super::client::{Registry, RegistryError, MAX_MANIFEST};
use super::manifest::Manifest;
use bollard::models::{ImageHistoryResponseItem, ImageInspect};
use coastguard_model::docker::ImageFacts;
use futures::{stream, StreamExt};
use std::collections::{HashMap, HashSet};

/// Repositories read from a catalog, at most.
pub const MAX_REPOSITORIES: usize = 10_000;
/// Tags read per repository, at most.
pub const MAX_TAGS: usize = 1_000;
/// Platforms read per index, at most.
const MAX_PLATFORMS: usize = 16;
/// An image config is a few kilobytes; a long build history can reach a megabyte.
const MAX_CONFIG: usize = 4 * 1024 * 1024;
/// Registry requests in flight at once, per registry.
pub const CONCURRENCY: usize = 4;

/// What the store already knows, so unchanged tags cost one request.
#[derive(Debug, Default)]
pub struct Known {
    /// `(repository, tag)` → the digest it named at the last sync.
    pub tags: HashMap<(String, String), String>,
    /// Manifest digests an image is already known by.
    pub digests: HashSet<String>,
}

/// One tag as found now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTag {
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

/// An image behind a digest not known before.
#[derive(Debug, Clone)]
pub struct FoundImage {
    pub repository: String,
    /// Its own manifest's digest.
    pub manifest_digest: String,
    /// The index that lists it, when the tag names an index.
    pub index_digest: Option<String>,
    pub facts: ImageFacts,
}

/// What one sync found.
#[derive(Debug, Default)]
pub struct Found {
    /// Repositories whose tags were listed.
    pub repositories: Vec<String>,
    pub tags: Vec<FoundTag>,
    pub images: Vec<FoundImage>,
    /// Repositories (or tags) that could not be read, with why; the rest was.
    pub problems: Vec<String>,
}

/// Tags that are not images: cosign's `sha256-<hex>.sig/.att/.sbom` and the referrers
/// tag schema's `sha256-<hex>` indexes.
pub fn is_artifact_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-").is_some_and(|rest| {
        let hex = rest.split('.').next().unwrap_or_default();
        hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// Reads what `registry` holds in `configured` repositories (or its catalog's, when
/// none are configured). Fails only when the registry cannot be asked at all (down,
/// credentials refused, no catalog and nothing configured); a repository or tag that
/// cannot be read is a problem of the result, and the rest is read.
pub async fn discover(
    registry: &Registry,
    configured: &[String],
    known: &Known,
) -> Result<Found, RegistryError> {
    let repositories = if configured.is_empty() {
        registry.catalog(MAX_REPOSITORIES).await?
    } else {
        configured.to_vec()
    };
    let mut found = Found::default();

    // Tags of every repository, a few at a time.
    let listed: Vec<(String, Result<Vec<String>, RegistryError>)> =
        stream::iter(repositories.into_iter().map(|repo| async move {
            let tags = registry.tags(&repo, MAX_TAGS).await;
            (repo, tags)
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut pairs = Vec::new();
    for (repo, tags) in listed {
        match tags {
            Ok(tags) => {
                pairs.extend(
                    tags.into_iter()
                        .filter(|t| !is_artifact_tag(t))
                        .map(|t| (repo.clone(), t)),
                );
                found.repositories.push(repo);
            }
            Err(e) if e.is_unavailable() => return Err(e),
            Err(e) => found.problems.push(format!("{repo}: {e}")),
        }
    }

    // The digest each tag names: one HEAD each.
    let resolved: Vec<(String, String, Result<String, RegistryError>)> =
        stream::iter(pairs.into_iter().map(|(repo, tag)| async move {
            let digest = registry.manifest_digest(&repo, &tag).await;
            (repo, tag, digest)
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut new_digests: Vec<(String, String)> = Vec::new();
    let mut asked = HashSet::new();
    for (repository, tag, digest) in resolved {
        match digest {
            Ok(digest) => {
                let unchanged = known.tags.get(&(repository.clone(), tag.clone())) == Some(&digest)
                    || known.digests.contains(&digest);
                if !unchanged && asked.insert(digest.clone()) {
                    new_digests.push((repository.clone(), digest.clone()));
                }
                found.tags.push(FoundTag {
                    repository,
                    tag,
                    digest,
                });
            }
            Err(e) if e.is_unavailable() => return Err(e),
            Err(e) => found.problems.push(format!("{repository}:{tag}: {e}")),
        }
    }

    // The images behind new digests.
    let images: Vec<Result<Vec<FoundImage>, String>> =
        stream::iter(new_digests.into_iter().map(|(repo, digest)| async move {
            images_of(registry, &repo, &digest)
                .await
                .map_err(|e| format!("{repo}@{digest}: {e}"))
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for outcome in images {
        match outcome {
            Ok(images) => found.images.extend(images),
            Err(problem) => found.problems.push(problem),
        }
    }
    Ok(found)
}

/// The images `digest` names in `repo`: itself, or an index's platform images (Linux
/// on amd64 first, attestation manifests left out).
async fn images_of(
    registry: &Registry,
    repo: &str,
    digest: &str,
) -> Result<Vec<FoundImage>, RegistryError> {
    let fetched = registry.manifest(repo, digest).await?;
    let manifest = fetched
        .manifest()
        .map_err(|e| RegistryError::Protocol(registry.host().into(), e))?;
    if !manifest.is_index(&fetched.media_type) {
        return Ok(image_of(registry, repo, digest, None, &manifest)
            .await?
            .into_iter()
            .collect());
    }
    let mut platforms: Vec<_> = manifest
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os != "unknown" && p.architecture != "unknown")
        })
        .take(MAX_PLATFORMS)
        .collect();
    platforms.sort_by_key(|d| {
        let p = d.platform.as_ref().expect("filtered on a platform");
        !(p.os == "linux" && p.architecture == "amd64")
    });
    let mut out = Vec::new();
    for d in platforms {
        let fetched = registry.manifest(repo, &d.digest).await?;
        let platform = fetched
            .manifest()
            .map_err(|e| RegistryError::Protocol(registry.host().into(), e))?;
        if let Some(image) = image_of(
            registry,
            repo,
            &d.digest,
            Some(digest.to_string()),
            &platform,
        )
        .await?
        {
            out.push(image);
        }
    }
    Ok(out)
}

/// The image of one image manifest (none for an artifact, whose config is no image's).
async fn image_of(
    registry: &Registry,
    repo: &str,
    manifest_digest: &str,
    index_digest: Option<String>,
    manifest: &Manifest,
) -> Result<Option<FoundImage>, RegistryError> {
    let Some(config) = &manifest.config else {
        return Ok(None);
    };
    if !matches!(
        config.media_type.as_str(),
        "application/vnd.oci.image.config.v1+json"
            | "application/vnd.docker.container.image.v1+json"
    ) {
        return Ok(None);
    }
    let bytes = registry
        .blob(repo, &config.digest, MAX_CONFIG.min(MAX_MANIFEST * 2))
        .await?;
    let size = manifest.layers.iter().map(|l| l.size as i64).sum::<i64>();
    let facts = facts_of_config(&config.digest, &bytes, size)
        .map_err(|e| RegistryError::Protocol(registry.host().into(), e))?;
    Ok(Some(FoundImage {
        repository: repo.to_string(),
        manifest_digest: manifest_digest.to_string(),
        index_digest,
        facts,
    }))
}

/// An OCI (or Docker) image config read as the facts an engine would report, through the
/// same redaction: environment values dropped, secrets in labels, commands and history
/// named and masked. `size` is the layers' (compressed) size.
pub fn facts_of_config(digest: &str, config: &[u8], size: i64) -> Result<ImageFacts, String> {
    let oci: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let inspect = serde_json::json!({
        "Id": digest,
        "Created": oci["created"],
        "Os": oci["os"],
        "Architecture": oci["architecture"],
        "Size": size,
        "Config": oci["config"],
        "RootFS": {"Type": "layers", "Layers": oci["rootfs"]["diff_ids"]},
    });
    let inspect: ImageInspect = serde_json::from_value(inspect)
        .map_err(|e| format!("the image config cannot be read: {e}"))?;
    let oci_history = oci["history"].as_array().cloned().unwrap_or_default();
    let history: Vec<ImageHistoryResponseItem> = oci_history
        .iter()
        .map(|h| ImageHistoryResponseItem {
            id: "<missing>".into(),
            created: h["created"]
                .as_str()
                .and_then(crate::docker::normalize::parse_time)
                .unwrap_or(0),
            created_by: h["created_by"].as_str().unwrap_or_default().to_string(),
            tags: Vec::new(),
            size: 0,
            comment: h["comment"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let mut facts = crate::docker::normalize::image_facts(&inspect, &history);
    // A registry does not say a layer's size per history step, only whether it made one.
    for (entry, h) in facts.history.iter_mut().zip(&oci_history) {
        entry.empty_layer = h["empty_layer"].as_bool().unwrap_or(false);
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_and_referrer_tags_are_not_images() {
        let hex = "a".repeat(64);
        assert!(is_artifact_tag(&format!("sha256-{hex}.sig")));
        assert!(is_artifact_tag(&format!("sha256-{hex}.att")));
        assert!(is_artifact_tag(&format!("sha256-{hex}")));
        assert!(!is_artifact_tag("sha256-latest"));
        assert!(!is_artifact_tag("1.2.3"));
        assert!(!is_artifact_tag(&format!("v-{hex}")));
    }

    #[test]
    fn an_image_config_reads_as_an_engines_facts_with_secrets_masked() {
        let config = serde_json::json!({
            "created": "2024-05-01T10:00:00Z",
            "architecture": "arm64",
            "os": "linux",
            "config": {
                "User": "app",
                "Env": ["PATH=/usr/bin", "DB_PASSWORD=correct-horse-battery-staple"],
                "ExposedPorts": {"8080/tcp": {}},
                "Entrypoint": ["/app"],
                "Labels": {"org.opencontainers.image.source": "https://example.com/app"}
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:1111", "sha256:2222"]},
            "history": [
                {"created": "2024-05-01T09:00:00Z", "created_by": "ADD file:abc in /"},
                {"created": "2024-05-01T10:00:00Z", "created_by": "ENV USER=app", "empty_layer": true}
            ]
        })
        .to_string();
        let facts = facts_of_config("sha256:cfg", config.as_bytes(), 1234).unwrap();
        assert_eq!(facts.id, "sha256:cfg");
        assert_eq!(facts.size, 1234);
        assert_eq!(facts.arch.as_deref(), Some("arm64"));
        assert_eq!(facts.os.as_deref(), Some("linux"));
        assert_eq!(facts.user.as_deref(), Some("app"));
        assert_eq!(facts.created, Some(1_714_557_600));
        assert_eq!(facts.exposed_ports, ["8080/tcp"]);
        assert_eq!(facts.env, ["PATH", "DB_PASSWORD"]);
        assert_eq!(facts.layers, ["sha256:1111", "sha256:2222"]);
        assert_eq!(facts.history.len(), 2);
        assert!(!facts.history[0].empty_layer);
        assert!(facts.history[1].empty_layer);
        assert!(
            facts
                .secrets
                .iter()
                .any(|s| s.location == "env:DB_PASSWORD"),
            "{:?}",
            facts.secrets
        );
        assert!(!serde_json::to_string(&facts)
            .unwrap()
            .contains("correct-horse"));
        assert!(facts_of_config("sha256:x", b"not json", 0).is_err());
    }
}
