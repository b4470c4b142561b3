//! lambox-backend-docker: sandboxes as containers, through the Docker Engine API (bollard; never
//! the docker CLI). Works with a local engine, a remote one (`DOCKER_HOST`) and Podman's
//! Docker-compatible socket.
//!
//! A container runs its runtime's image (AWS's base images by default, see [`images`]) or, for
//! PackageType Image functions, the function's own image, with lambox's statically linked agent
//! as its entry point. Code, agent and runtime clients are uploaded as a tar archive before the
//! container starts. Every container is labelled with the installation id, the function ARN and
//! the deploy-id, so that a restarted lambox finds exactly the containers its earlier run left.

mod archive;
mod engine;
pub mod images;
mod pull;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use lambox_core::backend::{Backend, BackendError, BoxFuture, LogSink, Sandbox, SandboxSpec};
use lambox_core::function::PackageType;
use lambox_core::lines::LineSplitter;
use lambox_core::protocol::{AGENT_SECRET_ENV, FALLBACK_BOOTSTRAP_ENV, parse_ready_line};
use lambox_core::revision::{FunctionRevision, SandboxPaths, sandbox_environment};
use lambox_core::runtime::{RuntimeFamily, clients};
use tokio::sync::{Mutex, OnceCell};

pub use images::ImageMap;
pub use pull::{PullProgress, connect_engine, pull_image};

use crate::engine::{host_gateway, publish_address, remote_engine_host};

/// Label: the installation a container belongs to.
pub const LABEL_INSTALLATION: &str = "lambox.installation";
/// Label: the sandbox id.
pub const LABEL_SANDBOX: &str = "lambox.sandbox";
/// Label: the function ARN.
pub const LABEL_FUNCTION: &str = "lambox.function";
/// Label: the deploy-id.
pub const LABEL_DEPLOY: &str = "lambox.deploy-id";

/// How the Docker backend runs sandboxes.
#[derive(Debug, Clone)]
pub struct DockerBackendConfig {
    /// Marks this installation's containers.
    pub installation_id: String,
    /// Runtime → image.
    pub images: ImageMap,
    /// The statically linked agent, uploaded into every container.
    pub agent_binary: PathBuf,
    /// A user-defined network to attach containers to (reached by container IP); without one,
    /// the agent's port is published on the host's loopback.
    pub network: Option<String>,
    /// The host name containers reach the host by (mapped to the host gateway).
    pub host_alias: String,
}

/// The Docker backend.
pub struct DockerBackend {
    docker: Docker,
    config: DockerBackendConfig,
    /// The host of a remote engine (`DOCKER_HOST=tcp://…`), where published ports are reached.
    remote_host: Option<String>,
    /// The address agents' ports are published on: loopback for a local engine, the remote
    /// engine's own address otherwise.
    publish_ip: String,
    /// What `host_alias` resolves to in containers (see [`engine::host_gateway`]).
    host_gateway: String,
    agent: OnceCell<Vec<u8>>,
    pulls: Mutex<HashMap<String, std::sync::Arc<OnceCell<()>>>>,
}

fn launch_error(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Launch(format!("{what}: {e}"))
}

fn container_name(sandbox_id: &str) -> String {
    format!("lambox-{sandbox_id}")
}

impl DockerBackend {
    /// Connects to the engine (`DOCKER_HOST`, else the local socket) and agrees on an API
    /// version.
    pub async fn connect(config: DockerBackendConfig) -> Result<Self, BackendError> {
        let docker = connect_engine().await?;
        let remote_host = remote_engine_host();
        let publish_ip = match &remote_host {
            Some(host) => publish_address(host).await,
            None => "127.0.0.1".to_owned(),
        };
        let host_gateway = host_gateway(&docker, config.network.as_deref()).await;
        Ok(Self {
            docker,
            config,
            remote_host,
            publish_ip,
            host_gateway,
            agent: OnceCell::new(),
            pulls: Mutex::new(HashMap::new()),
        })
    }

