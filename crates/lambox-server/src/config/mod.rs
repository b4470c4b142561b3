//! lambox's configuration: built-in defaults, then `lambox.toml`, then `LAMBOX_*` environment
//! variables (nested keys joined by `__`, e.g. `LAMBOX_AUTH__STRICT=true`), then command-line
//! flags.

mod env;

pub use env::unknown_variables;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use lambox_core::Limits;
use lambox_core::account::is_account_id;
use serde::{Deserialize, Serialize};

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Directory holding the database.
    pub data_dir: PathBuf,
    /// Account of requests whose access key carries none.
    #[serde(deserialize_with = "digits")]
    pub default_account: String,
    /// Region of unsigned requests.
    pub default_region: String,
    /// `full` (commits survive power loss) or `normal` (commits survive a crash of lambox).
    pub durability: DurabilityMode,
    /// Milliseconds a function stays `Pending` after CreateFunction and `InProgress` after an
    /// update, as on AWS: a second update in that time is refused (ResourceConflictException),
    /// and its `RevisionId` advances when it ends. 0: changes take effect at once.
    pub state_transition_ms: u64,
    /// Logging.
    pub log: LogConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// Service limits.
    pub limits: Limits,
    /// Where function code runs: `process` (local child processes).
    pub backend: BackendKind,
    /// How code in sandboxes reaches lambox (`AWS_ENDPOINT_URL`); derived from `listen` when
    /// empty.
    pub public_url: String,
    /// The process backend.
    pub process: ProcessConfig,
    /// The Docker backend.
    pub docker: DockerConfig,
    /// The warm pool.
    pub pool: PoolConfig,
    /// Asynchronous invocations.
    pub async_events: AsyncEventsConfig,
    /// Invocation logs.
    pub logs: LogsConfig,
    /// The HTTP front door.
    pub http: HttpConfig,
    /// Where code named by `S3Bucket`/`S3Key` is fetched from.
    pub s3: crate::s3::S3Config,
    /// Function URLs.
    pub urls: crate::urls::UrlsConfig,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds lambox waits for a client's request headers, or for the next part of its body,
    /// before it gives up on the request (408); a whole body may take ten times this.
    pub read_timeout_seconds: u64,
    /// Most connections open at once; further clients wait to be accepted.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            read_timeout_seconds: 30,
            max_connections: 4096,
        }
    }
}

/// Which backend runs sandboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Local child processes.
    #[default]
    Process,
    /// Containers on a Docker engine (`DOCKER_HOST`, else the local socket).
    Docker,
}

/// Settings of the Docker backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerConfig {
    /// The statically linked agent (`cargo xtask agent`); empty: `lambox-agent` next to the
    /// `lambox` executable.
    pub agent: String,
    /// A user-defined network for the containers; empty: publish the agent's port on loopback.
    pub network: String,
    /// The name containers reach the host by (mapped to the host gateway).
    pub host_alias: String,
    /// Runtime (`python3.12`) or family (`python`, `nodejs`, `provided`, …) → image. Runtimes
    /// not listed run in AWS's public base image (`public.ecr.aws/lambda/python:3.12`, …).
    pub images: std::collections::BTreeMap<String, String>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            agent: String::new(),
            network: String::new(),
            host_alias: "host.docker.internal".to_owned(),
            images: std::collections::BTreeMap::new(),
        }
    }
}

/// Settings of the process backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessConfig {
    /// The agent: a `lambox` (run as `lambox agent`) or a `lambox-agent` executable; empty:
    /// this `lambox`, or one found next to the running program.
    pub agent: String,
    /// The interpreter of python runtimes.
    pub python: String,
    /// The interpreter of nodejs runtimes.
    pub node: String,
    /// The interpreter of a runtime (`"python3.12" = "/opt/py312/bin/python3"`); a runtime not
    /// listed runs on its exact version where this machine has it (`pythonX.Y` on `PATH`, a
    /// pyenv or nvm installation), else on `python`/`node`, which lambox then says.
    pub interpreters: std::collections::BTreeMap<String, String>,
    /// Start runtimes in mount (and user) namespaces, where Linux allows them, so that they
    /// see Lambda's paths (`/var/task`, `/opt`, a `/tmp` of their own); `false`: per-sandbox
    /// directories stand in for them.
    pub namespaces: bool,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            agent: String::new(),
            python: "python3".to_owned(),
            node: "node".to_owned(),
            interpreters: std::collections::BTreeMap::new(),
            namespaces: true,
        }
    }
}

