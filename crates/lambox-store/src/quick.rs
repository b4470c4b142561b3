//! Point reads on the caller's thread.
//!
//! A read of one row by its key takes SQLite a few microseconds; handing it to a connection's
//! worker thread and waking the caller with the answer (what sqlx does for every statement)
//! took ten times that here (GetFunction: 89 µs of server time, 4 µs of which were lambox's
//! own routing). These connections run short, bounded reads synchronously where they are
//! asked for, with their statements prepared once and cached. They are read-only: writes and
//! long reads (log searches, large pages) stay on the sqlx connections.
//!
//! WAL gives each statement a snapshot of the last commit, so a read here sees every write that
//! was acknowledged before it started: there is nothing to invalidate.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How many statements each connection keeps prepared.
const CACHED_STATEMENTS: usize = 64;

/// A few read-only connections for point reads, each behind a lock held only for one read.
#[derive(Debug)]
pub(crate) struct QuickReaders {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl QuickReaders {
    /// Opens `count` read-only connections on the database at `path` (which must exist, its
    /// migrations applied).
    pub(crate) fn open(path: &Path, count: usize, mmap_bytes: u64) -> Result<Self, StoreError> {
        let mut connections = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(
                None,
                "mmap_size",
                i64::try_from(mmap_bytes).unwrap_or(i64::MAX),
            )?;
            conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
            connections.push(Mutex::new(conn));
        }
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (or waits for the next one in turn, which is free again
    /// within one point read).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // The first free one, in order: a connection that read since the last write still
        // has the pages it needs (a write makes each connection's next read start over), so
        // reads one after another keep to the first.
        for conn in &self.connections {
            if let Ok(conn) = conn.try_lock() {
                return read(&conn);
            }
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.connections.len();
        // A panic inside a read leaves the connection as good as it was: statements are reset
        // when they are dropped.
        let conn = self.connections[start % n]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        read(&conn)
    }
}

/// The id of a function in `scope`; `NotFound` when there is none.
pub(crate) fn function_id(
    conn: &Connection,
    scope: &crate::Scope,
    name: &str,
) -> Result<i64, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT id FROM functions WHERE account = ? AND region = ? AND name = ?")?;
    let mut rows = statement.query((&scope.account, &scope.region, name))?;
    match rows.next()? {
        Some(row) => Ok(row.get(0)?),
        None => Err(StoreError::NotFound),
    }
}

/// The writer's own connection for writes that run where they are asked for (`Store::direct`).
pub(crate) fn open_writer(path: &Path, full: bool) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Per connection, as the sqlx writer has them.
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        crate::checkpoint::BACKSTOP_PAGES,
    )?;
    conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
    Ok(conn)
}

/// Whether SQLite refused a statement for this extended constraint code.
pub(crate) fn is_constraint(e: &rusqlite::Error, extended: std::ffi::c_int) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == extended)
}

/// A unique or primary-key constraint.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    is_constraint(e, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
        || is_constraint(e, rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A foreign-key constraint.
pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    is_constraint(e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}
