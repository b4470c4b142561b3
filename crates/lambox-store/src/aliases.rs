//! Aliases: named pointers at one version of a function, optionally sharing invocations with a
//! second version by weight.

use sqlx::{Connection, Sqlite, Transaction};

use crate::functions::{QUICK_PAGE, page_limit, version_seq};
use crate::quick;
use crate::records::Scope;
use crate::{Store, StoreError};

/// One alias as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    /// The function it belongs to.
    pub function_name: String,
    /// The alias's name.
    pub name: String,
    /// The version it points at (`$LATEST` or a number).
    pub function_version: String,
    /// The one additional version of its routing configuration, with its weight.
    pub additional: Option<(String, f64)>,
    /// Its description.
    pub description: String,
    /// Changes with every update of the alias.
    pub revision_id: String,
}

/// What an alias is to become (on create, or after an update).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    /// The version it points at.
    pub function_version: String,
    /// The additional version and its weight.
    pub additional: Option<(String, f64)>,
    /// Its description.
    pub description: String,
    /// The new `RevisionId`.
    pub revision_id: String,
}

#[derive(sqlx::FromRow)]
struct AliasRow {
    name: String,
    function_version: String,
    additional_version: Option<String>,
    additional_weight: Option<f64>,
    description: String,
    revision_id: String,
}

impl AliasRow {
    /// A row of a `quick` read of [`ALIAS_COLUMNS`].
    fn from_row(row: &rusqlite::Row<'_>) -> Result<Self, StoreError> {
        Ok(Self {
            name: row.get("name")?,
            function_version: row.get("function_version")?,
            additional_version: row.get("additional_version")?,
            additional_weight: row.get("additional_weight")?,
            description: row.get("description")?,
            revision_id: row.get("revision_id")?,
        })
    }

    fn into_record(self, function_name: &str) -> AliasRecord {
        AliasRecord {
            function_name: function_name.to_owned(),
            name: self.name,
            function_version: self.function_version,
            additional: self
                .additional_version
                .map(|v| (v, self.additional_weight.unwrap_or(0.0))),
            description: self.description,
            revision_id: self.revision_id,
        }
    }
}

const ALIAS_COLUMNS: &str = "name, function_version, additional_version, additional_weight, \
     description, revision_id";

/// The id of a function in `scope`, within a transaction.
pub(crate) async fn function_id(
    tx: &mut Transaction<'_, Sqlite>,
    scope: &Scope,
    name: &str,
) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM functions WHERE account = ? AND region = ? AND name = ?")
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

/// `VersionNotFound` unless `version` is `$LATEST` or a published version of the function.
async fn check_version_exists(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    version: &str,
) -> Result<(), StoreError> {
    let missing = || StoreError::VersionNotFound(version.to_owned());
    match version_seq(version) {
        Some(0) => Ok(()),
        Some(seq) => {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM function_versions WHERE function_id = ? AND version = ?",
            )
            .bind(function_id)
            .bind(seq)
            .fetch_optional(&mut **tx)
            .await?;
            found.map(|_| ()).ok_or_else(missing)
        }
        None => Err(missing()),
    }
}

async fn check_state(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    state: &AliasState,
) -> Result<(), StoreError> {
    check_version_exists(tx, function_id, &state.function_version).await?;
    if let Some((v, _)) = &state.additional {
        check_version_exists(tx, function_id, v).await?;
    }
    Ok(())
}

/// One alias's row.
async fn alias_row(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    alias: &str,
) -> Result<Option<AliasRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ALIAS_COLUMNS} FROM function_aliases WHERE function_id = ? AND name = ?"
    )))
    .bind(function_id)
    .bind(alias)
    .fetch_optional(&mut **tx)
    .await?)
}

impl Store {
    /// Creates an alias of function `name`. Fails with `NotFound` (no function),
    /// `VersionNotFound` (a version it names) or `AliasExists`.
    pub async fn create_alias(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
        state: &AliasState,
    ) -> Result<AliasRecord, StoreError> {
        // One statement, checks included: a write here costs a round trip to SQLite each.
        let inserted = self
            .direct(|conn| {
                let mut statement = conn.prepare_cached(
                    "INSERT INTO function_aliases (function_id, name, function_version, \
                     additional_version, additional_weight, description, revision_id) \
                     SELECT f.id, ?4, ?5, ?6, ?7, ?8, ?9 FROM functions f \
                     WHERE f.account = ?1 AND f.region = ?2 AND f.name = ?3 \
                     AND (?5 = '$LATEST' OR EXISTS (SELECT 1 FROM function_versions v \
                          WHERE v.function_id = f.id AND v.version = CAST(?5 AS INTEGER))) \
                     AND (?6 IS NULL OR EXISTS (SELECT 1 FROM function_versions v \
                          WHERE v.function_id = f.id AND v.version = CAST(?6 AS INTEGER)))",
                )?;
                statement.execute(rusqlite::params![
                    scope.account,
                    scope.region,
                    name,
                    alias,
                    state.function_version,
                    state.additional.as_ref().map(|a| &a.0),
                    state.additional.as_ref().map(|a| a.1),
                    state.description,
                    state.revision_id,
                ])
            })
            .await;
        match inserted {
            Err(e) if quick::is_unique_violation(&e) => {
                return Err(StoreError::AliasExists);
            }
            Ok(0) => {
                // Something it names is missing: find out what, for the error.
                let mut reader = self.read().await;
                let mut tx = reader.begin().await?;
                let id = function_id(&mut tx, scope, name).await?;
                check_state(&mut tx, id, state).await?;
                return Err(StoreError::NotFound);
            }
            other => other?,
        };
        Ok(AliasRecord {
            function_name: name.to_owned(),
            name: alias.to_owned(),
            function_version: state.function_version.clone(),
            additional: state.additional.clone(),
            description: state.description.clone(),
            revision_id: state.revision_id.clone(),
        })
    }

