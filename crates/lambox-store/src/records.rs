//! The records the store reads and writes.

use std::collections::BTreeMap;

use lambox_core::function::FunctionConfig;

/// The (account, region) everything is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// 12-digit account id.
    pub account: String,
    /// Region name.
    pub region: String,
}

/// One version of a function: `$LATEST` or a published number.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    /// The function's name.
    pub function_name: String,
    /// `$LATEST` or `1`, `2`, ….
    pub version: String,
    /// Changes with every update of this version.
    pub revision_id: String,
    /// Lowercase hex SHA-256 of the code (zip bytes, or image URI).
    pub code_sha256_hex: String,
    /// Size of the zip in bytes; 0 for images.
    pub code_size: u64,
    /// Whether a stored zip backs this version.
    pub has_blob: bool,
    /// Everything else.
    pub config: FunctionConfig,
    /// Epoch milliseconds of the last change.
    pub last_modified_ms: i64,
    /// The transition `$LATEST` is in (after a create or an update, for the store's transition
    /// window); `None` for published versions and once it settled.
    pub transition: Option<lambox_core::lifecycle::Transition>,
}

/// A function with its `$LATEST` version and function-level settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRecord {
    /// `$LATEST`.
    pub latest: VersionRecord,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Reserved concurrency, if set.
    pub reserved_concurrency: Option<u32>,
}

/// A zip to store with a version, content-addressed by its SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct CodeUpload<'a> {
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256_hex: &'a str,
    /// The zip.
    pub bytes: &'a [u8],
    /// The sum of the sizes of its files, when known (counted against a function's unzipped
    /// limit with its layers).
    pub unzipped_size: Option<u64>,
}

/// Everything CreateFunction writes.
#[derive(Debug, Clone)]
pub struct NewFunction<'a> {
    /// Where.
    pub scope: &'a Scope,
    /// The name.
    pub name: &'a str,
    /// Its configuration.
    pub config: &'a FunctionConfig,
    /// Hex SHA-256 of the code (zip or image URI).
    pub code_sha256_hex: &'a str,
    /// Zip size; 0 for images.
    pub code_size: u64,
    /// The zip, for Zip functions.
    pub blob: Option<CodeUpload<'a>>,
    /// Tags.
    pub tags: &'a BTreeMap<String, String>,
    /// Also publish version 1.
    pub publish: bool,
    /// `RevisionId` of `$LATEST`.
    pub revision_id: &'a str,
    /// `RevisionId` of version 1 when publishing.
    pub published_revision_id: &'a str,
    /// Now, in epoch milliseconds.
    pub now_ms: i64,
}

/// Where a listing resumes: after this function name and version sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    /// Function name of the last item returned.
    pub name: String,
    /// Its version: 0 for `$LATEST`, N for version N.
    pub seq: i64,
}

/// What an account uses in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountUsage {
    /// Number of functions.
    pub function_count: u64,
    /// Sum of the code sizes of all versions.
    pub total_code_size: u64,
    /// Sum of reserved concurrency.
    pub reserved_concurrency: u64,
}
