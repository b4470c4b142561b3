//! Checks of the inputs of CreateFunction, UpdateFunctionConfiguration and UpdateFunctionCode:
//! first the model's constraints (reported together as a `ValidationException`), then the
//! service's own rules (each an `InvalidParameterValueException`), with AWS's messages.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::LambdaError;
use crate::function::FunctionSettings;
use crate::limits::Limits;
use crate::runtime::check_runtime;
use crate::validate::ValidationErrors;

const ROLE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+";
const LAYER_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)";
const ENV_KEY_PATTERN: &str = r"[a-zA-Z]([a-zA-Z0-9_])+";
const KMS_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()";
const LOG_GROUP_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
const MOUNT_PATH_PATTERN: &str = r"/mnt/[a-zA-Z0-9-_.]+";

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static pattern")
}
static ROLE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^arn:(?:aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@/-]+$"));
static LAYER_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:layer:[a-zA-Z0-9_-]+:[0-9]+|arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9_-]+)$",
    )
});
static ENV_KEY_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z][a-zA-Z0-9_]+$"));
static KMS_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:arn:(?:aws[a-zA-Z-]*)?:[a-z0-9.-]+:.*|)$"));
static LOG_GROUP_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[._/#A-Za-z0-9-]+$"));
static MOUNT_PATH_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^/mnt/[a-zA-Z0-9_.-]+$"));
static NO_SPACE_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^\S+$"));

/// Environment variables Lambda sets itself and does not let a function override.
pub const RESERVED_ENVIRONMENT_KEYS: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
];

/// Variables lambox sets in sandboxes for its own agent; a function may not set them, as it may
/// not set Lambda's own (refused with the same message).
pub const LAMBOX_ENVIRONMENT_KEYS: [&str; 7] = [
    crate::protocol::AGENT_SECRET_ENV,
    crate::protocol::FALLBACK_BOOTSTRAP_ENV,
    crate::protocol::SANDBOX_ID_ENV,
    crate::protocol::RUNTIME_VERSION_ENV,
    crate::protocol::RUNTIME_VERSION_ARN_ENV,
    crate::protocol::RUNTIME_NOTE_ENV,
    crate::protocol::SYSTEM_LOG_LEVEL_ENV,
];

fn enum_violation(errors: &mut ValidationErrors, field: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        errors.violation(
            field,
            value,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        );
    }
}

/// Checks an execution role ARN.
pub fn check_role(role: &str, errors: &mut ValidationErrors) {
    if !ROLE_RE.is_match(role) {
        errors.pattern("role", role, ROLE_PATTERN);
    }
}

/// Checks `Architectures`: exactly one of `x86_64`, `arm64`.
pub fn check_architectures(archs: &[String], errors: &mut ValidationErrors) {
    let shown = format!("[{}]", archs.join(", "));
    if archs.is_empty() {
        errors.violation(
            "architectures",
            &shown,
            "Member must have length greater than or equal to 1",
        );
    } else if archs.len() > 1 {
        errors.violation(
            "architectures",
            &shown,
            "Member must have length less than or equal to 1",
        );
    } else if !matches!(archs[0].as_str(), "x86_64" | "arm64") {
        errors.violation(
            "architectures",
            &shown,
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
        );
    }
}

