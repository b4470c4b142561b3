//! The store against a real SQLite file in a temporary directory.

use lambox_core::lifecycle::settled_revision_id;
use lambox_store::{CodeUpload, Durability, LatestUpdate, ListCursor, Scope, Store, StoreError};

mod support;

use support::{config, create, scope_of as scope};

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Full).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn create_get_and_reopen() {
    let (dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "f", b"zip-1").await.unwrap();
    assert!(matches!(
        create(&store, &s, "f", b"zip-1").await,
        Err(StoreError::FunctionExists)
    ));
    store.close().await;
    let store = Store::open(dir.path(), Durability::Full).await.unwrap();
    let f = store.get_function(&s, "f").await.unwrap().unwrap();
    assert_eq!(f.latest.config, config("f"));
    // Settled: the RevisionId the create's transition ends with (no window: at once).
    assert_eq!(f.latest.revision_id, settled_revision_id("rev-1"));
    assert_eq!(
        store
            .code_blob(&f.latest.code_sha256_hex)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"zip-1"[..])
    );
}

#[tokio::test]
async fn scopes_are_isolated() {
    let (_dir, store) = open().await;
    let a = scope("111111111111", "us-east-1");
    create(&store, &a, "f", b"z").await.unwrap();
    for other in [
        scope("222222222222", "us-east-1"),
        scope("111111111111", "eu-west-1"),
    ] {
        assert!(store.get_function(&other, "f").await.unwrap().is_none());
        create(&store, &other, "f", b"z").await.unwrap();
    }
    assert_eq!(store.account_usage(&a).await.unwrap().function_count, 1);
}

#[tokio::test]
async fn concurrent_creates_have_one_winner() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let s = s.clone();
            tokio::spawn(async move { create(&store, &s, "race", b"z").await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::FunctionExists) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn blobs_are_shared_and_collected() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "a", b"same").await.unwrap();
    create(&store, &s, "b", b"same").await.unwrap();
    assert_eq!(store.code_blob_count().await.unwrap(), 1);
    store.delete_function(&s, "a").await.unwrap();
    assert_eq!(store.code_blob_count().await.unwrap(), 1);
    // Replacing b's code drops the last reference to the old zip.
    let new_zip = b"other".to_vec();
    let sha = "f".repeat(64);
    replace_code(&store, &s, "b", &sha, &new_zip, "rev-2", 2).await;
    assert_eq!(store.code_blob_count().await.unwrap(), 1);
    assert_eq!(store.code_blob(&sha).await.unwrap().unwrap(), new_zip);
    store.delete_function(&s, "b").await.unwrap();
    assert_eq!(store.code_blob_count().await.unwrap(), 0);
    assert!(matches!(
        store.delete_function(&s, "b").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn revision_precondition_and_publish() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "f", b"z").await.unwrap();
    let stale = store
        .update_latest::<StoreError>(&s, "f", Some("not-it"), |_| unreachable!())
        .await;
    assert!(matches!(stale, Err(StoreError::RevisionMismatch)));
    let update = |rev: &'static str, timeout: u32| {
        move |current: &lambox_store::FunctionRecord| {
            let mut config = current.latest.config.clone();
            config.timeout = timeout;
            Ok::<_, StoreError>(LatestUpdate {
                config,
                code: None,
                revision_id: rev.into(),
                now_ms: 3,
                publish_revision_id: Some(format!("{rev}-pub")),
            })
        }
    };
    let out = store
        .update_latest(
            &s,
            "f",
            Some(&settled_revision_id("rev-1")),
            update("rev-2", 9),
        )
        .await
        .unwrap();
    assert_eq!(out.published.unwrap().version, "1");
    // Nothing changed since version 1: publishing again returns it.
    let again = store
        .update_latest(&s, "f", None, update("rev-3", 9))
        .await
        .unwrap();
    assert_eq!(again.published.unwrap().version, "1");
    let changed = store
        .update_latest(&s, "f", None, update("rev-4", 10))
        .await
        .unwrap();
    assert_eq!(changed.published.unwrap().version, "2");
    let v1 = store.get_version(&s, "f", "1").await.unwrap().unwrap();
    assert_eq!(v1.config.timeout, 9);
    assert!(store.get_version(&s, "f", "7").await.unwrap().is_none());
    store.delete_version(&s, "f", 1).await.unwrap();
    assert!(store.get_version(&s, "f", "1").await.unwrap().is_none());
}

