//! The stored form of a function version's configuration: a record the store owns, with its
//! own field names and a format number, converted to and from `lambox_core`'s `FunctionConfig`
//! at the store's edge. Renaming or reshaping a field of the core type therefore never turns
//! stored rows into "corrupt record" errors; changing this record means a new format (and
//! reading the old one).
//!
//! Format 1 is the shape lambox wrote before the record existed (the core type's serde shape
//! then), so rows written by earlier versions read as format 1. Format 2 pins each layer to its
//! content (`{arn, sha256, code_size, unzipped_size}` instead of an ARN); lambox refused every
//! layer while it wrote format 1, so a format-1 row's layer list is empty.

use lambox_core::env_vars::EnvVars;
use lambox_core::function::{
    FileSystemConfig, FunctionConfig, ImageConfig, LoggingConfig, PackageType, VpcConfig,
};
use lambox_core::layer::FunctionLayer;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The format this version of lambox writes.
pub const CONFIG_FORMAT: u32 = 2;

fn format_one() -> u32 {
    1
}

/// A stored configuration, formats 1 and 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ConfigRecord {
    #[serde(default = "format_one")]
    format: u32,
    package_type: String,
    runtime: Option<String>,
    handler: Option<String>,
    role: String,
    description: String,
    timeout: u32,
    memory_size: u32,
    environment: Option<OrderedPairs>,
    layers: Vec<LayerRecord>,
    architecture: String,
    ephemeral_storage_mb: u32,
    tracing_mode: String,
    logging: LoggingRecord,
    vpc: Option<VpcRecord>,
    dead_letter_target: Option<String>,
    kms_key_arn: Option<String>,
    snap_start_apply_on: String,
    file_system_configs: Vec<FileSystemRecord>,
    image_uri: Option<String>,
    image_config: Option<ImageConfigRecord>,
}