/// The model's constraints on the shared settings.
pub fn check_settings_constraints(
    s: &FunctionSettings,
    limits: &Limits,
    errors: &mut ValidationErrors,
) {
    if let Some(role) = &s.role {
        check_role(role, errors);
    }
    if let Some(handler) = &s.handler {
        if handler.chars().count() > 128 {
            errors.max_length("handler", handler, 128);
        }
        if !NO_SPACE_RE.is_match(handler) {
            errors.pattern("handler", handler, r"[^\s]+");
        }
    }
    if let Some(d) = &s.description
        && d.chars().count() > 256
    {
        errors.max_length("description", d, 256);
    }
    if let Some(t) = s.timeout {
        if t < 1 {
            errors.min_value("timeout", t, 1);
        } else if t > i64::from(limits.max_timeout_seconds) {
            errors.max_value("timeout", t, i64::from(limits.max_timeout_seconds));
        }
    }
    if let Some(m) = s.memory_size {
        if m < 128 {
            errors.min_value("memorySize", m, 128);
        } else if m > i64::from(limits.max_memory_mb) {
            errors.max_value("memorySize", m, i64::from(limits.max_memory_mb));
        }
    }
    if let Some(vars) = s.environment.as_ref().and_then(|e| e.variables.as_ref()) {
        for (key, _) in vars.iter().filter(|(k, _)| !ENV_KEY_RE.is_match(k)) {
            errors.violation(
                "environment.variables",
                key,
                &format!(
                    "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: {ENV_KEY_PATTERN}]"
                ),
            );
        }
    }
    if let Some(layers) = &s.layers
        && layers.iter().any(|l| !LAYER_RE.is_match(l))
    {
        errors.violation(
            "layers",
            format!("[{}]", layers.join(", ")),
            &format!(
                "Member must satisfy constraint: [Member must have length less than or equal to 2048, \
                 Member must have length greater than or equal to 1, Member must satisfy regular \
                 expression pattern: {LAYER_PATTERN}, Member must not be null]"
            ),
        );
    }
    if let Some(kms) = &s.kms_key_arn
        && !KMS_RE.is_match(kms)
    {
        errors.pattern("kMSKeyArn", kms, KMS_PATTERN);
    }
    if let Some(mode) = s.tracing_config.as_ref().and_then(|t| t.mode.as_deref()) {
        enum_violation(
            errors,
            "tracingConfig.mode",
            mode,
            &["Active", "PassThrough"],
        );
    }
    if let Some(e) = s.ephemeral_storage {
        if e.size < 512 {
            errors.min_value("ephemeralStorage.size", e.size, 512);
        } else if e.size > 10_240 {
            errors.max_value("ephemeralStorage.size", e.size, 10_240);
        }
    }
    if let Some(apply_on) = s.snap_start.as_ref().and_then(|v| v.apply_on.as_deref()) {
        enum_violation(
            errors,
            "snapStart.applyOn",
            apply_on,
            &["PublishedVersions", "None"],
        );
    }
    if let Some(l) = &s.logging_config {
        if let Some(f) = l.log_format.as_deref() {
            enum_violation(errors, "loggingConfig.logFormat", f, &["JSON", "Text"]);
        }
        if let Some(v) = l.application_log_level.as_deref() {
            enum_violation(
                errors,
                "loggingConfig.applicationLogLevel",
                v,
                &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"],
            );
        }
        if let Some(v) = l.system_log_level.as_deref() {
            enum_violation(
                errors,
                "loggingConfig.systemLogLevel",
                v,
                &["DEBUG", "INFO", "WARN"],
            );
        }
        if let Some(g) = l.log_group.as_deref() {
            if g.is_empty() || g.chars().count() > 512 {
                errors.max_length("loggingConfig.logGroup", g, 512);
            } else if !LOG_GROUP_RE.is_match(g) {
                errors.pattern("loggingConfig.logGroup", g, LOG_GROUP_PATTERN);
            }
        }
    }
    if let Some(vpc) = &s.vpc_config {
        if vpc.subnet_ids.len() > 16 {
            errors.violation(
                "vpcConfig.subnetIds",
                format!("[{}]", vpc.subnet_ids.join(", ")),
                "Member must have length less than or equal to 16",
            );
        }
        if vpc.security_group_ids.len() > 5 {
            errors.violation(
                "vpcConfig.securityGroupIds",
                format!("[{}]", vpc.security_group_ids.join(", ")),
                "Member must have length less than or equal to 5",
            );
        }
    }
    if let Some(image) = &s.image_config {
        if let Some(wd) = &image.working_directory
            && wd.chars().count() > 1000
        {
            errors.max_length("imageConfig.workingDirectory", wd, 1000);
        }
        for (field, list) in [
            ("imageConfig.entryPoint", &image.entry_point),
            ("imageConfig.command", &image.command),
        ] {
            if let Some(list) = list
                && list.len() > 1500
            {
                errors.violation(
                    field,
                    "[…]",
                    "Member must have length less than or equal to 1500",
                );
            }
        }
    }
    if let Some(fs) = &s.file_system_configs {
        if fs.len() > 1 {
            errors.violation(
                "fileSystemConfigs",
                "[…]",
                "Member must have length less than or equal to 1",
            );
        }
        for c in fs
            .iter()
            .filter(|c| !MOUNT_PATH_RE.is_match(&c.local_mount_path))
        {
            errors.pattern(
                "fileSystemConfigs.member.localMountPath",
                &c.local_mount_path,
                MOUNT_PATH_PATTERN,
            );
        }
    }
}

