//! Searching a log group for a term (FilterLogEvents): the table is read in id order within the
//! group's range rather than through the group index (`+group_id`: per-row lookups through the
//! index cost more than reading the other groups' rows in between), streams are joined only to
//! what matched, and a large range is cut in two halves searched at once on two read
//! connections, since the search is bound by reading messages. A group whose events are sparse
//! in their range (sampled) is searched through its index instead, so that one account's
//! search never reads through other accounts' logs. Stream names are looked up
//! afterwards for the matches alone.

use sqlx::SqliteConnection;

use crate::Store;
use crate::error::StoreError;
use crate::functions::page_limit;
use std::collections::HashMap;

use crate::log_events::{EventQuery, LogEvent};

/// Ids below which a range is searched in one piece.
const SPLIT_ABOVE: i64 = 100_000;
/// Ids in each of the windows a group's density is sampled in.
const SAMPLE: i64 = 1024;
/// The share of a range's rows that must be the group's for reading the range to beat the
/// group index (whose per-row lookups cost about three times a row read in order).
const DENSE_ENOUGH: f64 = 0.3;

/// One piece of a search: ids in `[lo, hi]`.
struct Piece {
    lo: i64,
    hi: i64,
}

/// `%term%` for LIKE, its wildcards escaped. LIKE ignores ASCII case, so it only narrows what
/// `instr` (exact) then decides; it is the cheaper of the two per row (measured: ~30% less on a
/// million lines).
fn like_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A matching event as a piece finds it: id, stream id, message, timestamp.
type Match = (i64, i64, String, i64);

async fn search_piece(
    conn: &mut SqliteConnection,
    group_id: i64,
    term: &str,
    q: &EventQuery<'_>,
    piece: &Piece,
    limit: u32,
) -> Result<Vec<Match>, StoreError> {
    let order = if q.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT id, stream_id, message, ts_ms FROM log_events \
         WHERE id >= ?1 AND id <= ?2 AND +group_id = ?3 \
         AND (?4 IS NULL OR ts_ms >= ?4) AND (?5 IS NULL OR ts_ms < ?5) \
         AND message LIKE ?6 ESCAPE '\\' AND instr(message, ?7) > 0 \
         ORDER BY id {order} {}",
        page_limit(limit)
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(piece.lo)
        .bind(piece.hi)
        .bind(group_id)
        .bind(q.start_ms)
        .bind(q.end_ms)
        .bind(like_pattern(term))
        .bind(term)
        .fetch_all(conn)
        .await?)
}

