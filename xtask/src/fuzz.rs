//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs each cargo-fuzz target of `fuzz/` for a
//! bounded time (60 s by default), starting from the committed corpus in `fuzz/corpus/<target>`.
//!
//! cargo-fuzz needs a nightly toolchain (sanitizer flags); it is installed from crates.io when
//! missing. The corpus is copied to `target/fuzz/corpus` first, so that what a run discovers
//! never dirties the repository; a crash is left in `fuzz/artifacts/<target>` as cargo-fuzz
//! leaves it, and fails the task.

use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::{cargo, root, run, target_dir};

/// The targets in `fuzz/fuzz_targets`.
const TARGETS: [&str; 2] = ["zip_package", "request_edge"];

fn nightly() -> Command {
    let mut c = Command::new("rustup");
    c.args(["run", "nightly", "cargo"]).current_dir(root());
    c
}

pub fn task(args: &[&str]) -> anyhow::Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--seconds" => seconds = it.next().context("--seconds needs a number")?.parse()?,
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!("unknown fuzz target or option {other}; targets: {TARGETS:?}"),
        }
    }
    if targets.is_empty() {
        targets.extend(TARGETS);
    }
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nightly {
        bail!("cargo-fuzz needs a nightly toolchain: `rustup toolchain install nightly`");
    }
    let has_cargo_fuzz = nightly()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    for target in targets {
        let corpus = target_dir().join("fuzz").join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        for seed in std::fs::read_dir(root().join("fuzz").join("corpus").join(target))? {
            let seed = seed?;
            std::fs::copy(seed.path(), corpus.join(seed.file_name()))?;
        }
        run(nightly()
            .args(["fuzz", "run", "--fuzz-dir", "fuzz", "--target-dir"])
            .arg(target_dir().join("fuzz").join("build"))
            .arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(["-timeout=10", "-rss_limit_mb=4096", "-max_len=262144"]))?;
    }
    Ok(())
}
