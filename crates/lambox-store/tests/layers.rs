//! Layers in the store against a real SQLite file: numbering, policies, and the life of their
//! content while functions use it.

use std::collections::BTreeMap;

use lambox_core::layer::FunctionLayer;
use lambox_store::{
    CodeUpload, Durability, LatestUpdate, LayerFilter, NewFunction, NewLayerVersion, Scope, Store,
    StoreError,
};

mod support;

fn scope() -> Scope {
    Scope {
        account: "111111111111".into(),
        region: "us-east-1".into(),
    }
}

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Normal).await.unwrap();
    (dir, store)
}

/// Publishes a version of `name` whose zip is `bytes` (digest: `sha`).
async fn publish(store: &Store, name: &str, sha: &str, bytes: &[u8], runtimes: &[&str]) -> i64 {
    let runtimes: Vec<String> = runtimes.iter().map(|r| (*r).to_owned()).collect();
    store
        .publish_layer_version(NewLayerVersion {
            scope: &scope(),
            name,
            description: "d",
            license_info: None,
            compatible_runtimes: Some(&runtimes),
            compatible_architectures: Some(&["x86_64".to_owned()]),
            blob: CodeUpload {
                sha256_hex: sha,
                bytes,
                unzipped_size: Some(100),
            },
            unzipped_size: 100,
            now_ms: 1,
        })
        .await
        .unwrap()
        .version
}

fn pinned(sha: &str) -> FunctionLayer {
    FunctionLayer {
        arn: format!("arn:aws:lambda:us-east-1:111111111111:layer:{sha}:1"),
        sha256_hex: sha.into(),
        code_size: 3,
        unzipped_size: 100,
    }
}

async fn create_with_layers(store: &Store, name: &str, layers: Vec<FunctionLayer>) {
    let mut config = support::config(name);
    config.layers = layers;
    let code = format!("{:0>64}", name.len());
    store
        .create_function(NewFunction {
            scope: &scope(),
            name,
            config: &config,
            code_sha256_hex: &code,
            code_size: 1,
            blob: Some(CodeUpload {
                sha256_hex: &code,
                bytes: b"c",
                unzipped_size: Some(1),
            }),
            tags: &BTreeMap::new(),
            publish: false,
            revision_id: "r",
            published_revision_id: "p",
            now_ms: 1,
        })
        .await
        .unwrap();
}

