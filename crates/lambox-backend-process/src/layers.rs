//! What stands in for `/opt`: a function's layers, each unpacked once per digest (as code is),
//! and, for a function of several layers, their merge, built once per ordered set of digests by
//! hard-linking each layer's files in order, so that a later layer's file replaces an earlier
//! one's as Lambda's extraction into `/opt` does. Hard links cost no copy; the unpacked files
//! are read-only, so sharing them is safe.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::extract::{build_read_only, remove_tree};

/// The name of the merge of layers with these digests, in this order.
pub fn set_name(digests: &[&str]) -> String {
    let mut h = Sha256::new();
    for d in digests {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    lambox_core::code::lower_hex(&h.finalize())
}

/// Merges the unpacked `layers` (in order) into `dest`, which must not exist; like extraction,
/// through a staging sibling, so a crash never leaves half a merge.
pub fn merge(layers: &[PathBuf], dest: &Path) -> io::Result<()> {
    build_read_only(dest, |staging| {
        layers
            .iter()
            .try_for_each(|layer| link_tree(layer, staging))
    })
}

/// Removes whatever is at `path` (a file, a link, or a tree).
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => {
            remove_tree(path);
            Ok(())
        }
        Ok(_) => fs::remove_file(path),
    }
}

/// Links the tree `src` into `dst`, replacing what is there by the same name (a directory
/// meets a directory: their entries merge).
fn link_tree(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let is_dir = fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir());
            if !is_dir {
                remove_any(&to)?;
                fs::create_dir(&to)?;
            }
            link_tree(&from, &to)?;
        } else {
            remove_any(&to)?;
            if kind.is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
            } else if fs::hard_link(&from, &to).is_err() {
                // Another file system (or one without links): a copy keeps the same contents.
                fs::copy(&from, &to)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_replace_earlier_files_and_directories_merge() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(a.join("python/pkg")).unwrap();
        fs::create_dir_all(b.join("python/pkg")).unwrap();
        fs::write(a.join("python/pkg/mod.py"), "A").unwrap();
        fs::write(a.join("python/only_a.py"), "a").unwrap();
        fs::write(b.join("python/pkg/mod.py"), "B").unwrap();
        fs::write(a.join("bin"), "a file where b has a directory").unwrap();
        fs::create_dir_all(b.join("bin")).unwrap();
        fs::write(b.join("bin/tool"), "tool").unwrap();
        std::os::unix::fs::symlink("pkg/mod.py", b.join("python/link.py")).unwrap();
        let dest = dir.path().join("sets").join(set_name(&["a", "b"]));
        merge(&[a, b], &dest).unwrap();
        let read = |p: &str| fs::read_to_string(dest.join(p)).unwrap();
        assert_eq!(read("python/pkg/mod.py"), "B");
        assert_eq!(read("python/only_a.py"), "a");
        assert_eq!(read("bin/tool"), "tool");
        assert_eq!(read("python/link.py"), "B");
        assert_ne!(set_name(&["a", "b"]), set_name(&["b", "a"]));
        // Merging again over a finished merge keeps it.
        merge(&[dir.path().join("a")], &dest).unwrap();
        assert_eq!(read("python/pkg/mod.py"), "B");
        remove_tree(dir.path());
    }
}
