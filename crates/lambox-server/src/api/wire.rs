//! The JSON shapes of the Lambda API that lambox answers with, built from store records.

use std::collections::BTreeMap;

use lambox_core::arn::function_arn;
use lambox_core::code::code_sha256;
use lambox_core::env_vars::EnvVars;
use lambox_core::function::{FileSystemConfig, ImageConfig, LoggingConfig, PackageType, VpcConfig};
use lambox_core::lifecycle::Transition;
use lambox_core::time::format_timestamp;
use lambox_store::{AliasRecord, Scope, VersionRecord};
use serde::Serialize;

/// Which moment of a function's life a configuration is shown at; AWS shows the state fields
/// differently in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// CreateFunction's answer: `State: Pending`, no `LastUpdateStatus`.
    Created,
    /// An update's answer: `LastUpdateStatus: InProgress`.
    Updated,
    /// Get operations: `State: Active`, `LastUpdateStatus: Successful`.
    Current,
    /// ListFunctions items: no state fields at all.
    Listed,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentOut<'a> {
    variables: &'a EnvVars,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ModeOut<'a> {
    mode: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetOut<'a> {
    target_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SizeOut {
    size: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SnapStartOut<'a> {
    apply_on: &'a str,
    optimization_status: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeVersionOut {
    runtime_version_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImageConfigResponseOut<'a> {
    image_config: &'a ImageConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcOut<'a> {
    subnet_ids: &'a [String],
    security_group_ids: &'a [String],
    vpc_id: &'a str,
    /// AWS answers `false` when it was never set.
    ipv6_allowed_for_dual_stack: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerOut<'a> {
    arn: &'a str,
    code_size: u64,
}

/// `FunctionConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration<'a> {
    function_name: &'a str,
    function_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<&'a str>,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    handler: Option<&'a str>,
    code_size: u64,
    description: &'a str,
    timeout: u32,
    memory_size: u32,
    last_modified: String,
    code_sha256: String,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_config: Option<VpcOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_letter_config: Option<TargetOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<EnvironmentOut<'a>>,
    #[serde(rename = "KMSKeyArn", skip_serializing_if = "Option::is_none")]
    kms_key_arn: Option<&'a str>,
    tracing_config: ModeOut<'a>,
    revision_id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layers: Vec<LayerOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status_reason_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    file_system_configs: Vec<&'a FileSystemConfig>,
    package_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_config_response: Option<ImageConfigResponseOut<'a>>,
    architectures: [&'a str; 1],
    ephemeral_storage: SizeOut,
    snap_start: SnapStartOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version_config: Option<RuntimeVersionOut>,
    logging_config: &'a LoggingConfig,
}

/// Renders one version's configuration. `qualified_arn` appends `:<version>` to the ARN.
pub fn function_configuration<'a>(
    scope: &Scope,
    v: &'a VersionRecord,
    view: View,
    qualified_arn: bool,
) -> FunctionConfiguration<'a> {
    function_configuration_at(scope, v, view, qualified_arn.then_some(v.version.as_str()))
}

/// Renders one version's configuration with `arn_qualifier` (a version or an alias the
/// caller named) appended to its ARN.
pub fn function_configuration_at<'a>(
    scope: &Scope,
    v: &'a VersionRecord,
    view: View,
    arn_qualifier: Option<&str>,
) -> FunctionConfiguration<'a> {
    let c = &v.config;
    let creating = "The function is being created.";
    let (state, state_reason, state_reason_code) = match view {
        View::Created => (Some("Pending"), Some(creating), Some("Creating")),
        View::Current if v.transition == Some(Transition::Creating) => {
            (Some("Pending"), Some(creating), Some("Creating"))
        }
        View::Updated | View::Current => (Some("Active"), None, None),
        View::Listed => (None, None, None),
    };
    let (last_update_status, lus_reason, lus_code) = match view {
        View::Updated => (Some("InProgress"), Some(creating), Some("Creating")),
        View::Current if v.transition == Some(Transition::Updating) => {
            (Some("InProgress"), Some(creating), Some("Creating"))
        }
        View::Current if v.transition == Some(Transition::Creating) => (None, None, None),
        View::Current => (Some("Successful"), None, None),
        View::Created | View::Listed => (None, None, None),
    };
    let runtime_version_config = match (view, c.runtime.as_deref()) {
        (View::Listed, _) | (_, None) => None,
        (_, Some(runtime)) => Some(RuntimeVersionOut {
            runtime_version_arn: lambox_core::runtime::runtime_version_arn(&scope.region, runtime),
        }),
    };
    FunctionConfiguration {
        function_name: &v.function_name,
        function_arn: function_arn(
            &scope.region,
            &scope.account,
            &v.function_name,
            arn_qualifier,
        ),
        runtime: c.runtime.as_deref(),
        role: &c.role,
        handler: c.handler.as_deref(),
        code_size: v.code_size,
        description: &c.description,
        timeout: c.timeout,
        memory_size: c.memory_size,
        last_modified: format_timestamp(v.last_modified_ms),
        code_sha256: code_sha256(&hex_digest(&v.code_sha256_hex)),
        version: &v.version,
        vpc_config: c.vpc.as_ref().map(|vpc: &VpcConfig| VpcOut {
            subnet_ids: &vpc.subnet_ids,
            security_group_ids: &vpc.security_group_ids,
            vpc_id: "",
            ipv6_allowed_for_dual_stack: vpc.ipv6_allowed_for_dual_stack.unwrap_or(false),
        }),
        dead_letter_config: c
            .dead_letter_target
            .as_deref()
            .map(|t| TargetOut { target_arn: t }),
        environment: c
            .environment
            .as_ref()
            .map(|e| EnvironmentOut { variables: e }),
        kms_key_arn: c.kms_key_arn.as_deref(),
        tracing_config: ModeOut {
            mode: &c.tracing_mode,
        },
        revision_id: &v.revision_id,
        layers: c
            .layers
            .iter()
            .map(|l| LayerOut {
                arn: &l.arn,
                code_size: l.code_size,
            })
            .collect(),
        state,
        state_reason,
        state_reason_code,
        last_update_status,
        last_update_status_reason: lus_reason,
        last_update_status_reason_code: lus_code,
        file_system_configs: c.file_system_configs.iter().collect(),
        package_type: c.package_type.as_str(),
        image_config_response: c
            .image_config
            .as_ref()
            .map(|image_config| ImageConfigResponseOut { image_config }),
        architectures: [&c.architecture],
        ephemeral_storage: SizeOut {
            size: c.ephemeral_storage_mb,
        },
        snap_start: SnapStartOut {
            apply_on: &c.snap_start_apply_on,
            optimization_status: "Off",
        },
        runtime_version_config,
        logging_config: &c.logging,
    }
}

