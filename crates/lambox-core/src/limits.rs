//! Service limits: the quotas AWS enforces beyond the API model, configurable per installation.

use serde::{Deserialize, Serialize};

/// The limits lambox enforces. Defaults are AWS's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest `MemorySize` in MB.
    pub max_memory_mb: u32,
    /// Largest `Timeout` in seconds.
    pub max_timeout_seconds: u32,
    /// Largest zipped deployment package in bytes.
    pub max_zipped_bytes: u64,
    /// Largest unzipped deployment package (with layers) in bytes.
    pub max_unzipped_bytes: u64,
    /// Largest CreateFunction/UpdateFunctionCode request in bytes.
    pub max_code_request_bytes: u64,
    /// Largest environment, measured as compact JSON, in bytes.
    pub max_environment_bytes: usize,
    /// Most layers per function.
    pub max_layers: usize,
    /// Most tags per function.
    pub max_tags: usize,
    /// The account's concurrent executions.
    pub account_concurrency: u32,
    /// Concurrency that reserved concurrency must leave unreserved.
    pub min_unreserved_concurrency: u32,
    /// Total code storage per account and region, in bytes.
    pub total_code_size: u64,
    /// Largest streamed response (InvokeWithResponseStream, `RESPONSE_STREAM` URLs), in bytes.
    pub max_streamed_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_mb: 10_240,
            max_timeout_seconds: 900,
            max_zipped_bytes: 52_428_800,
            max_unzipped_bytes: 262_144_000,
            max_code_request_bytes: 70_167_211,
            max_environment_bytes: 4096,
            max_layers: 5,
            max_tags: 50,
            account_concurrency: 1000,
            min_unreserved_concurrency: 100,
            total_code_size: 80_530_636_800,
            max_streamed_response_bytes: 209_715_200,
        }
    }
}
