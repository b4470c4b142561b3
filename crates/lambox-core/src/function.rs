//! The function model: the settings a caller gives (`FunctionSettings`) and the complete,
//! validated configuration of one function version (`FunctionConfig`).
//!
//! Nested value objects (VPC, image, logging, …) carry AWS's own field names, because their shape
//! *is* AWS's model and they round-trip unchanged between the API and the store.

use serde::{Deserialize, Serialize};

use crate::env_vars::EnvVars;
use crate::layer::FunctionLayer;

/// How a function's code is packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PackageType {
    /// A .zip archive stored by lambox.
    #[default]
    Zip,
    /// A container image.
    Image,
}

impl PackageType {
    /// AWS's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zip => "Zip",
            Self::Image => "Image",
        }
    }
}

/// `VpcConfig`: stored and echoed; lambox does not attach functions to networks by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfig {
    /// Subnet ids.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// Security group ids.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Whether IPv6 is allowed for dual-stack subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_allowed_for_dual_stack: Option<bool>,
}

/// `DeadLetterConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    /// The ARN of the queue or topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
}

/// `TracingConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    /// `Active` or `PassThrough`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// `ImageConfig`: overrides of a container image's entry point, command and working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    /// Replaces the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// Replaces the image's CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces the image's WORKDIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
}

/// `EphemeralStorage`: the size of `/tmp` in MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    /// Size in MB, 512–10240.
    pub size: i64,
}

/// `SnapStart` as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStart {
    /// `PublishedVersions` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_on: Option<String>,
}

/// `LoggingConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    /// `Text` or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// Application log level (JSON format only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_log_level: Option<String>,
    /// System log level (JSON format only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_log_level: Option<String>,
    /// The log group; `/aws/lambda/<name>` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
}

/// One `FileSystemConfigs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileSystemConfig {
    /// The EFS access point ARN.
    pub arn: String,
    /// Where it is mounted, under `/mnt/`.
    pub local_mount_path: String,
}

/// `Environment` as given: `Variables` may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentInput {
    /// The variables.
    #[serde(default)]
    pub variables: Option<EnvVars>,
}

/// The configuration settings CreateFunction and UpdateFunctionConfiguration share, each
/// optional: on create an absent one takes its default, on update it stays as it was.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionSettings {
    /// Runtime identifier.
    pub runtime: Option<String>,
    /// Execution role ARN.
    pub role: Option<String>,
    /// Handler, e.g. `index.handler`.
    pub handler: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Timeout in seconds.
    pub timeout: Option<i64>,
    /// Memory in MB.
    pub memory_size: Option<i64>,
    /// Environment variables.
    pub environment: Option<EnvironmentInput>,
    /// Layer version ARNs.
    pub layers: Option<Vec<String>>,
    /// VPC settings.
    pub vpc_config: Option<VpcConfig>,
    /// Dead-letter target.
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// KMS key for environment encryption.
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    /// X-Ray tracing mode.
    pub tracing_config: Option<TracingConfig>,
    /// Container image overrides.
    pub image_config: Option<ImageConfig>,
    /// `/tmp` size.
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// SnapStart.
    pub snap_start: Option<SnapStart>,
    /// Logging.
    pub logging_config: Option<LoggingConfig>,
    /// EFS mounts.
    pub file_system_configs: Option<Vec<FileSystemConfig>>,
}

/// The complete configuration of one function version: everything but its code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// Zip or Image.
    pub package_type: PackageType,
    /// Runtime identifier (Zip functions).
    pub runtime: Option<String>,
    /// Handler (Zip functions).
    pub handler: Option<String>,
    /// Execution role ARN.
    pub role: String,
    /// Description.
    pub description: String,
    /// Timeout in seconds.
    pub timeout: u32,
    /// Memory in MB.
    pub memory_size: u32,
    /// Environment variables; `None` when never set (AWS then omits `Environment`).
    pub environment: Option<EnvVars>,
    /// The layers, in order, pinned to the content each had when it was attached. The caller
    /// resolves `FunctionSettings::layers` into these; [`FunctionConfig::apply`] leaves them.
    pub layers: Vec<FunctionLayer>,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// `/tmp` size in MB.
    pub ephemeral_storage_mb: u32,
    /// `PassThrough` or `Active`.
    pub tracing_mode: String,
    /// Logging, with its defaults filled in.
    pub logging: LoggingConfig,
    /// VPC settings, if any.
    pub vpc: Option<VpcConfig>,
    /// Dead-letter target ARN, if any.
    pub dead_letter_target: Option<String>,
    /// KMS key ARN, if any.
    pub kms_key_arn: Option<String>,
    /// `None` or `PublishedVersions`.
    pub snap_start_apply_on: String,
    /// EFS mounts.
    pub file_system_configs: Vec<FileSystemConfig>,
    /// The image of an Image function.
    pub image_uri: Option<String>,
    /// Image overrides of an Image function.
    pub image_config: Option<ImageConfig>,
}

/// Defaults AWS applies to settings a caller leaves out.
pub mod defaults {
    /// Timeout in seconds.
    pub const TIMEOUT: u32 = 3;
    /// Memory in MB.
    pub const MEMORY_SIZE: u32 = 128;
    /// `/tmp` in MB.
    pub const EPHEMERAL_STORAGE: u32 = 512;
    /// Architecture.
    pub const ARCHITECTURE: &str = "x86_64";
}

