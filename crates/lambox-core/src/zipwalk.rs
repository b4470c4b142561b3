//! The one walker over deployment packages: every place that reads a .zip (the upload check,
//! the process backend's extraction, the Docker backend's archive) goes through [`walk_zip`], so
//! a rule about what a package may contain is made once.
//!
//! A package is read twice. The first pass reads only the central directory and the symlink
//! targets and checks the tree as a whole: every path stays inside the root once `..` is
//! applied, no entry lies below a file or a symlink (so nothing can be written through a link),
//! no path appears twice, and every symlink, followed through the other links of the package,
//! still lands inside the root. The second pass inflates each entry for the visitor, counting
//! what it inflates against the unzipped limit and comparing it with the size the entry
//! declares, so a lying header neither slips past the limit nor makes anyone preallocate it.

use std::collections::HashMap;
use std::io::{self, Read};

use crate::code::ZipRejection;

/// The permission bits an extracted entry may carry: setuid, setgid and sticky bits are dropped.
pub const MODE_MASK: u32 = 0o777;

/// Most entries a package may hold (each one becomes a file on disk).
pub const MAX_ENTRIES: usize = 250_000;

/// Longest symlink target, as Linux's `PATH_MAX`.
const MAX_LINK_TARGET: usize = 4096;

/// Most links followed while resolving one symlink, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: usize = 40;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file of the given (declared and verified) size.
    File {
        /// Inflated size in bytes.
        size: u64,
    },
    /// A symbolic link; its target stays inside the package.
    Symlink {
        /// The link's target as stored.
        target: String,
    },
}

/// One entry, as the visitor of [`walk_zip`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageEntry {
    /// Relative path, `/`-separated, normalised (no `.`, `..` or empty components, no trailing
    /// slash).
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits, masked by [`MODE_MASK`].
    pub mode: u32,
}

/// Totals of a walked package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkSummary {
    /// Number of entries.
    pub entries: u64,
    /// Bytes inflated, over all entries.
    pub unzipped_size: u64,
}

/// Why a walk stopped: the package is refused, or the visitor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// The package breaks a rule.
    #[error(transparent)]
    Rejected(#[from] ZipRejection),
    /// The visitor's own I/O failed (e.g. the disk is full).
    #[error(transparent)]
    Io(io::Error),
}