/// A layer of format 2, pinned to its content; a bare ARN (format 1's shape) has no content and
/// does not decode into a configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum LayerRecord {
    Pinned {
        arn: String,
        sha256: String,
        code_size: u64,
        unzipped_size: u64,
    },
    Arn(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    application_log_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    system_log_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcRecord {
    #[serde(default)]
    subnet_ids: Vec<String>,
    #[serde(default)]
    security_group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ipv6_allowed_for_dual_stack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FileSystemRecord {
    arn: String,
    local_mount_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageConfigRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry_point: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    working_directory: Option<String>,
}

/// Environment variables as a JSON object, in their order.
#[derive(Debug, Clone, PartialEq)]
struct OrderedPairs(Vec<(String, String)>);

impl Serialize for OrderedPairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings to strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<OrderedPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = access.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(OrderedPairs(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl From<&FunctionConfig> for ConfigRecord {
    fn from(c: &FunctionConfig) -> Self {
        let l = &c.logging;
        Self {
            format: CONFIG_FORMAT,
            package_type: c.package_type.as_str().to_owned(),
            runtime: c.runtime.clone(),
            handler: c.handler.clone(),
            role: c.role.clone(),
            description: c.description.clone(),
            timeout: c.timeout,
            memory_size: c.memory_size,
            environment: c.environment.as_ref().map(|e| {
                OrderedPairs(
                    e.iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                )
            }),
            layers: c
                .layers
                .iter()
                .map(|l| LayerRecord::Pinned {
                    arn: l.arn.clone(),
                    sha256: l.sha256_hex.clone(),
                    code_size: l.code_size,
                    unzipped_size: l.unzipped_size,
                })
                .collect(),
            architecture: c.architecture.clone(),
            ephemeral_storage_mb: c.ephemeral_storage_mb,
            tracing_mode: c.tracing_mode.clone(),
            logging: LoggingRecord {
                log_format: l.log_format.clone(),
                application_log_level: l.application_log_level.clone(),
                system_log_level: l.system_log_level.clone(),
                log_group: l.log_group.clone(),
            },
            vpc: c.vpc.as_ref().map(|v| VpcRecord {
                subnet_ids: v.subnet_ids.clone(),
                security_group_ids: v.security_group_ids.clone(),
                ipv6_allowed_for_dual_stack: v.ipv6_allowed_for_dual_stack,
            }),
            dead_letter_target: c.dead_letter_target.clone(),
            kms_key_arn: c.kms_key_arn.clone(),
            snap_start_apply_on: c.snap_start_apply_on.clone(),
            file_system_configs: c
                .file_system_configs
                .iter()
                .map(|f| FileSystemRecord {
                    arn: f.arn.clone(),
                    local_mount_path: f.local_mount_path.clone(),
                })
                .collect(),
            image_uri: c.image_uri.clone(),
            image_config: c.image_config.as_ref().map(|i| ImageConfigRecord {
                entry_point: i.entry_point.clone(),
                command: i.command.clone(),
                working_directory: i.working_directory.clone(),
            }),
        }
    }
}

impl ConfigRecord {
    fn into_config(self) -> Result<FunctionConfig, String> {
        let layers = self
            .layers
            .into_iter()
            .map(|l| match l {
                LayerRecord::Pinned {
                    arn,
                    sha256,
                    code_size,
                    unzipped_size,
                } => Ok(FunctionLayer {
                    arn,
                    sha256_hex: sha256,
                    code_size,
                    unzipped_size,
                }),
                LayerRecord::Arn(arn) => Err(format!("layer {arn} without its content")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let package_type = match self.package_type.as_str() {
            "Zip" => PackageType::Zip,
            "Image" => PackageType::Image,
            other => return Err(format!("unknown package type {other}")),
        };
        let l = self.logging;
        Ok(FunctionConfig {
            package_type,
            runtime: self.runtime,
            handler: self.handler,
            role: self.role,
            description: self.description,
            timeout: self.timeout,
            memory_size: self.memory_size,
            environment: self.environment.map(|e| EnvVars::from_pairs(e.0)),
            layers,
            architecture: self.architecture,
            ephemeral_storage_mb: self.ephemeral_storage_mb,
            tracing_mode: self.tracing_mode,
            logging: LoggingConfig {
                log_format: l.log_format,
                application_log_level: l.application_log_level,
                system_log_level: l.system_log_level,
                log_group: l.log_group,
            },
            vpc: self.vpc.map(|v| VpcConfig {
                subnet_ids: v.subnet_ids,
                security_group_ids: v.security_group_ids,
                ipv6_allowed_for_dual_stack: v.ipv6_allowed_for_dual_stack,
            }),
            dead_letter_target: self.dead_letter_target,
            kms_key_arn: self.kms_key_arn,
            snap_start_apply_on: self.snap_start_apply_on,
            file_system_configs: self
                .file_system_configs
                .into_iter()
                .map(|f| FileSystemConfig {
                    arn: f.arn,
                    local_mount_path: f.local_mount_path,
                })
                .collect(),
            image_uri: self.image_uri,
            image_config: self.image_config.map(|i| ImageConfig {
                entry_point: i.entry_point,
                command: i.command,
                working_directory: i.working_directory,
            }),
        })
    }
}

/// The stored text of a configuration.
pub(crate) fn encode(config: &FunctionConfig) -> String {
    serde_json::to_string(&ConfigRecord::from(config)).expect("a config record serializes")
}

/// A configuration from its stored text; `what` names the row in the error.
pub(crate) fn decode(text: &str, what: &str) -> Result<FunctionConfig, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("config of {what}: {e}"));
    let record: ConfigRecord = serde_json::from_str(text).map_err(|e| corrupt(&e))?;
    if !(1..=CONFIG_FORMAT).contains(&record.format) {
        return Err(corrupt(&format!("unknown format {}", record.format)));
    }
    record.into_config().map_err(|e| corrupt(&e))
}

#[cfg(test)]
mod tests {
    use lambox_core::function::FunctionSettings;

    use super::*;

    fn everything() -> FunctionConfig {
        let mut c = FunctionConfig::new(
            "f",
            PackageType::Zip,
            "arn:aws:iam::111111111111:role/r".into(),
            Some("arm64".into()),
            None,
            &FunctionSettings {
                runtime: Some("python3.12".into()),
                handler: Some("h.handler".into()),
                ..Default::default()
            },
        );
        c.environment = Some(EnvVars::from_pairs([
            ("ZED".to_owned(), "1".to_owned()),
            ("ALPHA".to_owned(), "2".to_owned()),
        ]));
        c.layers = vec![FunctionLayer {
            arn: "arn:aws:lambda:us-east-1:111111111111:layer:l:1".into(),
            sha256_hex: "ab".repeat(32),
            code_size: 10,
            unzipped_size: 20,
        }];
        c.vpc = Some(VpcConfig {
            subnet_ids: vec!["s".into()],
            security_group_ids: vec!["g".into()],
            ipv6_allowed_for_dual_stack: Some(true),
        });
        c.dead_letter_target = Some("arn:aws:sqs:us-east-1:111111111111:q".into());
        c.kms_key_arn = Some("arn:aws:kms:k".into());
        c.file_system_configs = vec![FileSystemConfig {
            arn: "arn:efs".into(),
            local_mount_path: "/mnt/x".into(),
        }];
        c.image_config = Some(ImageConfig {
            entry_point: Some(vec!["/e".into()]),
            command: Some(vec!["c".into()]),
            working_directory: Some("/w".into()),
        });
        c
    }

    #[test]
    fn a_config_round_trips_with_its_environment_in_order() {
        let c = everything();
        let back = decode(&encode(&c), "f").unwrap();
        assert_eq!(back, c);
        let keys: Vec<&str> = back
            .environment
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["ZED", "ALPHA"]);
    }

    /// The stored shape, pinned: a change to it must be a new format, not an accident.
    #[test]
    fn the_stored_shape_is_format_two() {
        let json: serde_json::Value = serde_json::from_str(&encode(&everything())).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [
                "architecture",
                "dead_letter_target",
                "description",
                "environment",
                "ephemeral_storage_mb",
                "file_system_configs",
                "format",
                "handler",
                "image_config",
                "image_uri",
                "kms_key_arn",
                "layers",
                "logging",
                "memory_size",
                "package_type",
                "role",
                "runtime",
                "snap_start_apply_on",
                "timeout",
                "tracing_mode",
                "vpc",
            ]
        );
        assert_eq!(json["format"], 2);
        assert_eq!(
            json["layers"][0],
            serde_json::json!({
                "arn": "arn:aws:lambda:us-east-1:111111111111:layer:l:1",
                "sha256": "ab".repeat(32),
                "code_size": 10,
                "unzipped_size": 20,
            })
        );
        assert_eq!(json["logging"]["LogGroup"], "/aws/lambda/f");
        assert_eq!(json["vpc"]["Ipv6AllowedForDualStack"], true);
        assert_eq!(json["file_system_configs"][0]["LocalMountPath"], "/mnt/x");
        assert_eq!(json["image_config"]["WorkingDirectory"], "/w");
    }

    #[test]
    fn unknown_formats_and_package_types_are_corrupt() {
        let mut json: serde_json::Value = serde_json::from_str(&encode(&everything())).unwrap();
        json["format"] = 3.into();
        assert!(matches!(
            decode(&json.to_string(), "f"),
            Err(StoreError::Corrupt(_))
        ));
        json["format"] = 1.into();
        json["layers"] = serde_json::json!(["arn:aws:lambda:us-east-1:111111111111:layer:l:1"]);
        assert!(matches!(
            decode(&json.to_string(), "f"),
            Err(StoreError::Corrupt(_))
        ));
        json["layers"] = serde_json::json!([]);
        assert!(
            decode(&json.to_string(), "f").is_ok(),
            "format 1 as earlier lambox wrote it"
        );
        json["package_type"] = "Tarball".into();
        assert!(matches!(
            decode(&json.to_string(), "f"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
