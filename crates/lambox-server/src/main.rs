//! `lambox`: a persistent, local AWS Lambda.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
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

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS Lambda API.
    Serve(ServerArgs),
    /// Print the effective configuration as TOML.
    Config(ServerArgs),
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            print!("{}", config.to_toml());
            Ok(())
        }
        Command::Serve(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            init_logging(&config);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(lambox_server::serve(
                    config,
                    lambox_server::shutdown_signal(),
                ))
        }
    }
}
