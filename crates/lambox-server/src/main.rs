//! `lambox`: a persistent, local AWS Lambda.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lambox_server::cli::{self, Target};
use lambox_server::config::{Config, Overrides};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "lambox", version, about = "A persistent, local AWS Lambda")]
struct Cli {
    /// Configuration file (default: ./lambox.toml when it exists).
    #[arg(long, global = true, env = "LAMBOX_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Address to listen on (default 127.0.0.1:4566).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory for lambox's state (default ./.lambox).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl ServerArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
        }
    }
}

#[derive(clap::Args)]
struct ClientArgs {
    /// lambox's URL.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    endpoint: String,
    /// Access key id; a 12-digit key is the account.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "000000000000")]
    access_key_id: String,
    /// Secret access key (checked in strict mode only).
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "lambox",
        hide_env_values = true
    )]
    secret_access_key: String,
    /// Region (else `AWS_DEFAULT_REGION`, else the profile's region in the AWS CLI's config
    /// file, else us-east-1), as the AWS CLI picks it.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
}

impl ClientArgs {
    /// Where requests about function `name` go: the region its ARN names, else `--region`
    /// (`AWS_REGION`), else the AWS CLI's choice.
    fn target(&self, name: &str) -> Target {
        Target {
            endpoint: self.endpoint.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            region: cli::region_of_arn(name)
                .or_else(|| self.region.clone())
                .unwrap_or_else(cli::default_region),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS Lambda API.
    Serve(ServerArgs),
    /// Print the effective configuration as TOML.
    Config(ServerArgs),
    /// Invoke a function and print its result.
    Invoke {
        /// Function name or ARN.
        name: String,
        /// The event, as JSON.
        #[arg(long, default_value = "{}")]
        payload: String,
        /// Version or alias.
        #[arg(long)]
        qualifier: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print a function's invocation logs.
    Logs {
        /// Function name.
        name: String,
        /// Keep printing new invocations.
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Pull the images of runtimes (`python3.12`) or image references for the Docker backend,
    /// with a progress bar.
    #[cfg(feature = "docker")]
    Pull {
        /// Runtimes or images.
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// Start a runtime in Lambda's file-system layout (started by the process backend, not by
    /// hand).
    #[command(hide = true)]
    Isolate {
        /// `[--task DIR] [--opt DIR] [--tmp DIR] [--runtime DIR] --root DIR -- COMMAND…`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the sandbox agent (started by lambox's backends, not by hand).
    #[command(hide = true)]
    Agent {
        /// `[--invoke ADDR] [--runtime-api ADDR] [--sandbox-dir DIR] -- BOOTSTRAP…`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour for a person at a terminal, never into a file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log.json {
        builder.json().init();
    } else {
        builder.init();
    }
    for name in lambox_server::config::unknown_variables(std::env::vars()) {
        tracing::warn!(variable = %name, "{name} names no setting of lambox; it is ignored");
    }
}

fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        // Before anything starts a thread: the namespaces need a single-threaded process.
        Command::Isolate { args } => lambox_agent::isolate::main(args),
        Command::Agent { args } => {
            lambox_agent::run(lambox_agent::AgentArgs::parse(args)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            for name in lambox_server::config::unknown_variables(std::env::vars()) {
                eprintln!("warning: {name} names no setting of lambox; it is ignored");
            }
            print!("{}", config.with_derived_values().to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let mut config = Config::load(cli.config.as_deref(), &args.overrides())?;
            init_logging(&config);
            // This program is the agent (`lambox agent`), whatever its file is called.
            if config.process.agent.is_empty() {
                config.process.agent = std::env::current_exe()?.display().to_string();
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(lambox_server::serve(
                    config,
                    lambox_server::shutdown_signal(),
                ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke {
            name,
            payload,
            qualifier,
            client,
        } => {
            cli::check_payload(&payload)?;
            client_runtime()?.block_on(cli::invoke(
                &client.target(&name),
                &name,
                &payload,
                qualifier.as_deref(),
                true,
            ))
        }
        #[cfg(feature = "docker")]
        Command::Pull { targets } => {
            let config = Config::load(cli.config.as_deref(), &Overrides::default())?;
            let images = lambox_backend_docker::ImageMap(config.docker.images.clone());
            client_runtime()?.block_on(cli::pull(&images, &targets))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs {
            name,
            follow,
            client,
        } => {
            client_runtime()?.block_on(cli::logs(&client.target(&name), &name, follow))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
