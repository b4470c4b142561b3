//! Functions, their versions, tags and code blobs.

use std::collections::BTreeMap;

use lambox_core::arn::LATEST;
use lambox_core::function::FunctionConfig;
use lambox_core::lifecycle::{self, Transition};
use sqlx::Connection;

use crate::blobs::{LOOK_UP_ABOVE_BYTES, layer_blobs, pin_latest_layers, put_blob};
use crate::config_record;
use crate::quick;
use crate::records::{
    AccountUsage, CodeUpload, FunctionRecord, ListCursor, NewFunction, Scope, VersionRecord,
};
use crate::{Store, StoreError};

/// `$LATEST` as a version row.
pub(crate) const LATEST_SELECT: &str = "SELECT name, 0 AS seq, revision_id, code_sha256, code_size, \
     blob_sha256, config, last_modified_ms, created_ms FROM functions";
/// A function with `$LATEST`, by (account, region, name).
pub(crate) const FUNCTION_SELECT: &str = "SELECT id, name, 0 AS seq, revision_id, code_sha256, code_size, \
     blob_sha256, config, last_modified_ms, created_ms, tags, reserved_concurrency FROM functions \
     WHERE account = ? AND region = ? AND name = ?";
/// `$LATEST` of a function by (account, region, name).
const LATEST_BY_NAME: &str = "SELECT name, 0 AS seq, revision_id, code_sha256, code_size, \
     blob_sha256, config, last_modified_ms, created_ms FROM functions \
     WHERE account = ? AND region = ? AND name = ?";
/// A published version of a function by (account, region, name, number).
const VERSION_BY_NAME: &str = "SELECT f.name, v.version AS seq, v.revision_id, v.code_sha256, \
     v.code_size, v.blob_sha256, v.config, v.last_modified_ms, v.last_modified_ms AS created_ms \
     FROM function_versions v JOIN functions f ON f.id = v.function_id \
     WHERE f.account = ? AND f.region = ? AND f.name = ? AND v.version = ?";
/// Published versions as version rows.
pub(crate) const VERSIONS_SELECT: &str = "SELECT f.name, v.version AS seq, v.revision_id, v.code_sha256, \
     v.code_size, v.blob_sha256, v.config, v.last_modified_ms, v.last_modified_ms AS created_ms \
     FROM function_versions v JOIN functions f ON f.id = v.function_id";

#[derive(sqlx::FromRow)]
pub(crate) struct VersionRow {
    name: String,
    pub(crate) seq: i64,
    revision_id: String,
    code_sha256: String,
    code_size: i64,
    blob_sha256: Option<String>,
    config: String,
    last_modified_ms: i64,
    /// The function's creation, for `$LATEST` rows (whose transitions it tells apart).
    #[sqlx(default)]
    created_ms: i64,
}

impl VersionRow {
    /// A row of a `quick` read, by column name.
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> Result<Self, StoreError> {
        Ok(Self {
            name: row.get("name")?,
            seq: row.get("seq")?,
            revision_id: row.get("revision_id")?,
            code_sha256: row.get("code_sha256")?,
            code_size: row.get("code_size")?,
            blob_sha256: row.get("blob_sha256")?,
            config: row.get("config")?,
            last_modified_ms: row.get("last_modified_ms")?,
            created_ms: row.get("created_ms")?,
        })
    }

    /// The record, with `$LATEST`'s transition and `RevisionId` as they are now under a
    /// transition window of `window_ms` (see `lambox_core::lifecycle`); a published version
    /// has neither.
    pub(crate) fn into_record(self, window_ms: i64) -> Result<VersionRecord, StoreError> {
        let config = config_record::decode(&self.config, &self.name)?;
        let (revision_id, transition) = if self.seq == 0 {
            let transition = lifecycle::transition_at(
                lambox_core::time::now_millis(),
                self.created_ms,
                self.last_modified_ms,
                window_ms,
            );
            (
                lifecycle::revision_at(&self.revision_id, transition),
                transition,
            )
        } else {
            (self.revision_id, None)
        };
        Ok(VersionRecord {
            version: version_name(self.seq),
            function_name: self.name,
            revision_id,
            code_sha256_hex: self.code_sha256,
            code_size: u64::try_from(self.code_size).unwrap_or(0),
            has_blob: self.blob_sha256.is_some(),
            config,
            last_modified_ms: self.last_modified_ms,
            transition,
        })
    }
}

/// `LIMIT n`, with one row more than a page holds (to tell whether more follow), written into
/// the statement: SQLite prepares a statement with a bound `LIMIT ?` again on every run
/// (measured: a one-function ListFunctions page took 110 µs of store time that way, 13 µs as
/// GetFunction's read does). A page size is a number, so this is no injection.
pub(crate) fn page_limit(limit: u32) -> String {
    format!("LIMIT {}", u64::from(limit) + 1)
}

