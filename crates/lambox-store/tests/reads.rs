//! Reads served on the caller's thread (`quick`) and writes on the writer's direct connection:
//! what a read sees right after a write was acknowledged, under concurrent writers, and paging
//! through many functions.

use std::sync::Arc;

use lambox_core::function::FunctionConfig;
use lambox_store::{Durability, LatestUpdate, ListCursor, Scope, Store, StoreError};

mod support;

fn scope() -> Scope {
    support::scope_of("111111111111", "us-east-1")
}

fn config(name: &str, description: &str) -> FunctionConfig {
    let mut config = support::config(name);
    config.description = description.into();
    config
}

async fn create(store: &Store, s: &Scope, name: &str) -> Result<(), StoreError> {
    support::create(store, s, name, name.as_bytes()).await
}

async fn describe(store: &Store, s: &Scope, name: &str, description: &str) {
    store
        .update_latest(s, name, None, |current| {
            Ok::<_, StoreError>(LatestUpdate {
                config: config(name, description),
                code: None,
                revision_id: format!("rev-{description}"),
                now_ms: current.latest.last_modified_ms + 1,
                publish_revision_id: None,
            })
        })
        .await
        .unwrap();
}

/// Several writers create, change and delete functions while others read; every read that
/// starts after a write was acknowledged sees that write, through each kind of read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_an_acknowledged_write_sees_it_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    let s = Arc::new(scope());
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, s) = (store.clone(), s.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..40 {
                let name = format!("w{w}-{i}");
                create(&store, &s, &name).await.unwrap();
                // Another handle, as another client's request would use.
                let reader = store.clone();
                let got = reader.get_function(&s, &name).await.unwrap();
                assert!(got.is_some(), "{name} created but not read");
                describe(&store, &s, &name, "second").await;
                let latest = reader.get_version(&s, &name, "$LATEST").await.unwrap();
                assert_eq!(latest.unwrap().config.description, "second");
                let listed = reader
                    .list_function_versions(&s, &name, None, 10)
                    .await
                    .unwrap();
                assert_eq!(listed.0[0].config.description, "second");
                let published = store
                    .publish_version(&s, &name, "rev-v1", None, |_| Ok::<_, StoreError>(()))
                    .await
                    .unwrap();
                assert_eq!(published.version, "1");
                let versions = reader
                    .list_function_versions(&s, &name, None, 10)
                    .await
                    .unwrap();
                assert_eq!(
                    versions.0.len(),
                    2,
                    "{name}: the published version is listed"
                );
                store.delete_function(&s, &name).await.unwrap();
                assert!(reader.get_function(&s, &name).await.unwrap().is_none());
                assert!(matches!(
                    reader.list_function_versions(&s, &name, None, 10).await,
                    Err(StoreError::NotFound)
                ));
            }
        }));
    }
    // Readers keep the read connections busy meanwhile.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (store, s, stop) = (store.clone(), s.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.list_versions(&s, None, 50, false).await.unwrap();
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.await.unwrap() > 0);
    }
}

/// ListFunctions over 10,000 functions: every function once, in name order, page after page,
/// with small pages (read where asked) and large ones (read off the async threads) alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_functions_page_completely_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    let s = scope();
    let mut names: Vec<String> = (0..10_000).map(|i| format!("fn-{i:05}")).collect();
    // Created out of order: the order listed is the store's, not the creation's.
    names.reverse();
    for name in &names {
        create(&store, &s, name).await.unwrap();
    }
    names.sort();
    for page in [50u32, 1_000] {
        let mut seen = Vec::with_capacity(names.len());
        let mut cursor: Option<ListCursor> = None;
        loop {
            let (items, next) = store
                .list_versions(&s, cursor.as_ref(), page, false)
                .await
                .unwrap();
            assert!(items.len() <= page as usize);
            seen.extend(items.into_iter().map(|v| v.function_name));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, names, "pages of {page}");
    }
}