    /// One alias; `NotFound` when the function does not exist, `None` when the alias does not.
    pub async fn get_alias(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        // One statement, one snapshot: the function and its alias.
        let found = self.quick(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT a.name, a.function_version, a.additional_version, a.additional_weight, \
                 a.description, a.revision_id FROM functions f LEFT JOIN function_aliases a \
                 ON a.function_id = f.id AND a.name = ?4 \
                 WHERE f.account = ?1 AND f.region = ?2 AND f.name = ?3",
            )?;
            let mut rows = statement.query((&scope.account, &scope.region, name, alias))?;
            match rows.next()? {
                None => Err(StoreError::NotFound),
                Some(row) if row.get::<_, Option<String>>("name")?.is_none() => Ok(None),
                Some(row) => AliasRow::from_row(row).map(Some),
            }
        })?;
        Ok(found.map(|r| r.into_record(name)))
    }

    /// A page of a function's aliases in name order after `after`, those pointing at
    /// `version` (as primary or additional version) when given; with whether more follow.
    pub async fn list_aliases(
        &self,
        scope: &Scope,
        name: &str,
        version: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<AliasRecord>, bool), StoreError> {
        let sql = format!(
            "SELECT {ALIAS_COLUMNS} FROM function_aliases WHERE function_id = ?1 AND name > ?2 \
             AND (?3 IS NULL OR function_version = ?3 OR additional_version = ?3) \
             ORDER BY name {}",
            page_limit(limit)
        );
        let (scope, name_owned) = (scope.clone(), name.to_owned());
        let (after, version) = (after.map(str::to_owned), version.map(str::to_owned));
        let rows = self
            .quick_large(limit > QUICK_PAGE, move |conn| {
                // The function and its aliases from one snapshot.
                let tx = conn.unchecked_transaction()?;
                let id = quick::function_id(&tx, &scope, &name_owned)?;
                let mut statement = tx.prepare_cached(&sql)?;
                let mut rows =
                    statement.query((id, after.as_deref().unwrap_or(""), version.as_deref()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(AliasRow::from_row(row)?);
                }
                Ok(out)
            })
            .await?;
        let more = rows.len() > limit as usize;
        Ok((
            rows.into_iter()
                .take(limit as usize)
                .map(|r| r.into_record(name))
                .collect(),
            more,
        ))
    }

    /// Updates an alias by what `decide` makes of its current state, in one transaction, after
    /// checking `expected_revision`. Fails with `NotFound`, `AliasNotFound`, `RevisionMismatch`
    /// or `VersionNotFound`.
    pub async fn update_alias<E>(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
        expected_revision: Option<&str>,
        decide: impl FnOnce(&AliasRecord) -> Result<AliasState, E>,
    ) -> Result<AliasRecord, E>
    where
        E: From<StoreError>,
    {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        let id = function_id(&mut tx, scope, name).await?;
        let current = alias_row(&mut tx, id, alias)
            .await?
            .ok_or(StoreError::AliasNotFound)?
            .into_record(name);
        if expected_revision.is_some_and(|r| r != current.revision_id) {
            return Err(StoreError::RevisionMismatch.into());
        }
        let state = decide(&current)?;
        check_state(&mut tx, id, &state).await?;
        sqlx::query(
            "UPDATE function_aliases SET function_version = ?, additional_version = ?, \
             additional_weight = ?, description = ?, revision_id = ? \
             WHERE function_id = ? AND name = ?",
        )
        .bind(&state.function_version)
        .bind(state.additional.as_ref().map(|a| &a.0))
        .bind(state.additional.as_ref().map(|a| a.1))
        .bind(&state.description)
        .bind(&state.revision_id)
        .bind(id)
        .bind(alias)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(AliasRecord {
            function_name: name.to_owned(),
            name: alias.to_owned(),
            function_version: state.function_version,
            additional: state.additional,
            description: state.description,
            revision_id: state.revision_id,
        })
    }

    /// Deletes an alias (and what was configured for it); `false` when there was none.
    /// `NotFound` when the function does not exist.
    pub async fn delete_alias(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
    ) -> Result<bool, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let deleted =
            sqlx::query("DELETE FROM function_aliases WHERE function_id = ? AND name = ?")
                .bind(id)
                .bind(alias)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }
}

/// The aliases that point at `version` of function `function_id` (within a transaction).
pub(crate) async fn aliases_of_version(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    version: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM function_aliases WHERE function_id = ?1 \
         AND (function_version = ?2 OR additional_version = ?2) ORDER BY name",
    )
    .bind(function_id)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?)
}
