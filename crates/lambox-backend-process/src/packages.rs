//! Packages on disk: code and layers unpacked once per digest (`extract.rs`), and the merge of
//! a function's several layers (`layers.rs`), each built under a lock of its own key so that a
//! large package delays no other function's cold start.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use lambox_core::backend::{BackendError, CodePackage, SandboxSpec};

use crate::{ProcessBackend, extract, layers};

/// One lock per code digest being unpacked; entries go when their last holder is done.
#[derive(Default)]
pub(crate) struct DigestLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl DigestLocks {
    pub(crate) fn lock_of(&self, digest: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(digest.to_owned()).or_default().clone()
    }

    pub(crate) fn release(&self, digest: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        drop(lock);
        // Ours and the map's: nobody else waits for it.
        if map.get(digest).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(digest);
        }
    }
}

impl ProcessBackend {
    /// The unpacked code (or layer) of a package, unpacking it on first use. Unpacking holds a
    /// lock of its digest only, so a large package delays no other function's cold start.
    pub(crate) async fn unpacked(&self, code: &CodePackage) -> Result<PathBuf, BackendError> {
        let dest = self.config.code_dir.join(&code.sha256_hex);
        if tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
            return Ok(dest);
        }
        let lock = self.extracting.lock_of(&code.sha256_hex);
        let unpacked = async {
            let _this_digest = lock.lock().await;
            if !tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
                let zip = code.zip().await?;
                let target = dest.clone();
                tokio::task::spawn_blocking(move || extract::extract_zip(&zip, &target))
                    .await
                    .map_err(|e| BackendError::Launch(e.to_string()))??;
            }
            Ok::<_, BackendError>(())
        }
        .await;
        // Whether or not it worked, this digest's lock entry goes when nobody waits for it.
        self.extracting.release(&code.sha256_hex, lock);
        unpacked?;
        Ok(dest)
    }

    /// What stands in for `/opt`: nothing without layers, the unpacked layer for one, and the
    /// merge of several (built once per ordered set of digests).
    pub(crate) async fn layers_root(
        &self,
        spec: &SandboxSpec,
    ) -> Result<Option<PathBuf>, BackendError> {
        let mut unpacked = Vec::with_capacity(spec.layers.len());
        for layer in &spec.layers {
            unpacked.push(self.unpacked(layer).await?);
        }
        if unpacked.len() < 2 {
            return Ok(unpacked.pop());
        }
        let digests: Vec<&str> = spec.layers.iter().map(|l| l.sha256_hex.as_str()).collect();
        let name = layers::set_name(&digests);
        let dest = self.config.layer_sets_dir.join(&name);
        if tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
            return Ok(Some(dest));
        }
        let key = format!("set-{name}");
        let lock = self.extracting.lock_of(&key);
        let merged = async {
            let _this_set = lock.lock().await;
            if !tokio::fs::metadata(&dest).await.is_ok_and(|m| m.is_dir()) {
                let target = dest.clone();
                tokio::task::spawn_blocking(move || layers::merge(&unpacked, &target))
                    .await
                    .map_err(|e| BackendError::Launch(e.to_string()))??;
            }
            Ok::<_, BackendError>(())
        }
        .await;
        self.extracting.release(&key, lock);
        merged?;
        Ok(Some(dest))
    }
}
