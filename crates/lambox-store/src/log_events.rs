//! Log events, as CloudWatch Logs serves them: by account, region, log group and stream, in the
//! order they were written, each with its millisecond.

use sqlx::Connection;

use crate::functions::page_limit;
use crate::records::Scope;
use crate::{Store, StoreError};

/// One line a sandbox wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Increasing over all events (0 for one not stored yet).
    pub id: i64,
    /// The log group.
    pub group: String,
    /// The log stream (one per sandbox).
    pub stream: String,
    /// Epoch milliseconds it was written at.
    pub timestamp_ms: i64,
    /// The line.
    pub message: String,
}

/// A new event, for [`Store::append_log_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEvent {
    /// Where it was written.
    pub scope: Scope,
    /// Its group, stream, time and line.
    pub event: LogEvent,
}

/// A log group: its name, when its first event was written, how many bytes its events hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRecord {
    /// The group's name.
    pub name: String,
    /// Epoch milliseconds of its first stored event.
    pub created_ms: i64,
    /// Bytes of its stored messages.
    pub stored_bytes: i64,
}

/// A log stream with its first and last event times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamRecord {
    /// The stream's name.
    pub name: String,
    /// Epoch milliseconds of its first event.
    pub first_ms: i64,
    /// Epoch milliseconds of its last event.
    pub last_ms: i64,
    /// Bytes of its stored messages.
    pub stored_bytes: i64,
}

/// What an event query selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery<'a> {
    /// One stream only.
    pub stream: Option<&'a str>,
    /// Streams with this prefix.
    pub stream_prefix: Option<&'a str>,
    /// At or after (epoch ms).
    pub start_ms: Option<i64>,
    /// Before (epoch ms).
    pub end_ms: Option<i64>,
    /// Events whose message contains this (a required term of a filter pattern).
    pub contains: Option<&'a str>,
    /// Events with an id above this.
    pub after_id: i64,
    /// Events with an id below this (for reading backwards).
    pub before_id: Option<i64>,
    /// Newest first.
    pub newest_first: bool,
}

type EventRow = (i64, String, String, i64, String);

/// Rows one INSERT carries (6 parameters each, well under SQLite's limit of 32,766).
const ROWS_PER_INSERT: usize = 500;

