//! What running functions needs stored: the installation id, reserved concurrency, event
//! invoke configs, the asynchronous event queue, destination records and invocation logs.

use crate::error::touched;
use crate::records::Scope;
use crate::{Store, StoreError};

/// `FunctionEventInvokeConfig` of one qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// `$LATEST`, a version or an alias.
    pub qualifier: String,
    /// Retries after a failed attempt; `None`: Lambda's default.
    pub max_retry_attempts: Option<u32>,
    /// Oldest age an event is still attempted at; `None`: Lambda's default.
    pub max_event_age_seconds: Option<u32>,
    /// Where successful invocations' records go.
    pub on_success: Option<String>,
    /// Where failed invocations' records go.
    pub on_failure: Option<String>,
    /// Epoch milliseconds of the last change.
    pub last_modified_ms: i64,
}

/// An accepted asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AsyncEvent {
    /// Queue id.
    pub id: i64,
    /// The request id the caller got.
    pub request_id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub function_name: String,
    /// Qualifier invoked.
    pub qualifier: String,
    /// The event.
    pub payload: Vec<u8>,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due, epoch milliseconds.
    pub next_attempt_ms: i64,
    /// When it was accepted, epoch milliseconds.
    pub created_ms: i64,
}

/// A record for a destination lambox does not host.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DestinationRecord {
    /// Record id.
    pub id: i64,
    /// Function the record is about.
    pub function_name: String,
    /// Destination ARN.
    pub destination: String,
    /// `Success`, `RetriesExhausted` or `EventAgeExceeded`.
    pub condition: String,
    /// The JSON Lambda sends.
    pub record: String,
    /// Epoch milliseconds.
    pub created_ms: i64,
}

/// The log of one invocation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvocationLog {
    /// Log id, increasing.
    pub id: i64,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub function_name: String,
    /// Request id.
    pub request_id: String,
    /// Epoch milliseconds.
    pub created_ms: i64,
    /// The log text.
    pub text: String,
}

#[derive(sqlx::FromRow)]
struct ConfigRow {
    qualifier: String,
    max_retry_attempts: Option<i64>,
    max_event_age_seconds: Option<i64>,
    on_success: Option<String>,
    on_failure: Option<String>,
    last_modified_ms: i64,
}

impl From<ConfigRow> for EventInvokeConfig {
    fn from(r: ConfigRow) -> Self {
        let u = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
        Self {
            qualifier: r.qualifier,
            max_retry_attempts: u(r.max_retry_attempts),
            max_event_age_seconds: u(r.max_event_age_seconds),
            on_success: r.on_success,
            on_failure: r.on_failure,
            last_modified_ms: r.last_modified_ms,
        }
    }
}

/// The id of a function, bound as (account, region, name).
pub(crate) const FUNCTION_ID: &str =
    "(SELECT id FROM functions WHERE account = ? AND region = ? AND name = ?)";

/// The columns of a [`ConfigRow`].
const CONFIG_SELECT: &str = "SELECT qualifier, max_retry_attempts, max_event_age_seconds, \
     on_success, on_failure, last_modified_ms FROM event_invoke_configs";

impl Store {
    /// This installation's id: `candidate` when none was recorded yet, else the recorded one.
    pub async fn installation_id(&self, candidate: &str) -> Result<String, StoreError> {
        self.installation_fact("installation_id", candidate).await
    }