impl From<WalkError> for io::Error {
    fn from(e: WalkError) -> Self {
        match e {
            WalkError::Io(e) => e,
            WalkError::Rejected(r) => io::Error::new(io::ErrorKind::InvalidData, r),
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> ZipRejection {
    ZipRejection::Corrupt(e.to_string())
}

/// Normalises an entry name: `None` when it escapes the root (absolute, a `..` above the root, a
/// Windows `..\`). A name that normalises to nothing yields an empty string.
pub fn normalize_entry_path(name: &str) -> Option<String> {
    if name.starts_with('/') || name.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            // Backslashes are separators to Windows unzippers: a `..\` hides a parent.
            p if has_backslash_parent(p) => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Whether a path component hides a `..` behind backslashes (`..\x`).
fn has_backslash_parent(part: &str) -> bool {
    part.contains('\\') && part.split('\\').any(|s| s == "..")
}

/// What the first pass keeps of an entry.
struct Planned {
    index: usize,
    entry: PackageEntry,
}

/// Checks the tree of a package and returns its entries in archive order, with their
/// normalised paths and symlink targets.
fn plan(archive: &mut zip::ZipArchive<io::Cursor<&[u8]>>) -> Result<Vec<Planned>, ZipRejection> {
    if archive.len() > MAX_ENTRIES {
        return Err(corrupt(format!("more than {MAX_ENTRIES} entries")));
    }
    let mut planned = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(corrupt)?;
        let name = file.name().map_err(corrupt)?.into_owned();
        let path =
            normalize_entry_path(&name).ok_or_else(|| ZipRejection::Escapes(name.clone()))?;
        let mode = file.unix_mode().unwrap_or(0o644) & MODE_MASK;
        let kind = if file.is_dir() {
            EntryKind::Directory
        } else if file.is_symlink() {
            if file.size() > MAX_LINK_TARGET as u64 {
                return Err(corrupt(format!("symlink {name} is too long")));
            }
            let mut target = Vec::new();
            (&mut file)
                .take(MAX_LINK_TARGET as u64 + 1)
                .read_to_end(&mut target)
                .map_err(corrupt)?;
            if target.len() > MAX_LINK_TARGET || target.len() as u64 != file.size() {
                return Err(corrupt(format!("symlink {name} lies about its size")));
            }
            let target = String::from_utf8(target).map_err(corrupt)?;
            EntryKind::Symlink { target }
        } else {
            EntryKind::File { size: file.size() }
        };
        if path.is_empty() {
            match kind {
                // `./` or `a/..`: the root itself.
                EntryKind::Directory => continue,
                _ => return Err(corrupt(format!("{name} names the root"))),
            }
        }
        planned.push(Planned {
            index,
            entry: PackageEntry { path, kind, mode },
        });
    }
    check_tree(planned.iter().map(|p| &p.entry))?;
    Ok(planned)
}

/// The tree rules: no duplicates, nothing below a file or link, links stay inside.
fn check_tree<'a>(
    entries: impl Iterator<Item = &'a PackageEntry> + Clone,
) -> Result<(), ZipRejection> {
    let mut kinds: HashMap<&str, &EntryKind> = HashMap::new();
    for e in entries.clone() {
        if let Some(previous) = kinds.insert(&e.path, &e.kind)
            && !(*previous == EntryKind::Directory && e.kind == EntryKind::Directory)
        {
            return Err(corrupt(format!("{} appears twice", e.path)));
        }
    }
    let links: HashMap<&str, &str> = kinds
        .iter()
        .filter_map(|(p, k)| match k {
            EntryKind::Symlink { target } => Some((*p, target.as_str())),
            _ => None,
        })
        .collect();
    for e in entries {
        // Every proper ancestor must be a directory (or not be an entry at all).
        let mut at = 0;
        while let Some(i) = e.path[at..].find('/') {
            let ancestor = &e.path[..at + i];
            match kinds.get(ancestor) {
                Some(EntryKind::Symlink { .. }) => {
                    return Err(ZipRejection::Escapes(format!(
                        "{} lies below the symlink {ancestor}",
                        e.path
                    )));
                }
                Some(EntryKind::File { .. }) => {
                    return Err(corrupt(format!(
                        "{} lies below the file {ancestor}",
                        e.path
                    )));
                }
                _ => {}
            }
            at += i + 1;
        }
        if let EntryKind::Symlink { target } = &e.kind
            && !link_stays_inside(&e.path, target, &links)
        {
            return Err(ZipRejection::Escapes(format!("{} -> {target}", e.path)));
        }
    }
    Ok(())
}

/// Whether the link at `path` pointing at `target`, followed through the package's other
/// `links` as the kernel would follow them, stays inside the root.
fn link_stays_inside(path: &str, target: &str, links: &HashMap<&str, &str>) -> bool {
    if target.starts_with('/') || target.split('/').any(has_backslash_parent) {
        return false;
    }
    // Components still to walk, last first; `at` is where the walk is.
    let mut pending: Vec<String> = target.rsplit('/').map(str::to_owned).collect();
    let mut at: Vec<String> = path.split('/').map(str::to_owned).collect();
    at.pop();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => {}
            ".." => {
                if at.pop().is_none() {
                    return false;
                }
            }
            name => {
                at.push(name.to_owned());
                let here = at.join("/");
                if let Some(next) = links.get(here.as_str()) {
                    hops += 1;
                    if hops > MAX_LINK_HOPS || next.starts_with('/') {
                        return false;
                    }
                    at.pop();
                    pending.extend(next.rsplit('/').map(str::to_owned));
                }
            }
        }
    }
    true
}

