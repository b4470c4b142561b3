//! The push client against agents that misbehave: answers that never end or are too large.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioExecutor;
use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A fake agent that reads a request and answers with `body_len` bytes of a body declared
/// `declared_len` long (`stall`: and then nothing, forever), proving itself unless `impostor`.
async fn rogue_agent(declared_len: usize, body_len: usize, stall: bool) -> String {
    fake_agent(declared_len, body_len, stall, false).await
}

async fn fake_agent(declared_len: usize, body_len: usize, stall: bool, impostor: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let _ = stream.read(&mut buf).await;
        let proof = if impostor {
            String::new()
        } else {
            let body = vec![b'x'; body_len];
            let proof = protocol::answer_proof("secret", "r", false, &body);
            format!("lambox-agent-proof: {proof}\r\n")
        };
        let head = format!("HTTP/1.1 200 OK\r\n{proof}Content-Length: {declared_len}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            let n = chunk.len().min(body_len - sent);
            if stream.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            sent += n;
        }
        if stall {
            std::future::pending::<()>().await;
        }
    });
    addr
}

fn revision() -> FunctionRevision {
    let config = FunctionConfig::new(
        "f",
        PackageType::Zip,
        "r".into(),
        None,
        None,
        &FunctionSettings::default(),
    );
    FunctionRevision::new(
        "111111111111".into(),
        "us-east-1".into(),
        "f".into(),
        "$LATEST".into(),
        "aa".into(),
        config,
    )
}

async fn push_to(endpoint: String, timeout: Duration) -> Result<InvokeResult, Push> {
    let client: AgentClient = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let sandbox = Sandbox {
        id: "s".into(),
        endpoint,
        secret: "secret".into(),
    };
    let req = InvokeRequest {
        request_id: "r".into(),
        payload: Bytes::from_static(b"{}"),
        client_context: None,
        tail: false,
        invoked_arn: "arn".into(),
    };
    let rev = Arc::new(revision());
    match push(&client, &sandbox, &rev, &req, timeout, None).await? {
        Pushed::Whole(result) => Ok(result),
        Pushed::Stream { .. } => panic!("a push without a stream limit is answered whole"),
    }
}

#[tokio::test]
async fn an_answer_over_the_response_limit_is_not_read_to_its_end() {
    let big = 64 << 20;
    let endpoint = rogue_agent(big, big, false).await;
    let started = std::time::Instant::now();
    assert!(matches!(
        push_to(endpoint, Duration::from_secs(30)).await,
        Err(Push::TooLarge)
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_answer_within_the_limit_is_read() {
    let endpoint = rogue_agent(1000, 1000, false).await;
    let answer = push_to(endpoint, Duration::from_secs(30)).await.unwrap();
    assert_eq!(answer.body.len(), 1000);
}

/// Headers, part of the body, then silence: the deadline (and its grace) ends the wait.
#[tokio::test(start_paused = true)]
async fn a_body_that_stops_coming_is_given_up_at_the_deadline() {
    let endpoint = rogue_agent(1000, 10, true).await;
    let started = tokio::time::Instant::now();
    let pushed = push_to(endpoint, Duration::from_secs(3)).await;
    assert!(matches!(pushed, Err(Push::Broken(_))), "{pushed:?}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3) + GRACE && waited < Duration::from_secs(20));
}

/// What answers at a dead sandbox's address is not the agent: the event never reached it.
#[tokio::test]
async fn an_answer_without_the_agents_proof_is_not_taken() {
    let endpoint = fake_agent(2, 2, false, true).await;
    assert!(matches!(
        push_to(endpoint, Duration::from_secs(30)).await,
        Err(Push::NeverArrived(_))
    ));
}