/// Settings of the warm pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Most sandboxes per function; further invocations wait for one.
    pub max_instances_per_function: u32,
    /// Seconds an idle sandbox is kept.
    pub idle_ttl_seconds: u64,
    /// Most sandboxes across all functions; beyond it the least recently used idle one stops,
    /// and with none idle invocations are throttled (429), as account concurrency throttles.
    pub max_sandboxes: u32,
    /// Most memory, in MB, that the sandboxes' functions may be configured with in total
    /// (each sandbox counts its function's `MemorySize`); three quarters of the machine's
    /// memory by default.
    pub memory_budget_mb: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_instances_per_function: 10,
            idle_ttl_seconds: 600,
            max_sandboxes: 1000,
            memory_budget_mb: machine_memory_mb().map_or(8192, |m| m / 4 * 3),
        }
    }
}

/// The machine's memory in MB, from `/proc/meminfo`.
fn machine_memory_mb() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// Settings of asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsyncEventsConfig {
    /// Events delivered at once.
    pub workers: u32,
    /// Seconds before the first retry; doubled for each further one (Lambda waits about a
    /// minute, then two).
    pub retry_base_seconds: f64,
}

impl Default for AsyncEventsConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            retry_base_seconds: 60.0,
        }
    }
}

/// Settings of invocation logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// Invocation logs kept per function.
    pub keep_per_function: u32,
    /// Log events (lines) kept per log group for the CloudWatch Logs API; the oldest go.
    pub keep_events_per_group: u32,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            keep_per_function: 1000,
            keep_events_per_group: 1_000_000,
        }
    }
}