    /// The image a revision runs in.
    pub fn image_for(&self, rev: &FunctionRevision) -> Result<String, BackendError> {
        self.config
            .images
            .image_for(rev)
            .ok_or_else(|| BackendError::Unsupported("no image for this runtime".into()))
    }

    /// Makes sure `image` is present, pulling it once (concurrent callers share the pull).
    pub async fn ensure_image(&self, image: &str) -> Result<(), BackendError> {
        self.present_image(image).await.map(|_| ())
    }

    /// The image's own configuration, pulling the image first if it is not present.
    async fn present_image(
        &self,
        image: &str,
    ) -> Result<bollard::models::ImageConfig, BackendError> {
        if let Ok(inspected) = self.docker.inspect_image(image).await {
            return Ok(inspected.config.unwrap_or_default());
        }
        let cell = self
            .pulls
            .lock()
            .await
            .entry(image.to_owned())
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.pull(image)).await?;
        let inspected = self
            .docker
            .inspect_image(image)
            .await
            .map_err(|e| launch_error(&format!("cannot inspect {image}"), e))?;
        Ok(inspected.config.unwrap_or_default())
    }

    async fn pull(&self, image: &str) -> Result<(), BackendError> {
        tracing::info!(image, "pulling image");
        let mut last = std::time::Instant::now();
        pull_image(&self.docker, image, |p| {
            if last.elapsed() > Duration::from_secs(2) {
                last = std::time::Instant::now();
                tracing::info!(
                    image,
                    done_mb = p.current_bytes / 1_000_000,
                    total_mb = p.total_bytes / 1_000_000,
                    "pulling"
                );
            }
        })
        .await?;
        tracing::info!(image, "pulled");
        Ok(())
    }

    async fn agent_bytes(&self) -> Result<&Vec<u8>, BackendError> {
        self.agent
            .get_or_try_init(|| async {
                tokio::fs::read(&self.config.agent_binary).await.map_err(|e| {
                    BackendError::Launch(format!(
                        "cannot read the static agent {} (build it with `cargo xtask agent`): {e}",
                        self.config.agent_binary.display()
                    ))
                })
            })
            .await
    }

    /// The runtime command for an Image function — its ImageConfig overrides, else the image's
    /// own ENTRYPOINT and CMD — with the handler (the command's first word) and working
    /// directory.
    fn image_command(
        rev: &FunctionRevision,
        own: bollard::models::ImageConfig,
    ) -> (Vec<String>, Option<String>, Option<String>) {
        let overrides = rev.config.image_config.clone().unwrap_or_default();
        let mut command = overrides.entry_point.or(own.entrypoint).unwrap_or_default();
        let args = overrides.command.or(own.cmd).unwrap_or_default();
        let handler = args.first().cloned();
        command.extend(args);
        let workdir = overrides
            .working_directory
            .or(own.working_dir)
            .filter(|w| !w.is_empty());
        (command, handler, workdir)
    }

    async fn launch_container(
        &self,
        spec: &SandboxSpec,
        logs: LogSink,
    ) -> Result<Sandbox, BackendError> {
        let rev = &spec.revision;
        let image = self.image_for(rev)?;
        let own = self.present_image(&image).await?;
        let (bootstrap, image_handler, workdir) = if rev.config.package_type == PackageType::Image {
            Self::image_command(rev, own)
        } else {
            (Vec::new(), None, Some("/var/task".to_owned()))
        };
        let paths = SandboxPaths {
            task_root: "/var/task".into(),
            runtime_dir: "/var/runtime".into(),
            opt: "/opt".into(),
        };
        let lambox_url = spec
            .lambox_url
            .replace("127.0.0.1", &self.config.host_alias)
            .replace("localhost", &self.config.host_alias);
        let stream = spec.log_stream.clone();
        let mut environment =
            sandbox_environment(rev, &spec.sandbox_id, &paths, &lambox_url, &stream);
        spec.initialization.apply(&mut environment);
        let mut env: Vec<String> = environment
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some(handler) = image_handler {
            env.push(format!("_HANDLER={handler}"));
        }
        env.push(format!("{AGENT_SECRET_ENV}={}", spec.secret));
        match rev.family() {
            Some(RuntimeFamily::Python) => env.push(format!(
                "{FALLBACK_BOOTSTRAP_ENV}=python3 {}",
                archive::PYTHON_CLIENT
            )),
            Some(RuntimeFamily::Node) => env.push(format!(
                "{FALLBACK_BOOTSTRAP_ENV}=node {}",
                archive::NODE_CLIENT
            )),
            _ => {}
        }
        let mut entrypoint = vec![
            archive::AGENT_PATH.to_owned(),
            "--invoke".into(),
            "0.0.0.0:8080".into(),
            "--runtime-api".into(),
            "127.0.0.1:9001".into(),
        ];
        if !bootstrap.is_empty() {
            entrypoint.push("--".into());
            entrypoint.extend(bootstrap);
        }
        let labels = HashMap::from([
            (
                LABEL_INSTALLATION.to_owned(),
                self.config.installation_id.clone(),
            ),
            (LABEL_SANDBOX.to_owned(), spec.sandbox_id.clone()),
            (LABEL_FUNCTION.to_owned(), rev.function_arn()),
            (LABEL_DEPLOY.to_owned(), rev.deploy_id.to_string()),
        ]);
        let published = self.config.network.is_none();
        let host_config = HostConfig {
            memory: Some(i64::from(rev.config.memory_size) * 1024 * 1024),
            extra_hosts: Some(vec![format!(
                "{}:{}",
                self.config.host_alias, self.host_gateway
            )]),
            network_mode: self.config.network.clone(),
            port_bindings: published.then(|| {
                HashMap::from([(
                    "8080/tcp".to_owned(),
                    Some(vec![PortBinding {
                        host_ip: Some(self.publish_ip.clone()),
                        host_port: Some(String::new()),
                    }]),
                )])
            }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            entrypoint: Some(entrypoint),
            env: Some(env),
            labels: Some(labels),
            working_dir: workdir,
            exposed_ports: Some(vec!["8080/tcp".to_owned()]),
            host_config: Some(host_config),
            ..Default::default()
        };
        let platform = if rev.config.architecture == "arm64" {
            "linux/arm64"
        } else {
            "linux/amd64"
        };
        let name = container_name(&spec.sandbox_id);
        let options = CreateContainerOptionsBuilder::default()
            .name(&name)
            .platform(platform)
            .build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| launch_error("cannot create the container", e))?;
        let result = self.start_container(spec, &name, logs).await;
        if result.is_err() {
            let _ = self.remove(&name).await;
        }
        result
    }

    async fn start_container(
        &self,
        spec: &SandboxSpec,
        name: &str,
        logs: LogSink,
    ) -> Result<Sandbox, BackendError> {
        let mut archive = archive::SandboxArchive::new();
        if let Some(code) = &spec.code {
            archive
                .zip_at_task_root(&code.zip().await?)
                .map_err(|e| launch_error("cannot unpack the code", e))?;
        }
        for layer in &spec.layers {
            archive
                .layer_at_opt(&layer.zip().await?)
                .map_err(|e| launch_error("cannot unpack a layer", e))?;
        }
        archive.file(archive::AGENT_PATH, self.agent_bytes().await?, 0o755)?;
        archive.file(archive::PYTHON_CLIENT, clients::PYTHON.as_bytes(), 0o644)?;
        archive.file(archive::NODE_CLIENT, clients::NODE.as_bytes(), 0o644)?;
        let tar = archive.finish()?;
        self.docker
            .upload_to_container(
                name,
                Some(UploadToContainerOptionsBuilder::default().path("/").build()),
                bollard::body_full(tar.into()),
            )
            .await
            .map_err(|e| launch_error("cannot upload the sandbox files", e))?;
        self.docker
            .start_container(name, None)
            .await
            .map_err(|e| launch_error("cannot start the container", e))?;
        let endpoint = self.endpoint(name).await?;
        self.await_ready(name, logs).await?;
        Ok(Sandbox {
            id: spec.sandbox_id.clone(),
            endpoint,
            secret: spec.secret.clone(),
        })
    }

    /// `host:port` of the agent: the published port on loopback, or the container's address on
    /// the configured network.
    async fn endpoint(&self, name: &str) -> Result<String, BackendError> {
        let inspected = self
            .docker
            .inspect_container(name, None)
            .await
            .map_err(|e| launch_error("cannot inspect the container", e))?;
        let settings = inspected.network_settings.unwrap_or_default();
        if let Some(network) = &self.config.network {
            let ip = settings
                .networks
                .as_ref()
                .and_then(|n| n.get(network))
                .and_then(|n| n.ip_address.clone())
                .filter(|ip| !ip.is_empty())
                .ok_or_else(|| {
                    BackendError::Launch(format!("the container has no address on {network}"))
                })?;
            return Ok(format!("{ip}:8080"));
        }
        let remote = self.remote_host.as_deref();
        if remote.is_none()
            && let Some(ip) = settings
                .networks
                .as_ref()
                .and_then(|n| n.values().find_map(|n| n.ip_address.clone()))
                .filter(|ip| !ip.is_empty())
        {
            return Ok(format!("{ip}:8080"));
        }
        let port = settings
            .ports
            .as_ref()
            .and_then(|p| p.get("8080/tcp").cloned().flatten())
            .and_then(|b| b.into_iter().find_map(|b| b.host_port))
            .ok_or_else(|| BackendError::Launch("the agent's port was not published".into()))?;
        Ok(format!("{}:{port}", remote.unwrap_or("127.0.0.1")))
    }

    /// Follows the container's output: waits for the agent's ready line, then hands every
    /// further line to `logs`.
    async fn await_ready(&self, name: &str, logs: LogSink) -> Result<(), BackendError> {
        let options = LogsOptionsBuilder::default()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = self.docker.logs(name, Some(options));
        let mut splitter = LineSplitter::default();
        let mut seen = String::new();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else { break };
                let mut lines = Vec::new();
                splitter.push(&chunk.into_bytes(), |l| lines.push(l.to_owned()));
                let mut lines = lines.into_iter();
                for line in lines.by_ref() {
                    if parse_ready_line(&line).is_some() {
                        // Lines after the ready line in the same chunk are the log's first.
                        return Some(lines.collect::<Vec<_>>());
                    }
                    if seen.len() < 64 * 1024 {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(first) = ready else {
            return Err(BackendError::Launch(format!(
                "the agent did not start: {}",
                seen.trim()
            )));
        };
        for line in first {
            logs(&line);
        }
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = stream.next().await {
                splitter.push(&chunk.into_bytes(), |l| logs(l));
            }
            splitter.finish(|l| logs(l));
        });
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), BackendError> {
        match self
            .docker
            .remove_container(
                name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(BackendError::Launch(format!("cannot remove {name}: {e}"))),
        }
    }
}

impl Backend for DockerBackend {
    fn kind(&self) -> &'static str {
        "docker"
    }

    fn prepare<'a>(&'a self, revision: &'a FunctionRevision) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Ok(image) = self.image_for(revision)
                && let Err(e) = self.ensure_image(&image).await
            {
                tracing::warn!(image, error = %e, "could not pull ahead of the first invoke");
            }
        })
    }

    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>> {
        Box::pin(self.launch_container(spec, logs))
    }

    fn terminate<'a>(&'a self, sandbox_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move { self.remove(&container_name(sandbox_id)).await })
    }

    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async move {
            let filters = HashMap::from([(
                "label",
                vec![format!(
                    "{LABEL_INSTALLATION}={}",
                    self.config.installation_id
                )],
            )]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            let containers = self
                .docker
                .list_containers(Some(options))
                .await
                .map_err(|e| launch_error("cannot list containers", e))?;
            Ok(containers
                .into_iter()
                .filter_map(|c| c.labels?.get(LABEL_SANDBOX).cloned())
                .collect())
        })
    }
}
