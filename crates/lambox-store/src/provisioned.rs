//! Provisioned concurrency configs: per published version or alias, how many sandboxes are
//! kept started.

use sqlx::Connection;

use crate::aliases::function_id;
use crate::functions::page_limit;
use crate::records::Scope;
use crate::{Store, StoreError};

/// One stored provisioned concurrency config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedRecord {
    /// The account and region of the function.
    pub scope: Scope,
    /// The function.
    pub function_name: String,
    /// The version number or alias it applies to.
    pub qualifier: String,
    /// Sandboxes asked for.
    pub requested: u32,
    /// Epoch milliseconds of the last change.
    pub last_modified_ms: i64,
}

/// What a put is decided on, read in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedContext {
    /// The function's reserved concurrency.
    pub reserved: Option<u32>,
    /// Concurrency the account's functions hold in the region besides this config: reserved
    /// concurrency, and provisioned concurrency of functions without reserved concurrency.
    pub held_elsewhere: u64,
    /// The version the qualifier names (an alias's version; the version itself otherwise).
    pub version: String,
    /// Whether the qualifier is an alias.
    pub is_alias: bool,
    /// An alias has a config and `version` has one too, or the reverse: a version has a config
    /// and an alias pointing at it has one.
    pub overlaps: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    account: String,
    region: String,
    name: String,
    qualifier: String,
    requested: i64,
    last_modified_ms: i64,
}

impl From<Row> for ProvisionedRecord {
    fn from(r: Row) -> Self {
        Self {
            scope: Scope {
                account: r.account,
                region: r.region,
            },
            function_name: r.name,
            qualifier: r.qualifier,
            requested: u32::try_from(r.requested).unwrap_or(0),
            last_modified_ms: r.last_modified_ms,
        }
    }
}

const SELECT: &str = "SELECT f.account, f.region, f.name, p.qualifier, p.requested, \
     p.last_modified_ms FROM provisioned_concurrency p JOIN functions f ON f.id = p.function_id";

impl Store {
    /// Stores a config for `qualifier` (an existing published version or alias) after `decide`
    /// accepted it; `NotFound` for a missing function, `VersionNotFound`/`AliasNotFound` for a
    /// missing qualifier.
    pub async fn put_provisioned<E>(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        requested: u32,
        now_ms: i64,
        decide: impl FnOnce(&ProvisionedContext) -> Result<(), E>,
    ) -> Result<ProvisionedRecord, E>
    where
        E: From<StoreError>,
    {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        let id = function_id(&mut tx, scope, name).await?;
        let is_alias = !qualifier.bytes().all(|b| b.is_ascii_digit());
        let version: Option<String> = if is_alias {
            sqlx::query_scalar(
                "SELECT function_version FROM function_aliases WHERE function_id = ? AND name = ?",
            )
            .bind(id)
            .bind(qualifier)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
        } else {
            sqlx::query_scalar(
                "SELECT CAST(version AS TEXT) FROM function_versions \
                 WHERE function_id = ? AND version = CAST(? AS INTEGER)",
            )
            .bind(id)
            .bind(qualifier)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
        };
        let version = version.ok_or_else(|| {
            if is_alias {
                StoreError::AliasNotFound
            } else {
                StoreError::VersionNotFound(qualifier.to_owned())
            }
        })?;
        let (reserved, held_elsewhere, overlaps): (Option<i64>, i64, bool) = sqlx::query_as(
            "SELECT f.reserved_concurrency, \
               COALESCE((SELECT SUM(o.reserved_concurrency) FROM functions o \
                         WHERE o.account = f.account AND o.region = f.region), 0) \
             + COALESCE((SELECT SUM(p.requested) FROM provisioned_concurrency p \
                         JOIN functions o ON o.id = p.function_id \
                         WHERE o.account = f.account AND o.region = f.region \
                           AND o.reserved_concurrency IS NULL \
                           AND NOT (p.function_id = f.id AND p.qualifier = ?2)), 0), \
               EXISTS (SELECT 1 FROM provisioned_concurrency p WHERE p.function_id = f.id \
                         AND p.qualifier <> ?2 AND (p.qualifier = ?3 OR p.qualifier IN \
                         (SELECT a.name FROM function_aliases a WHERE a.function_id = f.id \
                            AND a.function_version = ?3))) \
             FROM functions f WHERE f.id = ?1",
        )
        .bind(id)
        .bind(qualifier)
        .bind(&version)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        decide(&ProvisionedContext {
            reserved: reserved.and_then(|r| u32::try_from(r).ok()),
            held_elsewhere: u64::try_from(held_elsewhere).unwrap_or(0),
            version,
            is_alias,
            overlaps,
        })?;
        sqlx::query(
            "INSERT INTO provisioned_concurrency (function_id, qualifier, requested, \
             last_modified_ms) VALUES (?, ?, ?, ?) ON CONFLICT (function_id, qualifier) \
             DO UPDATE SET requested = excluded.requested, \
             last_modified_ms = excluded.last_modified_ms",
        )
        .bind(id)
        .bind(qualifier)
        .bind(i64::from(requested))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ProvisionedRecord {
            scope: scope.clone(),
            function_name: name.to_owned(),
            qualifier: qualifier.to_owned(),
            requested,
            last_modified_ms: now_ms,
        })
    }

    /// The config of one qualifier; `NotFound` when the function does not exist.
    pub async fn provisioned(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedRecord>, StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE p.function_id = ? AND p.qualifier = ?"
        )))
        .bind(id)
        .bind(qualifier)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.map(Into::into))
    }

    /// A function's configs in qualifier order after `after`, with whether more follow;
    /// `NotFound` when the function does not exist.
    pub async fn list_provisioned(
        &self,
        scope: &Scope,
        name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ProvisionedRecord>, bool), StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE p.function_id = ? AND p.qualifier > ? ORDER BY p.qualifier {}",
            page_limit(limit)
        )))
        .bind(id)
        .bind(after.unwrap_or(""))
        .fetch_all(&mut *tx)
        .await?;
        let more = rows.len() > limit as usize;
        Ok((
            rows.into_iter()
                .take(limit as usize)
                .map(Into::into)
                .collect(),
            more,
        ))
    }

    /// Every stored config (what lambox starts sandboxes for when it starts).
    pub async fn all_provisioned(&self) -> Result<Vec<ProvisionedRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY f.account, f.region, f.name, p.qualifier"
        )))
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Deletes a config; `false` when there was none. `NotFound` when the function does not
    /// exist.
    pub async fn delete_provisioned(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let deleted = sqlx::query(
            "DELETE FROM provisioned_concurrency WHERE function_id = ? AND qualifier = ?",
        )
        .bind(id)
        .bind(qualifier)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }
}