/// The names of the streams `matches` name.
async fn stream_names(
    conn: &mut SqliteConnection,
    matches: &[Match],
) -> Result<HashMap<i64, String>, StoreError> {
    let mut ids: Vec<i64> = matches.iter().map(|m| m.1).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids = serde_json::to_string(&ids).expect("ids serialize");
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM log_streams WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

impl Store {
    /// Up to `limit` events of group `group_id` whose message contains `term`, in `q`'s order
    /// and id bounds, and whether more follow; `None` when the group's events are too sparse in
    /// their id range (other groups' in between) for reading the range to pay, and the group
    /// index should be used instead.
    pub(crate) async fn search_group(
        &self,
        group_id: i64,
        group: &str,
        term: &str,
        q: &EventQuery<'_>,
        limit: u32,
    ) -> Result<Option<(Vec<LogEvent>, bool)>, StoreError> {
        if !self.dense(group_id).await? {
            return Ok(None);
        }
        self.search_group_in_pieces(group_id, group, term, q, limit, SPLIT_ABOVE)
            .await
            .map(Some)
    }

    /// Whether a group's events make up enough of their id range, sampled at its start,
    /// middle and end (a few thousand rows read by id).
    async fn dense(&self, group_id: i64) -> Result<bool, StoreError> {
        let mut conn = self.read().await;
        let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT min(id) FROM log_events WHERE group_id = ?1), \
             (SELECT max(id) FROM log_events WHERE group_id = ?1)",
        )
        .bind(group_id)
        .fetch_one(&mut *conn)
        .await?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(true);
        };
        if hi - lo < 4 * SAMPLE {
            return Ok(true);
        }
        let mut found = 0i64;
        for start in [lo, lo + (hi - lo) / 2, hi - SAMPLE + 1] {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM log_events WHERE id >= ?1 AND id < ?2 AND +group_id = ?3",
            )
            .bind(start)
            .bind(start + SAMPLE)
            .bind(group_id)
            .fetch_one(&mut *conn)
            .await?;
            found += n;
        }
        Ok(found as f64 / (3 * SAMPLE) as f64 >= DENSE_ENOUGH)
    }

    async fn search_group_in_pieces(
        &self,
        group_id: i64,
        group: &str,
        term: &str,
        q: &EventQuery<'_>,
        limit: u32,
        split_above: i64,
    ) -> Result<(Vec<LogEvent>, bool), StoreError> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            // Two subqueries: SQLite answers a lone min() or max() from the index's ends, but
            // scans the whole group for both in one.
            sqlx::query_as(
                "SELECT (SELECT min(id) FROM log_events WHERE group_id = ?1), \
                 (SELECT max(id) FROM log_events WHERE group_id = ?1)",
            )
                .bind(group_id)
                .fetch_one(&mut *self.read().await)
                .await?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok((Vec::new(), false));
        };
        let lo = lo.max(q.after_id.saturating_add(1));
        let hi = q.before_id.map_or(hi, |b| hi.min(b - 1));
        if lo > hi {
            return Ok((Vec::new(), false));
        }
        // The pieces in the order their events are answered.
        let mut pieces = if hi - lo > split_above {
            let mid = lo + (hi - lo) / 2;
            vec![Piece { lo, hi: mid }, Piece { lo: mid + 1, hi }]
        } else {
            vec![Piece { lo, hi }]
        };
        if q.newest_first {
            pieces.reverse();
        }
        // Each piece on a connection of its own, held only while its statement runs.
        let search = |piece: &Piece| {
            let piece = Piece {
                lo: piece.lo,
                hi: piece.hi,
            };
            async move {
                let mut conn = self.read().await;
                search_piece(&mut conn, group_id, term, q, &piece, limit).await
            }
        };
        let mut rows = match pieces.as_slice() {
            [one] => search(one).await?,
            [first, second] => {
                let (a, b) = tokio::join!(search(first), search(second));
                let mut a = a?;
                // The second piece's events come after all of the first's.
                if a.len() <= limit as usize {
                    a.extend(b?);
                }
                a
            }
            _ => unreachable!("one or two pieces"),
        };
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let names = stream_names(&mut *self.read().await, &rows).await?;
        Ok((
            rows.into_iter()
                .map(|(id, stream_id, message, timestamp_ms)| LogEvent {
                    id,
                    group: group.to_owned(),
                    stream: names.get(&stream_id).cloned().unwrap_or_default(),
                    timestamp_ms,
                    message,
                })
                .collect(),
            more,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_events::NewLogEvent;
    use crate::records::Scope;
    use crate::{Durability, Store};

    /// Halves searched at once answer exactly what one piece does, in pages, both ways.
    #[tokio::test]
    async fn pieces_answer_as_one_search_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
        let scope = Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        };
        let events: Vec<NewLogEvent> = (0..400i64)
            .map(|i| NewLogEvent {
                scope: scope.clone(),
                event: LogEvent {
                    id: 0,
                    group: if i % 2 == 0 { "/g" } else { "/other" }.into(),
                    stream: "s".into(),
                    timestamp_ms: i,
                    message: format!("line {i}{}", if i % 6 == 0 { " hit" } else { "" }),
                },
            })
            .collect();
        store.append_log_events(&events, 10_000).await.unwrap();
        let gid: i64 = sqlx::query_scalar("SELECT id FROM log_groups WHERE name = '/g'")
            .fetch_one(&mut *store.read().await)
            .await
            .unwrap();
        for newest_first in [false, true] {
            for limit in [1, 7, 40, 1000] {
                let mut pages = Vec::new();
                for split in [10, i64::MAX] {
                    let mut seen = Vec::new();
                    let mut q = EventQuery {
                        contains: Some("hit"),
                        newest_first,
                        ..EventQuery::default()
                    };
                    loop {
                        let (page, more) = store
                            .search_group_in_pieces(gid, "/g", "hit", &q, limit, split)
                            .await
                            .unwrap();
                        seen.extend(page.iter().map(|e| e.timestamp_ms));
                        let Some(last) = page.last() else { break };
                        if newest_first {
                            q.before_id = Some(last.id);
                        } else {
                            q.after_id = last.id;
                        }
                        if !more {
                            break;
                        }
                    }
                    pages.push(seen);
                }
                let mut expected: Vec<i64> = (0..400).filter(|i| i % 6 == 0).collect();
                if newest_first {
                    expected.reverse();
                }
                assert_eq!(pages[0], expected, "halves, limit {limit}");
                assert_eq!(pages[1], expected, "one piece, limit {limit}");
            }
        }
    }

    /// A group that is a tenth of its id range is searched through its index, and answers the
    /// same.
    #[tokio::test]
    async fn sparse_groups_use_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
        let scope = Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        };
        let events: Vec<NewLogEvent> = (0..20_000i64)
            .map(|i| NewLogEvent {
                scope: scope.clone(),
                event: LogEvent {
                    id: 0,
                    group: if i % 10 == 0 { "/sparse" } else { "/busy" }.into(),
                    stream: "s".into(),
                    timestamp_ms: i,
                    message: format!("line {i}{}", if i % 30 == 0 { " hit" } else { "" }),
                },
            })
            .collect();
        store.append_log_events(&events, 100_000).await.unwrap();
        let id = |name: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT id FROM log_groups WHERE name = ?")
                    .bind(name)
                    .fetch_one(&mut *store.read().await)
                    .await
                    .unwrap()
            }
        };
        assert!(!store.dense(id("/sparse").await).await.unwrap());
        assert!(store.dense(id("/busy").await).await.unwrap());
        let q = EventQuery {
            contains: Some("hit"),
            ..EventQuery::default()
        };
        let (found, more) = store
            .log_events(&scope, "/sparse", &q, 10_000)
            .await
            .unwrap();
        let expected: Vec<i64> = (0..20_000).filter(|i| i % 30 == 0).collect();
        assert!(!more);
        assert_eq!(
            found.iter().map(|e| e.timestamp_ms).collect::<Vec<_>>(),
            expected
        );
    }
}
