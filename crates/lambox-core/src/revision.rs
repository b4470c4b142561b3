//! What runs: an immutable function revision, its deploy-id, and the environment a sandbox of it
//! starts with.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::arn::function_arn;
use crate::function::{FunctionConfig, PackageType};
use crate::runtime::RuntimeFamily;

/// One version of one function as it runs: configuration, code identity, and where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRevision {
    /// 12-digit account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub name: String,
    /// `$LATEST` or a published number.
    pub version: String,
    /// Lowercase hex SHA-256 of the code (zip, or image URI).
    pub code_sha256_hex: String,
    /// Everything else.
    pub config: FunctionConfig,
    /// Identity of the sandboxes this revision can run in.
    pub deploy_id: DeployId,
}

impl FunctionRevision {
    /// A revision, with its deploy-id computed.
    pub fn new(
        account: String,
        region: String,
        name: String,
        version: String,
        code_sha256_hex: String,
        config: FunctionConfig,
    ) -> Self {
        let mut rev = Self {
            account,
            region,
            name,
            version,
            code_sha256_hex,
            config,
            deploy_id: DeployId(String::new()),
        };
        rev.deploy_id = DeployId::of(&rev);
        rev
    }

    /// The unqualified function ARN.
    pub fn function_arn(&self) -> String {
        function_arn(&self.region, &self.account, &self.name, None)
    }

    /// The runtime family, for Zip functions.
    pub fn family(&self) -> Option<RuntimeFamily> {
        self.config.runtime.as_deref().map(RuntimeFamily::of)
    }
}

/// The identity of a sandbox's contents: URL-safe unpadded base64 of a SHA-256 over everything
/// baked into a sandbox at start. Two revisions share sandboxes exactly when their deploy-ids
/// are equal, so a changed configuration never reuses a stale instance.
///
/// ```
/// use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
/// use lambox_core::revision::FunctionRevision;
///
/// let revision = |memory| {
///     let settings = FunctionSettings {
///         runtime: Some("python3.12".into()),
///         handler: Some("handler.handler".into()),
///         memory_size: Some(memory),
///         ..Default::default()
///     };
///     let role = "arn:aws:iam::111111111111:role/r".to_owned();
///     let config = FunctionConfig::new("f", PackageType::Zip, role, None, None, &settings);
///     FunctionRevision::new(
///         "111111111111".into(), "us-east-1".into(), "f".into(), "$LATEST".into(),
///         "ab".repeat(32), config,
///     )
/// };
/// // Memory is baked into a sandbox: another memory size never reuses one.
/// assert_eq!(revision(128).deploy_id, revision(128).deploy_id);
/// assert_ne!(revision(128).deploy_id, revision(256).deploy_id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeployId(String);

/// What stands in for the values that differ between sandboxes of one revision when the
/// deploy-id hashes a sandbox's environment.
const PER_SANDBOX: &str = "<per-sandbox>";

impl DeployId {
    /// Computes the deploy-id of a revision (its own `deploy_id` field is not read).
    ///
    /// It hashes the environment a sandbox of the revision starts with, as
    /// [`sandbox_environment`] makes it (with the per-sandbox values held fixed), so every
    /// variable a sandbox gets is covered by construction; and then what is baked in other than
    /// through variables: the code and layers, package type and runtime, the memory limit,
    /// architecture, `/tmp` size, image and its overrides, and the logging settings.
    pub fn of(rev: &FunctionRevision) -> Self {
        let c = &rev.config;
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &[u8]| {
            // Length-prefixed, so that no two different inputs hash the same text.
            h.update((name.len() as u64).to_be_bytes());
            h.update(name.as_bytes());
            h.update((value.len() as u64).to_be_bytes());
            h.update(value);
        };
        let paths = SandboxPaths {
            task_root: PER_SANDBOX.to_owned(),
            runtime_dir: PER_SANDBOX.to_owned(),
            opt: PER_SANDBOX.to_owned(),
        };
        for (k, v) in sandbox_environment(rev, PER_SANDBOX, &paths, PER_SANDBOX, PER_SANDBOX) {
            field("env-key", k.as_bytes());
            field("env-value", v.as_bytes());
        }
        field("code", rev.code_sha256_hex.as_bytes());
        // Each layer's content, in order: a layer of the same content under another ARN fills
        // a sandbox with the same files.
        for layer in &c.layers {
            field("layer", layer.sha256_hex.as_bytes());
        }
        field("package", c.package_type.as_str().as_bytes());
        field(
            "runtime",
            c.runtime.as_deref().unwrap_or_default().as_bytes(),
        );
        field("memory", &c.memory_size.to_be_bytes());
        field("arch", c.architecture.as_bytes());
        field("tmp", &c.ephemeral_storage_mb.to_be_bytes());
        field(
            "image",
            c.image_uri.as_deref().unwrap_or_default().as_bytes(),
        );
        if let Some(ic) = &c.image_config {
            let json = serde_json::to_vec(ic).expect("image config serializes");
            field("image-config", &json);
        }
        let logging = serde_json::to_vec(&c.logging).expect("logging config serializes");
        field("logging", &logging);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize()))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeployId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a sandbox's directories are, as its processes see them.
