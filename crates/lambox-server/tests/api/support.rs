//! What the in-process API tests share: an application over a real SQLite store in a temporary
//! directory, an in-memory backend whose "sandboxes" are echo agents in this process, and
//! requests signed (or not) as an account.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambox_core::backend::{Backend, BackendError, BoxFuture, LogSink, Sandbox, SandboxSpec};
use lambox_core::protocol;
use lambox_server::{App, Server};
use tokio::task::AbortHandle;
use tower::ServiceExt;

/// A backend whose sandboxes are agents in this process that answer every push with its payload
/// (or, for `{"fail": …}`, with a function error), as the push protocol requires.
#[derive(Default)]
pub struct EchoBackend {
    /// Sandboxes started so far.
    pub launched: AtomicUsize,
    /// Invocations answered so far.
    pub invoked: Arc<AtomicUsize>,
    /// The functions sandboxes were started for, in order.
    pub launched_for: Mutex<Vec<String>>,
    running: Mutex<HashMap<String, AbortHandle>>,
}

async fn answer(
    secret: String,
    invoked: Arc<AtomicUsize>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (auth, request_id, deadline) = (
        header(protocol::PUSH_AUTH),
        header(protocol::REQUEST_ID),
        header(protocol::DEADLINE_MS),
    );
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut r = Response::new(Full::new(body.clone()));
    if auth != protocol::push_auth(&secret, &request_id, &deadline, "", &body) {
        *r.status_mut() = StatusCode::FORBIDDEN;
        return Ok(r);
    }
    invoked.fetch_add(1, Ordering::SeqCst);
    let failed = body.starts_with(b"{\"fail\"");
    let h = r.headers_mut();
    h.insert(
        protocol::AGENT_PROOF,
        protocol::answer_proof(&secret, &request_id, failed, &body)
            .parse()
            .unwrap(),
    );
    if failed {
        h.insert(protocol::FUNCTION_ERROR, "Unhandled".parse().unwrap());
    }
    Ok(r)
}

impl Backend for EchoBackend {
    fn kind(&self) -> &'static str {
        "echo"
    }

    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        _logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let endpoint = listener.local_addr()?.to_string();
            let secret = spec.secret.clone();
            let invoked = self.invoked.clone();
            let task = tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (secret, invoked) = (secret.clone(), invoked.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            answer(secret.clone(), invoked.clone(), req)
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            self.launched.fetch_add(1, Ordering::SeqCst);
            self.launched_for
                .lock()
                .unwrap()
                .push(spec.revision.function_arn());
            self.running
                .lock()
                .unwrap()
                .insert(spec.sandbox_id.clone(), task.abort_handle());
            Ok(Sandbox {
                id: spec.sandbox_id.clone(),
                endpoint,
                secret: spec.secret.clone(),
            })
        })
    }

    fn terminate<'a>(&'a self, sandbox_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            if let Some(task) = self.running.lock().unwrap().remove(sandbox_id) {
                task.abort();
            }
            Ok(())
        })
    }

    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// An application over a fresh store, with an echo backend.
pub struct TestApp {
    pub app: App,
    pub backend: Arc<EchoBackend>,
}

impl TestApp {
    /// With changes taking effect at once (no `Pending`/`InProgress` window), so that a test
    /// may update a function right after creating it.
    pub async fn new() -> Self {
        Self::with(|c| c.state_transition_ms = 0).await
    }

    /// With a configuration changed by `change`.
    pub async fn with(change: impl FnOnce(&mut lambox_server::Config)) -> Self {
        let backend = Arc::new(EchoBackend::default());
        let app = Server::builder()
            .configure(change)
            .with_backend(backend.clone())
            .build()
            .await
            .expect("the application starts");
        Self { app, backend }
    }

    fn router(&self) -> Router {
        self.app.router()
    }

    /// Sends a request as `account` (its access key) in us-east-1, unsigned.
    pub async fn call(&self, account: &str, method: &str, path: &str, body: &[u8]) -> Answer {
        self.send(
            as_account(account)
                .method(method)
                .uri(path)
                .body(Body::from(body.to_vec()))
                .unwrap(),
        )
        .await
    }

    /// Sends any request.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let r = self.router().oneshot(request).await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Creates a python function `name` as `account` (the echo backend runs nothing of it).
    pub async fn create(&self, account: &str, name: &str) -> Answer {
        let zip = zip_of(&[("handler.py", b"def handler(e, c):\n    return e\n")]);
        let body = serde_json::json!({
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": format!("arn:aws:iam::{account}:role/r"),
            "Handler": "handler.handler",
            "Code": {"ZipFile": base64(&zip)},
        });
        self.call(
            account,
            "POST",
            "/2015-03-31/functions",
            body.to_string().as_bytes(),
        )
        .await
    }
}

/// A request that acts for `account` (by its access key) in us-east-1, unsigned.
pub fn as_account(account: &str) -> axum::http::request::Builder {
    as_account_in(account, "us-east-1")
}

/// A request that acts for `account` in `region`, unsigned.
pub fn as_account_in(account: &str, region: &str) -> axum::http::request::Builder {
    Request::builder().header(
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/lambda/aws4_request, \
             SignedHeaders=host, Signature=0"
        ),
    )
}

/// An answer, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// `x-amzn-ErrorType`.
    pub fn error_type(&self) -> &str {
        self.header("x-amzn-ErrorType").unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
