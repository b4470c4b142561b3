//! The process backend on its own, without lambox's server: start one sandbox for a python
//! function whose code comes from memory, push it one invocation on the agent's RIE-compatible
//! path with the sandbox's secret, print the answer, stop the sandbox.
//!
//! `cargo build -p lambox-server --bin lambox && cargo run -p lambox-backend-process --example run_sandbox`
//!
//! The agent is `lambox agent`: `$LAMBOX_AGENT`, else the `lambox` next to this program's
//! directory (`target/debug`).

use std::io::{Read, Write};
use std::sync::Arc;

use lambox_backend_process::{ProcessBackend, ProcessBackendConfig};
use lambox_core::backend::{
    Backend, BackendError, BoxFuture, CodePackage, CodeSource, SandboxSpec,
};
use lambox_core::code::{lower_hex, sha256};
use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use lambox_core::protocol;
use lambox_core::revision::FunctionRevision;

/// Deployment packages kept in memory, by digest.
struct InMemoryCode(Vec<u8>);

impl CodeSource for InMemoryCode {
    fn zip<'a>(&'a self, _sha256_hex: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BackendError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

fn handler_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("handler.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(
        b"def handler(event, context):\n    return {'got': event, 'id': context.aws_request_id}\n",
    )
    .unwrap();
    w.finish().unwrap().into_inner()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let agent = std::env::var("LAMBOX_AGENT").unwrap_or_else(|_| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().and_then(|d| d.parent()).unwrap();
        dir.join("lambox").display().to_string()
    });
    let data = tempfile::tempdir()?;
    let backend = ProcessBackend::new(ProcessBackendConfig {
        sandboxes_dir: data.path().join("sandboxes"),
        code_dir: data.path().join("code"),
        runtimes_dir: data.path().join("runtimes"),
        layer_sets_dir: data.path().join("layer-sets"),
        // Lambda's paths where Linux allows it (`lambox isolate`); per-sandbox ones otherwise.
        isolate_command: vec![agent.clone(), "isolate".into()],
        hidden_dirs: vec![data.path().to_owned()],
        agent_command: vec![agent, "agent".into()],
        python: "python3".into(),
        node: "node".into(),
        interpreters: Default::default(),
        installation_id: "example".into(),
    })?;
    let zip = handler_zip();
    let digest = lower_hex(&sha256(&zip));
    let config = FunctionConfig::new(
        "example",
        PackageType::Zip,
        "arn:aws:iam::111111111111:role/r".into(),
        None,
        None,
        &FunctionSettings {
            runtime: Some("python3.12".into()),
            handler: Some("handler.handler".into()),
            ..Default::default()
        },
    );
    let revision = Arc::new(FunctionRevision::new(
        "111111111111".into(),
        "us-east-1".into(),
        "example".into(),
        "$LATEST".into(),
        digest.clone(),
        config,
    ));
    let spec = SandboxSpec {
        sandbox_id: "0123456789abcdef0123456789abcdef".into(),
        revision,
        code: Some(CodePackage {
            sha256_hex: digest,
            source: Arc::new(InMemoryCode(zip)),
        }),
        layers: Vec::new(),
        lambox_url: "http://127.0.0.1:4566".into(),
        secret: "a secret only the caller knows".into(),
        initialization: Default::default(),
        log_stream: "2026/01/01/[$LATEST]example".into(),
    };
    let sandbox = backend
        .launch(&spec, Arc::new(|line: &str| println!("log: {line}")))
        .await?;
    println!("sandbox {} listens on {}", sandbox.id, sandbox.endpoint);

    let (endpoint, secret) = (sandbox.endpoint.clone(), sandbox.secret.clone());
    let answer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let body = br#"{"hello": "sandbox"}"#;
        let deadline = lambox_core::time::now_millis() + 10_000;
        // The secret itself never travels: the push carries an HMAC under it.
        let auth = protocol::push_auth(&secret, "req-1", &deadline.to_string(), "", body);
        let mut s = std::net::TcpStream::connect(&endpoint)?;
        write!(
            s,
            "POST {} HTTP/1.1\r\nHost: agent\r\n{}: {auth}\r\n{}: req-1\r\n{}: {deadline}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            protocol::INVOKE_PATH,
            protocol::PUSH_AUTH,
            protocol::REQUEST_ID,
            protocol::DEADLINE_MS,
            body.len()
        )?;
        s.write_all(body)?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    })
    .await??;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    println!("answer: {body}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(body, r#"{"got": {"hello": "sandbox"}, "id": "req-1"}"#);
    backend.terminate(&sandbox.id).await?;
    println!("stopped");
    Ok(())
}
