//! lambox-server: the AWS Lambda REST API over lambox's store, the `lambox` command, and the
//! API to embed a real lambox in a program or a test.
//!
//! Start one in-process on a free port with a temporary data directory, point any AWS client
//! at it, and stop it (with its sandboxes) by dropping the handle:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), lambox_server::StartError> {
//! let lambox = lambox_server::Server::builder().spawn().await?;
//! println!("AWS_ENDPOINT_URL={}", lambox.url());
//! // … create and invoke functions with boto3, the AWS CLI or aws-sdk-lambda (see
//! // examples/embedded.rs) …
//! lambox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The Docker backend is behind the `docker` feature (on by default); without it, this crate
//! and its users do not build bollard.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod eventstream;
pub mod http;
pub mod invoke;
pub mod routing;
pub mod s3;
mod server;
mod start;
pub mod urls;

use std::sync::Arc;

use axum::Router;

pub use crate::api::AppState;
pub use crate::config::{BackendKind, Config};
pub use crate::server::{App, Server, ServerBuilder, ServerHandle, serve, shutdown_signal};
pub use crate::start::{Background, StartError, open_state};

/// The HTTP application: every path goes to the dispatcher, which routes by AWS's rules. Drive
/// it with `tower::ServiceExt::oneshot` to test the API without a socket.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new().fallback(api::dispatch).with_state(state)
}