#[derive(Debug, Clone)]
pub struct SandboxPaths {
    /// `/var/task`: the unzipped code.
    pub task_root: String,
    /// `/var/runtime`: the runtime client.
    pub runtime_dir: String,
    /// `/opt`: the layers.
    pub opt: String,
}

/// The environment sandbox `sandbox_id` of `rev` starts with: the function's variables, then
/// the ones Lambda defines, then lambox's own. `lambox_url` is how code in the sandbox reaches
/// lambox (`AWS_ENDPOINT_URL`); `log_stream` names the sandbox's log stream.
pub fn sandbox_environment(
    rev: &FunctionRevision,
    sandbox_id: &str,
    paths: &SandboxPaths,
    lambox_url: &str,
    log_stream: &str,
) -> Vec<(String, String)> {
    let c = &rev.config;
    let mut env: Vec<(String, String)> = c
        .environment
        .iter()
        .flat_map(|e| e.iter())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
    set("AWS_LAMBDA_FUNCTION_NAME", rev.name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", rev.version.clone());
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", c.memory_size.to_string());
    set("AWS_LAMBDA_FUNCTION_TIMEOUT", c.timeout.to_string());
    let group = c
        .logging
        .log_group
        .clone()
        .unwrap_or_else(|| format!("/aws/lambda/{}", rev.name));
    set("AWS_LAMBDA_LOG_GROUP_NAME", group);
    set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_owned());
    // Lambda tells the runtime its log format and application log level (JSON only); the
    // agent, which writes the platform's records, reads the system log level.
    if c.logging.log_format.as_deref() == Some("JSON") {
        set("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned());
        let level = c.logging.application_log_level.as_deref().unwrap_or("INFO");
        set("AWS_LAMBDA_LOG_LEVEL", level.to_owned());
        let system = c.logging.system_log_level.as_deref().unwrap_or("INFO");
        set(crate::protocol::SYSTEM_LOG_LEVEL_ENV, system.to_owned());
    }
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned());
    set("AWS_REGION", rev.region.clone());
    set("AWS_DEFAULT_REGION", rev.region.clone());
    if let Some(runtime) = &c.runtime {
        set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{runtime}"));
    }
    if let Some(handler) = &c.handler {
        set("_HANDLER", handler.clone());
    }
    set("LAMBDA_TASK_ROOT", paths.task_root.clone());
    set("LAMBDA_RUNTIME_DIR", paths.runtime_dir.clone());
    // Credentials that act for the function's own account when its code calls lambox.
    set("AWS_ACCESS_KEY_ID", rev.account.clone());
    set("AWS_SECRET_ACCESS_KEY", "lambox".to_owned());
    set("AWS_SESSION_TOKEN", "lambox".to_owned());
    set("AWS_ENDPOINT_URL", lambox_url.to_owned());
    // Lambda's defaults of the variables a function may set itself (AWS does not reserve
    // them): the function's own value wins.
    let mut default = |k: &str, v: String| {
        if !env.iter().any(|(n, _)| n == k) {
            env.push((k.to_owned(), v));
        }
    };
    default("TZ", ":UTC".to_owned());
    default("LANG", "en_US.UTF-8".to_owned());
    if c.package_type == PackageType::Zip {
        default(
            "PATH",
            format!(
                "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:{}/bin",
                paths.opt
            ),
        );
        default(
            "LD_LIBRARY_PATH",
            format!("{}/lib:{}/lib", paths.task_root, paths.opt),
        );
        for (k, v) in crate::layer::search_paths(c.runtime.as_deref(), &paths.opt, &paths.task_root)
        {
            default(&k, v);
        }
    }
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
    // Runtime clients' output reaches the log as it is written, not when a buffer fills.
    set("PYTHONUNBUFFERED", "1".to_owned());
    set(crate::protocol::SANDBOX_ID_ENV, sandbox_id.to_owned());
    env
}

