//! The agent's state: the runtime process it supervises, the invocation handed to it, and the
//! outcome it reports.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::unix::pipe;
use tokio::sync::{Notify, oneshot, watch};

use crate::output::Output;

/// What the agent knows about its function and how to start its runtime.
#[derive(Clone)]
pub struct Settings {
    /// The runtime's command line.
    pub bootstrap: Vec<String>,
    /// Where the Runtime API listens (given to the runtime as `AWS_LAMBDA_RUNTIME_API`).
    pub runtime_api: SocketAddr,
    /// `$LATEST` or a number, for START lines.
    pub version: String,
    /// Configured memory, for REPORT lines.
    pub memory_mb: u32,
    /// The function timeout: the deadline of invocations pushed without one.
    pub timeout: Duration,
    /// The ARN of invocations pushed without one.
    pub default_arn: String,
    /// Where to record the runtime's pid, so that a reaper can find it.
    pub sandbox_dir: Option<PathBuf>,
    /// The secret every push must carry; `None` accepts every push (as AWS's emulator does).
    pub secret: Option<String>,
    /// The runtime version that runs, for the init log; `None` when the backend does not know.
    pub runtime_version: Option<RuntimeVersion>,
    /// Lambda's text lines, or JSON records of a system log level.
    pub log_style: crate::platform::LogStyle,
    /// The function's name, for the JSON init record.
    pub function_name: String,
    /// The sandbox's log stream, its instance id in the JSON init record.
    pub log_stream: String,
    /// `on-demand` or `provisioned-concurrency`.
    pub initialization_type: String,
}

/// The runtime version a sandbox runs, as its init log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    /// `python:3.12.1`.
    pub version: String,
    /// Its ARN.
    pub arn: String,
    /// What to say besides, when it is not the version the runtime names.
    pub note: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bootstrap", &self.bootstrap)
            .field("runtime_api", &self.runtime_api)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// One invocation as the runtime receives it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Request id.
    pub request_id: String,
    /// Deadline, epoch milliseconds.
    pub deadline_ms: u64,
    /// ARN as invoked.
    pub invoked_arn: String,
    /// Client context JSON.
    pub client_context: Option<String>,
    /// Cognito identity JSON.
    pub cognito_identity: Option<String>,
    /// X-Ray trace header.
    pub trace_id: String,
    /// The event.
    pub body: Bytes,
    /// The largest streamed answer lambox takes; `None`: it takes whole answers only.
    pub stream_limit: Option<u64>,
}

/// A piece of a streaming response, as the runtime sends it.
#[derive(Debug)]
pub enum Piece {
    /// Bytes of the response.
    Data(Bytes),
    /// The end: the function's error JSON when it failed.
    End(Option<String>),
}

/// A streaming response the runtime has begun.
#[derive(Debug)]
pub struct StreamStart {
    /// The runtime's `Content-Type`.
    pub content_type: String,
    /// The response's pieces, as they arrive.
    pub pieces: tokio::sync::mpsc::Receiver<Piece>,
}

/// How the runtime answered an invocation.
#[derive(Debug)]
pub enum Outcome {
    /// The function's result.
    Response(Bytes),
    /// The function's result, streamed.
    Stream(StreamStart),
    /// The function failed: its error JSON.
    Error(Bytes),
    /// The runtime could not initialise: its error JSON.
    InitError(Bytes),
}

/// How a runtime process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal, when one killed it.
    pub signal: Option<i32>,
}

struct Runtime {
    generation: u64,
    pid: u32,
    started: Instant,
    first_next: Option<Instant>,
}

struct Current {
    request_id: String,
    stream_limit: Option<u64>,
    outcome: Option<oneshot::Sender<Outcome>>,
    delivered: Option<Instant>,
}

#[derive(Default)]
struct State {
    generation: u64,
    runtime: Option<Runtime>,
    pending: Option<Invocation>,
    current: Option<Current>,
    /// An init error reported while no invocation was waiting.
    init_error: Option<Bytes>,
    pipes: Vec<Arc<pipe::Receiver>>,
}

/// Why a runtime's answer was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No invocation with that id is in flight.
    UnknownRequestId,
}

/// The agent: one runtime process, one invocation at a time.
pub struct Agent {
    /// Fixed settings.
    pub settings: Settings,
    state: Mutex<State>,
    pending_ready: Notify,
    exits: watch::Sender<(u64, Option<Exit>)>,
    output: Arc<Mutex<Output>>,
    /// Notified whenever the log writer has written a chunk.
    drained: Arc<Notify>,
    /// Held by the invocation in flight (to the end of a streamed answer); pushes queue behind
    /// it.
    pub(crate) busy: Arc<tokio::sync::Mutex<()>>,
}