#[tokio::test]
async fn lists_in_pages() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    for i in 0..5 {
        create(&store, &s, &format!("fn-{i}"), b"z").await.unwrap();
    }
    let (page, cursor) = store.list_versions(&s, None, 2, false).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(
        cursor,
        Some(ListCursor {
            name: "fn-1".into(),
            seq: 0
        })
    );
    let (rest, end) = store
        .list_versions(&s, cursor.as_ref(), 10, false)
        .await
        .unwrap();
    assert_eq!(
        rest.iter()
            .map(|v| v.function_name.as_str())
            .collect::<Vec<_>>(),
        ["fn-2", "fn-3", "fn-4"]
    );
    assert_eq!(end, None);
}

#[tokio::test]
async fn tags_update_in_place() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "f", b"z").await.unwrap();
    store
        .update_tags::<StoreError>(&s, "f", "rev-t", |t| {
            t.insert("a".into(), "1".into());
            Ok(())
        })
        .await
        .unwrap();
    let f = store.get_function(&s, "f").await.unwrap().unwrap();
    assert_eq!(f.tags.get("a").map(String::as_str), Some("1"));
    assert!(matches!(
        store
            .update_tags::<StoreError>(&s, "nope", "rev-t", |_| Ok(()))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Replaces `$LATEST`'s code with `zip` (whose digest is `sha`), as revision `revision`.
async fn replace_code(
    store: &Store,
    s: &Scope,
    name: &str,
    sha: &str,
    zip: &[u8],
    revision: &str,
    now_ms: i64,
) {
    store
        .update_latest::<StoreError>(s, name, None, |c| {
            Ok(LatestUpdate {
                config: c.latest.config.clone(),
                code: Some((
                    sha.to_owned(),
                    zip.len() as u64,
                    Some(CodeUpload {
                        sha256_hex: sha,
                        bytes: zip,
                        unzipped_size: None,
                    }),
                )),
                revision_id: revision.into(),
                now_ms,
                publish_revision_id: None,
            })
        })
        .await
        .unwrap();
}

/// Publishes `$LATEST` as it is, as revision `revision`.
async fn publish(store: &Store, s: &Scope, name: &str, revision: &str, now_ms: i64) {
    store
        .update_latest::<StoreError>(s, name, None, |c| {
            Ok(LatestUpdate {
                config: c.latest.config.clone(),
                code: None,
                revision_id: revision.into(),
                now_ms,
                publish_revision_id: Some(format!("{revision}-published")),
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn published_versions_hold_their_code_until_deleted() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "f", b"v1-zip").await.unwrap();
    let new_sha = "e".repeat(64);
    let new_zip = b"v2-zip".to_vec();
    // Publish version 1 with the old code, then replace $LATEST's code.
    publish(&store, &s, "f", "r2", 2).await;
    replace_code(&store, &s, "f", &new_sha, &new_zip, "r3", 3).await;
    // Version 1 still needs the old zip.
    assert_eq!(store.code_blob_count().await.unwrap(), 2);
    store.delete_version(&s, "f", 1).await.unwrap();
    assert_eq!(store.code_blob_count().await.unwrap(), 1);
    // Publish again and delete the whole function: cascades take every blob with them.
    publish(&store, &s, "f", "r4", 4).await;
    store.delete_function(&s, "f").await.unwrap();
    assert_eq!(store.code_blob_count().await.unwrap(), 0);
}

#[tokio::test]
async fn installation_id_is_stable() {
    let (dir, store) = open().await;
    let first = store.installation_id("aaa").await.unwrap();
    assert_eq!(first, "aaa");
    assert_eq!(store.installation_id("bbb").await.unwrap(), "aaa");
    drop(store);
    let store = Store::open(dir.path(), Durability::Full).await.unwrap();
    assert_eq!(store.installation_id("ccc").await.unwrap(), "aaa");
}

#[tokio::test]
async fn event_queue_survives_reopen_and_reschedules() {
    let (dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    let id = store
        .enqueue_event(&s, "f", "$LATEST", "req-1", b"{}", 100)
        .await
        .unwrap();
    drop(store);
    let store = Store::open(dir.path(), Durability::Full).await.unwrap();
    let due = store.due_events(100, 10, &[]).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].request_id.as_str()), (id, "req-1"));
    assert!(store.due_events(100, 10, &[id]).await.unwrap().is_empty());
    store.reschedule_event(id, 1, 500).await.unwrap();
    assert!(store.due_events(499, 10, &[]).await.unwrap().is_empty());
    assert_eq!(store.next_event_due_ms(&[]).await.unwrap(), Some(500));
    assert_eq!(store.next_event_due_ms(&[id]).await.unwrap(), None);
    store.delete_event(id).await.unwrap();
    assert_eq!(store.queued_events().await.unwrap(), 0);
}

#[tokio::test]
async fn event_invoke_configs_belong_to_their_function() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    let config = lambox_store::EventInvokeConfig {
        qualifier: "$LATEST".into(),
        max_retry_attempts: Some(1),
        max_event_age_seconds: None,
        on_success: None,
        on_failure: Some("arn:aws:sqs:us-east-1:111111111111:q".into()),
        last_modified_ms: 5,
    };
    assert!(matches!(
        store.put_event_invoke_config(&s, "f", &config).await,
        Err(StoreError::NotFound)
    ));
    create(&store, &s, "f", b"z").await.unwrap();
    store
        .put_event_invoke_config(&s, "f", &config)
        .await
        .unwrap();
    assert_eq!(
        store.event_invoke_config(&s, "f", "$LATEST").await.unwrap(),
        Some(config.clone())
    );
    assert_eq!(store.event_invoke_configs(&s, "f").await.unwrap().len(), 1);
    store.delete_function(&s, "f").await.unwrap();
    create(&store, &s, "f", b"z").await.unwrap();
    assert_eq!(
        store.event_invoke_config(&s, "f", "$LATEST").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn invocation_logs_are_bounded_per_function() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    let log = |name: &str, i: i64| lambox_store::InvocationLog {
        id: 0,
        account: s.account.clone(),
        region: s.region.clone(),
        function_name: name.into(),
        request_id: format!("r{i}"),
        created_ms: i,
        text: format!("line {i}"),
    };
    let batch: Vec<_> = (0..10).map(|i| log("f", i)).chain([log("g", 0)]).collect();
    store.append_logs(&batch, 3).await.unwrap();
    let kept = store
        .invocation_logs(&s, "f", 0, 100, usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        kept.iter()
            .map(|l| l.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r7", "r8", "r9"]
    );
    assert_eq!(
        store
            .invocation_logs(&s, "g", 0, 100, usize::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
    let after = store
        .invocation_logs(&s, "f", kept[1].id, 100, usize::MAX)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    // A page stops at its byte bound, but always holds one log.
    let bounded = store.invocation_logs(&s, "f", 0, 100, 7).await.unwrap();
    assert_eq!(bounded.len(), 2);
    assert_eq!(
        store
            .invocation_logs(&s, "f", 0, 100, 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Reservations are checked against the sum of the others in the same transaction that writes
/// them: racing reservations never exceed the limit together, and a delete in between does not
/// leave a stale sum behind.
#[tokio::test]
async fn concurrent_reservations_never_exceed_the_limit() {
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    for i in 0..20 {
        create(&store, &s, &format!("f{i}"), b"zip").await.unwrap();
    }
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, s) = (store.clone(), s.clone());
        racing.spawn(async move {
            store
                .update_reserved_concurrency(&s, &format!("f{i}"), |others| {
                    if others + 100 > 900 {
                        Err(StoreError::NotFound)
                    } else {
                        Ok(Some(100))
                    }
                })
                .await
                .is_ok()
        });
    }
    let granted = racing.join_all().await.into_iter().filter(|ok| *ok).count();
    assert_eq!(granted, 9);
    assert_eq!(
        store.account_usage(&s).await.unwrap().reserved_concurrency,
        900
    );
    // Deleting a reserving function frees its share for the next check.
    let mut reserved = Vec::new();
    let mut unreserved = Vec::new();
    for i in 0..20 {
        let name = format!("f{i}");
        let f = store.get_function(&s, &name).await.unwrap().unwrap();
        match f.reserved_concurrency {
            Some(_) => reserved.push(name),
            None => unreserved.push(name),
        }
    }
    store.delete_function(&s, &reserved[0]).await.unwrap();
    let mut seen = None;
    store
        .update_reserved_concurrency(&s, &unreserved[0], |others| {
            seen = Some(others);
            Ok::<_, StoreError>(None)
        })
        .await
        .unwrap();
    assert_eq!(seen, Some(800));
}

#[tokio::test]
async fn urls_follow_their_function_and_alias() {
    use lambox_store::{AliasState, UrlSettings};
    let (_dir, store) = open().await;
    let s = scope("111111111111", "us-east-1");
    create(&store, &s, "web", b"zip").await.unwrap();
    publish(&store, &s, "web", "r2", 2).await;
    let alias = AliasState {
        function_version: "1".into(),
        additional: None,
        description: String::new(),
        revision_id: "a1".into(),
    };
    store.create_alias(&s, "web", "live", &alias).await.unwrap();
    let settings = UrlSettings {
        auth_type: Some("NONE".into()),
        cors: None,
        invoke_mode: None,
    };
    let id = |c: char| c.to_string().repeat(32);
    store
        .create_url(&s, "web", "", &id('a'), &settings, 3)
        .await
        .unwrap();
    store
        .create_url(&s, "web", "live", &id('b'), &settings, 3)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_url(&s, "web", "", &id('c'), &settings, 3)
            .await,
        Err(StoreError::UrlExists)
    ));
    assert!(matches!(
        store
            .create_url(&s, "web", "gone", &id('c'), &settings, 3)
            .await,
        Err(StoreError::AliasNotFound)
    ));
    // An update changes only what it names.
    let changed = store
        .update_url(
            &s,
            "web",
            "",
            &UrlSettings {
                auth_type: None,
                cors: Some(Some("{}".into())),
                invoke_mode: Some("RESPONSE_STREAM".into()),
            },
            4,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.auth_type, "NONE");
    assert_eq!(
        (changed.cors.as_deref(), changed.modified_ms),
        (Some("{}"), 4)
    );
    let target = store.url_target(&id('b')).await.unwrap().unwrap();
    assert_eq!(
        (target.scope, target.url.qualifier.as_str()),
        (s.clone(), "live")
    );
    let (page, more) = store.list_urls(&s, "web", None, 1).await.unwrap();
    assert_eq!(
        (page.len(), more, page[0].qualifier.as_str()),
        (1, true, "")
    );
    let (rest, more) = store.list_urls(&s, "web", Some(""), 1).await.unwrap();
    assert_eq!((rest[0].qualifier.as_str(), more), ("live", false));
    // The alias takes its URL along; the function takes all of them.
    assert!(store.delete_alias(&s, "web", "live").await.unwrap());
    assert!(store.url_target(&id('b')).await.unwrap().is_none());
    assert!(store.url_target(&id('a')).await.unwrap().is_some());
    store.delete_function(&s, "web").await.unwrap();
    assert!(store.url_target(&id('a')).await.unwrap().is_none());
}
