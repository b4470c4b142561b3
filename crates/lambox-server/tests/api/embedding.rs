//! The embedding API with real parts: servers started in this process with the process
//! backend (the `lambox` binary as the agent), driven by aws-sdk-lambda.

use std::io::Write;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use lambox_server::{Server, ServerHandle};

async fn start() -> ServerHandle {
    Server::builder()
        .configure(|c| c.process.agent = env!("CARGO_BIN_EXE_lambox").into())
        .spawn()
        .await
        .expect("lambox starts")
}

fn client(lambox: &ServerHandle) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("111111111111", "x", None, None, "test"))
        .endpoint_url(lambox.url())
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn echo_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("handler.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"def handler(event, context):\n    return event\n")
        .unwrap();
    w.finish().unwrap().into_inner()
}

async fn create_and_invoke(c: &Client, name: &str) -> Vec<u8> {
    c.create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role("arn:aws:iam::111111111111:role/r")
        .handler("handler.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(echo_zip()))
                .build(),
        )
        .send()
        .await
        .expect("created");
    let out = c
        .invoke()
        .function_name(name)
        .payload(Blob::new(br#"{"embedded": true}"#.to_vec()))
        .send()
        .await
        .expect("invoked");
    assert!(out.function_error().is_none(), "{:?}", out.payload());
    out.payload().expect("a payload").as_ref().to_vec()
}

#[tokio::test]
async fn two_servers_in_one_process_do_not_see_each_other() {
    let (a, b) = (start().await, start().await);
    assert_ne!(a.data_dir(), b.data_dir());
    assert_ne!(a.url(), b.url());
    let ran = create_and_invoke(&client(&a), "only-in-a").await;
    assert_eq!(ran, br#"{"embedded": true}"#);
    let listed = client(&b).list_functions().send().await.unwrap();
    assert!(listed.functions().is_empty());
    a.shutdown().await;
    b.shutdown().await;
}

fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

#[tokio::test]
async fn dropping_the_handle_leaves_no_sandbox_process() {
    let lambox = start().await;
    create_and_invoke(&client(&lambox), "reaped").await;
    let sandboxes = lambox.data_dir().join("sandboxes");
    let mut pids = Vec::new();
    for dir in std::fs::read_dir(&sandboxes).unwrap().flatten() {
        for file in ["agent.pid", "runtime.pid"] {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            pids.push(
                text.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<i32>()
                    .unwrap(),
            );
        }
    }
    assert_eq!(pids.len(), 2, "one sandbox: its agent and its runtime");
    assert!(pids.iter().all(|p| running(*p)));
    drop(lambox);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| running(*p)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sandbox processes outlive the handle"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
