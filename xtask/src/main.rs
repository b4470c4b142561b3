//! Project automation, run as `cargo xtask <task>`:
//!
//! - `test`: installs what the tests need (a Python venv with boto3, the AWS CLI and pytest),
//!   builds lambox, runs every Rust test and the Python end-to-end suite.
//! - `lint`: rustfmt, clippy with warnings denied, and rustdoc with warnings denied.
//! - `tidy`: the source tree's own rules (module docs, file length, named files exist, bounded
//!   channels).
//! - `agent`: the statically linked agent for containers and Pods.
//! - `images`: local runtime images for machines whose Docker engine cannot pull.
//! - `bench control-plane|invoke|docker`: the benchmarks of a release build.
//! - `fuzz`: each fuzz target for a bounded time (not part of `test`).

mod agent;
mod bench;
mod cmd;
mod fuzz;
mod images;
mod podman;
mod test;
mod tidy;

use anyhow::bail;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["test", rest @ ..] => test::task(rest),
        ["lint"] => test::lint(),
        ["tidy"] => tidy::task(),
        ["agent"] => agent::build_static().map(|_| ()),
        ["images"] => images::build(),
        ["bench", rest @ ..] => bench::run(rest),
        ["fuzz", rest @ ..] => fuzz::task(rest),
        _ => bail!(
            "usage: cargo xtask <task>\n\n\
             tasks:\n  \
             test [--no-docker] [-- PYTEST_ARGS]\n                          \
             install test tools, run all Rust and Python tests\n  \
             lint                    fmt --check, clippy -D warnings, doc -D warnings\n  \
             tidy                    module docs, file length, named files, bounded channels\n  \
             agent                   build the statically linked lambox-agent\n  \
             images                  build local runtime images for the Docker backend\n  \
             bench control-plane|invoke|docker [--against REV]\n                          \
             benchmarks (release build)\n  \
             fuzz [--seconds N] [TARGET...]\n                          \
             run the fuzz targets (nightly, cargo-fuzz)"
        ),
    }
}
