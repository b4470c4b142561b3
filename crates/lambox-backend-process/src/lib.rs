//! lambox-backend-process: the default backend. Every sandbox is lambox's agent and the
//! function's runtime as local child processes, with a per-sandbox directory standing in for
//! `/tmp` and `/opt`, and the unpacked code (shared per code digest) for `/var/task`.
//!
//! There is no isolation beyond the operating-system user: this is the zero-setup backend.

mod extract;
mod records;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use lambox_core::backend::{Backend, BackendError, BoxFuture, LogSink, Sandbox, SandboxSpec};
use lambox_core::function::PackageType;
use lambox_core::lines::LineSplitter;
use lambox_core::protocol::parse_ready_line;
use lambox_core::revision::{SandboxPaths, sandbox_environment};
use lambox_core::runtime::{RuntimeFamily, clients};
use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;

/// How the process backend runs sandboxes.
#[derive(Debug, Clone)]
pub struct ProcessBackendConfig {
    /// Where sandbox directories go (`<data dir>/sandboxes`).
    pub sandboxes_dir: PathBuf,
    /// Where unpacked code goes, one directory per code digest (`<data dir>/code`).
    pub code_dir: PathBuf,
    /// Where lambox's runtime clients are written (`<data dir>/runtimes`).
    pub runtimes_dir: PathBuf,
    /// The agent's command line (e.g. `["/usr/bin/lambox", "agent"]`).
    pub agent_command: Vec<String>,
    /// The Python interpreter (a name on PATH or a path).
    pub python: String,
    /// The Node.js interpreter.
    pub node: String,
    /// Marks this installation's sandboxes.
    pub installation_id: String,
}

/// The process backend.
pub struct ProcessBackend {
    config: ProcessBackendConfig,
    python: OnceCell<String>,
    node: OnceCell<String>,
    extracting: DigestLocks,
    /// The write end of each sandbox's control pipe: held here, so that a sandbox stops when it
    /// is terminated, when this backend is dropped, or when lambox dies (the kernel closes them).
    controls: std::sync::Mutex<HashMap<String, tokio::process::ChildStdin>>,
}

/// One lock per code digest being unpacked; entries go when their last holder is done.
#[derive(Default)]
struct DigestLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl DigestLocks {
    fn lock_of(&self, digest: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(digest.to_owned()).or_default().clone()
    }

    fn release(&self, digest: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        drop(lock);
        // Ours and the map's: nobody else waits for it.
        if map.get(digest).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(digest);
        }
    }
}

