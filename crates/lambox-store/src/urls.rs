//! Function URLs: the configuration of each function's (or alias's) URL, and the lookup of a
//! URL id when a request arrives at it.

use sqlx::{Connection, Sqlite, Transaction};

use crate::aliases::function_id;
use crate::functions::page_limit;
use crate::records::Scope;
use crate::{Store, StoreError};

/// A function URL's configuration as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRecord {
    /// The function's name.
    pub function_name: String,
    /// `""` for the function itself, else the alias.
    pub qualifier: String,
    /// The URL's id (its host label).
    pub url_id: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// The `Cors` configuration as JSON, if any.
    pub cors: Option<String>,
    /// `BUFFERED` or `RESPONSE_STREAM`; `None` when never set (it is `BUFFERED` then, and AWS
    /// leaves it out of the answers of Create and Update).
    pub invoke_mode: Option<String>,
    /// Epoch milliseconds of its creation.
    pub created_ms: i64,
    /// Epoch milliseconds of its last change.
    pub modified_ms: i64,
}

/// A URL id's function, for serving a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTarget {
    /// Where the function lives.
    pub scope: Scope,
    /// The URL's configuration.
    pub url: UrlRecord,
}

/// What a create or an update sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSettings {
    /// `NONE` or `AWS_IAM` (unchanged by an update when `None`).
    pub auth_type: Option<String>,
    /// The `Cors` JSON (unchanged by an update when `None`; `Some(None)` removes it).
    pub cors: Option<Option<String>>,
    /// The invoke mode (unchanged by an update when `None`).
    pub invoke_mode: Option<String>,
}

const URL_COLUMNS: &str = "f.name, u.qualifier, u.url_id, u.auth_type, u.cors, u.invoke_mode, \
     u.created_ms, u.modified_ms";

#[derive(sqlx::FromRow)]
struct UrlRow {
    name: String,
    qualifier: String,
    url_id: String,
    auth_type: String,
    cors: Option<String>,
    invoke_mode: Option<String>,
    created_ms: i64,
    modified_ms: i64,
}

impl From<UrlRow> for UrlRecord {
    fn from(r: UrlRow) -> Self {
        Self {
            function_name: r.name,
            qualifier: r.qualifier,
            url_id: r.url_id,
            auth_type: r.auth_type,
            cors: r.cors,
            invoke_mode: r.invoke_mode,
            created_ms: r.created_ms,
            modified_ms: r.modified_ms,
        }
    }
}

/// `AliasNotFound` unless the qualifier is `""` or an alias of the function.
async fn check_alias(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    qualifier: &str,
) -> Result<(), StoreError> {
    if qualifier.is_empty() {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM function_aliases WHERE function_id = ? AND name = ?")
            .bind(function_id)
            .bind(qualifier)
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::AliasNotFound)
}

async fn url_row(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    qualifier: &str,
) -> Result<Option<UrlRecord>, StoreError> {
    let row: Option<UrlRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {URL_COLUMNS} FROM function_urls u JOIN functions f ON f.id = u.function_id \
         WHERE u.function_id = ? AND u.qualifier = ?"
    )))
    .bind(function_id)
    .bind(qualifier)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Into::into))
}

impl Store {
    /// Creates the URL of a function or alias with the id `url_id`: `NotFound` without the
    /// function, `AliasNotFound` without the alias, `UrlExists` when it has one.
    pub async fn create_url(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        url_id: &str,
        settings: &UrlSettings,
        now_ms: i64,
    ) -> Result<UrlRecord, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        check_alias(&mut tx, id, qualifier).await?;
        if url_row(&mut tx, id, qualifier).await?.is_some() {
            return Err(StoreError::UrlExists);
        }
        let auth_type = settings
            .auth_type
            .clone()
            .unwrap_or_else(|| "NONE".to_owned());
        let invoke_mode = settings.invoke_mode.clone();
        let cors = settings.cors.clone().flatten();
        sqlx::query(
            "INSERT INTO function_urls (function_id, qualifier, url_id, auth_type, cors, \
             invoke_mode, created_ms, modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(qualifier)
        .bind(url_id)
        .bind(&auth_type)
        .bind(&cors)
        .bind(&invoke_mode)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(UrlRecord {
            function_name: name.to_owned(),
            qualifier: qualifier.to_owned(),
            url_id: url_id.to_owned(),
            auth_type,
            cors,
            invoke_mode,
            created_ms: now_ms,
            modified_ms: now_ms,
        })
    }

