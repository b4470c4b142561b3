//! Reaching the engine and pulling images, with progress.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use lambox_core::backend::BackendError;

/// How far a pull has come, summed over the image's layers.
#[derive(Debug, Clone, Default)]
pub struct PullProgress {
    /// Bytes downloaded so far.
    pub current_bytes: u64,
    /// Bytes to download, as far as known yet.
    pub total_bytes: u64,
    /// The engine's last status line (`Downloading`, `Pull complete`, …).
    pub status: String,
}

/// Pulls `image` on `docker`, reporting progress as the engine sends it.
pub async fn pull_image(
    docker: &Docker,
    image: &str,
    mut progress: impl FnMut(&PullProgress),
) -> Result<(), BackendError> {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (image, "latest"),
    };
    let options = CreateImageOptionsBuilder::default()
        .from_image(repo)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(Some(options), None, None);
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    let mut state = PullProgress::default();
    while let Some(step) = stream.next().await {
        let step = step.map_err(|e| BackendError::Image(format!("cannot pull {image}: {e}")))?;
        if let (Some(id), Some(detail)) = (&step.id, &step.progress_detail) {
            let entry = layers.entry(id.clone()).or_default();
            if let Some(c) = detail.current {
                entry.0 = u64::try_from(c).unwrap_or(0);
            }
            if let Some(t) = detail.total {
                entry.1 = u64::try_from(t).unwrap_or(0);
            }
        }
        state.current_bytes = layers.values().map(|l| l.0).sum();
        state.total_bytes = layers.values().map(|l| l.1).sum();
        if let Some(s) = step.status {
            state.status = s;
        }
        progress(&state);
    }
    Ok(())
}

/// Connects to the engine (`DOCKER_HOST`, else the local socket) at an API version both speak.
pub async fn connect_engine() -> Result<Docker, BackendError> {
    Docker::connect_with_local_defaults()
        .map_err(|e| BackendError::Launch(format!("cannot reach the Docker engine: {e}")))?
        .negotiate_version()
        .await
        .map_err(|e| BackendError::Launch(format!("cannot reach the Docker engine: {e}")))
}