/// Pages up to this size are read on the caller's thread; larger ones off the async threads.
pub(crate) const QUICK_PAGE: u32 = 100;

/// `$LATEST` for sequence 0, the number otherwise.
pub(crate) fn version_name(seq: i64) -> String {
    if seq == 0 {
        LATEST.to_owned()
    } else {
        seq.to_string()
    }
}

/// The sequence number of a version name; `None` for anything but `$LATEST` and a number.
pub(crate) fn version_seq(version: &str) -> Option<i64> {
    if version == LATEST {
        Some(0)
    } else {
        version.parse::<i64>().ok().filter(|n| *n > 0)
    }
}

pub(crate) fn config_json(config: &FunctionConfig) -> String {
    config_record::encode(config)
}

/// The changes an update makes to `$LATEST`, decided from its current state.
#[derive(Debug, Clone)]
pub struct LatestUpdate<'a> {
    /// The new configuration.
    pub config: FunctionConfig,
    /// New code, if the update replaces it: (hex SHA-256, size, zip to store).
    pub code: Option<(String, u64, Option<CodeUpload<'a>>)>,
    /// The new `RevisionId`.
    pub revision_id: String,
    /// Now, in epoch milliseconds.
    pub now_ms: i64,
    /// Publish a version afterwards, with this `RevisionId`.
    pub publish_revision_id: Option<String>,
}

/// What an update of `$LATEST` produced.
#[derive(Debug, Clone)]
pub struct UpdateOutcome {
    /// `$LATEST` before the update.
    pub previous: VersionRecord,
    /// `$LATEST` after the update.
    pub latest: VersionRecord,
    /// The version published, when asked to publish.
    pub published: Option<VersionRecord>,
}

