//! The log is copied back into the database file soon after commits, by the store's own
//! checkpoints rather than inside a writer's commit.

use std::time::{Duration, Instant};

use lambox_store::{DATABASE_FILE, Durability, Store};

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_reach_the_database_file_without_a_writer_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    let s = support::scope_of("111111111111", "us-east-1");
    let db = dir.path().join(DATABASE_FILE);
    let before = std::fs::metadata(&db).unwrap().len();
    // 2 MB of packages: less than the log SQLite would checkpoint at by itself (4 MB).
    for i in 0..20 {
        let zip = vec![7u8; 100_000 + i];
        support::create(&store, &s, &format!("f{i}"), &zip)
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = std::fs::metadata(&db).unwrap().len();
        if now >= before + 2_000_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database file is still {now} bytes (was {before})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And everything reads back after a reopen.
    drop(store);
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    let (listed, _) = store.list_versions(&s, None, 50, false).await.unwrap();
    assert_eq!(listed.len(), 20);
}
