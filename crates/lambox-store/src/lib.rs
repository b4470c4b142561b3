//! lambox-store: lambox's state in SQLite.
//!
//! One database file under the data directory, in WAL mode, holds every function, version, tag
//! and deployment package. Each mutation is one transaction, committed before the call returns,
//! so whatever the API acknowledged survives a crash. Writes go through a single connection (one
//! writer, as SQLite wants it); reads use a few read-only
//! connections that WAL lets run beside the writer.

mod aliases;
mod blobs;
mod checkpoint;
mod config_record;
mod error;
mod functions;
mod invocations;
mod layers;
mod log_events;
mod log_search;
mod policies;
mod provisioned;
mod quick;
mod records;
mod settings;
mod urls;
mod versions;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use tokio::sync::{Mutex, MutexGuard};

pub use aliases::{AliasRecord, AliasState};
pub use config_record::CONFIG_FORMAT;
pub use error::StoreError;
pub use functions::{LatestUpdate, UpdateOutcome};
pub use invocations::{AsyncEvent, DestinationRecord, EventInvokeConfig, InvocationLog};
pub use layers::{LayerFilter, LayerPolicyRecord, LayerVersionRecord, NewLayerVersion};
pub use log_events::{EventQuery, LogEvent, LogGroupRecord, LogStreamRecord, NewLogEvent};
pub use policies::PolicyRecord;
pub use provisioned::{ProvisionedContext, ProvisionedRecord};
pub use records::{
    AccountUsage, CodeUpload, FunctionRecord, ListCursor, NewFunction, Scope, VersionRecord,
};
pub use settings::SettingKind;
pub use urls::{UrlRecord, UrlSettings, UrlTarget};

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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), lambox_store::StoreError> {
/// use lambox_store::{Durability, Scope, Store};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path(), Durability::Full).await?;
/// let scope = Scope { account: "111111111111".into(), region: "us-east-1".into() };
/// let (functions, _next) = store.list_versions(&scope, None, 50, false).await?;
/// assert!(functions.is_empty());
/// # Ok(())
/// # }
/// ```
///
/// Connections are held directly rather than through `sqlx::Pool`: acquiring from the pool cost
/// about 100 µs per query here (measured by an earlier probe), five times the query.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Connections>,
}

#[derive(Debug)]
struct Connections {
    writer: Mutex<SqliteConnection>,
    /// A second connection to write through, used only while `writer` is held (so writes stay
    /// one at a time): writes of a statement or two run on it where they are asked for,
    /// without handing each statement to sqlx's connection thread and back.
    direct: std::sync::Mutex<rusqlite::Connection>,
    readers: Vec<Mutex<SqliteConnection>>,
    next_reader: AtomicUsize,
    /// Point reads, run on the caller's thread.
    quick: quick::QuickReaders,
    /// Checkpoints the log soon after commits, off the writers' path.
    _checkpointer: checkpoint::Checkpointer,
    /// How long `$LATEST` stays in transition after a change (`lambox_core::lifecycle`).
    transition_window_ms: AtomicI64,
}

/// Read-only connections: WAL lets them read beside the writer.
const READERS: usize = 3;

/// Read-only connections for point reads: one per thread that may read at once is enough (a
/// read holds one for microseconds).
const QUICK_READERS: usize = 4;

/// How much of the database file read connections map into memory (address space, not
/// memory: pages are the operating system's cache).
const MMAP_BYTES: u64 = 1 << 30;

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
            // Checkpoints are `checkpoint.rs`'s; a writer's own is the backstop.
            .pragma("wal_autocheckpoint", checkpoint::BACKSTOP_PAGES.to_string())
            .busy_timeout(Duration::from_secs(10));
        let mut writer = base.connect().await?;
        sqlx::migrate!("../../migrations").run(&mut writer).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            // Reads map the file rather than copy it page by page (a log search reads the
            // whole table).
            let reader = base
                .clone()
                .read_only(true)
                .pragma("mmap_size", MMAP_BYTES.to_string());
            readers.push(Mutex::new(reader.connect().await?));
        }
        let quick = quick::QuickReaders::open(&path, QUICK_READERS, MMAP_BYTES)?;
        let direct = quick::open_writer(&path, durability == Durability::Full)?;
        let checkpointer = checkpoint::Checkpointer::start(&path)?;
        Ok(Self {
            inner: Arc::new(Connections {
                writer: Mutex::new(writer),
                direct: std::sync::Mutex::new(direct),
                readers,
                next_reader: AtomicUsize::new(0),
                quick,
                _checkpointer: checkpointer,
                transition_window_ms: AtomicI64::new(0),
            }),
        })
    }

    /// Sets how long `$LATEST` stays in transition after a create (`Pending`) or an update
    /// (`InProgress`), during which a further update is refused and after which its
    /// `RevisionId` advances (`lambox_core::lifecycle`); zero (the default): changes settle at
    /// once.
    pub fn set_transition_window(&self, window: Duration) {
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.inner.transition_window_ms.store(ms, Ordering::Relaxed);
    }

    pub(crate) fn transition_window_ms(&self) -> i64 {
        self.inner.transition_window_ms.load(Ordering::Relaxed)
    }

    /// The write connection; writers queue here, one at a time, as SQLite wants them.
    pub(crate) async fn write(&self) -> MutexGuard<'_, SqliteConnection> {
        self.inner.writer.lock().await
    }

    /// Runs `write` on the writer's direct connection, in turn with every other write; it runs
    /// (and commits) on this thread (`lambox_core::blocking::block_here`).
    pub(crate) async fn direct<T, E>(
        &self,
        write: impl FnOnce(&mut rusqlite::Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let _turn = self.inner.writer.lock().await;
        lambox_core::blocking::block_here(|| {
            let mut conn = self
                .inner
                .direct
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            write(&mut conn)
        })
    }

    /// A free read connection, or the next one in turn when all are busy.
    pub(crate) async fn read(&self) -> MutexGuard<'_, SqliteConnection> {
        let readers = &self.inner.readers;
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..readers.len() {
            if let Ok(guard) = readers[(start + i) % readers.len()].try_lock() {
                return guard;
            }
        }
        readers[start % readers.len()].lock().await
    }

    /// Runs a point read on the caller's thread (`quick`).
    pub(crate) fn quick<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.inner.quick.read(read)
    }

    /// Runs a read that may take a while (a large page) on a quick connection off the async
    /// threads; a small one (`large` false) on the caller's thread, as [`Store::quick`] does.
    pub(crate) async fn quick_large<T: Send + 'static>(
        &self,
        large: bool,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if !large {
            return self.quick(read);
        }
        let store = self.clone();
        match tokio::task::spawn_blocking(move || store.quick(read)).await {
            Ok(result) => result,
            // A panic in the read is the caller's (a blocking task is never cancelled).
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Checkpoints the WAL into the database file, for a tidy shutdown (the connections close
    /// when the last handle is dropped).
    pub async fn close(&self) {
        let mut writer = self.inner.writer.lock().await;
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *writer)
            .await;
    }
}
