//! lambox-agent: the agent that runs in every sandbox, next to the function's runtime.
//!
//! It hosts the Lambda Runtime API for the runtime process (`next`, `response`, `error`,
//! `init/error`, streamed responses), takes invocations pushed to it on the path of AWS's
//! Runtime Interface Emulator, starts the runtime's bootstrap, enforces each invocation's
//! deadline (killing and later restarting the runtime), notices a runtime that exits, and writes
//! the sandbox's log stream — the runtime's output with START, END and REPORT lines — to its
//! standard output. The protocol it speaks with lambox is [`lambox_core::protocol`].

mod agent;
mod body;
mod invoke;
pub mod isolate;
pub mod output;
pub mod platform;
pub mod report;
mod runtime_api;
mod streamed;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambox_core::protocol;
use tokio::net::TcpListener;

pub use agent::{Agent, RuntimeVersion, Settings};
pub use output::Output;

/// How the agent is started.
#[derive(Debug, Clone)]
pub struct AgentArgs {
    /// Address of the push endpoint.
    pub invoke: SocketAddr,
    /// Address of the Runtime API.
    pub runtime_api: SocketAddr,
    /// Directory to record the runtime's pid in.
    pub sandbox_dir: Option<PathBuf>,
    /// The runtime's command line; empty to find the bootstrap as Lambda does.
    pub bootstrap: Vec<String>,
    /// Standard input is lambox's control pipe: its first line is the secret pushes must
    /// carry, and its end means lambox is gone (the agent then stops its runtime and exits).
    pub stdin_control: bool,
}

impl AgentArgs {
    /// Parses `[--invoke ADDR] [--runtime-api ADDR] [--sandbox-dir DIR] [--stdin-control] [--]
    /// [BOOTSTRAP ARGS…]`.
    ///
    /// ```
    /// let args = lambox_agent::AgentArgs::parse(
    ///     ["--invoke", "127.0.0.1:0", "--", "python3", "bootstrap.py"].map(String::from),
    /// )
    /// .unwrap();
    /// assert_eq!(args.bootstrap, ["python3", "bootstrap.py"]);
    /// assert_eq!(args.runtime_api.to_string(), "127.0.0.1:9001", "as in Lambda");
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self {
            invoke: "0.0.0.0:8080".parse().expect("address"),
            runtime_api: "127.0.0.1:9001".parse().expect("address"),
            sandbox_dir: None,
            bootstrap: Vec::new(),
            stdin_control: false,
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--invoke" => {
                    parsed.invoke = it.next().context("--invoke needs an address")?.parse()?
                }
                "--runtime-api" => {
                    parsed.runtime_api = it
                        .next()
                        .context("--runtime-api needs an address")?
                        .parse()?;
                }
                "--sandbox-dir" => {
                    parsed.sandbox_dir =
                        Some(it.next().context("--sandbox-dir needs a path")?.into());
                }
                "--stdin-control" => parsed.stdin_control = true,
                "--" => {
                    parsed.bootstrap.extend(it.by_ref());
                }
                other if other.starts_with("--") => bail!("unknown option {other}"),
                _ => {
                    parsed.bootstrap.push(a);
                    parsed.bootstrap.extend(it.by_ref());
                }
            }
        }
        Ok(parsed)
    }
}

