//! Layers: their versions (content in code blobs, never a reused number) and each version's
//! policy, in AWS's policy language.

use lambox_core::policy::Statement;
use sqlx::{Connection, Sqlite, Transaction};

use crate::functions::page_limit;
use crate::records::{CodeUpload, Scope};
use crate::{Store, StoreError};

/// One layer version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersionRecord {
    /// The layer's name.
    pub name: String,
    /// Its number.
    pub version: i64,
    /// `Description`.
    pub description: String,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
    /// `CompatibleRuntimes`; `None` when the publisher gave none (AWS then leaves the key
    /// out, where an empty list it shows).
    pub compatible_runtimes: Option<Vec<String>>,
    /// `CompatibleArchitectures`; `None` when not given.
    pub compatible_architectures: Option<Vec<String>>,
    /// Lowercase hex SHA-256 of the zip.
    pub code_sha256_hex: String,
    /// Size of the zip.
    pub code_size: u64,
    /// Sum of the sizes of its files.
    pub unzipped_size: u64,
    /// Epoch milliseconds of its publication.
    pub created_ms: i64,
}

/// Everything PublishLayerVersion writes.
#[derive(Debug, Clone)]
pub struct NewLayerVersion<'a> {
    /// The caller's account and region (a layer is always published in them).
    pub scope: &'a Scope,
    /// The layer's name.
    pub name: &'a str,
    /// `Description`.
    pub description: &'a str,
    /// `LicenseInfo`.
    pub license_info: Option<&'a str>,
    /// `CompatibleRuntimes`, if given.
    pub compatible_runtimes: Option<&'a [String]>,
    /// `CompatibleArchitectures`, if given.
    pub compatible_architectures: Option<&'a [String]>,
    /// The zip.
    pub blob: CodeUpload<'a>,
    /// Sum of the sizes of its files.
    pub unzipped_size: u64,
    /// Now, in epoch milliseconds.
    pub now_ms: i64,
}

/// A layer version's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPolicyRecord {
    /// Its statements, in the order they were added.
    pub statements: Vec<Statement>,
    /// Changes with every change of the policy.
    pub revision_id: String,
}

/// The filters of ListLayers and ListLayerVersions.
#[derive(Debug, Clone, Copy, Default)]
pub struct LayerFilter<'a> {
    /// Only versions compatible with this runtime.
    pub runtime: Option<&'a str>,
    /// Only versions compatible with this architecture.
    pub architecture: Option<&'a str>,
}

const VERSION_COLUMNS: &str = "l.name, v.version, v.description, v.license_info, \
     v.compatible_runtimes, v.compatible_architectures, v.code_sha256, v.code_size, \
     v.unzipped_size, v.created_ms";

/// The filter conditions on `v` (binds `?r` and `?a`, NULL for no filter).
const FILTERED: &str = "(?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(v.compatible_runtimes) \
     WHERE value = ?3)) AND (?4 IS NULL OR EXISTS (SELECT 1 FROM \
     json_each(v.compatible_architectures) WHERE value = ?4))";

#[derive(sqlx::FromRow)]
struct VersionRow {
    name: String,
    version: i64,
    description: String,
    license_info: Option<String>,
    compatible_runtimes: Option<String>,
    compatible_architectures: Option<String>,
    code_sha256: String,
    code_size: i64,
    unzipped_size: i64,
    created_ms: i64,
}

impl VersionRow {
    fn into_record(self) -> Result<LayerVersionRecord, StoreError> {
        let list = |json: Option<String>| -> Result<Option<Vec<String>>, StoreError> {
            json.map(|j| {
                serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("layer: {e}")))
            })
            .transpose()
        };
        Ok(LayerVersionRecord {
            compatible_runtimes: list(self.compatible_runtimes)?,
            compatible_architectures: list(self.compatible_architectures)?,
            name: self.name,
            version: self.version,
            description: self.description,
            license_info: self.license_info,
            code_sha256_hex: self.code_sha256,
            code_size: u64::try_from(self.code_size).unwrap_or(0),
            unzipped_size: u64::try_from(self.unzipped_size).unwrap_or(0),
            created_ms: self.created_ms,
        })
    }
}