async fn set_layers(store: &Store, name: &str, layers: Vec<FunctionLayer>, publish: bool) {
    store
        .update_latest::<StoreError>(&scope(), name, None, |c| {
            let mut config = c.latest.config.clone();
            config.layers = layers;
            Ok(LatestUpdate {
                config,
                code: None,
                revision_id: "r2".into(),
                now_ms: 2,
                publish_revision_id: publish.then(|| "p2".to_owned()),
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn versions_are_numbered_once_and_listed_newest_first() {
    let (_dir, store) = open().await;
    assert_eq!(publish(&store, "l", "aa", b"a", &["python3.12"]).await, 1);
    assert_eq!(publish(&store, "l", "bb", b"b", &["nodejs20.x"]).await, 2);
    store.delete_layer_version(&scope(), "l", 2).await.unwrap();
    // Deleting what is not there is no error.
    store.delete_layer_version(&scope(), "l", 2).await.unwrap();
    assert_eq!(publish(&store, "l", "bb", b"b", &["nodejs20.x"]).await, 3);
    let (all, more) = store
        .list_layer_versions(&scope(), "l", LayerFilter::default(), None, 50)
        .await
        .unwrap();
    assert!(!more);
    assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 1]);
    let python = LayerFilter {
        runtime: Some("python3.12"),
        architecture: None,
    };
    let (py, _) = store
        .list_layer_versions(&scope(), "l", python, None, 50)
        .await
        .unwrap();
    assert_eq!(py.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
    let (page, more) = store
        .list_layer_versions(&scope(), "l", LayerFilter::default(), None, 1)
        .await
        .unwrap();
    assert!(more);
    let (rest, _) = store
        .list_layer_versions(
            &scope(),
            "l",
            LayerFilter::default(),
            Some(page[0].version),
            1,
        )
        .await
        .unwrap();
    assert_eq!(rest[0].version, 1);
    // ListLayers shows each layer with its newest matching version.
    let (layers, _) = store.list_layers(&scope(), python, None, 50).await.unwrap();
    assert_eq!((layers[0].name.as_str(), layers[0].version), ("l", 1));
    let (layers, _) = store
        .list_layers(&scope(), LayerFilter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(layers[0].version, 3);
    let other = Scope {
        account: "222222222222".into(),
        region: "us-east-1".into(),
    };
    assert!(store.layer_version(&other, "l", 1).await.unwrap().is_none());
}

#[tokio::test]
async fn content_stays_while_a_function_pins_it() {
    let (_dir, store) = open().await;
    publish(&store, "a", "aa", b"a", &[]).await;
    publish(&store, "b", "bb", b"b", &[]).await;
    create_with_layers(&store, "f", vec![pinned("aa"), pinned("bb")]).await;
    store.delete_layer_version(&scope(), "a", 1).await.unwrap();
    store.delete_layer_version(&scope(), "b", 1).await.unwrap();
    assert!(
        store.code_blob("aa").await.unwrap().is_some(),
        "pinned by f"
    );
    // Re-ordering keeps both, even though no layer version holds them any more.
    set_layers(&store, "f", vec![pinned("bb"), pinned("aa")], false).await;
    assert!(store.code_blob("aa").await.unwrap().is_some());
    assert!(store.code_blob("bb").await.unwrap().is_some());
    // A published version pins them too.
    set_layers(&store, "f", vec![pinned("bb")], true).await;
    assert!(
        store.code_blob("aa").await.unwrap().is_none(),
        "nothing uses aa now"
    );
    set_layers(&store, "f", Vec::new(), false).await;
    assert!(
        store.code_blob("bb").await.unwrap().is_some(),
        "version 1 uses bb"
    );
    store.delete_version(&scope(), "f", 1).await.unwrap();
    assert!(store.code_blob("bb").await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_a_function_lets_its_layers_go() {
    let (_dir, store) = open().await;
    publish(&store, "a", "aa", b"a", &[]).await;
    create_with_layers(&store, "f", vec![pinned("aa")]).await;
    create_with_layers(&store, "gg", vec![pinned("aa")]).await;
    store.delete_layer_version(&scope(), "a", 1).await.unwrap();
    store.delete_function(&scope(), "f").await.unwrap();
    assert!(
        store.code_blob("aa").await.unwrap().is_some(),
        "gg still uses it"
    );
    store.delete_function(&scope(), "gg").await.unwrap();
    assert!(store.code_blob("aa").await.unwrap().is_none());
    assert_eq!(store.code_blob_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_layer_gone_before_the_write_is_refused() {
    let (_dir, store) = open().await;
    create_with_layers(&store, "f", Vec::new()).await;
    let result = store
        .update_latest::<StoreError>(&scope(), "f", None, |c| {
            let mut config = c.latest.config.clone();
            config.layers = vec![pinned("cc")];
            Ok(LatestUpdate {
                config,
                code: None,
                revision_id: "r2".into(),
                now_ms: 2,
                publish_revision_id: None,
            })
        })
        .await;
    assert!(matches!(result, Err(StoreError::LayerContentGone)));
    let f = store.get_function(&scope(), "f").await.unwrap().unwrap();
    assert!(f.latest.config.layers.is_empty(), "nothing changed");
}

#[tokio::test]
async fn policies_have_revisions() {
    let (_dir, store) = open().await;
    publish(&store, "l", "aa", b"a", &[]).await;
    assert!(
        store
            .layer_policy(&scope(), "l", 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.layer_policy(&scope(), "l", 2).await,
        Err(StoreError::NotFound)
    ));
    let statement: lambox_core::policy::Statement = serde_json::from_value(serde_json::json!({
        "Sid": "s1", "Effect": "Allow", "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": "arn:aws:lambda:us-east-1:111111111111:layer:l:1"
    }))
    .unwrap();
    let added = store
        .update_layer_policy::<StoreError>(&scope(), "l", 1, None, "rev1", |_| {
            Ok(vec![statement.clone()])
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(added.revision_id, "rev1");
    let stale = store
        .update_layer_policy::<StoreError>(&scope(), "l", 1, Some("old"), "rev2", |_| Ok(vec![]))
        .await;
    assert!(matches!(stale, Err(StoreError::RevisionMismatch)));
    let (_, statements) = store
        .layer_version(&scope(), "l", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(statements, [statement]);
    let removed = store
        .update_layer_policy::<StoreError>(&scope(), "l", 1, Some("rev1"), "rev2", |_| Ok(vec![]))
        .await
        .unwrap();
    assert!(removed.is_none());
    assert!(
        store
            .layer_policy(&scope(), "l", 1)
            .await
            .unwrap()
            .is_none()
    );
}
