//! The tar archive uploaded into a container before it starts: the unzipped code at
//! `/var/task`, the layers at `/opt` (in order: a later layer's file replaces an earlier one's
//! when the engine extracts the archive), lambox's agent and runtime clients under
//! `/var/lambox` (not `/opt`, which is the layers' alone), and a writable `/tmp`.
//! Uploading (rather than bind-mounting) is what lets remote engines work too.

use std::io;

use lambox_core::zipwalk::{EntryKind, walk_zip};

/// Where the agent goes in the container.
pub const AGENT_PATH: &str = "/var/lambox/lambox-agent";
/// Where the Python runtime client goes.
pub const PYTHON_CLIENT: &str = "/var/lambox/runtimes/python/bootstrap.py";
/// Where the Node.js runtime client goes.
pub const NODE_CLIENT: &str = "/var/lambox/runtimes/node/bootstrap.js";

/// A tar archive being built.
pub struct SandboxArchive {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for SandboxArchive {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxArchive {
    /// An empty archive with `/tmp`.
    pub fn new() -> Self {
        let mut a = Self {
            builder: tar::Builder::new(Vec::new()),
        };
        a.dir("tmp", 0o1777);
        a
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    }

    fn dir(&mut self, path: &str, mode: u32) {
        let mut h = Self::header(tar::EntryType::Directory, 0, mode);
        let _ = self.builder.append_data(&mut h, path, io::empty());
    }

    /// Adds a file at an absolute container path.
    pub fn file(&mut self, path: &str, data: &[u8], mode: u32) -> io::Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, data.len() as u64, mode);
        self.builder
            .append_data(&mut h, path.trim_start_matches('/'), data)
    }

    /// Adds the entries of a deployment package under `/var/task`, keeping modes and symlinks.
    /// The package is walked by the same walker that checked it when it was stored, so the same
    /// rules hold here (no entry escapes the root or lies below a link).
    pub fn zip_at_task_root(&mut self, zip: &[u8]) -> io::Result<()> {
        self.zip_at("var/task", zip)
    }

    /// Adds a layer's entries under `/opt`; call it for each layer in order.
    pub fn layer_at_opt(&mut self, zip: &[u8]) -> io::Result<()> {
        self.zip_at("opt", zip)
    }

    fn zip_at(&mut self, root: &str, zip: &[u8]) -> io::Result<()> {
        self.dir(root, 0o755);
        walk_zip(zip, u64::MAX, |entry, data| {
            let path = format!("{root}/{}", entry.path);
            match &entry.kind {
                EntryKind::Directory => {
                    self.dir(&path, entry.mode | 0o755);
                    Ok(())
                }
                EntryKind::Symlink { target } => {
                    let mut h = Self::header(tar::EntryType::Symlink, 0, 0o777);
                    self.builder.append_link(&mut h, &path, target)
                }
                EntryKind::File { size } => {
                    // The walker checks the declared size while this reads it: tar streams it.
                    let mut h = Self::header(tar::EntryType::Regular, *size, entry.mode | 0o444);
                    self.builder.append_data(&mut h, &path, data)
                }
            }
        })?;
        Ok(())
    }

    /// The archive's bytes.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        self.builder.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn code_lands_under_var_task_with_its_modes() {
        let mut w = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        w.start_file(
            "bootstrap",
            ::zip::write::SimpleFileOptions::default().unix_permissions(0o755),
        )
        .unwrap();
        w.write_all(b"#!/bin/sh\n").unwrap();
        let zip = w.finish().unwrap().into_inner();
        let mut a = SandboxArchive::new();
        a.zip_at_task_root(&zip).unwrap();
        a.file(AGENT_PATH, b"agent", 0o755).unwrap();
        let bytes = a.finish().unwrap();
        let mut archive = tar::Archive::new(io::Cursor::new(bytes));
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert!(entries.contains(&("var/task/bootstrap".into(), 0o755)));
        assert!(entries.contains(&("var/lambox/lambox-agent".into(), 0o755)));
        assert!(entries.iter().any(|(p, _)| p == "tmp"));
    }
}
