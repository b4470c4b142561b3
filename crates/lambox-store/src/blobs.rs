//! Code blobs: the zips of functions and layers, content-addressed by SHA-256 and shared by
//! everything that uses the same bytes, and the pins of layer contents a function version
//! holds. A blob goes when its last reference does (`migrations/0007_layers.sql`).

use lambox_core::function::FunctionConfig;

use crate::records::CodeUpload;
use crate::{Store, StoreError};

impl Store {
    /// The stored zip with this lowercase hex SHA-256.
    pub async fn code_blob(&self, sha256_hex: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT data FROM code_blobs WHERE sha256 = ?")
                .bind(sha256_hex)
                .fetch_optional(&mut *self.read().await)
                .await?,
        )
    }

    /// The unzipped size of a stored zip: `None` when no such blob is stored, `Some(None)` when
    /// it was stored before lambox recorded the size.
    pub async fn code_unzipped_size(
        &self,
        sha256_hex: &str,
    ) -> Result<Option<Option<u64>>, StoreError> {
        let row: Option<Option<i64>> =
            sqlx::query_scalar("SELECT unzipped_size FROM code_blobs WHERE sha256 = ?")
                .bind(sha256_hex)
                .fetch_optional(&mut *self.read().await)
                .await?;
        Ok(row.map(|n| n.and_then(|n| u64::try_from(n).ok())))
    }

    /// The digests of every stored code blob.
    pub async fn code_blob_digests(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let digests: Vec<String> = sqlx::query_scalar("SELECT sha256 FROM code_blobs")
            .fetch_all(&mut *self.read().await)
            .await?;
        Ok(digests.into_iter().collect())
    }

    /// How many code blobs are stored (for tests and diagnostics).
    pub async fn code_blob_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_blobs")
            .fetch_one(&mut *self.read().await)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Packages larger than this are looked up before they are stored: inserting one that is
/// there already would hand SQLite up to 50 MB for nothing, while a small one's conflict costs
/// less than the lookup.
pub(crate) const LOOK_UP_ABOVE_BYTES: usize = 64 * 1024;

/// Whether a code blob with this lowercase hex SHA-256 is stored.
pub(crate) fn blob_exists(
    conn: &rusqlite::Connection,
    sha256_hex: &str,
) -> Result<bool, StoreError> {
    let mut statement = conn.prepare_cached("SELECT 1 FROM code_blobs WHERE sha256 = ?")?;
    Ok(statement.exists([sha256_hex])?)
}

/// Stores a blob unless it is there already (recording its unzipped size where that was not
/// known).
pub(crate) fn put_blob(
    tx: &rusqlite::Transaction<'_>,
    blob: CodeUpload<'_>,
    unzipped_size: Option<u64>,
) -> Result<(), StoreError> {
    let unzipped = unzipped_size.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    if blob.bytes.len() > LOOK_UP_ABOVE_BYTES && blob_exists(tx, blob.sha256_hex)? {
        tx.prepare_cached(
            "UPDATE code_blobs SET unzipped_size = ? WHERE sha256 = ? AND unzipped_size IS NULL",
        )?
        .execute((unzipped, blob.sha256_hex))?;
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO code_blobs (sha256, size, data, unzipped_size) VALUES (?, ?, ?, ?) \
         ON CONFLICT (sha256) DO UPDATE SET unzipped_size = \
         COALESCE(code_blobs.unzipped_size, excluded.unzipped_size)",
    )?
    .execute((
        blob.sha256_hex,
        i64::try_from(blob.bytes.len()).unwrap_or(i64::MAX),
        blob.bytes,
        unzipped,
    ))?;
    Ok(())
}

/// The digests of a configuration's layers, in order, as a JSON array.
pub(crate) fn layer_blobs(config: &FunctionConfig) -> String {
    let digests: Vec<&str> = config
        .layers
        .iter()
        .map(|l| l.sha256_hex.as_str())
        .collect();
    serde_json::to_string(&digests).expect("strings serialize")
}

/// Pins the layer contents of `$LATEST` to `config`'s. The new pins are written (at negative
/// positions) before the old ones go, so a content that stays is never let go in between; then
/// they take their places.
pub(crate) fn pin_latest_layers(
    tx: &rusqlite::Transaction<'_>,
    function_id: i64,
    config: &FunctionConfig,
) -> Result<(), StoreError> {
    let mut pin = tx.prepare_cached(
        "INSERT INTO function_layers (function_id, version, position, blob_sha256) \
         VALUES (?, 0, ?, ?)",
    )?;
    for (position, layer) in config.layers.iter().enumerate() {
        let position = -1 - i64::try_from(position).unwrap_or(i64::MAX - 1);
        match pin.execute((function_id, position, &layer.sha256_hex)) {
            Ok(_) => {}
            Err(e) if crate::quick::is_foreign_key_violation(&e) => {
                return Err(StoreError::LayerContentGone);
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.prepare_cached(
        "DELETE FROM function_layers WHERE function_id = ? AND version = 0 AND position >= 0",
    )?
    .execute([function_id])?;
    tx.prepare_cached(
        "UPDATE function_layers SET position = -1 - position \
         WHERE function_id = ? AND version = 0 AND position < 0",
    )?
    .execute([function_id])?;
    Ok(())
}