/// The service's own rules on the shared settings, checked after the constraints pass.
pub fn check_settings_rules(
    s: &FunctionSettings,
    region: &str,
    limits: &Limits,
) -> Result<(), LambdaError> {
    if let Some(runtime) = &s.runtime {
        check_runtime(runtime)?;
    }
    if let Some(vars) = s.environment.as_ref().and_then(|e| e.variables.as_ref()) {
        let reserved: Vec<&str> = vars
            .iter()
            .map(|(k, _)| k)
            .filter(|k| {
                RESERVED_ENVIRONMENT_KEYS.contains(k) || LAMBOX_ENVIRONMENT_KEYS.contains(k)
            })
            .collect();
        if !reserved.is_empty() {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Lambda was unable to configure your environment variables because the environment \
                 variables you have provided contains reserved keys that are currently not supported \
                 for modification. Reserved keys used in this request: {}",
                reserved.join(", ")
            )));
        }
        let measured = vars.measured_string();
        if measured.len() > limits.max_environment_bytes {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Lambda was unable to configure your environment variables because the environment \
                 variables you have provided exceeded the 4KB limit. String measured: {measured}"
            )));
        }
    }
    if let Some(layers) = &s.layers {
        check_layer_list(layers, region, limits)?;
    }
    Ok(())
}