impl Store {
    /// Creates a function (and version 1 when publishing) in one statement. Fails with
    /// `FunctionExists` when the name is taken in the scope; exactly one of several concurrent
    /// creators wins.
    pub async fn create_function(&self, f: NewFunction<'_>) -> Result<VersionRecord, StoreError> {
        let blob_sha = f.blob.map(|b| b.sha256_hex);
        // A large package goes into its table by itself (and not at all when it is stored
        // already): handed through the view's trigger, SQLite would copy it twice more.
        let large = f.blob.filter(|b| b.bytes.len() > LOOK_UP_ABOVE_BYTES);
        let config = config_json(f.config);
        let tags = serde_json::to_string(f.tags).expect("tags serialize");
        let layer_blobs = layer_blobs(f.config);
        let unzipped = f
            .blob
            .and_then(|b| b.unzipped_size)
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let code_size = i64::try_from(f.code_size).unwrap_or(i64::MAX);
        let inserted = self
            .direct(|conn| {
                let tx = conn.transaction()?;
                if let Some(blob) = large {
                    put_blob(&tx, blob, blob.unzipped_size)?;
                }
                let mut statement = tx.prepare_cached(
                    "INSERT INTO function_creations (account, region, name, tags, publish, \
                     created_ms, revision_id, published_revision_id, code_sha256, code_size, \
                     blob_sha256, blob_data, config, blob_unzipped_size, layer_blobs) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )?;
                statement.execute(rusqlite::params![
                    f.scope.account,
                    f.scope.region,
                    f.name,
                    tags,
                    f.publish,
                    f.now_ms,
                    f.revision_id,
                    f.published_revision_id,
                    f.code_sha256_hex,
                    code_size,
                    blob_sha,
                    f.blob.filter(|_| large.is_none()).map(|b| b.bytes),
                    config,
                    unzipped,
                    layer_blobs,
                ])?;
                drop(statement);
                tx.commit()?;
                Ok(())
            })
            .await;
        match inserted {
            Ok(()) => {}
            Err(StoreError::Read(e)) if quick::is_unique_violation(&e) => {
                return Err(StoreError::FunctionExists);
            }
            // The code is stored by now: only a layer's content can be missing.
            Err(StoreError::Read(e)) if quick::is_foreign_key_violation(&e) => {
                return Err(StoreError::LayerContentGone);
            }
            Err(e) => return Err(e),
        }
        let (version, revision_id) = if f.publish {
            ("1".to_owned(), f.published_revision_id)
        } else {
            (LATEST.to_owned(), f.revision_id)
        };
        Ok(VersionRecord {
            function_name: f.name.to_owned(),
            version,
            revision_id: revision_id.to_owned(),
            code_sha256_hex: f.code_sha256_hex.to_owned(),
            code_size: f.code_size,
            has_blob: blob_sha.is_some(),
            config: f.config.clone(),
            last_modified_ms: f.now_ms,
            transition: (self.transition_window_ms() > 0).then_some(Transition::Creating),
        })
    }

    /// A function with its `$LATEST` version, in one query.
    pub async fn get_function(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let row = self.quick(|conn| {
            let mut statement = conn.prepare_cached(FUNCTION_SELECT)?;
            let mut rows = statement.query((&scope.account, &scope.region, name))?;
            rows.next()?.map(FunctionRow::from_row).transpose()
        })?;
        row.map(|r| r.into_record(self.transition_window_ms()).map(|(_, f)| f))
            .transpose()
    }

    /// One version (`$LATEST` or a number) of a function.
    pub async fn get_version(
        &self,
        scope: &Scope,
        name: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let Some(seq) = version_seq(version) else {
            return Ok(None);
        };
        let row = self.quick(|conn| {
            let mut statement = if seq == 0 {
                conn.prepare_cached(LATEST_BY_NAME)?
            } else {
                conn.prepare_cached(VERSION_BY_NAME)?
            };
            let mut rows = if seq == 0 {
                statement.query((&scope.account, &scope.region, name))?
            } else {
                statement.query((&scope.account, &scope.region, name, seq))?
            };
            rows.next()?.map(VersionRow::from_row).transpose()
        })?;
        let window = self.transition_window_ms();
        row.map(|r| r.into_record(window)).transpose()
    }

    /// A page of versions in (name, version) order after `after`: only `$LATEST` of each
    /// function, or every version when `all_versions`. Returns the items and the cursor of the
    /// last one when more may follow.
    pub async fn list_versions(
        &self,
        scope: &Scope,
        after: Option<&ListCursor>,
        limit: u32,
        all_versions: bool,
    ) -> Result<(Vec<VersionRecord>, Option<ListCursor>), StoreError> {
        let (after_name, after_seq) = after.map_or(("", -1), |c| (c.name.as_str(), c.seq));
        let source = if all_versions {
            format!(
                "{LATEST_SELECT} WHERE account = ?1 AND region = ?2 UNION ALL \
                 {VERSIONS_SELECT} WHERE f.account = ?1 AND f.region = ?2"
            )
        } else {
            format!("{LATEST_SELECT} WHERE account = ?1 AND region = ?2")
        };
        let sql = format!(
            "SELECT * FROM ({source}) WHERE name > ?3 OR (name = ?3 AND seq > ?4) \
             ORDER BY name, seq {}",
            page_limit(limit)
        );
        let (scope, after_name) = (scope.clone(), after_name.to_owned());
        let rows = self
            .quick_large(limit > QUICK_PAGE, move |conn| {
                let mut statement = conn.prepare_cached(&sql)?;
                let mut rows =
                    statement.query((&scope.account, &scope.region, &after_name, after_seq))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(VersionRow::from_row(row)?);
                }
                Ok(out)
            })
            .await?;
        let more = rows.len() > limit as usize;
        let mut records = Vec::with_capacity(rows.len().min(limit as usize));
        let mut cursor = None;
        for row in rows.into_iter().take(limit as usize) {
            cursor = Some(ListCursor {
                name: row.name.clone(),
                seq: row.seq,
            });
            records.push(row.into_record(self.transition_window_ms())?);
        }
        Ok((records, if more { cursor } else { None }))
    }

