//! Settings of a function (or of one of its qualifiers) that lambox stores and answers with but
//! does not act on: code signing, runtime management, recursion detection.

use sqlx::Connection;

use crate::aliases::function_id;
use crate::records::Scope;
use crate::{Store, StoreError};

/// Which setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingKind {
    /// The code signing config attached to the function.
    CodeSigning,
    /// When the runtime is updated (per qualifier).
    RuntimeManagement,
    /// Whether recursive loops are stopped.
    Recursion,
}

impl SettingKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::CodeSigning => "code-signing",
            Self::RuntimeManagement => "runtime-management",
            Self::Recursion => "recursion",
        }
    }
}

impl Store {
    /// A stored setting (JSON as it was put); `None` when it was never set. `NotFound` when the
    /// function does not exist. `qualifier` is `""` for the function itself.
    pub async fn function_setting(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        kind: SettingKind,
    ) -> Result<Option<String>, StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        Ok(sqlx::query_scalar(
            "SELECT value FROM function_settings WHERE function_id = ? AND qualifier = ? \
             AND kind = ?",
        )
        .bind(id)
        .bind(qualifier)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// Stores a setting (`None` removes it); returns whether one was set before. `NotFound` when
    /// the function does not exist.
    pub async fn put_function_setting(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        kind: SettingKind,
        value: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let existed = sqlx::query(
            "DELETE FROM function_settings WHERE function_id = ? AND qualifier = ? AND kind = ?",
        )
        .bind(id)
        .bind(qualifier)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if let Some(value) = value {
            sqlx::query(
                "INSERT INTO function_settings (function_id, qualifier, kind, value) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(qualifier)
            .bind(kind.as_str())
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(existed)
    }
}
