//! The store's errors.

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A function of that name already exists in the scope.
    #[error("function already exists")]
    FunctionExists,
    /// No function (or version) of that name exists in the scope.
    #[error("function not found")]
    NotFound,
    /// The caller's expected `RevisionId` is not the current one.
    #[error("revision id does not match")]
    RevisionMismatch,
    /// The data directory could not be created.
    #[error("cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    /// SQLite failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored record does not decode.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// `NotFound` when a statement meant to change one row changed none.
pub(crate) fn touched(result: &sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