    /// Updates `$LATEST` by what `decide` makes of its current state, in one transaction, after
    /// checking `expected_revision`. Publishes a version when asked, unless the newest published
    /// version already has the same code and configuration (AWS then returns that one).
    pub async fn update_latest<'a, E>(
        &self,
        scope: &Scope,
        name: &str,
        expected_revision: Option<&str>,
        decide: impl FnOnce(&FunctionRecord) -> Result<LatestUpdate<'a>, E>,
    ) -> Result<UpdateOutcome, E>
    where
        E: From<StoreError>,
    {
        let window = self.transition_window_ms();
        self.direct(|conn| {
            let tx = conn.transaction().map_err(StoreError::from)?;
            let (function_id, current) = crate::versions::function_in(&tx, scope, name, window)?;
            if expected_revision.is_some_and(|r| r != current.latest.revision_id) {
                return Err(StoreError::RevisionMismatch.into());
            }
            if let Some(transition) = current.latest.transition {
                return Err(StoreError::TransitionUnderWay(transition).into());
            }
            let update = decide(&current)?;
            let (code_sha, code_size, blob_sha) = match &update.code {
                Some((sha, size, upload)) => {
                    if let Some(upload) = upload {
                        put_blob(&tx, *upload, upload.unzipped_size)?;
                    }
                    (sha.clone(), *size, upload.map(|u| u.sha256_hex.to_owned()))
                }
                None => (
                    current.latest.code_sha256_hex.clone(),
                    current.latest.code_size,
                    current
                        .latest
                        .has_blob
                        .then(|| current.latest.code_sha256_hex.clone()),
                ),
            };
            tx.prepare_cached(
                "UPDATE functions SET revision_id = ?, code_sha256 = ?, code_size = ?, \
                 blob_sha256 = ?, config = ?, last_modified_ms = ? WHERE id = ?",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    update.revision_id,
                    code_sha,
                    i64::try_from(code_size).unwrap_or(i64::MAX),
                    blob_sha,
                    config_json(&update.config),
                    update.now_ms,
                    function_id,
                ])
            })
            .map_err(StoreError::from)?;
            if update.config.layers != current.latest.config.layers {
                pin_latest_layers(&tx, function_id, &update.config)?;
            }
            let latest = VersionRecord {
                function_name: name.to_owned(),
                version: LATEST.to_owned(),
                revision_id: update.revision_id.clone(),
                code_sha256_hex: code_sha,
                code_size,
                has_blob: blob_sha.is_some(),
                config: update.config,
                last_modified_ms: update.now_ms,
                transition: (window > 0).then_some(Transition::Updating),
            };
            let published = match &update.publish_revision_id {
                Some(rev) => Some(crate::versions::publish(
                    &tx,
                    function_id,
                    &latest,
                    rev,
                    None,
                )?),
                None => None,
            };
            tx.commit().map_err(StoreError::from)?;
            Ok(UpdateOutcome {
                previous: current.latest,
                latest,
                published,
            })
        })
        .await
    }

    /// Replaces a function's tags by what `decide` makes of the current ones, giving `$LATEST`
    /// the `RevisionId` `revision_id`.
    pub async fn update_tags<E>(
        &self,
        scope: &Scope,
        name: &str,
        revision_id: &str,
        decide: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, tags FROM functions WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let (id, tags) = row.ok_or(StoreError::NotFound)?;
        let mut tags = decode_tags(&tags)?;
        decide(&mut tags)?;
        // Tagging gives `$LATEST` a new RevisionId, as on AWS (its LastModified stays).
        sqlx::query("UPDATE functions SET tags = ?, revision_id = ? WHERE id = ?")
            .bind(serde_json::to_string(&tags).expect("tags serialize"))
            .bind(revision_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Deletes a function with all its versions; code no other version uses goes with it (the
    /// schema's triggers see to that within the same statement).
    pub async fn delete_function(&self, scope: &Scope, name: &str) -> Result<(), StoreError> {
        let deleted = self
            .direct(|conn| {
                let mut statement = conn.prepare_cached(
                    "DELETE FROM functions WHERE account = ? AND region = ? AND name = ?",
                )?;
                Ok::<_, StoreError>(statement.execute((&scope.account, &scope.region, name))?)
            })
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Every (account, region) that holds a function, in order: where to start when inspecting
    /// or exporting a data directory.
    pub async fn scopes(&self) -> Result<Vec<Scope>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT account, region FROM functions ORDER BY account, region",
        )
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account, region)| Scope { account, region })
            .collect())
    }

    /// What an account uses in a region.
    pub async fn account_usage(&self, scope: &Scope) -> Result<AccountUsage, StoreError> {
        let (count, reserved, latest_size, versions_size): (i64, i64, i64, i64) =
            self.quick(|conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT COUNT(*), COALESCE(SUM(reserved_concurrency), 0), \
                     COALESCE(SUM(code_size), 0), \
                     COALESCE((SELECT SUM(v.code_size) FROM function_versions v JOIN functions f \
                               ON f.id = v.function_id WHERE f.account = ?1 AND f.region = ?2), 0) \
                     FROM functions WHERE account = ?1 AND region = ?2",
                )?;
                Ok(statement.query_row((&scope.account, &scope.region), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?)
            })?;
        let u = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(AccountUsage {
            function_count: u(count),
            total_code_size: u(latest_size) + u(versions_size),
            reserved_concurrency: u(reserved),
        })
    }
}

/// A `functions` row: `$LATEST` plus the function-level columns.
#[derive(sqlx::FromRow)]
pub(crate) struct FunctionRow {
    id: i64,
    #[sqlx(flatten)]
    latest: VersionRow,
    tags: String,
    reserved_concurrency: Option<i64>,
}

impl FunctionRow {
    /// A row of a `quick` read of [`FUNCTION_SELECT`].
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.get("id")?,
            latest: VersionRow::from_row(row)?,
            tags: row.get("tags")?,
            reserved_concurrency: row.get("reserved_concurrency")?,
        })
    }

    pub(crate) fn into_record(self, window_ms: i64) -> Result<(i64, FunctionRecord), StoreError> {
        Ok((
            self.id,
            FunctionRecord {
                latest: self.latest.into_record(window_ms)?,
                tags: decode_tags(&self.tags)?,
                reserved_concurrency: self
                    .reserved_concurrency
                    .and_then(|r| u32::try_from(r).ok()),
            },
        ))
    }
}

fn decode_tags(json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))
}
