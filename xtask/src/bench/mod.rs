//! `cargo xtask bench <suite>`: benchmarks of a release build, each against a baseline measured
//! in the same run, reported as medians over several runs.

mod against;
mod control_plane;
mod docker;
mod embed;
mod floor;
mod harness;
mod http;
mod invoke;
mod layers;
mod logs;
mod stats;
mod urls;

use anyhow::bail;

/// Runs the named suite.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    match args {
        ["control-plane", rest @ ..] => control_plane::run(rest),
        ["invoke", rest @ ..] => invoke::run(rest),
        ["docker", rest @ ..] => docker::run(rest),
        ["embed", rest @ ..] => embed::run_suite(rest),
        ["logs", rest @ ..] => logs::run(rest),
        ["layers", rest @ ..] => layers::run(rest),
        ["urls", rest @ ..] => urls::run(rest),
        // The control-plane floor alone, to point other clients at while looking into a gap.
        ["floor"] => {
            let port = floor::start()?;
            println!("the floor answers on http://127.0.0.1:{port} (Ctrl-C stops it)");
            loop {
                std::thread::park();
            }
        }
        _ => bail!(
            "usage: cargo xtask bench control-plane|invoke|docker|embed|logs|layers|urls|floor [--runs N] [--against GIT-REV]"
        ),
    }
}
