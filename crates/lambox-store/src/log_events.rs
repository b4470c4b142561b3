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
    /// Its retention in days (PutRetentionPolicy), if set.
    pub retention_days: Option<i64>,
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

/// The id of a group (`None` when it has no row).
async fn group_id(
    conn: &mut sqlx::SqliteConnection,
    scope: &Scope,
    group: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM log_groups WHERE account = ? AND region = ? AND name = ?",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(group)
    .fetch_optional(conn)
    .await?)
}

impl Store {
    /// Stores events, in one transaction, then keeps at most `keep_per_group` events of each
    /// group they went to (the oldest go).
    pub async fn append_log_events(
        &self,
        events: &[NewLogEvent],
        keep_per_group: u32,
    ) -> Result<(), StoreError> {
        use std::collections::HashMap;
        if events.is_empty() {
            return Ok(());
        }
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        // Group and stream ids, each looked up (or created) once per batch.
        let mut groups: HashMap<(&str, &str, &str), i64> = HashMap::new();
        let mut streams: HashMap<(i64, &str), i64> = HashMap::new();
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            let gk = (
                e.scope.account.as_str(),
                e.scope.region.as_str(),
                e.event.group.as_str(),
            );
            let gid = match groups.get(&gk) {
                Some(id) => *id,
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO log_groups (account, region, name, created_ms) \
                         VALUES (?, ?, ?, ?) ON CONFLICT (account, region, name) \
                         DO UPDATE SET name = excluded.name RETURNING id",
                    )
                    .bind(gk.0)
                    .bind(gk.1)
                    .bind(gk.2)
                    .bind(e.event.timestamp_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                    groups.insert(gk, id);
                    id
                }
            };
            let sk = (gid, e.event.stream.as_str());
            let sid = match streams.get(&sk) {
                Some(id) => *id,
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO log_streams (group_id, name, first_ms, last_ms, stored_bytes) \
                         VALUES (?, ?, ?, ?, 0) ON CONFLICT (group_id, name) \
                         DO UPDATE SET name = excluded.name RETURNING id",
                    )
                    .bind(gid)
                    .bind(sk.1)
                    .bind(e.event.timestamp_ms)
                    .bind(e.event.timestamp_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                    streams.insert(sk, id);
                    id
                }
            };
            rows.push((gid, sid, e));
        }
        // Many rows per statement: each statement is a round trip to sqlx's SQLite thread,
        // which one row at a time would pay per log line.
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO log_events (group_id, stream_id, ts_ms, message) VALUES ",
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?, ?, ?, ?)"
                } else {
                    ", (?, ?, ?, ?)"
                });
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (gid, sid, e) in chunk {
                query = query
                    .bind(gid)
                    .bind(sid)
                    .bind(e.event.timestamp_ms)
                    .bind(&e.event.message);
            }
            query.execute(&mut *tx).await?;
        }
        for (sid, last, bytes) in stream_totals(&rows) {
            sqlx::query(
                "UPDATE log_streams SET last_ms = MAX(last_ms, ?), \
                 stored_bytes = stored_bytes + ? WHERE id = ?",
            )
            .bind(last)
            .bind(bytes)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        }
        for gid in groups.values() {
            // The offset is written into the statement: a bound one makes SQLite prepare it again
            // on every run.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM log_events WHERE group_id = ?1 AND id <= (SELECT id FROM log_events \
                 WHERE group_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET {keep_per_group})"
            )))
            .bind(gid)
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
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT g.name, g.created_ms, COALESCE((SELECT SUM(s.stored_bytes) FROM log_streams s \
             WHERE s.group_id = g.id), 0), g.retention_days FROM log_groups g \
             WHERE g.account = ? AND g.region = ? AND g.name > ? AND substr(g.name, 1, ?) = ? \
             ORDER BY g.name {}",
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
                .map(
                    |(name, created_ms, stored_bytes, retention_days)| LogGroupRecord {
                        name,
                        created_ms,
                        stored_bytes,
                        retention_days,
                    },
                )
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
            "SELECT s.name, s.first_ms, s.last_ms, s.stored_bytes FROM log_streams s \
             JOIN log_groups g ON g.id = s.group_id \
             WHERE g.account = ? AND g.region = ? AND g.name = ? AND s.name > ? \
             AND substr(s.name, 1, ?) = ? ORDER BY s.name {}",
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
        Ok(group_id(&mut *self.read().await, scope, group)
            .await?
            .is_some())
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
        let mut reader = self.read().await;
        let Some(gid) = group_id(&mut reader, scope, group).await? else {
            return Ok((Vec::new(), false));
        };
        // A search of a whole group for a term has a path of its own (`log_search.rs`).
        if let Some(term) = q.contains
            && q.stream.is_none()
            && q.stream_prefix.is_none()
        {
            drop(reader);
            if let Some(found) = self.search_group(gid, group, term, q, limit).await? {
                return Ok(found);
            }
            reader = self.read().await;
        }
        let order = if q.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT e.id, s.name, e.message, e.ts_ms, ?1 FROM log_events e \
             JOIN log_streams s ON s.id = e.stream_id \
             WHERE e.group_id = ?2 AND e.id > ?3 AND (?4 IS NULL OR e.id < ?4) \
             AND (?5 IS NULL OR s.name = ?5) \
             AND (?6 IS NULL OR substr(s.name, 1, length(?6)) = ?6) \
             AND (?7 IS NULL OR e.ts_ms >= ?7) AND (?8 IS NULL OR e.ts_ms < ?8) \
             AND (?9 IS NULL OR instr(e.message, ?9) > 0) ORDER BY e.id {order} {}",
            page_limit(limit)
        );
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(group)
            .bind(gid)
            .bind(q.after_id)
            .bind(q.before_id)
            .bind(q.stream)
            .bind(q.stream_prefix)
            .bind(q.start_ms)
            .bind(q.end_ms)
            .bind(q.contains)
            .fetch_all(&mut *reader)
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

    /// Sets (or, with `None`, removes) a group's retention; `false` when there is no such group.
    pub async fn set_log_retention(
        &self,
        scope: &Scope,
        group: &str,
        days: Option<i64>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE log_groups SET retention_days = ? WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(days)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(group)
        .execute(&mut *self.write().await)
        .await?;
        Ok(changed.rows_affected() > 0)
    }

    /// Deletes the events older than their group's retention at `now_ms`; returns how many.
    pub async fn expire_log_events(&self, now_ms: i64) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM log_events WHERE id IN (SELECT e.id FROM log_groups g JOIN log_events e \
             ON e.group_id = g.id WHERE g.retention_days IS NOT NULL \
             AND e.ts_ms < ?1 - g.retention_days * 86400000)",
        )
        .bind(now_ms)
        .execute(&mut *self.write().await)
        .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes a group with its streams and events; `false` when there was none.
    pub async fn delete_log_group(&self, scope: &Scope, group: &str) -> Result<bool, StoreError> {
        let mut writer = self.write().await;
        let mut tx = writer.begin().await?;
        let Some(gid) = group_id(&mut tx, scope, group).await? else {
            return Ok(false);
        };
        for table in ["log_events", "log_streams"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE group_id = ?"
            )))
            .bind(gid)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM log_groups WHERE id = ?")
            .bind(gid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Per stream of a batch: its id, its last event's time and the bytes its messages add.
fn stream_totals(rows: &[(i64, i64, &NewLogEvent)]) -> Vec<(i64, i64, i64)> {
    let mut totals: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
    for (_, sid, e) in rows {
        let t = totals.entry(*sid).or_insert((i64::MIN, 0));
        t.0 = t.0.max(e.event.timestamp_ms);
        t.1 += i64::try_from(e.event.message.len()).unwrap_or(i64::MAX);
    }
    totals
        .into_iter()
        .map(|(sid, (last, bytes))| (sid, last, bytes))
        .collect()
}
