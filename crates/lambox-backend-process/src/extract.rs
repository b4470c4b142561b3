//! Unpacking deployment packages into a directory that stands in for `/var/task`.
//!
//! Packages were checked when they were stored (no entry escapes the root); extraction checks
//! again, keeps Unix permission bits (a `bootstrap` must stay executable) and symlinks.

use std::fs;
use std::io;
use std::path::{Component, Path};

/// Whether a directory entry is the staging directory of an extraction (a digest never starts
/// with a dot).
pub fn is_staging(name: &str) -> bool {
    name.starts_with('.')
}

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
    use std::os::unix::fs::PermissionsExt;

    let mut archive = ::zip::ZipArchive::new(io::Cursor::new(zip)).map_err(io::Error::other)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(io::Error::other)?;
        let name = entry.name().map_err(io::Error::other)?.into_owned();
        let relative = Path::new(&name);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(io::Error::other(format!("entry escapes the root: {name}")));
        }
        let target = root.join(relative);
        if entry.is_dir() {
            fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(p) = target.parent() {
            fs::create_dir_all(p)?;
        }
        if entry.is_symlink() {
            let mut link = String::new();
            io::Read::read_to_string(&mut entry, &mut link)?;
            std::os::unix::fs::symlink(link, &target)?;
            continue;
        }
        let mut file = fs::File::create(&target)?;
        io::copy(&mut entry, &mut file)?;
        // Lambda runs code as a user that can read everything; keep the execute bits given.
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o777;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode | 0o444))?;
    }
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
