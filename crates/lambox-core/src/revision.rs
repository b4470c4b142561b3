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
        let deploy_id = DeployId::of(&version, &code_sha256_hex, &config);
        Self {
            account,
            region,
            name,
            version,
            code_sha256_hex,
            config,
            deploy_id,
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeployId(String);

impl DeployId {
    /// Computes the deploy-id of a version's code and configuration.
    ///
    /// Beyond the code, layers, runtime, handler, environment, memory, timeout, architecture and
    /// image, it covers what else a sandbox is started with: the version (it is in the
    /// sandbox's environment), the image overrides and the `/tmp` size.
    pub fn of(version: &str, code_sha256_hex: &str, c: &FunctionConfig) -> Self {
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &[u8]| {
            // Length-prefixed, so that no two different inputs hash the same text.
            h.update((name.len() as u64).to_be_bytes());
            h.update(name.as_bytes());
            h.update((value.len() as u64).to_be_bytes());
            h.update(value);
        };
        field("version", version.as_bytes());
        field("code", code_sha256_hex.as_bytes());
        for layer in &c.layers {
            field("layer", layer.as_bytes());
        }
        field("package", c.package_type.as_str().as_bytes());
        field(
            "runtime",
            c.runtime.as_deref().unwrap_or_default().as_bytes(),
        );
        field(
            "handler",
            c.handler.as_deref().unwrap_or_default().as_bytes(),
        );
        if let Some(env) = &c.environment {
            for (k, v) in env.iter() {
                field("env-key", k.as_bytes());
                field("env-value", v.as_bytes());
            }
        }
        field("memory", &c.memory_size.to_be_bytes());
        field("timeout", &c.timeout.to_be_bytes());
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
        field(
            "log-format",
            c.logging
                .log_format
                .as_deref()
                .unwrap_or_default()
                .as_bytes(),
        );
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
    set("TZ", ":UTC".to_owned());
    set("LANG", "en_US.UTF-8".to_owned());
    // Credentials that act for the function's own account when its code calls lambox.
    set("AWS_ACCESS_KEY_ID", rev.account.clone());
    set("AWS_SECRET_ACCESS_KEY", "lambox".to_owned());
    set("AWS_SESSION_TOKEN", "lambox".to_owned());
    set("AWS_ENDPOINT_URL", lambox_url.to_owned());
    if c.package_type == PackageType::Zip {
        set(
            "LD_LIBRARY_PATH",
            format!("{}/lib:{}/lib", paths.task_root, paths.opt),
        );
    }
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

    #[test]
    fn deploy_id_changes_with_what_a_sandbox_bakes_in() {
        let base = config();
        let id = DeployId::of("$LATEST", "aa", &base);
        assert_eq!(id, DeployId::of("$LATEST", "aa", &base.clone()));
        assert_eq!(id.as_str().len(), 43);
        assert!(!id.as_str().contains(['+', '/', '=']));
        assert_ne!(id, DeployId::of("$LATEST", "ab", &base));
        assert_ne!(id, DeployId::of("1", "aa", &base));
        let mut env = base.clone();
        env.environment = Some(EnvVars::from_pairs([("A".into(), "1".into())]));
        assert_ne!(id, DeployId::of("$LATEST", "aa", &env));
        let mut mem = base.clone();
        mem.memory_size = 256;
        assert_ne!(id, DeployId::of("$LATEST", "aa", &mem));
        // A description is not baked into the sandbox.
        let mut desc = base.clone();
        desc.description = "other".into();
        assert_eq!(id, DeployId::of("$LATEST", "aa", &desc));
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