    /// A fact about this installation recorded under `key` (such as the key its presigned URLs
    /// are signed with): `candidate` when none was recorded yet, else the recorded one.
    pub async fn installation_fact(
        &self,
        key: &str,
        candidate: &str,
    ) -> Result<String, StoreError> {
        let mut w = self.write().await;
        sqlx::query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(candidate)
            .execute(&mut *w)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *w)
            .await?)
    }

    /// Sets (or with `None` removes) a function's reserved concurrency to what `decide` makes
    /// of the sum reserved by the account's other functions in the region. The sum is read and
    /// the value written in one transaction, so concurrent changes (or deletes) cannot make the
    /// check pass on a stale sum.
    pub async fn update_reserved_concurrency<E>(
        &self,
        scope: &Scope,
        name: &str,
        decide: impl FnOnce(u64) -> Result<Option<u32>, E>,
    ) -> Result<Option<u32>, E>
    where
        E: From<StoreError>,
    {
        let mut w = self.write().await;
        let mut tx = sqlx::Connection::begin(&mut *w)
            .await
            .map_err(StoreError::from)?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT f.id, COALESCE((SELECT SUM(o.reserved_concurrency) FROM functions o \
             WHERE o.account = f.account AND o.region = f.region AND o.id <> f.id), 0) \
             FROM functions f WHERE f.account = ? AND f.region = ? AND f.name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let (id, others) = row.ok_or(StoreError::NotFound)?;
        let reserved = decide(u64::try_from(others).unwrap_or(0))?;
        sqlx::query("UPDATE functions SET reserved_concurrency = ? WHERE id = ?")
            .bind(reserved.map(i64::from))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(reserved)
    }

    /// Stores the event invoke config of a function's qualifier, replacing any.
    pub async fn put_event_invoke_config(
        &self,
        scope: &Scope,
        name: &str,
        c: &EventInvokeConfig,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO event_invoke_configs (function_id, qualifier, max_retry_attempts, \
             max_event_age_seconds, on_success, on_failure, last_modified_ms) \
             SELECT id, ?, ?, ?, ?, ?, ? FROM functions \
             WHERE account = ? AND region = ? AND name = ? \
             ON CONFLICT (function_id, qualifier) DO UPDATE SET \
             max_retry_attempts = excluded.max_retry_attempts, \
             max_event_age_seconds = excluded.max_event_age_seconds, \
             on_success = excluded.on_success, on_failure = excluded.on_failure, \
             last_modified_ms = excluded.last_modified_ms",
        )
        .bind(&c.qualifier)
        .bind(c.max_retry_attempts.map(i64::from))
        .bind(c.max_event_age_seconds.map(i64::from))
        .bind(&c.on_success)
        .bind(&c.on_failure)
        .bind(c.last_modified_ms)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .execute(&mut *self.write().await)
        .await?;
        touched(&done)
    }

    /// The event invoke config of a function's qualifier.
    pub async fn event_invoke_config(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        let row: Option<ConfigRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CONFIG_SELECT} WHERE function_id = {FUNCTION_ID} AND qualifier = ?"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(qualifier)
        .fetch_optional(&mut *self.read().await)
        .await?;
        Ok(row.map(Into::into))
    }

    /// Every event invoke config of a function, by qualifier.
    pub async fn event_invoke_configs(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        let rows: Vec<ConfigRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CONFIG_SELECT} WHERE function_id = {FUNCTION_ID} ORDER BY qualifier"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_all(&mut *self.read().await)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Deletes the event invoke config of a function's qualifier.
    pub async fn delete_event_invoke_config(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM event_invoke_configs WHERE function_id = {FUNCTION_ID} AND qualifier = ?"
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(qualifier)
        .execute(&mut *self.write().await)
        .await?;
        touched(&done)
    }

    /// Accepts an asynchronous invocation; returns its queue id. Committed on return.
    pub async fn enqueue_event(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        request_id: &str,
        payload: &[u8],
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO async_events (request_id, account, region, function_name, qualifier, \
             payload, attempts, next_attempt_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) \
             RETURNING id",
        )
        .bind(request_id)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(qualifier)
        .bind(payload)
        .bind(now_ms)
        .bind(now_ms)
        .fetch_one(&mut *self.write().await)
        .await?)
    }

    /// Events due at `now_ms`, oldest first, skipping `busy` ones.
    pub async fn due_events(
        &self,
        now_ms: i64,
        limit: u32,
        busy: &[i64],
    ) -> Result<Vec<AsyncEvent>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, request_id, account, region, function_name, qualifier, payload, attempts, \
             next_attempt_ms, created_ms FROM async_events WHERE next_attempt_ms <= ? {} \
             ORDER BY next_attempt_ms, id LIMIT ?",
            excluding(busy)
        )))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await)
        .await?)
    }

    /// When the next event other than those in `busy` (being delivered) is due, if any.
    pub async fn next_event_due_ms(&self, busy: &[i64]) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT MIN(next_attempt_ms) FROM async_events WHERE TRUE {}",
            excluding(busy)
        )))
        .fetch_one(&mut *self.read().await)
        .await?)
    }

    /// Records a failed attempt and when to try again.
    pub async fn reschedule_event(
        &self,
        id: i64,
        attempts: i64,
        next_attempt_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE async_events SET attempts = ?, next_attempt_ms = ? WHERE id = ?")
            .bind(attempts)
            .bind(next_attempt_ms)
            .bind(id)
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    /// Removes a delivered (or abandoned) event.
    pub async fn delete_event(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM async_events WHERE id = ?")
            .bind(id)
            .execute(&mut *self.write().await)
            .await?;
        Ok(())
    }

    /// How many events are queued.
    pub async fn queued_events(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM async_events")
            .fetch_one(&mut *self.read().await)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Keeps a record for a destination lambox does not host.
    pub async fn add_destination_record(
        &self,
        scope: &Scope,
        function_name: &str,
        destination: &str,
        condition: &str,
        record: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO destination_records (account, region, function_name, destination, \
             condition, record, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(function_name)
        .bind(destination)
        .bind(condition)
        .bind(record)
        .bind(now_ms)
        .execute(&mut *self.write().await)
        .await?;
        Ok(())
    }

    /// Destination records of a scope after `after_id`, oldest first.
    pub async fn destination_records(
        &self,
        scope: &Scope,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<DestinationRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, function_name, destination, condition, record, created_ms \
             FROM destination_records WHERE account = ? AND region = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await)
        .await?)
    }

    /// Appends invocation logs in one transaction and keeps the newest `keep` per function.
    pub async fn append_logs(&self, logs: &[InvocationLog], keep: u32) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        let mut w = self.write().await;
        let mut tx = sqlx::Connection::begin(&mut *w).await?;
        for l in logs {
            sqlx::query(
                "INSERT INTO invocation_logs (account, region, function_name, request_id, \
                 created_ms, text) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&l.account)
            .bind(&l.region)
            .bind(&l.function_name)
            .bind(&l.request_id)
            .bind(l.created_ms)
            .bind(&l.text)
            .execute(&mut *tx)
            .await?;
        }
        let mut functions: Vec<(&str, &str, &str)> = logs
            .iter()
            .map(|l| {
                (
                    l.account.as_str(),
                    l.region.as_str(),
                    l.function_name.as_str(),
                )
            })
            .collect();
        functions.sort_unstable();
        functions.dedup();
        for (account, region, name) in functions {
            sqlx::query(
                "DELETE FROM invocation_logs WHERE account = ?1 AND region = ?2 AND function_name = ?3 \
                 AND id <= (SELECT id FROM invocation_logs WHERE account = ?1 AND region = ?2 \
                 AND function_name = ?3 ORDER BY id DESC LIMIT 1 OFFSET ?4)",
            )
            .bind(account)
            .bind(region)
            .bind(name)
            .bind(i64::from(keep))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A function's invocation logs after `after_id`, oldest first: at most `limit` of them,
    /// and no more than `max_bytes` of text (but always one, if there is one), so a page of
    /// large logs stays bounded in memory.
    pub async fn invocation_logs(
        &self,
        scope: &Scope,
        name: &str,
        after_id: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Vec<InvocationLog>, StoreError> {
        use futures_util::TryStreamExt;

        let mut conn = self.read().await;
        let mut rows = sqlx::query_as::<_, InvocationLog>(
            "SELECT id, account, region, function_name, request_id, created_ms, text \
             FROM invocation_logs WHERE account = ? AND region = ? AND function_name = ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch(&mut *conn);
        let mut page = Vec::new();
        let mut bytes = 0;
        while let Some(log) = rows.try_next().await? {
            bytes += log.text.len();
            page.push(log);
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(page)
    }
}

/// `AND id NOT IN (…)` for the events being delivered (ids are integers: nothing to escape).
fn excluding(busy: &[i64]) -> String {
    if busy.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = busy.iter().map(i64::to_string).collect();
    format!("AND id NOT IN ({})", ids.join(","))
}