impl ProcessBackend {
    /// A backend with `config`; writes the runtime clients into place.
    pub fn new(config: ProcessBackendConfig) -> std::io::Result<Self> {
        for dir in [&config.sandboxes_dir, &config.code_dir] {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::create_dir_all(config.runtimes_dir.join("python"))?;
        std::fs::create_dir_all(config.runtimes_dir.join("node"))?;
        std::fs::write(
            config.runtimes_dir.join("python/bootstrap.py"),
            clients::PYTHON,
        )?;
        std::fs::write(config.runtimes_dir.join("node/bootstrap.js"), clients::NODE)?;
        Ok(Self {
            config,
            python: OnceCell::new(),
            node: OnceCell::new(),
            extracting: DigestLocks::default(),
            controls: std::sync::Mutex::default(),
        })
    }

    /// Resolves the interpreters now rather than on the first cold start.
    pub async fn warm_up(&self) {
        let _ = self.interpreter(RuntimeFamily::Python).await;
        let _ = self.interpreter(RuntimeFamily::Node).await;
    }

    /// Removes the unpacked copies of code that is no longer stored (`stored` holds the digests
    /// that are), and staging directories a crash left behind.
    ///
    /// Call it before any sandbox starts: it moves what goes out of the way at once (a rename
    /// each), so that nothing it removes can be code being unpacked for a new function, and
    /// deletes the moved trees in the background.
    pub async fn retain_code(&self, stored: std::collections::HashSet<String>) {
        let code_dir = self.config.code_dir.clone();
        let moved = tokio::task::spawn_blocking(move || {
            let trash = code_dir.join(extract::TRASH_DIR);
            let Ok(entries) = std::fs::read_dir(&code_dir) else {
                return trash;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == extract::TRASH_DIR {
                    continue;
                }
                if extract::is_staging(&name) || !stored.contains(&name) {
                    let _ = std::fs::create_dir_all(&trash);
                    let _ = std::fs::rename(entry.path(), trash.join(&name));
                }
            }
            trash
        })
        .await;
        if let Ok(trash) = moved {
            tokio::task::spawn_blocking(move || extract::remove_tree(&trash));
        }
    }

    /// The real executable behind an interpreter name: version managers put shell-script shims
    /// on PATH that cost tens of milliseconds on every start.
    async fn interpreter(&self, family: RuntimeFamily) -> Result<String, BackendError> {
        let (cell, name, probe): (&OnceCell<String>, &str, &[&str]) = match family {
            RuntimeFamily::Python => (
                &self.python,
                &self.config.python,
                &["-c", "import sys; print(sys.executable)"],
            ),
            RuntimeFamily::Node => (
                &self.node,
                &self.config.node,
                &["-e", "console.log(process.execPath)"],
            ),
            _ => {
                return Err(BackendError::Unsupported(
                    "no interpreter for this runtime".into(),
                ));
            }
        };
        cell.get_or_try_init(|| async {
            let out = tokio::process::Command::new(name)
                .args(probe)
                .stdin(Stdio::null())
                .output()
                .await
                .map_err(|e| BackendError::Unsupported(format!("{name} cannot be started: {e}")))?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Ok(if out.status.success() && !path.is_empty() {
                path
            } else {
                name.to_owned()
            })
        })
        .await
        .cloned()
    }

    /// The unpacked code of a package, unpacking it on first use. Unpacking holds a lock of its
    /// digest only, so a large package delays no other function's cold start.
    async fn code_root(&self, spec: &SandboxSpec) -> Result<PathBuf, BackendError> {
        let Some(code) = &spec.code else {
            return Err(BackendError::Launch("the function has no code".into()));
        };
        let dest = self.config.code_dir.join(&code.sha256_hex);
        if tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
            return Ok(dest);
        }
        let lock = self.extracting.lock_of(&code.sha256_hex);
        let unpacked = async {
            let _this_digest = lock.lock().await;
            if !tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
                let zip = code.zip().await?;
                let target = dest.clone();
                tokio::task::spawn_blocking(move || extract::extract_zip(&zip, &target))
                    .await
                    .map_err(|e| BackendError::Launch(e.to_string()))??;
            }
            Ok::<_, BackendError>(())
        }
        .await;
        // Whether or not it worked, this digest's lock entry goes when nobody waits for it.
        self.extracting.release(&code.sha256_hex, lock);
        unpacked?;
        Ok(dest)
    }

    async fn runtime_command(
        &self,
        spec: &SandboxSpec,
        task: &Path,
    ) -> Result<Vec<String>, BackendError> {
        let rev = &spec.revision;
        let runtimes = &self.config.runtimes_dir;
        let family = rev.family().unwrap_or(RuntimeFamily::Provided);
        Ok(match family {
            RuntimeFamily::Python => vec![
                self.interpreter(family).await?,
                runtimes.join("python/bootstrap.py").display().to_string(),
            ],
            RuntimeFamily::Node => vec![
                self.interpreter(family).await?,
                runtimes.join("node/bootstrap.js").display().to_string(),
            ],
            _ if task.join("bootstrap").is_file() => {
                vec![task.join("bootstrap").display().to_string()]
            }
            RuntimeFamily::Provided => {
                return Err(BackendError::Launch(
                    "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]".into(),
                ));
            }
            _ => {
                return Err(BackendError::Unsupported(format!(
                    "the process backend has no runtime client for {}",
                    rev.config.runtime.as_deref().unwrap_or("this runtime")
                )));
            }
        })
    }

    async fn launch_sandbox(
        &self,
        spec: &SandboxSpec,
        logs: LogSink,
    ) -> Result<Sandbox, BackendError> {
        let rev = &spec.revision;
        if rev.config.package_type == PackageType::Image {
            return Err(BackendError::Unsupported(
                "the process backend cannot run PackageType Image functions; start lambox with \
                 the docker backend"
                    .into(),
            ));
        }
        let task = self.code_root(spec).await?;
        let dir = self.config.sandboxes_dir.join(&spec.sandbox_id);
        let (tmp, opt) = (dir.join("tmp"), dir.join("opt"));
        std::fs::create_dir_all(&tmp)?;
        std::fs::create_dir_all(&opt)?;
        let bootstrap = self.runtime_command(spec, &task).await?;
        let paths = SandboxPaths {
            task_root: task.display().to_string(),
            runtime_dir: self.config.runtimes_dir.display().to_string(),
            opt: opt.display().to_string(),
        };
        let stream = spec.log_stream.clone();
        let mut environment =
            sandbox_environment(rev, &spec.sandbox_id, &paths, &spec.lambox_url, &stream);
        spec.initialization.apply(&mut environment);
        let (agent, agent_args) = self
            .config
            .agent_command
            .split_first()
            .ok_or_else(|| BackendError::Launch("no agent command".into()))?;
        let mut command = tokio::process::Command::new(agent);
        command
            .args(agent_args)
            // Loopback only, and standard input as the control pipe: it carries the push
            // secret, and its end (lambox gone, even SIGKILLed) stops the sandbox.
            .args([
                "--invoke",
                "127.0.0.1:0",
                "--runtime-api",
                "127.0.0.1:0",
                "--stdin-control",
                "--sandbox-dir",
            ])
            .arg(&dir)
            .arg("--")
            .args(&bootstrap)
            .env_clear()
            .envs(environment)
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            )
            .env("HOME", &tmp)
            .env("TMPDIR", &tmp)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONPATH", opt.join("python").display().to_string())
            .env(
                "NODE_PATH",
                format!(
                    "{}/nodejs/node_modules:{}/node_modules",
                    opt.display(),
                    task.display()
                ),
            )
            .current_dir(&task)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| BackendError::Launch(format!("cannot start the agent {agent}: {e}")))?;
        let pid = child.id().unwrap_or(0);
        records::write_agent_pid(&dir, pid, &self.config.installation_id)?;
        let mut control = child.stdin.take().expect("piped");
        tokio::io::AsyncWriteExt::write_all(&mut control, format!("{}\n", spec.secret).as_bytes())
            .await?;
        self.controls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.sandbox_id.clone(), control);
        let mut stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        // One task reads the agent's output: its first line is the ready line, the rest the
        // sandbox's log stream, in lines of bounded length.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            let mut on_line = |line: &str| match ready_tx.take() {
                Some(tx) => {
                    let _ = tx.send(line.to_owned());
                }
                None => logs(line),
            };
            let mut splitter = LineSplitter::default();
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = stdout.read(&mut buf).await
                && n > 0
            {
                splitter.push(&buf[..n], &mut on_line);
            }
            splitter.finish(&mut on_line);
            // Reap the agent when it exits, whoever stopped it.
            let _ = child.wait().await;
        });
        let ready = tokio::time::timeout(Duration::from_secs(30), ready_rx).await;
        let endpoint = match ready {
            Ok(Ok(line)) => parse_ready_line(&line).map(|(invoke, _)| invoke),
            _ => None,
        };
        let Some(endpoint) = endpoint else {
            self.controls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&spec.sandbox_id);
            records::kill_sandbox(&dir, &spec.sandbox_id);
            let mut err = Vec::new();
            let _ = stderr.take(64 * 1024).read_to_end(&mut err).await;
            let _ = std::fs::remove_dir_all(&dir);
            return Err(BackendError::Launch(format!(
                "the agent did not start: {}",
                String::from_utf8_lossy(&err).trim()
            )));
        };
        let id = spec.sandbox_id.clone();
        tokio::spawn(async move {
            let mut stderr = stderr;
            let mut splitter = LineSplitter::default();
            let mut buf = vec![0u8; 4096];
            let mut warn = |line: &str| tracing::warn!(sandbox = %id, "agent: {line}");
            while let Ok(n) = stderr.read(&mut buf).await
                && n > 0
            {
                splitter.push(&buf[..n], &mut warn);
            }
            splitter.finish(&mut warn);
        });
        Ok(Sandbox {
            id: spec.sandbox_id.clone(),
            endpoint,
            secret: spec.secret.clone(),
        })
    }

    /// Kills a sandbox's processes and removes its directory (off the async threads: a large
    /// `/tmp` takes a while to remove).
    async fn stop(&self, sandbox_id: &str) {
        // Closing the control pipe stops the agent too; the kill makes sure.
        self.controls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sandbox_id);
        let dir = self.config.sandboxes_dir.join(sandbox_id);
        let id = sandbox_id.to_owned();
        let _ = tokio::task::spawn_blocking(move || {
            records::kill_sandbox(&dir, &id);
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }
}

impl Backend for ProcessBackend {
    fn kind(&self) -> &'static str {
        "process"
    }

    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>> {
        Box::pin(self.launch_sandbox(spec, logs))
    }

    fn terminate<'a>(&'a self, sandbox_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.stop(sandbox_id).await;
            Ok(())
        })
    }

    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async move {
            Ok(records::owned_sandboxes(
                &self.config.sandboxes_dir,
                &self.config.installation_id,
            ))
        })
    }
}
