//! Resource-based policies: the statements of a function's (or a version's, or an alias's)
//! policy, stored in AWS's policy language.

use crate::functions::version_seq;
use crate::quick;
use crate::records::Scope;
use crate::{Store, StoreError};
use lambox_core::policy::Statement;

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
fn check_qualifier(
    tx: &rusqlite::Transaction<'_>,
    function_id: i64,
    qualifier: &str,
) -> Result<(), StoreError> {
    if qualifier.is_empty() {
        return Ok(());
    }
    let found = match version_seq(qualifier) {
        Some(seq) => tx
            .prepare_cached(
                "SELECT 1 FROM function_versions WHERE function_id = ? AND version = ?",
            )?
            .exists((function_id, seq))?,
        None => tx
            .prepare_cached("SELECT 1 FROM function_aliases WHERE function_id = ? AND name = ?")?
            .exists((function_id, qualifier))?,
    };
    match (found, version_seq(qualifier)) {
        (true, _) => Ok(()),
        (false, Some(_)) => Err(StoreError::VersionNotFound(qualifier.to_owned())),
        (false, None) => Err(StoreError::AliasNotFound),
    }
}

fn policy_row(
    tx: &rusqlite::Transaction<'_>,
    function_id: i64,
    qualifier: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT statements, revision_id FROM function_policies \
         WHERE function_id = ? AND qualifier = ?",
    )?;
    let mut rows = statement.query((function_id, qualifier))?;
    Ok(match rows.next()? {
        Some(row) => Some((row.get(0)?, row.get(1)?)),
        None => None,
    })
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
        // One statement, one snapshot: the function and its policy.
        let row: Option<(String, String)> = self.quick(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT p.statements, p.revision_id FROM functions f LEFT JOIN function_policies p \
                 ON p.function_id = f.id AND p.qualifier = ?4 \
                 WHERE f.account = ?1 AND f.region = ?2 AND f.name = ?3",
            )?;
            let mut rows = statement.query((&scope.account, &scope.region, name, qualifier))?;
            let Some(row) = rows.next()? else {
                return Err(StoreError::NotFound);
            };
            let statements: Option<String> = row.get(0)?;
            let revision_id: Option<String> = row.get(1)?;
            Ok(statements.zip(revision_id))
        })?;
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
        self.direct(|conn| {
            let tx = conn.transaction().map_err(StoreError::from)?;
            let id = quick::function_id(&tx, scope, name)?;
            check_qualifier(&tx, id, qualifier)?;
            let row = policy_row(&tx, id, qualifier)?;
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
                tx.prepare_cached(
                    "DELETE FROM function_policies WHERE function_id = ? AND qualifier = ?",
                )
                .and_then(|mut s| s.execute((id, qualifier)))
                .map_err(StoreError::from)?;
                None
            } else {
                tx.prepare_cached(
                    "INSERT INTO function_policies (function_id, qualifier, statements, \
                     revision_id) VALUES (?, ?, ?, ?) ON CONFLICT (function_id, qualifier) \
                     DO UPDATE SET statements = excluded.statements, \
                     revision_id = excluded.revision_id",
                )
                .and_then(|mut s| {
                    s.execute((
                        id,
                        qualifier,
                        serde_json::to_string(&statements).expect("statements serialize"),
                        new_revision,
                    ))
                })
                .map_err(StoreError::from)?;
                Some(PolicyRecord {
                    statements,
                    revision_id: new_revision.to_owned(),
                })
            };
            tx.commit().map_err(StoreError::from)?;
            Ok(record)
        })
        .await
    }
}