impl FunctionConfig {
    /// A new function's configuration from validated settings and defaults.
    pub fn new(
        name: &str,
        package_type: PackageType,
        role: String,
        architecture: Option<String>,
        image_uri: Option<String>,
        settings: &FunctionSettings,
    ) -> Self {
        let mut config = Self {
            package_type,
            runtime: None,
            handler: None,
            role,
            description: String::new(),
            timeout: defaults::TIMEOUT,
            memory_size: defaults::MEMORY_SIZE,
            environment: None,
            layers: Vec::new(),
            architecture: architecture.unwrap_or_else(|| defaults::ARCHITECTURE.to_owned()),
            ephemeral_storage_mb: defaults::EPHEMERAL_STORAGE,
            tracing_mode: "PassThrough".to_owned(),
            logging: LoggingConfig {
                log_format: Some("Text".to_owned()),
                log_group: Some(format!("/aws/lambda/{name}")),
                ..LoggingConfig::default()
            },
            vpc: None,
            dead_letter_target: None,
            kms_key_arn: None,
            snap_start_apply_on: "None".to_owned(),
            file_system_configs: Vec::new(),
            image_uri,
            image_config: None,
        };
        config.apply(settings);
        config
    }

    /// Applies the settings that are present; the rest stay as they are.
    ///
    /// Values must have passed validation (`crate::validate_function`); numbers are clamped
    /// into `u32` only as a last guard.
    pub fn apply(&mut self, s: &FunctionSettings) {
        let to_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        if let Some(v) = &s.runtime {
            self.runtime = Some(v.clone());
        }
        if let Some(v) = &s.role {
            self.role.clone_from(v);
        }
        if let Some(v) = &s.handler {
            self.handler = Some(v.clone());
        }
        if let Some(v) = &s.description {
            self.description.clone_from(v);
        }
        if let Some(v) = s.timeout {
            self.timeout = to_u32(v);
        }
        if let Some(v) = s.memory_size {
            self.memory_size = to_u32(v);
        }
        if let Some(env) = &s.environment {
            self.environment = Some(env.variables.clone().unwrap_or_default());
        }
        if let Some(v) = &s.vpc_config {
            self.vpc = Some(v.clone());
        }
        if let Some(v) = &s.dead_letter_config {
            self.dead_letter_target = v.target_arn.clone().filter(|t| !t.is_empty());
        }
        if let Some(v) = &s.kms_key_arn {
            self.kms_key_arn = Some(v.clone()).filter(|k| !k.is_empty());
        }
        if let Some(mode) = s.tracing_config.as_ref().and_then(|t| t.mode.clone()) {
            self.tracing_mode = mode;
        }
        if let Some(v) = &s.image_config {
            self.image_config = Some(v.clone());
        }
        if let Some(v) = s.ephemeral_storage {
            self.ephemeral_storage_mb = to_u32(v.size);
        }
        if let Some(apply_on) = s.snap_start.as_ref().and_then(|v| v.apply_on.clone()) {
            self.snap_start_apply_on = apply_on;
        }
        if let Some(v) = &s.logging_config {
            let l = &mut self.logging;
            if let Some(f) = &v.log_format {
                l.log_format = Some(f.clone());
            }
            if v.application_log_level.is_some() {
                l.application_log_level.clone_from(&v.application_log_level);
            }
            if v.system_log_level.is_some() {
                l.system_log_level.clone_from(&v.system_log_level);
            }
            if v.log_group.is_some() {
                l.log_group.clone_from(&v.log_group);
            }
            // AWS fills in the levels when switching to JSON and drops them for Text.
            if l.log_format.as_deref() == Some("JSON") {
                l.application_log_level
                    .get_or_insert_with(|| "INFO".to_owned());
                l.system_log_level.get_or_insert_with(|| "INFO".to_owned());
            } else {
                l.application_log_level = None;
                l.system_log_level = None;
            }
        }
        if let Some(v) = &s.file_system_configs {
            self.file_system_configs.clone_from(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_updates() {
        let settings = FunctionSettings {
            runtime: Some("python3.12".into()),
            handler: Some("h.handler".into()),
            ..Default::default()
        };
        let mut c = FunctionConfig::new(
            "f",
            PackageType::Zip,
            "arn:aws:iam::111111111111:role/r".into(),
            None,
            None,
            &settings,
        );
        assert_eq!(
            (c.timeout, c.memory_size, c.architecture.as_str()),
            (3, 128, "x86_64")
        );
        assert_eq!(c.logging.log_group.as_deref(), Some("/aws/lambda/f"));
        assert_eq!(c.environment, None);
        c.apply(&FunctionSettings {
            timeout: Some(10),
            environment: Some(EnvironmentInput::default()),
            logging_config: Some(LoggingConfig {
                log_format: Some("JSON".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(c.timeout, 10);
        assert_eq!(c.handler.as_deref(), Some("h.handler"));
        assert_eq!(c.environment, Some(EnvVars::default()));
        assert_eq!(c.logging.application_log_level.as_deref(), Some("INFO"));
    }
}
