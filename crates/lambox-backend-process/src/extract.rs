//! Unpacking deployment packages into a directory that stands in for `/var/task`.
//!
//! Packages were checked when they were stored; extraction walks them with the same walker
//! (so the same rules hold again), keeps permission bits (a `bootstrap` must stay executable,
//! setuid never survives) and symlinks, and never writes through a link.

use std::fs;
use std::io;
use std::path::Path;

use lambox_core::zipwalk::{EntryKind, walk_zip};

/// Whether a directory entry is the staging directory of an extraction (a digest never starts
/// with a dot).
pub fn is_staging(name: &str) -> bool {
    name.starts_with('.') && name != TRASH_DIR
}

/// Where unpacked code that is no longer stored is moved before it is deleted.
pub const TRASH_DIR: &str = ".trash";

/// Extracts `zip` into `dest`, which must not exist; it is created atomically (through a
/// temporary sibling), so a crash never leaves a half-extracted directory behind.
pub fn extract_zip(zip: &[u8], dest: &Path) -> io::Result<()> {
    build_read_only(dest, |staging| unpack(zip, staging))
}

/// Builds the tree `dest`, which must not exist, by `fill` in a temporary sibling renamed into
/// place when it is complete, its directories made read-only; a crash never leaves half a tree,
/// and of two builders of the same `dest` (the same digest: identical trees) one wins.
pub(crate) fn build_read_only(
    dest: &Path,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    fs::create_dir_all(parent)?;
    let staging = parent.join(format!(
        ".{}.partial-{}",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("tree"),
        std::process::id()
    ));
    remove_tree(&staging);
    fs::create_dir_all(&staging)?;
    if let Err(e) = fill(&staging).and_then(|()| set_dir_modes(&staging, 0o555)) {
        remove_tree(&staging);
        return Err(e);
    }
    match fs::rename(&staging, dest) {
        Ok(()) => Ok(()),
        // Someone else finished first: theirs is identical.
        Err(_) if dest.is_dir() => {
            remove_tree(&staging);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Sets the mode of `dir` and of every directory below it (links are not followed).
fn set_dir_modes(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            set_dir_modes(&entry.path(), mode)?;
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
}

/// Removes an unpacked tree, read-only directories included.
pub fn remove_tree(dir: &Path) {
    let _ = set_dir_modes(dir, 0o755);
    let _ = fs::remove_dir_all(dir);
}

fn unpack(zip: &[u8], root: &Path) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    walk_zip(zip, u64::MAX, |entry, data| {
        let target = root.join(&entry.path);
        match &entry.kind {
            EntryKind::Directory => fs::create_dir_all(&target),
            EntryKind::Symlink { target: link } => {
                if let Some(p) = target.parent() {
                    fs::create_dir_all(p)?;
                }
                std::os::unix::fs::symlink(link, &target)
            }
            EntryKind::File { .. } => {
                if let Some(p) = target.parent() {
                    fs::create_dir_all(p)?;
                }
                // Never through a link: the walker allows no entry below one, and an existing
                // name (a link included) is not opened but refused.
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&target)?;
                io::copy(data, &mut file)?;
                // Lambda's /var/task is read-only and readable by all; keep the execute bits.
                fs::set_permissions(
                    &target,
                    fs::Permissions::from_mode((entry.mode | 0o444) & !0o222),
                )
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn extracts_files_modes_and_directories() {
        let mut w = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let exec = ::zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", exec).unwrap();
        w.write_all(b"#!/bin/sh\n").unwrap();
        w.add_directory("lib/", ::zip::write::SimpleFileOptions::default())
            .unwrap();
        w.start_file("lib/a.py", ::zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"x = 1\n").unwrap();
        let zip = w.finish().unwrap().into_inner();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("code");
        extract_zip(&zip, &dest).unwrap();
        let mode = fs::metadata(dest.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        assert_eq!(mode & 0o222, 0, "code is read-only, as /var/task is");
        let lib = fs::metadata(dest.join("lib")).unwrap().permissions().mode();
        assert_eq!(lib & 0o777, 0o555);
        assert_eq!(
            fs::read_to_string(dest.join("lib/a.py")).unwrap(),
            "x = 1\n"
        );
        // Extracting again over a finished copy is fine.
        extract_zip(&zip, &dest).unwrap();
        remove_tree(&dest);
        assert!(!dest.exists());
    }

    #[test]
    fn refuses_a_package_that_writes_through_a_link() {
        let mut w = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = ::zip::write::SimpleFileOptions::default();
        w.add_symlink("p/q/L1", "..", opts).unwrap();
        w.add_symlink("p/q/L1/L2", "../../../../outside", opts)
            .unwrap();
        w.start_file("p/q/L1/L2/pwned.txt", opts).unwrap();
        w.write_all(b"owned").unwrap();
        let zip = w.finish().unwrap().into_inner();
        let dir = tempfile::tempdir().unwrap();
        assert!(extract_zip(&zip, &dir.path().join("code")).is_err());
        assert!(!dir.path().join("outside").exists());
        assert!(
            !dir.path().join("code").exists(),
            "nothing half-extracted stays"
        );
    }
}
