//! lambox-server: the AWS Lambda REST API over lambox's store, its configuration, and the
//! pieces of the `lambox` command.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod routing;

use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt;
use lambox_store::{Durability, Store};
use tokio::net::TcpListener;

use crate::api::AppState;
use crate::auth::Authenticator;
use crate::config::{Config, DurabilityMode};

/// The HTTP application: every path goes to the dispatcher, which routes by AWS's rules.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new().fallback(api::dispatch).with_state(state)
}

/// Opens the store and builds the shared state.
pub async fn open_state(config: Config) -> anyhow::Result<Arc<AppState>> {
    let durability = match config.durability {
        DurabilityMode::Full => Durability::Full,
        DurabilityMode::Normal => Durability::Normal,
    };
    let store = Store::open(&config.data_dir, durability).await?;
    let auth = Authenticator::new(
        &config.default_account,
        &config.default_region,
        &config.auth,
    );
    Ok(Arc::new(AppState {
        store,
        config,
        auth,
    }))
}

/// Serves the API on `config.listen` until `shutdown` resolves, then drains and closes the store.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    let local = listener.local_addr()?;
    let state = open_state(config).await?;
    tracing::info!(
        listen = %local,
        data_dir = %state.config.data_dir.display(),
        "lambox is serving the AWS Lambda API"
    );
    // Answers are small and latency-bound: do not let Nagle hold them back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    state.store.close().await;
    tracing::info!("lambox stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