/// Facts about the runtime at the start of an invocation.
pub struct Started {
    /// The runtime's generation.
    pub generation: u64,
    /// Whether it was started for this invocation.
    pub cold: bool,
}

impl Agent {
    /// An agent whose log stream starts with `output` (already holding, say, its ready line).
    pub fn new(settings: Settings, output: Output) -> Arc<Self> {
        Arc::new(Self {
            settings,
            state: Mutex::new(State::default()),
            pending_ready: Notify::new(),
            exits: watch::channel((0, None)).0,
            output: Arc::new(Mutex::new(output)),
            drained: Arc::new(Notify::new()),
            busy: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Writes the log stream to `sink` (the agent's standard output) until the sink breaks.
    pub async fn write_log<W: tokio::io::AsyncWrite + Unpin>(&self, sink: W) {
        let shared = self.output.clone();
        let broken = self.output.clone();
        let ready = self.output().ready();
        crate::output::write_out(
            sink,
            ready,
            self.drained.clone(),
            move || {
                shared
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take_pending()
            },
            move || broken.lock().unwrap_or_else(|p| p.into_inner()).discard(),
        )
        .await;
    }

    /// Waits until the log buffer has room for the runtime's output.
    async fn room_in_log(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if !self.output().is_full() {
                return;
            }
            drained.await;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log stream.
    pub fn output(&self) -> MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the runtime unless it is running.
    pub fn ensure_runtime(self: &Arc<Self>) -> std::io::Result<Started> {
        let mut st = self.state();
        if let Some(r) = &st.runtime {
            return Ok(Started {
                generation: r.generation,
                cold: false,
            });
        }
        st.generation += 1;
        let generation = st.generation;
        let (program, args) = self
            .settings
            .bootstrap
            .split_first()
            .ok_or_else(|| std::io::Error::other("no bootstrap command"))?;
        self.write_init_start();
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                self.settings.runtime_api.to_string(),
            )
            // The agent's secret is the agent's alone, and what it tells the init log too.
            .env_remove(lambox_core::protocol::AGENT_SECRET_ENV)
            .env_remove(lambox_core::protocol::RUNTIME_VERSION_ENV)
            .env_remove(lambox_core::protocol::RUNTIME_VERSION_ARN_ENV)
            .env_remove(lambox_core::protocol::RUNTIME_NOTE_ENV)
            .env_remove(lambox_core::protocol::SYSTEM_LOG_LEVEL_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout kills what the handler started too.
            .process_group(0);
        let mut child = command.spawn()?;
        let pid = child.id().unwrap_or(0);
        if let Some(dir) = &self.settings.sandbox_dir {
            let _ = std::fs::write(
                dir.join(lambox_core::protocol::RUNTIME_PID_FILE),
                pid.to_string(),
            );
        }
        let mut pipes = Vec::new();
        let stdout = child.stdout.take().map(|p| p.into_owned_fd());
        let stderr = child.stderr.take().map(|p| p.into_owned_fd());
        for fd in [stdout, stderr].into_iter().flatten() {
            let rx = Arc::new(pipe::Receiver::from_owned_fd(fd?)?);
            pipes.push(rx.clone());
            let agent = self.clone();
            tokio::spawn(async move { agent.pump(rx).await });
        }
        st.pipes = pipes;
        st.runtime = Some(Runtime {
            generation,
            pid,
            started: Instant::now(),
            first_next: None,
        });
        drop(st);
        let agent = self.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let exit = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    Exit {
                        code: s.code(),
                        signal: s.signal(),
                    }
                }
                Err(_) => Exit {
                    code: None,
                    signal: None,
                },
            };
            {
                let mut st = agent.state();
                if st
                    .runtime
                    .as_ref()
                    .is_some_and(|r| r.generation == generation)
                {
                    st.runtime = None;
                }
            }
            agent.exits.send_replace((generation, Some(exit)));
            // A `next` of the dead process must not take the next invocation.
            agent.pending_ready.notify_waiters();
        });
        Ok(Started {
            generation,
            cold: true,
        })
    }

    /// The init phase's first line(s): INIT_START (or its JSON record), and what lambox must
    /// say of the runtime version.
    fn write_init_start(&self) {
        let s = &self.settings;
        let rv = s.runtime_version.as_ref();
        let mut out = self.output();
        match s.log_style {
            crate::platform::LogStyle::Text => {
                if let Some(rv) = rv {
                    out.line(&crate::report::init_start_line(&rv.version, &rv.arn));
                }
            }
            style => {
                if let Some(line) = crate::platform::init_start(
                    style,
                    &crate::report::now_z(),
                    &s.initialization_type,
                    rv.map(|r| (r.version.as_str(), r.arn.as_str())),
                    &s.function_name,
                    &s.version,
                    &s.log_stream,
                    s.memory_mb,
                ) {
                    out.line(&line);
                }
            }
        }
        if let Some(note) = rv.and_then(|r| r.note.as_ref()) {
            out.line(&format!("lambox: {note}"));
        }
    }

    /// Copies one of the runtime's output pipes into the log stream until it closes.
    async fn pump(&self, rx: Arc<pipe::Receiver>) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            self.room_in_log().await;
            if rx.readable().await.is_err() {
                return;
            }
            match rx.try_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.output().runtime_bytes(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    /// Takes in what the runtime has written and not yet been read: everything it printed
    /// before answering is in the log before END (unless the log buffer is full, when the rest
    /// follows later).
    pub fn drain_output(&self) {
        let pipes = self.state().pipes.clone();
        let mut buf = vec![0u8; 16 * 1024];
        for rx in pipes {
            while !self.output().is_full() {
                match rx.try_read(&mut buf) {
                    Ok(n) if n > 0 => self.output().runtime_bytes(&buf[..n]),
                    _ => break,
                }
            }
        }
    }

    /// Hands `invocation` to the runtime; its outcome arrives on the returned receiver.
    pub fn offer(&self, invocation: Invocation) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        let mut st = self.state();
        if let Some(body) = st.init_error.take() {
            let _ = tx.send(Outcome::InitError(body));
            return rx;
        }
        st.current = Some(Current {
            request_id: invocation.request_id.clone(),
            stream_limit: invocation.stream_limit,
            outcome: Some(tx),
            delivered: None,
        });
        st.pending = Some(invocation);
        drop(st);
        self.pending_ready.notify_one();
        rx
    }

    /// Ends the invocation in flight; returns how long the runtime held it.
    pub fn finish(&self) -> Option<Duration> {
        let mut st = self.state();
        st.pending = None;
        st.current
            .take()
            .and_then(|c| c.delivered)
            .map(|d| d.elapsed())
    }

    /// The next invocation for a runtime's `next` call; `None` when the runtime that asked has
    /// died meanwhile.
    pub async fn next_invocation(&self) -> Option<Invocation> {
        let generation = {
            let mut st = self.state();
            let r = st.runtime.as_mut()?;
            r.first_next.get_or_insert_with(Instant::now);
            r.generation
        };
        loop {
            let ready = self.pending_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut st = self.state();
                if st.runtime.as_ref().map(|r| r.generation) != Some(generation) {
                    return None;
                }
                if let Some(inv) = st.pending.take() {
                    if let Some(c) = st.current.as_mut() {
                        c.delivered = Some(Instant::now());
                    }
                    return Some(inv);
                }
            }
            ready.await;
        }
    }