    /// The URL of a function or alias: `NotFound` without the function, `AliasNotFound`
    /// without the alias, `None` without a URL.
    pub async fn url(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<UrlRecord>, StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        check_alias(&mut tx, id, qualifier).await?;
        url_row(&mut tx, id, qualifier).await
    }

    /// Changes a URL's configuration; `None` when it has none (and the errors of [`Store::url`]).
    pub async fn update_url(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        settings: &UrlSettings,
        now_ms: i64,
    ) -> Result<Option<UrlRecord>, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        check_alias(&mut tx, id, qualifier).await?;
        let Some(mut url) = url_row(&mut tx, id, qualifier).await? else {
            return Ok(None);
        };
        if let Some(a) = &settings.auth_type {
            url.auth_type.clone_from(a);
        }
        if let Some(c) = &settings.cors {
            url.cors.clone_from(c);
        }
        if settings.invoke_mode.is_some() {
            url.invoke_mode.clone_from(&settings.invoke_mode);
        }
        url.modified_ms = now_ms;
        sqlx::query(
            "UPDATE function_urls SET auth_type = ?, cors = ?, invoke_mode = ?, modified_ms = ? \
             WHERE function_id = ? AND qualifier = ?",
        )
        .bind(&url.auth_type)
        .bind(&url.cors)
        .bind(&url.invoke_mode)
        .bind(now_ms)
        .bind(id)
        .bind(qualifier)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(url))
    }

    /// Deletes a URL; `None` when there was none (and the errors of [`Store::url`]).
    pub async fn delete_url(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<UrlRecord>, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        check_alias(&mut tx, id, qualifier).await?;
        let Some(url) = url_row(&mut tx, id, qualifier).await? else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM function_urls WHERE function_id = ? AND qualifier = ?")
            .bind(id)
            .bind(qualifier)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(url))
    }

    /// A page of a function's URLs (the function's first, then its aliases' by name) after the
    /// qualifier `after`, with whether more follow; `NotFound` without the function.
    pub async fn list_urls(
        &self,
        scope: &Scope,
        name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<UrlRecord>, bool), StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let rows: Vec<UrlRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {URL_COLUMNS} FROM function_urls u JOIN functions f ON f.id = u.function_id \
             WHERE u.function_id = ? AND (? IS NULL OR u.qualifier > ?) ORDER BY u.qualifier {}",
            page_limit(limit)
        )))
        .bind(id)
        .bind(after)
        .bind(after)
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

    /// Whether `url_id` was the URL of an alias since deleted (its function still exists).
    pub async fn url_retired(&self, url_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM retired_function_urls WHERE url_id = ?")
                .bind(url_id)
                .fetch_optional(&mut *self.read().await)
                .await?;
        Ok(found.is_some())
    }

    /// The function (or alias) a URL id belongs to; `None` for an id no URL has.
    pub async fn url_target(&self, url_id: &str) -> Result<Option<UrlTarget>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            account: String,
            region: String,
            #[sqlx(flatten)]
            url: UrlRow,
        }
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT f.account, f.region, {URL_COLUMNS} FROM function_urls u \
             JOIN functions f ON f.id = u.function_id WHERE u.url_id = ?"
        )))
        .bind(url_id)
        .fetch_optional(&mut *self.read().await)
        .await?;
        Ok(row.map(|r| UrlTarget {
            scope: Scope {
                account: r.account,
                region: r.region,
            },
            url: r.url.into(),
        }))
    }
}
