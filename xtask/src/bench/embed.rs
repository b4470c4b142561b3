//! `cargo xtask bench embed`:
//!
//! - an embedded lambox (`Server::builder().spawn()`) from the call to its first answered
//!   request, against the floor under it in the same run (a fresh store opened and a port
//!   bound), through `crates/lambox-server/examples/embedded_start.rs` in release;
//! - the wall time of the in-process API suite (`cargo test -p lambox-server --test api`,
//!   already built), several times.

use std::time::Instant;

use serde_json::json;

use super::harness::numeric_options;
use super::stats::median;
use crate::cmd::{cargo, run, target_dir};

pub fn run_suite(args: &[&str]) -> anyhow::Result<()> {
    let mut runs = 3;
    let mut starts = 30;
    numeric_options(
        args,
        &mut [("--runs", &mut runs), ("--starts", &mut starts)],
    )?;
    let mut start_ms = Vec::new();
    let mut floor_ms = Vec::new();
    for _ in 0..runs {
        let out = cargo()
            .args([
                "run",
                "--release",
                "--locked",
                "-q",
                "-p",
                "lambox-server",
                "--example",
                "embedded_start",
                "--",
            ])
            .arg(starts.to_string())
            .output()?;
        anyhow::ensure!(out.status.success(), "embedded_start failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        start_ms.push(
            v["start_to_first_answer_ms"]["median"]
                .as_f64()
                .unwrap_or(f64::NAN),
        );
        floor_ms.push(
            v["store_open_and_bind_ms"]["median"]
                .as_f64()
                .unwrap_or(f64::NAN),
        );
    }
    // The suite's own time, not its build's.
    run(cargo().args([
        "test",
        "--locked",
        "-q",
        "-p",
        "lambox-server",
        "--test",
        "api",
        "--no-run",
    ]))?;
    let mut suite_s = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        run(cargo().args([
            "test",
            "--locked",
            "-q",
            "-p",
            "lambox-server",
            "--test",
            "api",
        ]))?;
        suite_s.push(t.elapsed().as_secs_f64());
    }
    let report = json!({
        "runs": runs,
        "starts_per_run": starts,
        "embedded_start_to_first_answer_ms": {"median": median(&start_ms), "runs": start_ms},
        "store_open_and_bind_ms": {"median": median(&floor_ms), "runs": floor_ms},
        "ratio": median(&start_ms) / median(&floor_ms),
        "api_suite_wall_s": {"median": median(&suite_s), "runs": suite_s},
    });
    let out = target_dir().join("bench").join("embed.json");
    std::fs::create_dir_all(target_dir().join("bench"))?;
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    println!(
        "\nembed benchmark (release build, {runs} runs × {starts} starts, medians of run medians)"
    );
    println!(
        "embedded start to first answer: {:>7.1} ms   target ≤ 20 ms",
        median(&start_ms)
    );
    println!(
        "floor (fresh store + bind):     {:>7.1} ms   ratio {:.2}",
        median(&floor_ms),
        median(&start_ms) / median(&floor_ms)
    );
    println!(
        "in-process API suite:           {:>7.2} s (cargo test -p lambox-server --test api)",
        median(&suite_s)
    );
    println!("\nwritten to {}", out.display());
    Ok(())
}
