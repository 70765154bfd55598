//! Reading an engine's whole state: host facts, every image (with history) and every
//! container, inspected concurrently. No storage here: the server's collector and the
//! one-shot `coastguard audit docker` both start from a [`Snapshot`].

use super::engine::EngineConfig;
use super::normalize;
use bollard::errors::Error as DockerError;
use bollard::models::{ChangeType, ContainerInspectResponse};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListImagesOptionsBuilder};
use bollard::Docker;
use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts};
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::HashMap;

/// How many inspect calls run at once against one engine.
const CONCURRENCY: usize = 16;

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub host: HostFacts,
    pub images: Vec<ImageFacts>,
    pub containers: Vec<ContainerFacts>,
}

/// The image plus its raw environment, which only lives in memory while containers
/// are compared with it (secrets set on the container vs inherited from the image).
pub struct InspectedImage {
    pub facts: ImageFacts,
    pub env: Vec<String>,
}

fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

pub async fn host(docker: &Docker, config: &EngineConfig) -> Result<HostFacts, DockerError> {
    let (info, version) = tokio::try_join!(docker.info(), docker.version())?;
    let icc = match docker.inspect_network("bridge", None).await {
        Ok(net) => Some(
            net.options
                .as_ref()
                .and_then(|o| o.get("com.docker.network.bridge.enable_icc"))
                .is_none_or(|v| v != "false"),
        ),
        Err(_) => None,
    };
    Ok(normalize::host_facts(
        &info,
        Some(&version),
        icc,
        config.transport(),
    ))
}

/// Inspects one image and its history; `None` if it vanished meanwhile.
pub async fn image(docker: &Docker, id: &str) -> Result<Option<InspectedImage>, DockerError> {
    if id.is_empty() {
        // Names nothing (the engine would answer `/images//json` with a 301).
        return Ok(None);
    }
    let inspected = match docker.inspect_image(id).await {
        Ok(i) => i,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let history = match docker.image_history(id).await {
        Ok(h) => h,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let env = inspected
        .config
        .as_ref()
        .and_then(|c| c.env.clone())
        .unwrap_or_default();
    Ok(Some(InspectedImage {
        facts: normalize::image_facts(&inspected, &history),
        env,
    }))
}

/// Inspects one container; `None` if it vanished meanwhile.
pub async fn container_raw(
    docker: &Docker,
    id: &str,
) -> Result<Option<ContainerInspectResponse>, DockerError> {
    if id.is_empty() {
        return Ok(None);
    }
    match docker.inspect_container(id, None).await {
        Ok(c) => Ok(Some(c)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Inspects one container into facts; `None` if it vanished meanwhile.
pub async fn container(
    docker: &Docker,
    id: &str,
    image_env: Option<&[String]>,
) -> Result<Option<ContainerFacts>, DockerError> {
    Ok(container_raw(docker, id)
        .await?
        .map(|c| normalize::container_facts(&c, image_env)))
}

/// Whether a running container runs an SSH daemon (`docker top`; a container that
/// stopped meanwhile runs none). Only the answer is kept, never the process list, whose
/// command lines can hold secrets.
pub async fn runs_sshd(docker: &Docker, id: &str) -> Result<bool, DockerError> {
    match docker.top_processes(id, None).await {
        Ok(top) => Ok(normalize::runs_sshd(&top)),
        Err(e) if is_not_found(&e) => Ok(false),
        // 409: not running any more.
        Err(DockerError::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A changed path and how: `'A'`dded, `'C'`hanged or `'D'`eleted.
pub type Change = (String, char);

/// `docker diff`: the changes since the container was created.
pub async fn changes(docker: &Docker, id: &str) -> Result<Vec<Change>, DockerError> {
    let changes = match docker.container_changes(id).await {
        Ok(c) => c.unwrap_or_default(),
        Err(e) if is_not_found(&e) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(changes
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                ChangeType::_0 => 'C',
                ChangeType::_1 => 'A',
                ChangeType::_2 => 'D',
            };
            (c.path, kind)
        })
        .collect())
}

/// Everything the engine has, inspected `CONCURRENCY` calls at a time.
pub async fn snapshot(docker: &Docker, config: &EngineConfig) -> Result<Snapshot, DockerError> {
    let host = host(docker, config).await?;

    let listed = docker
        .list_images(Some(ListImagesOptionsBuilder::default().all(false).build()))
        .await?;
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default().all(true).build(),
        ))
        .await?;
    // Containers can run images the top-level list leaves out (dangling ones). An empty
    // id (a container whose image is being removed or pulled) names nothing: asking the
    // engine for `/images//json` gets a 301, which failed the whole sync.
    let mut image_ids: Vec<String> = listed
        .into_iter()
        .map(|i| i.id)
        .filter(|id| !id.is_empty())
        .collect();
    for c in &containers {
        if let Some(id) = c.image_id.as_ref().filter(|id| !id.is_empty()) {
            if !image_ids.contains(id) {
                image_ids.push(id.clone());
            }
        }
    }

    let images: Vec<InspectedImage> = stream::iter(image_ids)
        .map(|id| async move { image(docker, &id).await })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|i| async move { Ok(i) })
        .try_collect()
        .await?;
    let envs: HashMap<&str, &[String]> = images
        .iter()
        .map(|i| (i.facts.id.as_str(), i.env.as_slice()))
        .collect();

    let container_facts: Vec<ContainerFacts> = stream::iter(containers)
        .filter_map(|c| async move { c.id.filter(|id| !id.is_empty()).map(|id| (id, c.image_id)) })
        .map(|(id, image_id)| {
            let env = image_id.as_deref().and_then(|i| envs.get(i).copied());
            async move { container(docker, &id, env).await }
        })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|c| async move { Ok(c) })
        .try_collect()
        .await?;

    Ok(Snapshot {
        host,
        images: images.into_iter().map(|i| i.facts).collect(),
        containers: container_facts,
    })
}