/// How hard commits wait for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// fsync on every commit.
    #[default]
    Full,
    /// fsync at WAL checkpoints only.
    Normal,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` env-filter directive; `RUST_LOG` overrides it.
    pub filter: String,
    /// One JSON object per line instead of text.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
            json: false,
        }
    }
}

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Verify SigV4 signatures against `credentials` and refuse everything else.
    pub strict: bool,
    /// Allowed clock skew of signed requests, in seconds.
    pub max_clock_skew_seconds: u32,
    /// Known access keys.
    pub credentials: Vec<Credential>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            strict: false,
            max_clock_skew_seconds: 900,
            credentials: Vec::new(),
        }
    }
}

/// One access key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The account it acts for; derived from the key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"*****")
            .field("account", &self.account)
            .finish()
    }
}

/// A string of digits, also when a source gives it as a number (`LAMBOX_DEFAULT_ACCOUNT=…`
/// reads as one).
fn digits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Digits {
        Text(String),
        Number(u64),
    }
    Ok(match Digits::deserialize(d)? {
        Digits::Text(s) => s,
        Digits::Number(n) => n.to_string(),
    })
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            data_dir: PathBuf::from("./.lambox"),
            default_account: "000000000000".to_owned(),
            default_region: "us-east-1".to_owned(),
            durability: DurabilityMode::Full,
            state_transition_ms: 250,
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            backend: BackendKind::Process,
            public_url: String::new(),
            process: ProcessConfig::default(),
            docker: DockerConfig::default(),
            pool: PoolConfig::default(),
            async_events: AsyncEventsConfig::default(),
            logs: LogsConfig::default(),
            http: HttpConfig::default(),
            s3: crate::s3::S3Config::default(),
            urls: crate::urls::UrlsConfig::default(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or does not fit the schema.
    #[error(transparent)]
    Load(Box<figment::Error>),
    /// A value is out of its domain.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line, which override everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads defaults → `file` (or `lambox.toml` if it exists) → `LAMBOX_*` → `overrides`.
    /// A `file` named explicitly must exist; `LAMBOX_*` variables that name no setting are left
    /// out (see [`unknown_variables`] to warn about them).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        if let Some(f) = file
            && !f.is_file()
        {
            return Err(ConfigError::Invalid(format!(
                "the configuration file {} does not exist",
                f.display()
            )));
        }
        Self::figment(file, overrides)
            .extract::<Self>()
            .map_err(|e| ConfigError::Load(Box::new(e)))?
            .checked()
    }

    fn figment(file: Option<&Path>, overrides: &Overrides) -> Figment {
        let file = file.map_or_else(|| PathBuf::from("lambox.toml"), Path::to_path_buf);
        Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(file))
            .merge({
                let paths = env::SettingPaths::of(&Self::default());
                Env::prefixed("LAMBOX_")
                    .split("__")
                    .filter(move |k| paths.names_a_setting(&k.as_str().to_ascii_lowercase()))
            })
            .merge(Serialized::defaults(overrides))
    }

    fn checked(self) -> Result<Self, ConfigError> {
        if !is_account_id(&self.default_account) {
            return Err(ConfigError::Invalid(format!(
                "default_account must be 12 digits, not {:?}",
                self.default_account
            )));
        }
        for c in &self.auth.credentials {
            if let Some(a) = c.account.as_deref().filter(|a| !is_account_id(a)) {
                return Err(ConfigError::Invalid(format!(
                    "credential {}: account must be 12 digits, not {a:?}",
                    c.access_key_id
                )));
            }
        }
        if self.auth.strict && self.auth.credentials.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.strict needs at least one [[auth.credentials]] entry".to_owned(),
            ));
        }
        Ok(self)
    }

    /// How code in sandboxes reaches lambox.
    pub fn lambox_url(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_owned();
        }
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// The configuration with the values lambox derives filled in where they are left empty:
    /// `public_url` from `listen`, `process.agent` this program, `docker.agent` the
    /// `lambox-agent` next to it.
    pub fn with_derived_values(mut self) -> Self {
        self.public_url = self.lambox_url();
        let exe = std::env::current_exe().unwrap_or_default();
        if self.process.agent.is_empty() {
            self.process.agent = exe.display().to_string();
        }
        if self.docker.agent.is_empty() {
            self.docker.agent = exe.with_file_name("lambox-agent").display().to_string();
        }
        self
    }

    /// The configuration as TOML, secrets masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        for c in &mut shown.auth.credentials {
            c.secret_access_key = "********".to_owned();
        }
        shown.s3.secret_access_key = "********".to_owned();
        toml::to_string_pretty(&shown).expect("config serializes to TOML")
    }
}

#[cfg(test)]
// figment::Jail fixes the closure's error type to figment::Error.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_debug_output() {
        let mut c = Config::default();
        c.auth.credentials.push(Credential {
            access_key_id: "AKIDX".into(),
            secret_access_key: "hunter2-secret".into(),
            account: None,
        });
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIDX") && !shown.contains("hunter2"));
        let auth = crate::auth::Authenticator::new("000000000000", "us-east-1", &c.auth);
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "lambox.toml",
                "listen = \"127.0.0.1:5000\"\ndata_dir = \"/from/file\"\n[limits]\nmax_timeout_seconds = 1800\n",
            )?;
            jail.set_env("LAMBOX_DATA_DIR", "/from/env");
            jail.set_env("LAMBOX_BIN", "/not/a/setting");
            jail.set_env("LAMBOX_AUTH__MAX_CLOCK_SKEW_SECONDS", "60");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.listen.port(), 5000);
            assert_eq!(c.data_dir, PathBuf::from("/from/env"));
            assert_eq!(c.limits.max_timeout_seconds, 1800);
            assert_eq!(c.limits.max_memory_mb, 10_240);
            assert_eq!(c.auth.max_clock_skew_seconds, 60);
            let flags = Overrides {
                data_dir: Some("/from/flag".into()),
                ..Default::default()
            };
            assert_eq!(
                Config::load(None, &flags).unwrap().data_dir,
                PathBuf::from("/from/flag")
            );
            Ok(())
        });
    }

    #[test]
    fn rejects_bad_values() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LAMBOX_DEFAULT_ACCOUNT", "12");
            assert!(Config::load(None, &Overrides::default()).is_err());
            jail.set_env("LAMBOX_DEFAULT_ACCOUNT", "123456789012");
            // A variable that names no setting is left out (and warned about by the binary)...
            jail.set_env("LAMBOX_NO_SUCH_KEY", "1");
            let loaded = Config::load(None, &Overrides::default());
            assert!(loaded.is_ok(), "{loaded:?}");
            // ...a key of the file that names none is an error, as is a file that is not there.
            jail.create_file("lambox.toml", "no_such_key = 1\n")?;
            assert!(Config::load(None, &Overrides::default()).is_err());
            assert!(Config::load(Some(Path::new("missing.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn prints_toml_without_secrets() {
        let mut c = Config::default();
        c.auth.credentials.push(Credential {
            access_key_id: "AKID".into(),
            secret_access_key: "s3cr3t".into(),
            account: None,
        });
        let t = c.to_toml();
        assert!(t.contains("listen = \"127.0.0.1:4566\""));
        assert!(!t.contains("s3cr3t"));
    }
}
