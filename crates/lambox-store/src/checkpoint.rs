//! Checkpoints off the writers' path.
//!
//! SQLite copies the write-ahead log back into the database file (a checkpoint) from inside the
//! commit that pushes the log past its threshold: that write waits for the copy and its fsync
//! (a CreateFunction of a 45 MB package waited 60-70 ms more for it). Here a thread of the
//! store's own checkpoints instead, soon after the database changed (`PRAGMA data_version` tells
//! it), while the writers' own automatic checkpoint stays only as a backstop at a much larger
//! log, should this thread fall behind.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How often the thread looks for new commits.
const INTERVAL: Duration = Duration::from_millis(500);

/// The log size (pages) at which a writer still checkpoints by itself: 64 MB of 4 KB pages.
pub(crate) const BACKSTOP_PAGES: u32 = 16 * 1024;

/// The checkpointing thread; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (in WAL mode, migrated).
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(1))?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("lambox-checkpoint".into())
            .spawn(move || run(&conn, &stopped))
            .map_err(StoreError::DataDir)?;
        Ok(Self { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Not joined: a checkpoint under way finishes on its own, and dropping a store must not
        // wait for it.
        let (flag, wake) = &*self.stop;
        *flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        wake.notify_one();
    }
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (flag, wake) = stop;
    let mut seen = data_version(conn);
    loop {
        let guard = flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, INTERVAL, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *guard {
            return;
        }
        drop(guard);
        let now = data_version(conn);
        if now == seen {
            continue;
        }
        seen = now;
        // PASSIVE: copies what no reader still needs, without waiting for readers or writers.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// Changes whenever another connection commits.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}
