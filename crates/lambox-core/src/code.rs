//! Deployment packages: checking an uploaded .zip before anything is stored, and its identity
//! (`CodeSha256`).
//!
//! Every entry is inflated and counted, because the sizes a zip declares can lie (a zip bomb);
//! entries that would land outside the extraction root are refused (path traversal), symlinks
//! included. The rules live in [`crate::zipwalk`], which every reader of packages shares.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::LambdaError;
use crate::zipwalk::{WalkError, walk_zip};

/// AWS's message for an archive it cannot unpack.
pub const UNZIP_FAILED: &str =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

/// What an accepted deployment package is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipPackage {
    /// SHA-256 of the zip bytes.
    pub sha256: [u8; 32],
    /// Size of the zip in bytes (`CodeSize`).
    pub zipped_size: u64,
    /// Sum of the inflated sizes of all entries.
    pub unzipped_size: u64,
}

impl ZipPackage {
    /// `CodeSha256` as AWS prints it: base64 of the digest.
    pub fn code_sha256(&self) -> String {
        code_sha256(&self.sha256)
    }
}

/// Base64 of a SHA-256 digest, as AWS prints `CodeSha256`.
pub fn code_sha256(digest: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Lowercase hex of `bytes` (a SHA-256 digest in it is the key code blobs are stored under).
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // One allocation, no formatting machinery: this runs several times per invocation.
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why a zip was refused; each maps to AWS's wording through [`From`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZipRejection {
    /// Larger than the zipped limit.
    #[error("Zipped size must be smaller than {0} bytes")]
    ZippedTooLarge(u64),
    /// Inflates past the unzipped limit.
    #[error("Unzipped size must be smaller than {0} bytes")]
    UnzippedTooLarge(u64),
    /// Not a readable zip, or an entry fails its checksum.
    #[error("corrupt archive: {0}")]
    Corrupt(String),
    /// An entry (or symlink target) escapes the extraction root.
    #[error("entry escapes the archive root: {0}")]
    Escapes(String),
}

impl From<ZipRejection> for LambdaError {
    fn from(r: ZipRejection) -> Self {
        match r {
            ZipRejection::ZippedTooLarge(_) => LambdaError::RequestEntityTooLarge(r.to_string()),
            ZipRejection::UnzippedTooLarge(_) => LambdaError::InvalidParameterValue(r.to_string()),
            ZipRejection::Corrupt(_) | ZipRejection::Escapes(_) => {
                LambdaError::InvalidParameterValue(UNZIP_FAILED.to_owned())
            }
        }
    }
}

/// Checks a deployment package against the zipped and unzipped limits, its structure and its
/// tree (see [`crate::zipwalk`]), and returns its identity.
pub fn inspect_zip(
    bytes: &[u8],
    max_zipped: u64,
    max_unzipped: u64,
) -> Result<ZipPackage, ZipRejection> {
    let zipped_size = bytes.len() as u64;
    if zipped_size > max_zipped {
        return Err(ZipRejection::ZippedTooLarge(max_zipped));
    }
    let summary = walk_zip(bytes, max_unzipped, |_, _| Ok(())).map_err(|e| match e {
        WalkError::Rejected(r) => r,
        // Nothing is written while checking: an I/O error can only come from reading.
        WalkError::Io(e) => ZipRejection::Corrupt(e.to_string()),
    })?;
    Ok(ZipPackage {
        sha256: sha256(bytes),
        zipped_size,
        unzipped_size: summary.unzipped_size,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn accepts_and_identifies_a_package() {
        let z = zip_of(&[
            ("handler.py", b"def handler(e, c):\n    return e\n"),
            ("lib/x.py", b""),
        ]);
        let p = inspect_zip(&z, 1 << 20, 1 << 20).unwrap();
        assert_eq!(p.zipped_size, z.len() as u64);
        assert_eq!(p.unzipped_size, 32);
        assert_eq!(p.sha256, sha256(&z));
        assert_eq!(p.code_sha256().len(), 44);
    }

    #[test]
    fn refuses_corrupt_bytes() {
        assert!(matches!(
            inspect_zip(b"not a zip", 100, 100),
            Err(ZipRejection::Corrupt(_))
        ));
        let mut z = zip_of(&[("a.txt", &[7u8; 1000])]);
        let mid = z.len() / 3;
        z[mid] ^= 0xff;
        assert!(inspect_zip(&z, 1 << 20, 1 << 20).is_err());
    }

    #[test]
    fn refuses_traversal() {
        for name in [
            "../evil.py",
            "a/../../evil.py",
            "/etc/passwd",
            "a\\..\\..\\evil",
        ] {
            let z = zip_of(&[(name, b"x")]);
            assert!(
                matches!(
                    inspect_zip(&z, 1 << 20, 1 << 20),
                    Err(ZipRejection::Escapes(_))
                ),
                "{name}"
            );
        }
        assert!(inspect_zip(&zip_of(&[("a/../b.py", b"x")]), 1 << 20, 1 << 20).is_ok());
    }

    #[test]
    fn refuses_escaping_symlinks() {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        w.add_symlink(
            "link",
            "../../etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let z = w.finish().unwrap().into_inner();
        assert!(matches!(
            inspect_zip(&z, 1 << 20, 1 << 20),
            Err(ZipRejection::Escapes(_))
        ));
    }

    #[test]
    fn limits_zipped_and_inflated_size() {
        let bomb = zip_of(&[("zeros", &vec![0u8; 2 << 20])]);
        assert!(bomb.len() < 10_000);
        assert_eq!(
            inspect_zip(&bomb, 1 << 20, 1 << 20),
            Err(ZipRejection::UnzippedTooLarge(1 << 20))
        );
        assert_eq!(
            inspect_zip(&bomb, 100, 1 << 30),
            Err(ZipRejection::ZippedTooLarge(100))
        );
        let e: LambdaError = ZipRejection::UnzippedTooLarge(262_144_000).into();
        assert_eq!(
            e,
            LambdaError::InvalidParameterValue(
                "Unzipped size must be smaller than 262144000 bytes".into()
            )
        );
    }
}