fn decode_policy(json: &str) -> Result<Vec<Statement>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("layer policy: {e}")))
}

impl Store {
    /// Publishes the next version of a layer (creating the layer on its first version), storing
    /// its zip unless that content is stored already.
    pub async fn publish_layer_version(
        &self,
        new: NewLayerVersion<'_>,
    ) -> Result<LayerVersionRecord, StoreError> {
        let json = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
        let version = self
            .direct(|conn| {
                let tx = conn.transaction()?;
                crate::blobs::put_blob(&tx, new.blob, Some(new.unzipped_size))?;
                let (layer_id, version): (i64, i64) = tx
                    .prepare_cached(
                        "INSERT INTO layers (account, region, name, next_version) \
                         VALUES (?, ?, ?, 2) ON CONFLICT (account, region, name) \
                         DO UPDATE SET next_version = next_version + 1 \
                         RETURNING id, next_version - 1",
                    )?
                    .query_row((&new.scope.account, &new.scope.region, new.name), |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                tx.prepare_cached(
                    "INSERT INTO layer_versions (layer_id, version, description, license_info, \
                     compatible_runtimes, compatible_architectures, code_sha256, code_size, \
                     unzipped_size, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )?
                .execute(rusqlite::params![
                    layer_id,
                    version,
                    new.description,
                    new.license_info,
                    new.compatible_runtimes.map(json),
                    new.compatible_architectures.map(json),
                    new.blob.sha256_hex,
                    i64::try_from(new.blob.bytes.len()).unwrap_or(i64::MAX),
                    i64::try_from(new.unzipped_size).unwrap_or(i64::MAX),
                    new.now_ms,
                ])?;
                tx.commit()?;
                Ok::<_, StoreError>(version)
            })
            .await?;
        Ok(LayerVersionRecord {
            name: new.name.to_owned(),
            version,
            description: new.description.to_owned(),
            license_info: new.license_info.map(str::to_owned),
            compatible_runtimes: new.compatible_runtimes.map(<[String]>::to_vec),
            compatible_architectures: new.compatible_architectures.map(<[String]>::to_vec),
            code_sha256_hex: new.blob.sha256_hex.to_owned(),
            code_size: new.blob.bytes.len() as u64,
            unzipped_size: new.unzipped_size,
            created_ms: new.now_ms,
        })
    }

    /// One version of a layer of `scope` (the layer owner's account and region) with its
    /// policy's statements (none when it has no policy).
    pub async fn layer_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<Option<(LayerVersionRecord, Vec<Statement>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            version: VersionRow,
            policy: Option<String>,
        }
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS}, v.policy FROM layer_versions v JOIN layers l \
             ON l.id = v.layer_id WHERE l.account = ? AND l.region = ? AND l.name = ? \
             AND v.version = ?"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(version)
        .fetch_optional(&mut *self.read().await)
        .await?;
        row.map(|r| {
            let statements = r.policy.as_deref().map(decode_policy).transpose()?;
            Ok((r.version.into_record()?, statements.unwrap_or_default()))
        })
        .transpose()
    }

    /// A page of a layer's versions, newest first, below `before` (a version number).
    pub async fn list_layer_versions(
        &self,
        scope: &Scope,
        name: &str,
        filter: LayerFilter<'_>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<LayerVersionRecord>, bool), StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM layer_versions v JOIN layers l ON l.id = v.layer_id \
             WHERE l.account = ?1 AND l.region = ?2 AND l.name = ?5 AND v.version < ?6 \
             AND {FILTERED} ORDER BY v.version DESC {}",
            page_limit(limit)
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(filter.runtime)
        .bind(filter.architecture)
        .bind(name)
        .bind(before.unwrap_or(i64::MAX))
        .fetch_all(&mut *self.read().await)
        .await?;
        page(rows, limit)
    }

