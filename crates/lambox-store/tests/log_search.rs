//! Searching a log group for a term against a real SQLite file, with other groups' events
//! interleaved: a search sees its group's matching events only, in order, in pages, forwards
//! and backwards, within a time window, and agrees with the plain read filtered by hand.

use lambox_store::{Durability, EventQuery, LogEvent, NewLogEvent, Scope, Store};

fn scope() -> Scope {
    Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    }
}

fn event(group: &str, stream: &str, timestamp_ms: i64, message: String) -> NewLogEvent {
    NewLogEvent {
        scope: scope(),
        event: LogEvent {
            id: 0,
            group: group.into(),
            stream: stream.into(),
            timestamp_ms,
            message,
        },
    }
}

#[tokio::test]
async fn searches_see_their_group_only_in_order_and_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    // Three groups written in turn, so that their ids interleave; every seventh line of each
    // holds the needle.
    let mut batch = Vec::new();
    for i in 0..3_000i64 {
        let group = ["/a", "/b", "/c"][(i % 3) as usize];
        let needle = if i % 7 == 0 { " needle" } else { "" };
        batch.push(event(
            group,
            &format!("s{}", i % 2),
            i,
            format!("line {i}{needle}"),
        ));
    }
    store.append_log_events(&batch, 10_000).await.unwrap();
    let s = scope();
    let expected: Vec<i64> = (0..3_000i64).filter(|i| i % 3 == 1 && i % 7 == 0).collect();

    // The searched pages, 50 at a time.
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let q = EventQuery {
            contains: Some("needle"),
            after_id: after,
            ..EventQuery::default()
        };
        let (page, more) = store.log_events(&s, "/b", &q, 50).await.unwrap();
        assert!(
            page.iter()
                .all(|e| e.group == "/b" && e.message.contains("needle"))
        );
        found.extend(page.iter().map(|e| e.timestamp_ms));
        after = page.last().map_or(after, |e| e.id);
        if !more {
            break;
        }
    }
    assert_eq!(found, expected);

    // The same with the plain read, filtered here.
    let (all, _) = store
        .log_events(&s, "/b", &EventQuery::default(), 10_000)
        .await
        .unwrap();
    let by_hand: Vec<i64> = all
        .iter()
        .filter(|e| e.message.contains("needle"))
        .map(|e| e.timestamp_ms)
        .collect();
    assert_eq!(by_hand, expected);

    // Newest first, and a time window.
    let q = EventQuery {
        contains: Some("needle"),
        newest_first: true,
        start_ms: Some(1_000),
        end_ms: Some(2_000),
        ..EventQuery::default()
    };
    let (newest, _) = store.log_events(&s, "/b", &q, 10_000).await.unwrap();
    let window: Vec<i64> = expected
        .iter()
        .copied()
        .filter(|t| (1_000..2_000).contains(t))
        .rev()
        .collect();
    assert_eq!(
        newest.iter().map(|e| e.timestamp_ms).collect::<Vec<_>>(),
        window
    );
    // A group without the term, and one that does not exist.
    let none = EventQuery {
        contains: Some("absent"),
        ..EventQuery::default()
    };
    assert!(
        store
            .log_events(&s, "/a", &none, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let q = EventQuery {
        contains: Some("needle"),
        ..EventQuery::default()
    };
    assert!(
        store
            .log_events(&s, "/zzz", &q, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}
