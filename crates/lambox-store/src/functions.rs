//! Functions, their versions, tags and code blobs.

use std::collections::BTreeMap;

use lambox_core::arn::LATEST;
use lambox_core::function::FunctionConfig;
use sqlx::{Sqlite, Transaction};

use crate::records::{
    AccountUsage, CodeUpload, FunctionRecord, ListCursor, NewFunction, Scope, VersionRecord,
};
use crate::{Store, StoreError};

const VERSION_COLUMNS: &str = "f.name, v.seq, v.revision_id, v.code_sha256, v.code_size, \
     v.blob_sha256, v.config, v.last_modified_ms";

#[derive(sqlx::FromRow)]
struct VersionRow {
    name: String,
    seq: i64,
    revision_id: String,
    code_sha256: String,
    code_size: i64,
    blob_sha256: Option<String>,
    config: String,
    last_modified_ms: i64,
}

impl VersionRow {
    fn into_record(self) -> Result<VersionRecord, StoreError> {
        let config: FunctionConfig = serde_json::from_str(&self.config)
            .map_err(|e| StoreError::Corrupt(format!("config of {}: {e}", self.name)))?;
        Ok(VersionRecord {
            version: version_name(self.seq),
            function_name: self.name,
            revision_id: self.revision_id,
            code_sha256_hex: self.code_sha256,
            code_size: u64::try_from(self.code_size).unwrap_or(0),
            has_blob: self.blob_sha256.is_some(),
            config,
            last_modified_ms: self.last_modified_ms,
        })
    }
}