/// A log stream name as Lambda makes them: `YYYY/MM/DD/[<version>]<32 hex>`.
pub fn log_stream_name(now_ms: i64, version: &str, sandbox_hex: &str) -> String {
    let date = crate::time::format_timestamp(now_ms);
    format!(
        "{}/{}/{}/[{version}]{sandbox_hex}",
        &date[0..4],
        &date[5..7],
        &date[8..10]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env_vars::EnvVars;
    use crate::function::FunctionSettings;

    fn config() -> FunctionConfig {
        FunctionConfig::new(
            "f",
            PackageType::Zip,
            "arn:aws:iam::111111111111:role/r".into(),
            None,
            None,
            &FunctionSettings {
                runtime: Some("python3.12".into()),
                handler: Some("h.handler".into()),
                ..Default::default()
            },
        )
    }

    fn layer(sha: &str) -> crate::layer::FunctionLayer {
        crate::layer::FunctionLayer {
            arn: format!("arn:aws:lambda:us-east-1:111111111111:layer:{sha}:1"),
            sha256_hex: sha.into(),
            code_size: 1,
            unzipped_size: 1,
        }
    }

    fn revision(config: FunctionConfig) -> FunctionRevision {
        FunctionRevision::new(
            "111111111111".into(),
            "us-east-1".into(),
            "f".into(),
            "$LATEST".into(),
            "aa".into(),
            config,
        )
    }

    fn environment(rev: &FunctionRevision) -> Vec<(String, String)> {
        let paths = SandboxPaths {
            task_root: "/var/task".into(),
            runtime_dir: "/var/runtime".into(),
            opt: "/opt".into(),
        };
        sandbox_environment(rev, "sb", &paths, "http://lambox", "stream")
    }

    /// Every setting of a function is either baked into its sandboxes (and then changes the
    /// deploy-id) or not (and then changes neither the deploy-id nor anything a sandbox gets).
    /// The destructuring fails to compile when `FunctionConfig` grows a field, so a new setting
    /// cannot be forgotten here.
    #[test]
    fn deploy_id_covers_everything_a_sandbox_gets() {
        let base = config();
        let FunctionConfig {
            package_type: _,
            runtime: _,
            handler: _,
            role: _,
            description: _,
            timeout: _,
            memory_size: _,
            environment: _,
            layers: _,
            architecture: _,
            ephemeral_storage_mb: _,
            tracing_mode: _,
            logging: _,
            vpc: _,
            dead_letter_target: _,
            kms_key_arn: _,
            snap_start_apply_on: _,
            file_system_configs: _,
            image_uri: _,
            image_config: _,
        } = base.clone();
        type Change = fn(&mut FunctionConfig);
        let baked: &[(&str, Change)] = &[
            ("package_type", |c| c.package_type = PackageType::Image),
            ("runtime", |c| c.runtime = Some("python3.13".into())),
            ("handler", |c| c.handler = Some("other.handler".into())),
            ("timeout", |c| c.timeout = 4),
            ("memory_size", |c| c.memory_size = 256),
            ("environment", |c| {
                c.environment = Some(EnvVars::from_pairs([("A".into(), "1".into())]))
            }),
            ("environment value", |c| {
                c.environment = Some(EnvVars::from_pairs([("A".into(), "2".into())]))
            }),
            ("layers", |c| c.layers = vec![layer("aa")]),
            ("layer content", |c| c.layers = vec![layer("bb")]),
            ("layer order", |c| c.layers = vec![layer("bb"), layer("aa")]),
            ("architecture", |c| c.architecture = "arm64".into()),
            ("ephemeral_storage_mb", |c| c.ephemeral_storage_mb = 1024),
            ("log group", |c| {
                c.logging.log_group = Some("/custom".into())
            }),
            ("log format", |c| c.logging.log_format = Some("JSON".into())),
            ("application log level", |c| {
                c.logging.application_log_level = Some("DEBUG".into())
            }),
            ("system log level", |c| {
                c.logging.system_log_level = Some("WARN".into())
            }),
            ("image_uri", |c| c.image_uri = Some("repo/img:1".into())),
            ("image_config", |c| {
                c.image_config = Some(crate::function::ImageConfig {
                    command: Some(vec!["app.handler".into()]),
                    ..Default::default()
                })
            }),
        ];
        let not_baked: &[(&str, Change)] = &[
            ("role", |c| {
                c.role = "arn:aws:iam::111111111111:role/other".into()
            }),
            ("description", |c| c.description = "other".into()),
            ("tracing_mode", |c| c.tracing_mode = "Active".into()),
            ("vpc", |c| c.vpc = Some(Default::default())),
            ("dead_letter_target", |c| {
                c.dead_letter_target = Some("arn:aws:sqs:us-east-1:111111111111:q".into())
            }),
            ("kms_key_arn", |c| {
                c.kms_key_arn = Some("arn:aws:kms:k".into())
            }),
            ("snap_start_apply_on", |c| {
                c.snap_start_apply_on = "PublishedVersions".into()
            }),
            ("file_system_configs", |c| {
                c.file_system_configs = vec![crate::function::FileSystemConfig {
                    arn: "arn:efs".into(),
                    local_mount_path: "/mnt/x".into(),
                }]
            }),
        ];
        let id = revision(base.clone()).deploy_id;
        assert_eq!(id.as_str().len(), 43);
        assert!(!id.as_str().contains(['+', '/', '=']));
        let mut seen = std::collections::HashSet::from([id.clone()]);
        for (what, change) in baked {
            let mut c = base.clone();
            change(&mut c);
            let changed = revision(c).deploy_id;
            assert!(seen.insert(changed), "{what} must change the deploy-id");
        }
        let env = environment(&revision(base.clone()));
        for (what, change) in not_baked {
            let mut c = base.clone();
            change(&mut c);
            let rev = revision(c);
            assert_eq!(rev.deploy_id, id, "{what} is not baked into a sandbox");
            assert_eq!(
                environment(&rev),
                env,
                "{what} reaches the sandbox: bake it in"
            );
        }
    }

    #[test]
    fn deploy_id_covers_where_the_revision_lives() {
        let base = revision(config());
        let mut seen = std::collections::HashSet::from([base.deploy_id.clone()]);
        for (account, region, name, version, code) in [
            ("222222222222", "us-east-1", "f", "$LATEST", "aa"),
            ("111111111111", "eu-west-1", "f", "$LATEST", "aa"),
            ("111111111111", "us-east-1", "g", "$LATEST", "aa"),
            ("111111111111", "us-east-1", "f", "1", "aa"),
            ("111111111111", "us-east-1", "f", "$LATEST", "ab"),
        ] {
            let rev = FunctionRevision::new(
                account.into(),
                region.into(),
                name.into(),
                version.into(),
                code.into(),
                config(),
            );
            assert!(
                seen.insert(rev.deploy_id),
                "{account} {region} {name} {version} {code}"
            );
        }
    }

    #[test]
    fn environment_has_lambdas_variables_after_the_functions() {
        let mut c = config();
        c.environment = Some(EnvVars::from_pairs([("STAGE".into(), "dev".into())]));
        let rev = FunctionRevision::new(
            "111111111111".into(),
            "eu-west-1".into(),
            "f".into(),
            "$LATEST".into(),
            "aa".into(),
            c,
        );
        let paths = SandboxPaths {
            task_root: "/var/task".into(),
            runtime_dir: "/var/runtime".into(),
            opt: "/opt".into(),
        };
        let env = sandbox_environment(&rev, "sb1", &paths, "http://127.0.0.1:4566", "s");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(env[0], ("STAGE".into(), "dev".into()));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_python3.12"));
        assert_eq!(get("_HANDLER"), Some("h.handler"));
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("111111111111"));
        assert_eq!(get("AWS_LAMBDA_LOG_GROUP_NAME"), Some("/aws/lambda/f"));
        assert_eq!(get("AWS_ENDPOINT_URL"), Some("http://127.0.0.1:4566"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_TIMEOUT"), Some("3"));
        assert_eq!(get("LAMBOX_SANDBOX_ID"), Some("sb1"));
    }

    #[test]
    fn log_stream_names() {
        assert_eq!(
            log_stream_name(1_704_067_200_000, "$LATEST", "abc"),
            "2024/01/01/[$LATEST]abc"
        );
    }
}
