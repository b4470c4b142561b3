//! lambox-backend-process: the default backend. Every sandbox is lambox's agent and the
//! function's runtime as local child processes. Code and layers are unpacked once per digest
//! (several layers merged once per ordered set, `layers.rs`); where Linux allows mount and user
//! namespaces, the runtime is started through `isolate` (`lambox_agent::isolate`) and sees
//! Lambda's paths literally: its code read-only at `/var/task`, its layers at `/opt`, a `/tmp`
//! of its own. Where namespaces are refused (or switched off), per-sandbox directories stand
//! in for them, with the search paths pointing there.
//!
//! There is no isolation beyond the operating-system user: this is the zero-setup backend.

mod extract;
pub mod interpreters;
mod layers;
mod packages;
mod records;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lambox_core::backend::{Backend, BackendError, BoxFuture, LogSink, Sandbox, SandboxSpec};
use lambox_core::function::PackageType;
use lambox_core::lines::LineSplitter;
use lambox_core::protocol::parse_ready_line;
use lambox_core::revision::{FunctionRevision, SandboxPaths, sandbox_environment};
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
    /// Where merges of several layers go, one directory per ordered set of digests
    /// (`<data dir>/layer-sets`).
    pub layer_sets_dir: PathBuf,
    /// How `isolate` is started (e.g. `["/usr/bin/lambox", "isolate"]`); empty: sandboxes are
    /// never isolated (per-sandbox directories stand in for Lambda's paths).
    pub isolate_command: Vec<String>,
    /// Directories an isolated runtime must not see (lambox's data directory: other sandboxes'
    /// files, every account's code and layers, the database).
    pub hidden_dirs: Vec<PathBuf>,
    /// The agent's command line (e.g. `["/usr/bin/lambox", "agent"]`).
    pub agent_command: Vec<String>,
    /// The Python interpreter (a name on PATH or a path) of python runtimes this machine has
    /// no exact version for.
    pub python: String,
    /// The Node.js interpreter of nodejs runtimes this machine has no exact major for.
    pub node: String,
    /// Interpreters per runtime (`python3.12` → a path), before those found on this machine.
    pub interpreters: std::collections::BTreeMap<String, String>,
    /// Marks this installation's sandboxes.
    pub installation_id: String,
}

/// The process backend.
pub struct ProcessBackend {
    config: ProcessBackendConfig,
    interpreters: interpreters::Interpreters,
    /// Whether `isolate` works here (probed once).
    isolation: OnceCell<bool>,
    /// Whether the log said that an interpreter's place keeps sandboxes from being isolated.
    warned_hidden: std::sync::atomic::AtomicBool,
    extracting: packages::DigestLocks,
    /// The write end of each sandbox's control pipe: held here, so that a sandbox stops when it
    /// is terminated, when this backend is dropped, or when lambox dies (the kernel closes them).
    controls: std::sync::Mutex<HashMap<String, tokio::process::ChildStdin>>,
}