fn check_layer_list(layers: &[String], region: &str, limits: &Limits) -> Result<(), LambdaError> {
    if layers.len() > limits.max_layers {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Cannot reference more than {} layers.",
            limits.max_layers
        )));
    }
    // `arn:aws:lambda:<region>:<account>:layer:<name>:<version>`: fields 3 and 6.
    let field = |arn: &str, i: usize| arn.split(':').nth(i).unwrap_or_default().to_owned();
    for (i, a) in layers.iter().enumerate() {
        if let Some(b) = layers[..i]
            .iter()
            .find(|b| field(b, 6) == field(a, 6) && field(b, 4) == field(a, 4))
        {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Two different versions of the same layer are not allowed to be referenced in the \
                 same function. {b} and {a} are versions of the same layer."
            )));
        }
        let layer_region = field(a, 3);
        if !layer_region.is_empty() && layer_region != region {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Layers are not in the same region as the function. Layers are expected to be in region {region}."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env_vars::EnvVars;
    use crate::function::EnvironmentInput;

    fn env(pairs: &[(&str, &str)]) -> Option<EnvironmentInput> {
        Some(EnvironmentInput {
            variables: Some(EnvVars::from_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )),
        })
    }

    fn constraint_errors(s: &FunctionSettings) -> Vec<String> {
        let mut e = ValidationErrors::new();
        check_settings_constraints(s, &Limits::default(), &mut e);
        e.items().to_vec()
    }

    #[test]
    fn role_pattern_message_is_aws_s() {
        let e = constraint_errors(&FunctionSettings {
            role: Some("r1".into()),
            ..Default::default()
        });
        assert_eq!(
            e,
            vec![r"Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+".to_owned()]
        );
        assert!(
            constraint_errors(&FunctionSettings {
                role: Some("arn:aws:iam::111111111111:role/service-role/x".into()),
                ..Default::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn numeric_ranges() {
        let e = constraint_errors(&FunctionSettings {
            timeout: Some(0),
            memory_size: Some(10_241),
            ephemeral_storage: Some(crate::function::EphemeralStorage { size: 100 }),
            ..Default::default()
        });
        assert_eq!(e.len(), 3);
        assert!(e[0].contains("'timeout'") && e[0].ends_with("greater than or equal to 1"));
        assert!(e[1].contains("'memorySize'") && e[1].ends_with("less than or equal to 10240"));
        let over = constraint_errors(&FunctionSettings {
            timeout: Some(901),
            ..Default::default()
        });
        assert!(over[0].ends_with("less than or equal to 900"));
    }

    #[test]
    fn architectures() {
        let mut e = ValidationErrors::new();
        check_architectures(&["x86_64".into(), "arm64".into()], &mut e);
        check_architectures(&["X86_64".into()], &mut e);
        check_architectures(&["arm64".into()], &mut e);
        assert_eq!(e.items().len(), 2);
        assert_eq!(
            e.items()[0],
            "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"
        );
    }

    #[test]
    fn environment_limit_and_reserved_keys() {
        let limits = Limits::default();
        let near = "x".repeat(4096 - r#"{"LARGE_VAR":""}"#.len());
        let ok = FunctionSettings {
            environment: env(&[("LARGE_VAR", &near)]),
            ..Default::default()
        };
        assert!(check_settings_rules(&ok, "us-east-1", &limits).is_ok());
        let over = FunctionSettings {
            environment: env(&[("SMALL_VAR", "ok"), ("LARGE_VAR", &format!("{near}x"))]),
            ..Default::default()
        };
        let LambdaError::InvalidParameterValue(m) =
            check_settings_rules(&over, "us-east-1", &limits).unwrap_err()
        else {
            panic!()
        };
        assert!(m.contains(
            r#"exceeded the 4KB limit. String measured: {"SMALL_VAR":"ok","LARGE_VAR":"xxx"#
        ));
        let reserved = FunctionSettings {
            environment: env(&[("AWS_REGION", "x")]),
            ..Default::default()
        };
        assert!(matches!(
            check_settings_rules(&reserved, "us-east-1", &limits),
            Err(LambdaError::InvalidParameterValue(m)) if m.ends_with("Reserved keys used in this request: AWS_REGION")
        ));
        // lambox's own: a function that set them could turn off its agent's push check.
        let lambox_own = FunctionSettings {
            environment: env(&[("LAMBOX_AGENT_SECRET", "")]),
            ..Default::default()
        };
        assert!(matches!(
            check_settings_rules(&lambox_own, "us-east-1", &limits),
            Err(LambdaError::InvalidParameterValue(m)) if m.ends_with("request: LAMBOX_AGENT_SECRET")
        ));
        assert_eq!(
            constraint_errors(&FunctionSettings {
                environment: env(&[("1BAD", "x")]),
                ..Default::default()
            })
            .len(),
            1
        );
    }

    #[test]
    fn layers() {
        let limits = Limits::default();
        let arn = |n: u32, v: u32| format!("arn:aws:lambda:us-east-1:111111111111:layer:l{n}:{v}");
        let six = FunctionSettings {
            layers: Some((0..6).map(|i| arn(i, 1)).collect()),
            ..Default::default()
        };
        assert_eq!(
            check_settings_rules(&six, "us-east-1", &limits),
            Err(LambdaError::InvalidParameterValue(
                "Cannot reference more than 5 layers.".into()
            ))
        );
        let dup = FunctionSettings {
            layers: Some(vec![arn(1, 1), arn(1, 2)]),
            ..Default::default()
        };
        assert!(check_settings_rules(&dup, "us-east-1", &limits).is_err());
        let other_region = FunctionSettings {
            layers: Some(vec![arn(1, 1)]),
            ..Default::default()
        };
        assert!(check_settings_rules(&other_region, "eu-west-1", &limits).is_err());
        assert_eq!(
            constraint_errors(&FunctionSettings {
                layers: Some(vec!["arn:aws:lambda:us-east-1:111111111111:layer:l".into()]),
                ..Default::default()
            })
            .len(),
            1
        );
    }
}