/// The 32 bytes of a hex SHA-256 (zeros if the text is not one, which the store never holds).
pub fn hex_digest(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

/// `FunctionCodeLocation`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeLocation {
    repository_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_image_uri: Option<String>,
}

/// Where a version's code can be fetched: for zips, lambox's download URL on the host the
/// client used, presigned by `presigned_query` (valid for ten minutes, like AWS's); the image
/// for Image functions.
pub fn code_location(v: &VersionRecord, base_url: &str, presigned_query: &str) -> CodeLocation {
    match (v.config.package_type, &v.config.image_uri) {
        (PackageType::Image, Some(uri)) => {
            let repo = uri.split('@').next().unwrap_or(uri);
            let repo = match repo.rsplit_once(':') {
                Some((r, tag)) if !tag.contains('/') => r,
                _ => repo,
            };
            CodeLocation {
                repository_type: "ECR",
                location: None,
                image_uri: Some(uri.clone()),
                resolved_image_uri: Some(format!("{repo}@sha256:{}", v.code_sha256_hex)),
            }
        }
        _ => CodeLocation {
            repository_type: "S3",
            location: Some(format!(
                "{base_url}/_lambox/code/{}?{presigned_query}",
                v.code_sha256_hex
            )),
            image_uri: None,
            resolved_image_uri: None,
        },
    }
}

/// `Concurrency`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Concurrency {
    /// Reserved concurrent executions.
    pub reserved_concurrent_executions: u32,
}

/// `GetFunctionResponse`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionResponse<'a> {
    /// The configuration.
    pub configuration: FunctionConfiguration<'a>,
    /// Where the code is.
    pub code: CodeLocation,
    /// Tags, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<&'a BTreeMap<String, String>>,
    /// Reserved concurrency, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
}

/// `AliasConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasConfiguration<'a> {
    alias_arn: String,
    description: &'a str,
    function_version: &'a str,
    name: &'a str,
    revision_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    routing_config: Option<RoutingConfigOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoutingConfigOut<'a> {
    additional_version_weights: BTreeMap<&'a str, f64>,
}

/// Renders an alias.
pub fn alias_configuration<'a>(scope: &Scope, a: &'a AliasRecord) -> AliasConfiguration<'a> {
    AliasConfiguration {
        alias_arn: function_arn(
            &scope.region,
            &scope.account,
            &a.function_name,
            Some(&a.name),
        ),
        description: &a.description,
        function_version: &a.function_version,
        name: &a.name,
        revision_id: &a.revision_id,
        routing_config: a.additional.as_ref().map(|(v, w)| RoutingConfigOut {
            additional_version_weights: BTreeMap::from([(v.as_str(), *w)]),
        }),
    }
}
