//! What the store's tests share: scopes, configurations and creating a function.

#![allow(dead_code, reason = "each test file uses a part")]

use std::collections::BTreeMap;

use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use lambox_store::{CodeUpload, NewFunction, Scope, Store, StoreError};

/// A scope of `account` in `region`.
pub fn scope_of(account: &str, region: &str) -> Scope {
    Scope {
        account: account.into(),
        region: region.into(),
    }
}

/// A python function's configuration.
pub fn config(name: &str) -> FunctionConfig {
    FunctionConfig::new(
        name,
        PackageType::Zip,
        "arn:aws:iam::111111111111:role/r".into(),
        None,
        None,
        &FunctionSettings {
            runtime: Some("python3.12".into()),
            handler: Some("h.handler".into()),
            ..Default::default()
        },
    )
}

/// Creates function `name` with `config` and the code `zip` (its digest made of its length).
pub async fn create_with(
    store: &Store,
    s: &Scope,
    name: &str,
    config: &FunctionConfig,
    zip: &[u8],
) -> Result<(), StoreError> {
    let sha = format!("{:0>64}", zip.len());
    store
        .create_function(NewFunction {
            scope: s,
            name,
            config,
            code_sha256_hex: &sha,
            code_size: zip.len() as u64,
            blob: Some(CodeUpload {
                sha256_hex: &sha,
                bytes: zip,
                unzipped_size: None,
            }),
            tags: &BTreeMap::new(),
            publish: false,
            revision_id: "rev-1",
            published_revision_id: "rev-p",
            now_ms: 1,
        })
        .await
        .map(|_| ())
}

/// Creates function `name` with the code `zip`.
pub async fn create(store: &Store, s: &Scope, name: &str, zip: &[u8]) -> Result<(), StoreError> {
    create_with(store, s, name, &config(name), zip).await
}