impl Store {
    /// Stores events, in one transaction, then keeps at most `keep_per_group` events of each
    /// group they went to (the oldest go).
    pub async fn append_log_events(
        &self,
        events: &[NewLogEvent],
        keep_per_group: u32,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let mut groups = std::collections::BTreeSet::new();
        // Many rows per statement: each statement is a round trip to sqlx's SQLite thread,
        // which one row at a time would pay per log line.
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO log_events (account, region, log_group, log_stream, ts_ms, message) \
                 VALUES ",
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?, ?, ?, ?, ?, ?)"
                } else {
                    ", (?, ?, ?, ?, ?, ?)"
                });
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                query = query
                    .bind(&e.scope.account)
                    .bind(&e.scope.region)
                    .bind(&e.event.group)
                    .bind(&e.event.stream)
                    .bind(e.event.timestamp_ms)
                    .bind(&e.event.message);
                groups.insert((&e.scope.account, &e.scope.region, &e.event.group));
            }
            query.execute(&mut *tx).await?;
        }
        for (account, region, group) in groups {
            // The offset is written into the statement: a bound one makes SQLite prepare it again
            // on every run.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM log_events WHERE account = ?1 AND region = ?2 AND log_group = ?3 \
                 AND id <= (SELECT id FROM log_events WHERE account = ?1 AND region = ?2 \
                 AND log_group = ?3 ORDER BY id DESC LIMIT 1 OFFSET {keep_per_group})"
            )))
            .bind(account)
            .bind(region)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Log groups of `scope` with `prefix`, by name after `after`, with whether more follow.
    pub async fn log_groups(
        &self,
        scope: &Scope,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<(Vec<LogGroupRecord>, bool), StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT log_group, MIN(ts_ms), SUM(length(message)) FROM log_events \
             WHERE account = ? AND region = ? AND log_group > ? AND substr(log_group, 1, ?) = ? \
             GROUP BY log_group ORDER BY log_group {}",
            page_limit(limit)
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after)
        .bind(i64::try_from(prefix.chars().count()).unwrap_or(0))
        .bind(prefix)
        .fetch_all(&mut *self.read().await)
        .await?;
        let more = rows.len() > limit as usize;
        Ok((
            rows.into_iter()
                .take(limit as usize)
                .map(|(name, created_ms, stored_bytes)| LogGroupRecord {
                    name,
                    created_ms,
                    stored_bytes,
                })
                .collect(),
            more,
        ))
    }

    /// Streams of a group with `prefix`, by name after `after`, with whether more follow.
    pub async fn log_streams(
        &self,
        scope: &Scope,
        group: &str,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<(Vec<LogStreamRecord>, bool), StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT log_stream, MIN(ts_ms), MAX(ts_ms), SUM(length(message)) FROM log_events \
             WHERE account = ? AND region = ? AND log_group = ? AND log_stream > ? \
             AND substr(log_stream, 1, ?) = ? GROUP BY log_stream ORDER BY log_stream {}",
            page_limit(limit)
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(group)
        .bind(after)
        .bind(i64::try_from(prefix.chars().count()).unwrap_or(0))
        .bind(prefix)
        .fetch_all(&mut *self.read().await)
        .await?;
        let more = rows.len() > limit as usize;
        Ok((
            rows.into_iter()
                .take(limit as usize)
                .map(|(name, first_ms, last_ms, stored_bytes)| LogStreamRecord {
                    name,
                    first_ms,
                    last_ms,
                    stored_bytes,
                })
                .collect(),
            more,
        ))
    }

    /// Whether a group has any event.
    pub async fn log_group_exists(&self, scope: &Scope, group: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM log_events WHERE account = ? AND region = ? AND log_group = ? LIMIT 1",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(group)
        .fetch_optional(&mut *self.read().await)
        .await?;
        Ok(found.is_some())
    }

    /// Up to `limit` events of a group that `q` selects, in id order (or newest first), and
    /// whether more follow. Events are read in one statement per call; a caller filtering them
    /// further calls again from the last id it saw.
    pub async fn log_events(
        &self,
        scope: &Scope,
        group: &str,
        q: &EventQuery<'_>,
        limit: u32,
    ) -> Result<(Vec<LogEvent>, bool), StoreError> {
        let order = if q.newest_first { "DESC" } else { "ASC" };
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, log_stream, message, ts_ms, log_group FROM log_events \
             WHERE account = ?1 AND region = ?2 AND log_group = ?3 AND id > ?4 \
             AND (?5 IS NULL OR id < ?5) AND (?6 IS NULL OR log_stream = ?6) \
             AND (?7 IS NULL OR substr(log_stream, 1, length(?7)) = ?7) \
             AND (?8 IS NULL OR ts_ms >= ?8) AND (?9 IS NULL OR ts_ms < ?9) \
             AND (?10 IS NULL OR instr(message, ?10) > 0) ORDER BY id {order} {}",
            page_limit(limit)
        )))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(group)
        .bind(q.after_id)
        .bind(q.before_id)
        .bind(q.stream)
        .bind(q.stream_prefix)
        .bind(q.start_ms)
        .bind(q.end_ms)
        .bind(q.contains)
        .fetch_all(&mut *self.read().await)
        .await?;
        let more = rows.len() > limit as usize;
        Ok((
            rows.into_iter()
                .take(limit as usize)
                .map(|(id, stream, message, timestamp_ms, group)| LogEvent {
                    id,
                    group,
                    stream,
                    timestamp_ms,
                    message,
                })
                .collect(),
            more,
        ))
    }

    /// Deletes a group's events; `false` when it had none.
    pub async fn delete_log_group(&self, scope: &Scope, group: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM log_events WHERE account = ? AND region = ? AND log_group = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(group)
        .execute(&mut *self.write().await)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
