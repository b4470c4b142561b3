//! Log groups' retention against a real SQLite file: events older than a group's retention go,
//! other groups' and younger events stay.

use lambox_store::{Durability, LogEvent, NewLogEvent, Scope, Store};

const DAY_MS: i64 = 86_400_000;

fn event(group: &str, timestamp_ms: i64, message: &str) -> NewLogEvent {
    NewLogEvent {
        scope: Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        },
        event: LogEvent {
            id: 0,
            group: group.into(),
            stream: "s".into(),
            timestamp_ms,
            message: message.into(),
        },
    }
}

#[tokio::test]
async fn expired_events_go_where_a_retention_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    let scope = Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    };
    let now = 100 * DAY_MS;
    store
        .append_log_events(
            &[
                event("/kept", now - 10 * DAY_MS, "old but kept"),
                event("/short", now - 3 * DAY_MS, "expired"),
                event("/short", now - DAY_MS / 2, "young"),
            ],
            1_000,
        )
        .await
        .unwrap();
    assert!(
        store
            .set_log_retention(&scope, "/short", Some(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_log_retention(&scope, "/nope", Some(1))
            .await
            .unwrap()
    );
    assert_eq!(store.expire_log_events(now).await.unwrap(), 1);
    let (groups, _) = store.log_groups(&scope, "", "", 50).await.unwrap();
    let short = groups.iter().find(|g| g.name == "/short").unwrap();
    assert_eq!(short.retention_days, Some(1));
    // Removing the retention keeps what is left.
    assert!(
        store
            .set_log_retention(&scope, "/short", None)
            .await
            .unwrap()
    );
    assert_eq!(store.expire_log_events(now + 10 * DAY_MS).await.unwrap(), 0);
}