impl ProcessBackend {
    /// A backend with `config`; writes the runtime clients into place.
    pub fn new(config: ProcessBackendConfig) -> std::io::Result<Self> {
        for dir in [
            &config.sandboxes_dir,
            &config.code_dir,
            &config.layer_sets_dir,
        ] {
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
            interpreters: interpreters::Interpreters::new(
                config.interpreters.clone(),
                config.python.clone(),
                config.node.clone(),
            ),
            config,
            isolation: OnceCell::new(),
            warned_hidden: std::sync::atomic::AtomicBool::new(false),
            extracting: packages::DigestLocks::default(),
            controls: std::sync::Mutex::default(),
        })
    }

    /// Probes the namespaces now rather than on the first cold start.
    pub async fn warm_up(&self) {
        let _ = self.isolated().await;
    }

    /// Whether sandboxes start through `isolate`: asked for, and the kernel allows it (probed
    /// once; a refusal is said once in the log, with what it means).
    pub async fn isolated(&self) -> bool {
        let Some((program, args)) = self.config.isolate_command.split_first() else {
            return false;
        };
        *self
            .isolation
            .get_or_init(|| async {
                // Everything a sandbox does, but with the runtime clients for its code.
                // Beside the sandboxes, not among them: reaping at start removes what is there.
                let root = self.config.sandboxes_dir.with_file_name(".isolate-probe");
                let _ = std::fs::create_dir_all(&root);
                let runtimes = &self.config.runtimes_dir;
                let probe = tokio::process::Command::new(program)
                    .args(args)
                    .arg("--probe")
                    .args(self.isolation_args(runtimes, runtimes, runtimes, &root, None))
                    .stdin(Stdio::null())
                    .output()
                    .await;
                let _ = std::fs::remove_dir(&root);
                let reason = match probe {
                    Ok(out) if out.status.success() => return true,
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                tracing::warn!(
                    %reason,
                    "mount and user namespaces are refused here: sandboxes see their code, \
                     layers and /tmp in per-sandbox directories, not at /var/task, /opt and /tmp"
                );
                false
            })
            .await
    }

    /// Removes the unpacked copies of code and layers that are no longer stored (`stored` holds
    /// the digests that are), staging directories a crash left behind, and every merge of
    /// layers (rebuilt, by hard links, when a sandbox needs it again).
    ///
    /// Call it before any sandbox starts: it moves what goes out of the way at once (a rename
    /// each), so that nothing it removes can be code being unpacked for a new function, and
    /// deletes the moved trees in the background.
    pub async fn retain_code(&self, stored: std::collections::HashSet<String>) {
        let code_dir = self.config.code_dir.clone();
        let sets_dir = self.config.layer_sets_dir.clone();
        let moved = tokio::task::spawn_blocking(move || {
            let trash = code_dir.join(extract::TRASH_DIR);
            if let Ok(sets) = std::fs::read_dir(&sets_dir) {
                let _ = std::fs::create_dir_all(&trash);
                for (i, set) in sets.flatten().enumerate() {
                    let name = format!("set-{i}-{}", set.file_name().to_string_lossy());
                    let _ = std::fs::rename(set.path(), trash.join(name));
                }
            }
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

    /// The interpreter of a revision of a python or nodejs runtime.
    async fn interpreter(
        &self,
        spec: &SandboxSpec,
    ) -> Result<Option<interpreters::Interpreter>, BackendError> {
        let runtime = spec.revision.config.runtime.as_deref().unwrap_or_default();
        match spec.revision.family() {
            Some(RuntimeFamily::Python | RuntimeFamily::Node) => {
                self.interpreters.of(runtime).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The arguments of `isolate` for a sandbox of these directories.
    fn isolation_args(
        &self,
        task: &Path,
        tmp: &Path,
        runtime: &Path,
        root: &Path,
        opt: Option<&Path>,
    ) -> Vec<String> {
        let mut args = Vec::new();
        let mut pass = |flag: &str, path: &Path| {
            args.push(flag.to_owned());
            args.push(path.display().to_string());
        };
        pass("--task", task);
        pass("--tmp", tmp);
        pass("--runtime", runtime);
        pass("--root", root);
        if let Some(opt) = opt {
            pass("--opt", opt);
        }
        for hidden in &self.config.hidden_dirs {
            pass("--hide", hidden);
        }
        args
    }

    /// Whether the runtime's interpreter lives where an isolated sandbox has its own
    /// directories (`/tmp`, `/opt`, `/var/task`, `/var/runtime`), so that it would not be found
    /// there; such a sandbox is started without isolation (said once in the log).
    async fn interpreter_hidden(&self, spec: &SandboxSpec) -> bool {
        let Ok(Some(interpreter)) = self.interpreter(spec).await else {
            return false;
        };
        let interpreter = interpreter.path;
        // Where it really is: a link on PATH may lead under /opt.
        let real = std::fs::canonicalize(&interpreter)
            .map_or_else(|_| interpreter.clone(), |p| p.display().to_string());
        let hidden = ["/tmp/", "/opt/", "/var/task/", "/var/runtime/"]
            .iter()
            .any(|p| interpreter.starts_with(p) || real.starts_with(p));
        if hidden
            && !self
                .warned_hidden
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                %interpreter,
                "the interpreter lives where a sandbox has its own directory: its sandboxes \
                 start without namespaces"
            );
        }
        hidden
    }

    /// The runtime's command, with paths as the runtime sees them (`paths`); `task` and `opt`
    /// are where the code and layers are on this machine.
    async fn runtime_command(
        &self,
        spec: &SandboxSpec,
        paths: &SandboxPaths,
        task: &Path,
        opt: Option<&Path>,
    ) -> Result<Vec<String>, BackendError> {
        let rev = &spec.revision;
        let runtimes = &paths.runtime_dir;
        let family = rev.family().unwrap_or(RuntimeFamily::Provided);
        Ok(match family {
            RuntimeFamily::Python => vec![
                self.interpreter(spec)
                    .await?
                    .map(|i| i.path)
                    .unwrap_or_default(),
                format!("{runtimes}/python/bootstrap.py"),
            ],
            RuntimeFamily::Node => vec![
                self.interpreter(spec)
                    .await?
                    .map(|i| i.path)
                    .unwrap_or_default(),
                format!("{runtimes}/node/bootstrap.js"),
            ],
            // Lambda's order: the function's own bootstrap, then one a layer brings.
            _ if task.join("bootstrap").is_file() => {
                vec![format!("{}/bootstrap", paths.task_root)]
            }
            _ if opt.is_some_and(|o| o.join("bootstrap").is_file()) => {
                vec![format!("{}/bootstrap", paths.opt)]
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
        let Some(code) = &spec.code else {
            return Err(BackendError::Launch("the function has no code".into()));
        };
        let task = self.unpacked(code).await?;
        let opt = self.layers_root(spec).await?;
        let dir = self.config.sandboxes_dir.join(&spec.sandbox_id);
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let isolated = self.isolated().await && !self.interpreter_hidden(spec).await;
        let paths = if isolated {
            SandboxPaths {
                task_root: "/var/task".to_owned(),
                runtime_dir: "/var/runtime".to_owned(),
                opt: "/opt".to_owned(),
            }
        } else {
            // Without layers, an empty directory of the sandbox's own stands in for `/opt`.
            let opt = match &opt {
                Some(o) => o.clone(),
                None => {
                    let empty = dir.join("opt");
                    std::fs::create_dir_all(&empty)?;
                    empty
                }
            };
            SandboxPaths {
                task_root: task.display().to_string(),
                runtime_dir: self.config.runtimes_dir.display().to_string(),
                opt: opt.display().to_string(),
            }
        };
        let mut bootstrap = self
            .runtime_command(spec, &paths, &task, opt.as_deref())
            .await?;
        if isolated {
            let root = dir.join("root");
            std::fs::create_dir_all(&root)?;
            let mut isolate: Vec<String> = self.config.isolate_command.clone();
            isolate.extend(self.isolation_args(
                &task,
                &tmp,
                &self.config.runtimes_dir,
                &root,
                opt.as_deref(),
            ));
            isolate.push("--".to_owned());
            isolate.append(&mut bootstrap);
            bootstrap = isolate;
        }
        let stream = spec.log_stream.clone();
        let mut environment =
            sandbox_environment(rev, &spec.sandbox_id, &paths, &spec.lambox_url, &stream);
        spec.initialization.apply(&mut environment);
        // This machine's search path, then the layers' executables (Lambda's are last too);
        // a function's own PATH wins, as on Lambda.
        let own_path = rev
            .config
            .environment
            .as_ref()
            .is_some_and(|e| e.iter().any(|(k, _)| k == "PATH"));
        if !own_path {
            let host =
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
            let path = format!("{host}:{}/bin", paths.opt);
            environment.retain(|(k, _)| k != "PATH");
            environment.push(("PATH".to_owned(), path));
        }
        // What the init log says of the runtime (`INIT_START Runtime Version: …`), and what
        // it must say when this machine has not the version the runtime names.
        if let Some(interpreter) = self.interpreter(spec).await? {
            let runtime = rev.config.runtime.as_deref().unwrap_or_default();
            environment.push((
                lambox_core::protocol::RUNTIME_VERSION_ENV.to_owned(),
                interpreter.runtime_version(),
            ));
            environment.push((
                lambox_core::protocol::RUNTIME_VERSION_ARN_ENV.to_owned(),
                lambox_core::runtime::runtime_version_arn(&rev.region, runtime),
            ));
            if let Some(note) = interpreter.note(runtime) {
                environment.push((lambox_core::protocol::RUNTIME_NOTE_ENV.to_owned(), note));
            }
        }
        let home = if isolated {
            "/tmp".to_owned()
        } else {
            tmp.display().to_string()
        };
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
            .env("HOME", &home)
            .env("TMPDIR", &home)
            .env("PYTHONDONTWRITEBYTECODE", "1")
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

    /// Finds the runtime's interpreter, and says when this machine has not the version the
    /// runtime names.
    fn prepare<'a>(&'a self, revision: &'a FunctionRevision) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(runtime) = revision.config.runtime.as_deref() else {
                return;
            };
            if !matches!(
                revision.family(),
                Some(RuntimeFamily::Python | RuntimeFamily::Node)
            ) {
                return;
            }
            match self.interpreters.of(runtime).await {
                Ok(i) => {
                    if let Some(note) = i.note(runtime) {
                        tracing::warn!(function = %revision.name, "{note}");
                    }
                }
                Err(e) => tracing::warn!(function = %revision.name, error = %e, "no interpreter"),
            }
        })
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