/// `$LATEST` for sequence 0, the number otherwise.
fn version_name(seq: i64) -> String {
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

fn config_json(config: &FunctionConfig) -> String {
    serde_json::to_string(config).expect("config serializes")
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
    /// `$LATEST` after the update.
    pub latest: VersionRecord,
    /// The version published, when asked to publish.
    pub published: Option<VersionRecord>,
}

impl Store {
    /// Creates a function (and version 1 when publishing). Fails with `FunctionExists` when the
    /// name is taken in the scope; exactly one of several concurrent creators wins.
    pub async fn create_function(&self, f: NewFunction<'_>) -> Result<VersionRecord, StoreError> {
        let mut tx = self.writer.begin().await?;
        let tags = serde_json::to_string(f.tags).expect("tags serialize");
        let inserted = sqlx::query(
            "INSERT INTO functions (account, region, name, tags, created_ms, next_version) \
             VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (account, region, name) DO NOTHING",
        )
        .bind(&f.scope.account)
        .bind(&f.scope.region)
        .bind(f.name)
        .bind(&tags)
        .bind(f.now_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::FunctionExists);
        }
        let function_id = inserted.last_insert_rowid();
        if let Some(blob) = f.blob {
            put_blob(&mut tx, blob).await?;
        }
        let blob_sha = f.blob.map(|b| b.sha256_hex);
        let config = config_json(f.config);
        let mut seqs = vec![(0_i64, f.revision_id)];
        if f.publish {
            seqs.push((1, f.published_revision_id));
            sqlx::query("UPDATE functions SET next_version = 2 WHERE id = ?")
                .bind(function_id)
                .execute(&mut *tx)
                .await?;
        }
        for (seq, revision_id) in &seqs {
            sqlx::query(
                "INSERT INTO function_versions (function_id, seq, revision_id, code_sha256, \
                 code_size, blob_sha256, config, last_modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(function_id)
            .bind(seq)
            .bind(*revision_id)
            .bind(f.code_sha256_hex)
            .bind(i64::try_from(f.code_size).unwrap_or(i64::MAX))
            .bind(blob_sha)
            .bind(&config)
            .bind(f.now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let (seq, revision_id) = *seqs.last().expect("at least $LATEST");
        Ok(VersionRecord {
            function_name: f.name.to_owned(),
            version: version_name(seq),
            revision_id: revision_id.to_owned(),
            code_sha256_hex: f.code_sha256_hex.to_owned(),
            code_size: f.code_size,
            has_blob: blob_sha.is_some(),
            config: f.config.clone(),
            last_modified_ms: f.now_ms,
        })
    }

    /// A function with its `$LATEST` version.
    pub async fn get_function(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT tags, reserved_concurrency FROM functions \
             WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        let Some((tags, reserved)) = row else {
            return Ok(None);
        };
        let Some(latest) = self.get_version(scope, name, LATEST).await? else {
            return Ok(None);
        };
        Ok(Some(FunctionRecord {
            latest,
            tags: decode_tags(&tags)?,
            reserved_concurrency: reserved.and_then(|r| u32::try_from(r).ok()),
        }))
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
        let row: Option<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM functions f JOIN function_versions v ON v.function_id = f.id \
             WHERE f.account = ? AND f.region = ? AND f.name = ? AND v.seq = ?"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(seq)
        .fetch_optional(&self.reader)
        .await?;
        row.map(VersionRow::into_record).transpose()
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
        let rows: Vec<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM functions f JOIN function_versions v ON v.function_id = f.id \
             WHERE f.account = ? AND f.region = ? AND (f.name > ? OR (f.name = ? AND v.seq > ?)) \
             AND (? OR v.seq = 0) ORDER BY f.name, v.seq LIMIT ?"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after_name)
        .bind(after_name)
        .bind(after_seq)
        .bind(all_versions)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.reader)
        .await?;
        let more = rows.len() > limit as usize;
        let mut records = Vec::with_capacity(rows.len().min(limit as usize));
        let mut cursor = None;
        for row in rows.into_iter().take(limit as usize) {
            cursor = Some(ListCursor {
                name: row.name.clone(),
                seq: row.seq,
            });
            records.push(row.into_record()?);
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
        let mut tx = self.writer.begin().await.map_err(StoreError::from)?;
        let (function_id, current) = load_function(&mut tx, scope, name).await?;
        if expected_revision.is_some_and(|r| r != current.latest.revision_id) {
            return Err(StoreError::RevisionMismatch.into());
        }
        let update = decide(&current)?;
        let old_blob = current
            .latest
            .has_blob
            .then(|| current.latest.code_sha256_hex.clone());
        let (code_sha, code_size, blob_sha) = match &update.code {
            Some((sha, size, upload)) => {
                if let Some(upload) = upload {
                    put_blob(&mut tx, *upload).await?;
                }
                (sha.clone(), *size, upload.map(|u| u.sha256_hex.to_owned()))
            }
            None => (
                current.latest.code_sha256_hex.clone(),
                current.latest.code_size,
                old_blob.clone(),
            ),
        };
        let config = config_json(&update.config);
        sqlx::query(
            "UPDATE function_versions SET revision_id = ?, code_sha256 = ?, code_size = ?, \
             blob_sha256 = ?, config = ?, last_modified_ms = ? WHERE function_id = ? AND seq = 0",
        )
        .bind(&update.revision_id)
        .bind(&code_sha)
        .bind(i64::try_from(code_size).unwrap_or(i64::MAX))
        .bind(&blob_sha)
        .bind(&config)
        .bind(update.now_ms)
        .bind(function_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if let Some(old) = old_blob.filter(|o| Some(o) != blob_sha.as_ref()) {
            collect_blob(&mut tx, &old).await?;
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
        };
        let published = match &update.publish_revision_id {
            Some(rev) => Some(publish(&mut tx, function_id, &latest, &config, rev).await?),
            None => None,
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(UpdateOutcome { latest, published })
    }

    /// Replaces a function's tags by what `decide` makes of the current ones.
    pub async fn update_tags<E>(
        &self,
        scope: &Scope,
        name: &str,
        decide: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let mut tx = self.writer.begin().await.map_err(StoreError::from)?;
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
        sqlx::query("UPDATE functions SET tags = ? WHERE id = ?")
            .bind(serde_json::to_string(&tags).expect("tags serialize"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Deletes a function with all its versions; code no other version uses goes with it.
    pub async fn delete_function(&self, scope: &Scope, name: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM functions WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        let blobs: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT blob_sha256 FROM function_versions \
             WHERE function_id = ? AND blob_sha256 IS NOT NULL",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM functions WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for blob in &blobs {
            collect_blob(&mut tx, blob).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one published version; its code goes when nothing else uses it.
    pub async fn delete_version(
        &self,
        scope: &Scope,
        name: &str,
        seq: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let blob: Option<(Option<String>,)> = sqlx::query_as(
            "DELETE FROM function_versions WHERE seq = ? AND function_id = \
             (SELECT id FROM functions WHERE account = ? AND region = ? AND name = ?) \
             RETURNING blob_sha256",
        )
        .bind(seq)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let (blob,) = blob.ok_or(StoreError::NotFound)?;
        if let Some(blob) = blob {
            collect_blob(&mut tx, &blob).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored zip with this lowercase hex SHA-256.
    pub async fn code_blob(&self, sha256_hex: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT data FROM code_blobs WHERE sha256 = ?")
                .bind(sha256_hex)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    /// How many code blobs are stored (for tests and diagnostics).
    pub async fn code_blob_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_blobs")
            .fetch_one(&self.reader)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// What an account uses in a region.
    pub async fn account_usage(&self, scope: &Scope) -> Result<AccountUsage, StoreError> {
        let (count, reserved): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(reserved_concurrency), 0) FROM functions \
             WHERE account = ? AND region = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_one(&self.reader)
        .await?;
        let size: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(v.code_size), 0) FROM functions f \
             JOIN function_versions v ON v.function_id = f.id WHERE f.account = ? AND f.region = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_one(&self.reader)
        .await?;
        let u = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(AccountUsage {
            function_count: u(count),
            total_code_size: u(size),
            reserved_concurrency: u(reserved),
        })
    }
}

async fn load_function(
    tx: &mut Transaction<'_, Sqlite>,
    scope: &Scope,
    name: &str,
) -> Result<(i64, FunctionRecord), StoreError> {
    let row: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, tags, reserved_concurrency FROM functions \
         WHERE account = ? AND region = ? AND name = ?",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    let (id, tags, reserved) = row.ok_or(StoreError::NotFound)?;
    let latest: VersionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} FROM functions f JOIN function_versions v ON v.function_id = f.id \
         WHERE f.id = ? AND v.seq = 0"
    )))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((
        id,
        FunctionRecord {
            latest: latest.into_record()?,
            tags: decode_tags(&tags)?,
            reserved_concurrency: reserved.and_then(|r| u32::try_from(r).ok()),
        },
    ))
}

async fn publish(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    latest: &VersionRecord,
    config: &str,
    revision_id: &str,
) -> Result<VersionRecord, StoreError> {
    let newest: Option<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} FROM functions f JOIN function_versions v ON v.function_id = f.id \
         WHERE f.id = ? AND v.seq > 0 ORDER BY v.seq DESC LIMIT 1"
    )))
    .bind(function_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(newest) = newest
        && newest.code_sha256 == latest.code_sha256_hex
        && newest.config == config
    {
        return newest.into_record();
    }
    let seq: i64 = sqlx::query_scalar(
        "UPDATE functions SET next_version = next_version + 1 WHERE id = ? \
         RETURNING next_version - 1",
    )
    .bind(function_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO function_versions (function_id, seq, revision_id, code_sha256, code_size, \
         blob_sha256, config, last_modified_ms) \
         SELECT function_id, ?, ?, code_sha256, code_size, blob_sha256, config, last_modified_ms \
         FROM function_versions WHERE function_id = ? AND seq = 0",
    )
    .bind(seq)
    .bind(revision_id)
    .bind(function_id)
    .execute(&mut **tx)
    .await?;
    Ok(VersionRecord {
        version: version_name(seq),
        revision_id: revision_id.to_owned(),
        ..latest.clone()
    })
}

async fn put_blob(
    tx: &mut Transaction<'_, Sqlite>,
    blob: CodeUpload<'_>,
) -> Result<(), StoreError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM code_blobs WHERE sha256 = ?")
        .bind(blob.sha256_hex)
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_none() {
        sqlx::query("INSERT INTO code_blobs (sha256, size, data) VALUES (?, ?, ?)")
            .bind(blob.sha256_hex)
            .bind(i64::try_from(blob.bytes.len()).unwrap_or(i64::MAX))
            .bind(blob.bytes)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Deletes a blob when no version references it any more.
async fn collect_blob(
    tx: &mut Transaction<'_, Sqlite>,
    sha256_hex: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM code_blobs WHERE sha256 = ? AND NOT EXISTS \
         (SELECT 1 FROM function_versions WHERE blob_sha256 = ?)",
    )
    .bind(sha256_hex)
    .bind(sha256_hex)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn decode_tags(json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))
}