    /// A page of layers in name order after `after`, each with its newest version that passes
    /// the filter (layers with none are left out).
    pub async fn list_layers(
        &self,
        scope: &Scope,
        filter: LayerFilter<'_>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<LayerVersionRecord>, bool), StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM layers l JOIN layer_versions v ON v.layer_id = l.id \
             WHERE l.account = ?1 AND l.region = ?2 AND l.name > ?5 AND v.version = \
             (SELECT MAX(v.version) FROM layer_versions v WHERE v.layer_id = l.id AND {FILTERED}) \
             ORDER BY l.name {}",
            page_limit(limit)
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(filter.runtime)
        .bind(filter.architecture)
        .bind(after.unwrap_or(""))
        .fetch_all(&mut *self.read().await)
        .await?;
        page(rows, limit)
    }

    /// Deletes one version of a layer; its content stays for the functions that use it. Not
    /// there is not an error (AWS answers 204 too).
    pub async fn delete_layer_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM layer_versions WHERE version = ? AND layer_id = \
             (SELECT id FROM layers WHERE account = ? AND region = ? AND name = ?)",
        )
        .bind(version)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// The policy of a layer version: `NotFound` when the version does not exist, `None` when
    /// it has no policy.
    pub async fn layer_policy(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<Option<LayerPolicyRecord>, StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let row = policy_row(&mut tx, scope, name, version).await?;
        let (policy, revision) = row.ok_or(StoreError::NotFound)?;
        match (policy, revision) {
            (Some(p), Some(revision_id)) => Ok(Some(LayerPolicyRecord {
                statements: decode_policy(&p)?,
                revision_id,
            })),
            _ => Ok(None),
        }
    }

    /// Changes a layer version's policy by what `decide` makes of its statements (`None` when
    /// it has no policy), after checking `expected_revision`, in one transaction; a policy left
    /// without statements goes. `NotFound` when the version does not exist.
    pub async fn update_layer_policy<E>(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
        expected_revision: Option<&str>,
        new_revision: &str,
        decide: impl FnOnce(Option<&mut Vec<Statement>>) -> Result<Vec<Statement>, E>,
    ) -> Result<Option<LayerPolicyRecord>, E>
    where
        E: From<StoreError>,
    {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        let row = policy_row(&mut tx, scope, name, version).await?;
        let (policy, revision) = row.ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected_revision
            && revision.as_deref() != Some(expected)
        {
            return Err(StoreError::RevisionMismatch.into());
        }
        let mut current = policy.as_deref().map(decode_policy).transpose()?;
        let statements = decide(current.as_mut())?;
        let (json, revision) = if statements.is_empty() {
            (None, None)
        } else {
            (
                Some(serde_json::to_string(&statements).expect("statements serialize")),
                Some(new_revision),
            )
        };
        sqlx::query(
            "UPDATE layer_versions SET policy = ?, policy_revision_id = ? WHERE version = ? \
             AND layer_id = (SELECT id FROM layers WHERE account = ? AND region = ? AND name = ?)",
        )
        .bind(json)
        .bind(revision)
        .bind(version)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((!statements.is_empty()).then(|| LayerPolicyRecord {
            statements,
            revision_id: new_revision.to_owned(),
        }))
    }

    /// How many layer versions are stored (for tests and diagnostics).
    pub async fn layer_version_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM layer_versions")
            .fetch_one(&mut *self.read().await)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// (policy JSON, revision id) of a layer version; `None` when the version does not exist.
async fn policy_row(
    tx: &mut Transaction<'_, Sqlite>,
    scope: &Scope,
    name: &str,
    version: i64,
) -> Result<Option<(Option<String>, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT v.policy, v.policy_revision_id FROM layer_versions v JOIN layers l \
         ON l.id = v.layer_id WHERE l.account = ? AND l.region = ? AND l.name = ? \
         AND v.version = ?",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(name)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?)
}

fn page(rows: Vec<VersionRow>, limit: u32) -> Result<(Vec<LayerVersionRecord>, bool), StoreError> {
    let more = rows.len() > limit as usize;
    let records = rows
        .into_iter()
        .take(limit as usize)
        .map(VersionRow::into_record)
        .collect::<Result<_, _>>()?;
    Ok((records, more))
}
