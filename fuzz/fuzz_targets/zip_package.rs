//! Deployment packages as an attacker crafts them. The check must never panic, and a package it
//! accepts, unpacked the way the backends unpack it, must not reach outside its root: every
//! entry lands below it, and every link resolves below it (a sibling directory is there to be
//! reached, so that an escaping link resolves instead of dangling).
#![no_main]

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use lambox_core::code::inspect_zip;
use lambox_core::zipwalk::{EntryKind, walk_zip};
use libfuzzer_sys::fuzz_target;

fn unpack(zip: &[u8], root: &Path) -> io::Result<()> {
    walk_zip(zip, 1 << 22, |entry, data| {
        assert!(!entry.path.is_empty() && !entry.path.starts_with('/'));
        assert!(entry.path.split('/').all(|p| !p.is_empty() && p != "." && p != ".."));
        assert_eq!(entry.mode & !0o777, 0, "only permission bits survive");
        let target = root.join(&entry.path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        match &entry.kind {
            EntryKind::Directory => fs::create_dir_all(&target),
            EntryKind::Symlink { target: link } => std::os::unix::fs::symlink(link, &target),
            EntryKind::File { .. } => {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(0o400000) // O_NOFOLLOW
                    .open(&target)?;
                io::copy(data, &mut f).map(|_| ())
            }
        }
    })?;
    Ok(())
}

/// Every path below `dir`, links not followed.
fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        out.push(p.clone());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, out);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if inspect_zip(data, 1 << 20, 1 << 22).is_err() {
        return;
    }
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let root = scratch.path().join("task");
    fs::create_dir_all(&root).unwrap();
    for sibling in ["outside", "outside/tmp", "etc"] {
        fs::create_dir_all(scratch.path().join(sibling)).unwrap();
    }
    // An accepted package may still fail to unpack (the disk, say); it must not escape.
    let _ = unpack(data, &root);
    let root = root.canonicalize().unwrap();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    for p in paths {
        if let Ok(real) = p.canonicalize() {
            assert!(real.starts_with(&root), "{} resolves to {}", p.display(), real.display());
        }
    }
    for sibling in ["outside", "outside/tmp", "etc"] {
        let mut below = Vec::new();
        walk(&scratch.path().join(sibling), &mut below);
        assert!(below.iter().all(|p| p.is_dir()), "something was written outside: {below:?}");
    }
});