/// The runtime's command when none is given, found as Lambda finds it: `/var/runtime/bootstrap`
/// if the image has one, else the function's own `bootstrap` (in `LAMBDA_TASK_ROOT`, then
/// `/opt`), else the command in `LAMBOX_FALLBACK_BOOTSTRAP` (lambox's runtime client for the
/// function's runtime family, when its backend provides one).
pub fn default_bootstrap() -> Option<Vec<String>> {
    let task_root = std::env::var("LAMBDA_TASK_ROOT").unwrap_or_else(|_| "/var/task".to_owned());
    let found = [
        "/var/runtime/bootstrap".to_owned(),
        format!("{task_root}/bootstrap"),
        "/opt/bootstrap".to_owned(),
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).is_file())
    .map(|p| vec![p]);
    found.or_else(|| {
        let fallback: Vec<String> = std::env::var(protocol::FALLBACK_BOOTSTRAP_ENV)
            .ok()?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        (!fallback.is_empty()).then_some(fallback)
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the agent until SIGTERM or SIGINT (or, with `stdin_control`, until its standard input
/// ends). Blocks the calling thread.
pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    // One thread: the agent does little work and every wake-up across threads costs latency.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(serve(args));
    // The thread reading the control pipe may still be blocked in a read: do not wait for it.
    runtime.shutdown_background();
    served
}

/// Largest invocation payload a push may carry (above AWS's 6 MB request limit).
const MAX_PUSH_BYTES: usize = 7 * 1024 * 1024;

/// Longest secret read from the control pipe.
const MAX_SECRET_BYTES: usize = 256;

/// Reads the secret from standard input on a thread of its own (a blocking read), then waits
/// for the input to end; `closed` resolves when it has.
fn watch_stdin() -> anyhow::Result<(String, tokio::sync::oneshot::Receiver<()>)> {
    use std::io::{BufRead, Read};
    let (secret_tx, secret_rx) = std::sync::mpsc::channel();
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("control-pipe".into())
        .spawn(move || {
            let mut stdin = std::io::BufReader::new(std::io::stdin().lock());
            let mut line = String::new();
            let read = (&mut stdin)
                .take(MAX_SECRET_BYTES as u64)
                .read_line(&mut line);
            let _ = secret_tx.send(read.map(|_| line.trim_end().to_owned()));
            let mut sink = [0u8; 256];
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = closed_tx.send(());
        })?;
    let secret = secret_rx
        .recv()
        .context("the control pipe closed")?
        .context("reading the control pipe")?;
    Ok((secret, closed_rx))
}

async fn serve(args: AgentArgs) -> anyhow::Result<()> {
    let (secret, control_closed) = if args.stdin_control {
        let (secret, closed) = watch_stdin()?;
        (Some(secret), Some(closed))
    } else {
        (std::env::var(protocol::AGENT_SECRET_ENV).ok(), None)
    };
    let secret = secret.filter(|s| !s.is_empty());
    let invoke_listener = TcpListener::bind(args.invoke)
        .await
        .context("binding the invoke endpoint")?;
    let api_listener = TcpListener::bind(args.runtime_api)
        .await
        .context("binding the Runtime API")?;
    let bootstrap = if args.bootstrap.is_empty() {
        default_bootstrap()
            .context("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")?
    } else {
        args.bootstrap
    };
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "function".to_owned());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let settings = Settings {
        bootstrap,
        runtime_api: api_listener.local_addr()?,
        version: std::env::var("AWS_LAMBDA_FUNCTION_VERSION")
            .unwrap_or_else(|_| "$LATEST".to_owned()),
        memory_mb: env_or("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 128),
        timeout: Duration::from_secs_f64(env_or("AWS_LAMBDA_FUNCTION_TIMEOUT", 300.0)),
        default_arn: lambox_core::arn::function_arn(&region, "000000000000", &name, None),
        sandbox_dir: args.sandbox_dir,
        secret,
        log_style: match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(f) if f.eq_ignore_ascii_case("JSON") => {
                platform::LogStyle::Json(platform::Level::parse(
                    &std::env::var(protocol::SYSTEM_LOG_LEVEL_ENV).unwrap_or_default(),
                ))
            }
            _ => platform::LogStyle::Text,
        },
        function_name: name.clone(),
        log_stream: std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
        initialization_type: std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE")
            .unwrap_or_else(|_| "on-demand".to_owned()),
        runtime_version: std::env::var(protocol::RUNTIME_VERSION_ENV)
            .ok()
            .map(|version| RuntimeVersion {
                version,
                arn: std::env::var(protocol::RUNTIME_VERSION_ARN_ENV).unwrap_or_default(),
                note: std::env::var(protocol::RUNTIME_NOTE_ENV).ok(),
            }),
    };
    let mut output = Output::new();
    output.line(&protocol::ready_line(
        &invoke_listener.local_addr()?.to_string(),
        &settings.runtime_api.to_string(),
    ));
    let agent = Agent::new(settings, output);
    let log_agent = agent.clone();
    tokio::spawn(async move { write_log(&log_agent).await });

    let api_agent = agent.clone();
    tokio::spawn(accept(api_listener, move |req| {
        let agent = api_agent.clone();
        async move { runtime_api::handle(agent, req).await }
    }));
    let push_agent = agent.clone();
    tokio::spawn(accept(invoke_listener, move |req| {
        let agent = push_agent.clone();
        async move { push(agent, req).await }
    }));

    // A sandbox started ahead for provisioned concurrency runs its runtime's init now, as
    // Lambda's do, so that its first invocation is warm.
    if std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() == Ok("provisioned-concurrency")
        && let Err(e) = agent.ensure_runtime()
    {
        agent
            .output()
            .line(&format!("lambox-agent: cannot start the runtime: {e}"));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let lambox_gone = async {
        match control_closed {
            Some(closed) => {
                let _ = closed.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
        () = lambox_gone => {},
    }
    agent.kill_runtime();
    Ok(())
}

/// Writes the log stream to the standard output without blocking the agent's one thread: through
/// the reactor when it is a pipe (as under lambox's backends: no thread hop per write), else
/// through tokio's blocking writer (a terminal or a file, when run by hand).
async fn write_log(agent: &Agent) {
    use std::os::fd::AsFd;
    let pipe = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .and_then(tokio::net::unix::pipe::Sender::from_owned_fd);
    match pipe {
        Ok(pipe) => agent.write_log(pipe).await,
        Err(_) => agent.write_log(tokio::io::stdout()).await,
    }
}

fn refused(status: StatusCode, body: &'static [u8]) -> Response<body::AgentBody> {
    let mut r = Response::new(body::whole(Bytes::from_static(body)));
    *r.status_mut() = status;
    r
}

async fn push(agent: Arc<Agent>, req: Request<Incoming>) -> Response<body::AgentBody> {
    if req.method() != Method::POST || req.uri().path() != protocol::INVOKE_PATH {
        return refused(StatusCode::NOT_FOUND, b"{\"errorMessage\":\"not found\"}");
    }
    let (parts, body) = req.into_parts();
    // lambox sends at most the 6 MB payload limit; anything larger is not from lambox.
    let body = match http_body_util::Limited::new(body, MAX_PUSH_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                b"{\"errorMessage\":\"payload too large\"}",
            );
        }
    };
    if let Some(secret) = &agent.settings.secret {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let expected = protocol::push_auth(
            secret,
            header(protocol::REQUEST_ID),
            header(protocol::DEADLINE_MS),
            header(lambox_core::answer_stream::STREAM_LIMIT),
            &body,
        );
        if !lambox_core::crypto::constant_time_eq(header(protocol::PUSH_AUTH), &expected) {
            return refused(StatusCode::FORBIDDEN, b"{\"errorMessage\":\"forbidden\"}");
        }
    }
    invoke::invoke(&agent, &parts.headers, body).await
}

async fn accept<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Response<body::AgentBody>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait a little instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
