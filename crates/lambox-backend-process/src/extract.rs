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
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    fs::create_dir_all(parent)?;
    let staging = parent.join(format!(
        ".{}.partial-{}",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("code"),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)?;
    unpack(zip, &staging)?;
    match fs::rename(&staging, dest) {
        Ok(()) => Ok(()),
        // Someone else finished first: theirs is identical (same digest).
        Err(_) if dest.is_dir() => {
            let _ = fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(e) => Err(e),
    }
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
                // Lambda runs code as a user that can read everything; keep the execute bits.
                fs::set_permissions(&target, fs::Permissions::from_mode(entry.mode | 0o444))
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
        assert_eq!(
            fs::read_to_string(dest.join("lib/a.py")).unwrap(),
            "x = 1\n"
        );
        // Extracting again over a finished copy is fine.
        extract_zip(&zip, &dest).unwrap();
    }
}
