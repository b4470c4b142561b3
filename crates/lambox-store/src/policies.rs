//! Resource-based policies: the statements of a function's (or a version's, or an alias's)
//! policy, stored in AWS's policy language.

use lambox_core::policy::Statement;
use sqlx::{Connection, Sqlite, Transaction};

use crate::aliases::function_id;
use crate::functions::version_seq;
use crate::records::Scope;
use crate::{Store, StoreError};

/// One policy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Its statements, in the order they were added.
    pub statements: Vec<Statement>,
    /// Changes with every change of the policy.
    pub revision_id: String,
}

fn decode(statements: &str) -> Result<Vec<Statement>, StoreError> {
    serde_json::from_str(statements).map_err(|e| StoreError::Corrupt(format!("policy: {e}")))
}

/// `VersionNotFound`/`AliasNotFound` unless `qualifier` (not `""`) exists for the function.
async fn check_qualifier(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    qualifier: &str,
) -> Result<(), StoreError> {
    if qualifier.is_empty() {
        return Ok(());
    }
    let found: Option<i64> = match version_seq(qualifier) {
        Some(seq) => {
            sqlx::query_scalar(
                "SELECT 1 FROM function_versions WHERE function_id = ? AND version = ?",
            )
            .bind(function_id)
            .bind(seq)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => {
            sqlx::query_scalar("SELECT 1 FROM function_aliases WHERE function_id = ? AND name = ?")
                .bind(function_id)
                .bind(qualifier)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    match (found, version_seq(qualifier)) {
        (Some(_), _) => Ok(()),
        (None, Some(_)) => Err(StoreError::VersionNotFound(qualifier.to_owned())),
        (None, None) => Err(StoreError::AliasNotFound),
    }
}

/// The stored (statements JSON, revision id) of a qualifier's policy.
async fn policy_row(
    tx: &mut Transaction<'_, Sqlite>,
    function_id: i64,
    qualifier: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT statements, revision_id FROM function_policies \
         WHERE function_id = ? AND qualifier = ?",
    )
    .bind(function_id)
    .bind(qualifier)
    .fetch_optional(&mut **tx)
    .await?)
}

impl Store {
    /// The policy of a function's qualifier (`""` for the function itself); `None` when it has
    /// none. `NotFound` when the function does not exist.
    pub async fn policy(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<PolicyRecord>, StoreError> {
        let mut reader = self.read().await;
        let mut tx = reader.begin().await?;
        let id = function_id(&mut tx, scope, name).await?;
        let row = policy_row(&mut tx, id, qualifier).await?;
        row.map(|(s, revision_id)| {
            Ok(PolicyRecord {
                statements: decode(&s)?,
                revision_id,
            })
        })
        .transpose()
    }

    /// Changes the policy of a function's qualifier by what `decide` makes of its statements
    /// (none when it has no policy), in one transaction, after checking that the qualifier
    /// exists and `expected_revision`; a policy left without statements is deleted. Returns the
    /// new record (`None` when deleted). `None` is given to `decide` when there is no policy.
    pub async fn update_policy<E>(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        expected_revision: Option<&str>,
        new_revision: &str,
        decide: impl FnOnce(Option<&mut Vec<Statement>>) -> Result<Vec<Statement>, E>,
    ) -> Result<Option<PolicyRecord>, E>
    where
        E: From<StoreError>,
    {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        let id = function_id(&mut tx, scope, name).await?;
        check_qualifier(&mut tx, id, qualifier).await?;
        let row = policy_row(&mut tx, id, qualifier).await?;
        let mut current = match &row {
            Some((s, revision)) => {
                if expected_revision.is_some_and(|r| r != revision) {
                    return Err(StoreError::RevisionMismatch.into());
                }
                Some(decode(s)?)
            }
            None => None,
        };
        let statements = decide(current.as_mut())?;
        let record = if statements.is_empty() {
            sqlx::query("DELETE FROM function_policies WHERE function_id = ? AND qualifier = ?")
                .bind(id)
                .bind(qualifier)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            None
        } else {
            sqlx::query(
                "INSERT INTO function_policies (function_id, qualifier, statements, revision_id) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (function_id, qualifier) DO UPDATE SET \
                 statements = excluded.statements, revision_id = excluded.revision_id",
            )
            .bind(id)
            .bind(qualifier)
            .bind(serde_json::to_string(&statements).expect("statements serialize"))
            .bind(new_revision)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            Some(PolicyRecord {
                statements,
                revision_id: new_revision.to_owned(),
            })
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(record)
    }
}
