//! Published versions: publishing `$LATEST`, listing a function's versions, deleting one.

use lambox_core::function::FunctionConfig;
use sqlx::Connection;

use crate::aliases::{aliases_of_version, function_id};
use crate::config_record;
use crate::functions::{
    FUNCTION_SELECT, FunctionRow, LATEST_SELECT, QUICK_PAGE, VERSIONS_SELECT, VersionRow,
    page_limit, version_name,
};
use crate::quick;
use crate::records::{Scope, VersionRecord};
use crate::{Store, StoreError};

/// The newest version of a function, with the description `$LATEST` had when it was published.
struct NewestRow {
    row: VersionRow,
    latest_description: Option<String>,
}

/// Whether `latest` is what `version` was published from: its configuration with the
/// description `$LATEST` had then (`latest_description`; the version's own when unknown).
fn published_from(
    latest: &FunctionConfig,
    version: &FunctionConfig,
    latest_description: Option<String>,
) -> bool {
    let mut source = version.clone();
    if let Some(d) = latest_description {
        source.description = d;
    }
    &source == latest
}

/// Publishes `latest` (the `$LATEST` of `function_id`, as it is in this transaction) as a new
/// version with `revision_id`, unless the newest version already has the same code and
/// configuration: AWS then returns that version.
pub(crate) fn publish(
    tx: &rusqlite::Transaction<'_>,
    function_id: i64,
    latest: &VersionRecord,
    revision_id: &str,
    description: Option<&str>,
) -> Result<VersionRecord, StoreError> {
    let newest = {
        let mut statement = tx.prepare_cached(
            "SELECT f.name, v.version AS seq, v.revision_id, v.code_sha256, v.code_size, \
             v.blob_sha256, v.config, v.last_modified_ms, v.last_modified_ms AS created_ms, \
             v.latest_description \
             FROM function_versions v JOIN functions f ON f.id = v.function_id \
             WHERE f.id = ? ORDER BY v.version DESC LIMIT 1",
        )?;
        let mut rows = statement.query([function_id])?;
        match rows.next()? {
            Some(row) => Some(NewestRow {
                row: VersionRow::from_row(row)?,
                latest_description: row.get("latest_description")?,
            }),
            None => None,
        }
    };
    if let Some(newest) = newest {
        let latest_description = newest.latest_description;
        let newest = newest.row.into_record(0)?;
        if newest.code_sha256_hex == latest.code_sha256_hex
            && published_from(&latest.config, &newest.config, latest_description)
        {
            return Ok(newest);
        }
    }
    let mut config = latest.config.clone();
    if let Some(d) = description {
        d.clone_into(&mut config.description);
    }
    // The number is the function's next one; a trigger moves that past it.
    let version: i64 = tx
        .prepare_cached(
            "INSERT INTO function_versions (function_id, version, revision_id, code_sha256, \
             code_size, blob_sha256, config, last_modified_ms, latest_description) \
             SELECT id, next_version, ?, code_sha256, code_size, blob_sha256, ?, \
             last_modified_ms, ? FROM functions WHERE id = ? RETURNING version",
        )?
        .query_row(
            (
                revision_id,
                config_record::encode(&config),
                &latest.config.description,
                function_id,
            ),
            |r| r.get(0),
        )?;
    tx.prepare_cached(
        "INSERT INTO function_layers (function_id, version, position, blob_sha256) \
         SELECT function_id, ?, position, blob_sha256 FROM function_layers \
         WHERE function_id = ? AND version = 0",
    )?
    .execute((version, function_id))?;
    Ok(VersionRecord {
        version: version_name(version),
        revision_id: revision_id.to_owned(),
        config,
        transition: None,
        ..latest.clone()
    })
}

/// The function `name` in `scope` with its id, read in `tx`; `NotFound` when there is none.
pub(crate) fn function_in(
    tx: &rusqlite::Transaction<'_>,
    scope: &Scope,
    name: &str,
    window_ms: i64,
) -> Result<(i64, crate::FunctionRecord), StoreError> {
    let mut statement = tx.prepare_cached(FUNCTION_SELECT)?;
    let mut rows = statement.query((&scope.account, &scope.region, name))?;
    match rows.next()? {
        Some(row) => FunctionRow::from_row(row)?.into_record(window_ms),
        None => Err(StoreError::NotFound),
    }
}

impl Store {
    /// Publishes `$LATEST` of function `name` as a new version (or returns the newest version
    /// when nothing changed since), after `check` accepted `$LATEST` as it is in the
    /// transaction (RevisionId and CodeSha256 preconditions).
    pub async fn publish_version<E>(
        &self,
        scope: &Scope,
        name: &str,
        revision_id: &str,
        description: Option<&str>,
        check: impl FnOnce(&VersionRecord) -> Result<(), E>,
    ) -> Result<VersionRecord, E>
    where
        E: From<StoreError>,
    {
        let window = self.transition_window_ms();
        self.direct(|conn| {
            let tx = conn.transaction().map_err(StoreError::from)?;
            let (id, function) = function_in(&tx, scope, name, window)?;
            let latest = function.latest;
            check(&latest)?;
            let published = publish(&tx, id, &latest, revision_id, description)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(published)
        })
        .await
    }

    /// A page of one function's versions, `$LATEST` first and then by number, after version
    /// number `after` (0 for `$LATEST`), with whether more follow. `NotFound` when the function
    /// does not exist.
    pub async fn list_function_versions(
        &self,
        scope: &Scope,
        name: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<VersionRecord>, bool), StoreError> {
        let sql = format!(
            "SELECT * FROM ({LATEST_SELECT} WHERE id = ?1 UNION ALL \
             {VERSIONS_SELECT} WHERE f.id = ?1) WHERE seq > ?2 ORDER BY seq {}",
            page_limit(limit)
        );
        let (scope, name) = (scope.clone(), name.to_owned());
        let rows = self
            .quick_large(limit > QUICK_PAGE, move |conn| {
                // The function and its versions from one snapshot.
                let tx = conn.unchecked_transaction()?;
                let id = quick::function_id(&tx, &scope, &name)?;
                let mut statement = tx.prepare_cached(&sql)?;
                let mut rows = statement.query((id, after.unwrap_or(-1)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(VersionRow::from_row(row)?);
                }
                Ok(out)
            })
            .await?;
        let more = rows.len() > limit as usize;
        let window = self.transition_window_ms();
        let records = rows
            .into_iter()
            .take(limit as usize)
            .map(|r| r.into_record(window))
            .collect::<Result<_, _>>()?;
        Ok((records, more))
    }

    /// Deletes one published version and returns it (`None` when there is no such version);
    /// its code goes when nothing else uses it, and what was configured for it goes with it.
    /// `NotFound` when the function does not exist; `VersionInUse` while aliases point at it.
    pub async fn delete_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let aliases = aliases_of_version(&mut tx, id, &version.to_string()).await?;
        if !aliases.is_empty() {
            return Err(StoreError::VersionInUse(aliases));
        }
        let deleted: Option<VersionRow> = sqlx::query_as(
            "DELETE FROM function_versions WHERE function_id = ? AND version = ? \
             RETURNING ? AS name, version AS seq, revision_id, code_sha256, code_size, \
             blob_sha256, config, last_modified_ms",
        )
        .bind(id)
        .bind(version)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        deleted.map(|r| r.into_record(0)).transpose()
    }
}
