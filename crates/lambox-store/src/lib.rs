//! lambox-store: lambox's state in SQLite.
//!
//! One database file under the data directory, in WAL mode, holds every function, version, tag
//! and deployment package. Each mutation is one transaction, committed before the call returns,
//! so whatever the API acknowledged survives a crash. Writes go through a single connection (one
//! writer, as SQLite wants it); reads use a small pool that WAL lets run beside the writer.

mod error;
mod functions;
mod records;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use error::StoreError;
pub use functions::{LatestUpdate, UpdateOutcome};
pub use records::{
    AccountUsage, CodeUpload, FunctionRecord, ListCursor, NewFunction, Scope, VersionRecord,
};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss, not only a crash of lambox.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of lambox; the last ones may be lost
    /// with power.
    Normal,
}

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "lambox.db";

/// A handle on lambox's database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(StoreError::DataDir)?;
        let path = data_dir.join(DATABASE_FILE);
        let base = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(base.clone())
            .await?;
        sqlx::migrate!("../../migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