    /// The largest streamed answer lambox takes for `request_id`, if it takes one at all.
    pub fn stream_limit(&self, request_id: &str) -> Option<u64> {
        self.state()
            .current
            .as_ref()
            .filter(|c| c.request_id == request_id)
            .and_then(|c| c.stream_limit)
    }

    /// The runtime's answer for `request_id`.
    pub fn complete(&self, request_id: &str, outcome: Outcome) -> Result<(), Refusal> {
        let mut st = self.state();
        let current = st
            .current
            .as_mut()
            .filter(|c| c.request_id == request_id)
            .ok_or(Refusal::UnknownRequestId)?;
        let tx = current.outcome.take().ok_or(Refusal::UnknownRequestId)?;
        let _ = tx.send(outcome);
        Ok(())
    }

    /// The runtime could not initialise.
    pub fn init_failed(&self, body: Bytes) {
        let mut st = self.state();
        match st.current.as_mut().and_then(|c| c.outcome.take()) {
            Some(tx) => {
                let _ = tx.send(Outcome::InitError(body));
            }
            None => st.init_error = Some(body),
        }
    }

    /// Resolves when the runtime of `generation` has exited.
    pub async fn exited(&self, generation: u64) -> Exit {
        let mut rx = self.exits.subscribe();
        loop {
            if let (g, Some(exit)) = *rx.borrow_and_update()
                && g == generation
            {
                return exit;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Kills the runtime and everything in its process group.
    pub fn kill_runtime(&self) {
        let mut st = self.state();
        if let Some(r) = st.runtime.take()
            && let Some(pid) = rustix::process::Pid::from_raw(r.pid as i32)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        st.pending = None;
    }

    /// How long the runtime of `generation` took from start to its first `next`.
    pub fn init_duration(&self, generation: u64) -> Option<Duration> {
        let st = self.state();
        let r = st.runtime.as_ref().filter(|r| r.generation == generation)?;
        Some(r.first_next?.duration_since(r.started))
    }

    /// Peak resident memory of the running runtime, MB.
    pub fn max_memory_mb(&self) -> u64 {
        let Some(pid) = self.state().runtime.as_ref().map(|r| r.pid) else {
            return 0;
        };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb.div_ceil(1024))
    }
}