/// Counts what an entry inflates, against the package's limit and the entry's declared size.
struct Counted<'a, R> {
    inner: R,
    declared: u64,
    read: u64,
    total: &'a mut u64,
    max_total: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let reject = |r: ZipRejection| io::Error::new(io::ErrorKind::InvalidData, r);
        // A failure to inflate is the package's fault, not the visitor's.
        let n = self.inner.read(buf).map_err(|e| reject(corrupt(e)))?;
        self.read += n as u64;
        *self.total += n as u64;
        if *self.total > self.max_total {
            return Err(reject(ZipRejection::UnzippedTooLarge(self.max_total)));
        }
        if self.read > self.declared || (n == 0 && !buf.is_empty() && self.read != self.declared) {
            return Err(reject(corrupt(
                "an entry's size differs from what it declares",
            )));
        }
        Ok(n)
    }
}

/// Turns an I/O error back into the rejection it carries, if it carries one.
fn classify(e: io::Error) -> WalkError {
    if e.get_ref().is_some_and(|inner| inner.is::<ZipRejection>()) {
        let inner = e.into_inner().expect("checked above");
        return WalkError::Rejected(*inner.downcast::<ZipRejection>().expect("checked above"));
    }
    WalkError::Io(e)
}

/// Walks a package: checks its tree, then hands each entry to `visit` in archive order with a
/// reader of its contents (empty for directories and links). What the visitor leaves unread is
/// read and counted afterwards, so the limits hold whatever it does.
///
/// ```
/// use std::io::{Cursor, Read, Write};
/// use lambox_core::zipwalk::{EntryKind, walk_zip};
///
/// let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
/// w.start_file("./lib/a.txt", zip::write::SimpleFileOptions::default()).unwrap();
/// w.write_all(b"x = 1\n").unwrap();
/// let zip = w.finish().unwrap().into_inner();
///
/// let mut seen = Vec::new();
/// walk_zip(&zip, 1 << 20, |entry, data| {
///     let mut text = String::new();
///     data.read_to_string(&mut text)?;
///     seen.push((entry.path.clone(), text));
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(seen, [("lib/a.txt".to_owned(), "x = 1\n".to_owned())]);
///
/// // A link out of the package is refused before anything is handed out.
/// let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
/// w.add_symlink("up", "../..", zip::write::SimpleFileOptions::default()).unwrap();
/// let zip = w.finish().unwrap().into_inner();
/// assert!(walk_zip(&zip, 1 << 20, |_, _| Ok(())).is_err());
/// ```
pub fn walk_zip(
    bytes: &[u8],
    max_unzipped: u64,
    mut visit: impl FnMut(&PackageEntry, &mut dyn Read) -> io::Result<()>,
) -> Result<WalkSummary, WalkError> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).map_err(corrupt)?;
    let planned = plan(&mut archive)?;
    let mut summary = WalkSummary {
        entries: planned.len() as u64,
        unzipped_size: 0,
    };
    for p in planned {
        match p.entry.kind {
            EntryKind::File { size } => {
                let file = archive.by_index(p.index).map_err(corrupt)?;
                let mut counted = Counted {
                    inner: file,
                    declared: size,
                    read: 0,
                    total: &mut summary.unzipped_size,
                    max_total: max_unzipped,
                };
                visit(&p.entry, &mut counted).map_err(classify)?;
                io::copy(&mut counted, &mut io::sink()).map_err(classify)?;
            }
            EntryKind::Symlink { ref target } => {
                summary.unzipped_size += target.len() as u64;
                visit(&p.entry, &mut io::empty()).map_err(classify)?;
            }
            EntryKind::Directory => visit(&p.entry, &mut io::empty()).map_err(classify)?,
        }
        if summary.unzipped_size > max_unzipped {
            return Err(ZipRejection::UnzippedTooLarge(max_unzipped).into());
        }
    }
    Ok(summary)
}

#[cfg(test)]
#[path = "zipwalk_tests.rs"]
mod tests;
