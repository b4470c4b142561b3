//! Data directories written by earlier versions of lambox open and read as they were written.
//!
//! `fixtures/b0992aa/lambox.db` was written by lambox at commit b0992aa (before the store had
//! its own record of a configuration): three functions through boto3 — a plain python one, a
//! node one with every setting and a published version, an Image one — then a clean stop.

use lambox_core::function::PackageType;
use lambox_store::{Durability, Scope, Store};

async fn open_fixture() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/b0992aa/lambox.db");
    std::fs::copy(fixture, dir.path().join(lambox_store::DATABASE_FILE)).unwrap();
    let store = Store::open(dir.path(), Durability::Full).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_data_dir_of_b0992aa_opens_and_reads() {
    let (_dir, store) = open_fixture().await;
    let s = Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    };
    let (all, _) = store.list_versions(&s, None, 50, true).await.unwrap();
    let names: Vec<String> = all
        .iter()
        .map(|v| format!("{}:{}", v.function_name, v.version))
        .collect();
    assert_eq!(
        names,
        [
            "old-full:$LATEST",
            "old-full:1",
            "old-image:$LATEST",
            "old-plain:$LATEST"
        ]
    );

    let full = store.get_function(&s, "old-full").await.unwrap().unwrap();
    let c = &full.latest.config;
    assert_eq!(c.description, "after publish");
    assert_eq!(
        (c.timeout, c.memory_size, c.ephemeral_storage_mb),
        (30, 512, 1024)
    );
    assert_eq!(c.architecture, "arm64");
    assert_eq!(c.tracing_mode, "Active");
    let env: Vec<(&str, &str)> = c.environment.as_ref().unwrap().iter().collect();
    assert_eq!(env, [("STAGE", "prod"), ("BB", "2")], "in the order given");
    assert_eq!(c.logging.log_format.as_deref(), Some("JSON"));
    assert_eq!(c.logging.log_group.as_deref(), Some("/custom/group"));
    assert_eq!(c.logging.application_log_level.as_deref(), Some("INFO"));
    assert_eq!(
        c.dead_letter_target.as_deref(),
        Some("arn:aws:sqs:us-east-1:111111111111:dlq")
    );
    assert_eq!(full.reserved_concurrency, Some(5));
    assert_eq!(full.tags.get("team").map(String::as_str), Some("a"));
    let v1 = store
        .get_version(&s, "old-full", "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.config.description, "every setting");

    let image = store.get_function(&s, "old-image").await.unwrap().unwrap();
    assert_eq!(image.latest.config.package_type, PackageType::Image);
    let ic = image.latest.config.image_config.as_ref().unwrap();
    assert_eq!(ic.command.as_deref(), Some(&["app.handler".to_owned()][..]));
    assert_eq!(ic.working_directory.as_deref(), Some("/w"));

    let plain = store.get_function(&s, "old-plain").await.unwrap().unwrap();
    let zip = store
        .code_blob(&plain.latest.code_sha256_hex)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&zip[..2], b"PK");
    let configs = store.event_invoke_configs(&s, "old-full").await.unwrap();
    assert_eq!(configs[0].max_retry_attempts, Some(1));
}

/// What is written now reads back, beside what was written then.
#[tokio::test]
async fn an_old_data_dir_takes_new_writes() {
    let (_dir, store) = open_fixture().await;
    let s = Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    };
    store
        .update_latest(&s, "old-plain", None, |f| {
            let mut config = f.latest.config.clone();
            config.timeout = 7;
            Ok::<_, lambox_store::StoreError>(lambox_store::LatestUpdate {
                config,
                code: None,
                revision_id: "new".into(),
                now_ms: 1,
                publish_revision_id: None,
            })
        })
        .await
        .unwrap();
    let plain = store.get_function(&s, "old-plain").await.unwrap().unwrap();
    assert_eq!(plain.latest.config.timeout, 7);
    assert!(store.get_function(&s, "old-full").await.unwrap().is_some());
}
