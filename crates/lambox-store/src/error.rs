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
    /// The function (or alias) has a URL already.
    #[error("function url exists")]
    UrlExists,
    /// An alias of that name already exists for the function.
    #[error("alias already exists")]
    AliasExists,
    /// No alias of that name exists for the function.
    #[error("alias not found")]
    AliasNotFound,
    /// A version an alias was to point at does not exist.
    #[error("version {0} not found")]
    VersionNotFound(String),
    /// A version cannot be deleted while these aliases point at it.
    #[error("version is referenced by aliases {0:?}")]
    VersionInUse(Vec<String>),
    /// PublishVersion's expected `CodeSha256` is not that of `$LATEST` (given, current; base64).
    #[error("code sha256 {0} differs from $LATEST's {1}")]
    CodeShaMismatch(String, String),
    /// The content of a layer a write pins is no longer stored (its version was deleted, and
    /// nothing else used it, since the caller read it).
    #[error("a layer's content is gone")]
    LayerContentGone,
    /// An update of `$LATEST` arrived while the previous change's transition is under way.
    #[error("a state transition is under way")]
    TransitionUnderWay(lambox_core::lifecycle::Transition),
    /// The caller's expected `RevisionId` is not the current one.
    #[error("revision id does not match")]
    RevisionMismatch,
    /// The data directory could not be created.
    #[error("cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    /// SQLite failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite failed in a point read (`quick`).
    #[error("database error: {0}")]
    Read(#[from] rusqlite::Error),
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
