//! `cargo xtask bench docker`:
//!
//! - cold start (a new function's first invoke) on the Docker backend against
//!   `docker run --rm IMAGE true` on the same image, timed in the same run;
//! - warm invoke latency on the Docker backend against the process backend, same run.

use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::json;

use super::harness::{Server, cold_starts, create_functions, numeric_options, scratch_dir};
use super::stats::{median, percentile};
use crate::cmd::{build_lambox, target_dir};
use crate::images::RUNTIME_IMAGE;
use crate::test::venv_python;

fn warm_p50_us(port: u16, name: &str, n: usize) -> anyhow::Result<f64> {
    super::invoke::sequential(port, name, 100)?;
    let (client, _) = super::invoke::sequential(port, name, n)?;
    Ok(percentile(&client, 50.0))
}

fn docker_run_true_ms() -> anyhow::Result<f64> {
    let t = Instant::now();
    let status = Command::new("docker")
        .args(["run", "--rm", RUNTIME_IMAGE, "true"])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "docker run failed");
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (mut runs, mut requests, mut colds) = (3, 2000, 5);
    numeric_options(
        args,
        &mut [
            ("--runs", &mut runs),
            ("--requests", &mut requests),
            ("--cold", &mut colds),
        ],
    )?;
    crate::images::build()?;
    let agent = crate::agent::build_static()?;
    let python = venv_python()?;
    let bin = build_lambox(true)?;
    let agent = agent.display().to_string();
    let docker_env = [
        ("LAMBOX_BACKEND", "docker"),
        ("LAMBOX_DOCKER__AGENT", agent.as_str()),
        ("LAMBOX_DOCKER__IMAGES__PYTHON", RUNTIME_IMAGE),
    ];
    let (mut process_warm, mut docker_warm, mut cold, mut baseline) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..runs {
        // Warm latency, process backend.
        let dir = scratch_dir(&format!("docker-process-{r}"))?;
        let (server, _) = Server::start(&bin, &dir, &[])?;
        let echo = ["echo".to_owned()];
        create_functions(&python, &server.endpoint(), &echo)?;
        process_warm.push(warm_p50_us(server.port, "echo", requests)?);
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;

        // The same on the Docker backend, then cold starts against `docker run`.
        let dir = scratch_dir(&format!("docker-docker-{r}"))?;
        let (server, _) = Server::start(&bin, &dir, &docker_env)?;
        create_functions(&python, &server.endpoint(), &echo)?;
        docker_warm.push(warm_p50_us(server.port, "echo", requests)?);
        let names: Vec<String> = (0..colds).map(|i| format!("cold-{r}-{i}")).collect();
        create_functions(&python, &server.endpoint(), &names)?;
        let (c, b) = cold_starts(server.port, &names, b"{}", docker_run_true_ms)?;
        cold.extend(c);
        baseline.extend(b);
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
        eprintln!(
            "run {r}: warm p50 process {:.0} µs, docker {:.0} µs",
            process_warm[r], docker_warm[r]
        );
    }
    let report = json!({
        "runs": runs,
        "warm_p50_us": {"process": median(&process_warm), "docker": median(&docker_warm)},
        "warm_ratio": median(&docker_warm) / median(&process_warm),
        "cold_start_ms": {"median": median(&cold), "samples": cold},
        "docker_run_true_ms": {"median": median(&baseline), "samples": baseline},
        "cold_ratio": median(&cold) / median(&baseline),
    });
    let out = target_dir().join("bench").join("docker.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    println!("\ndocker benchmark (release build, {runs} runs, image {RUNTIME_IMAGE})");
    println!(
        "warm invoke p50: docker {:.0} µs vs process {:.0} µs: ratio {:.2}   target ≤ 1.5",
        median(&docker_warm),
        median(&process_warm),
        median(&docker_warm) / median(&process_warm)
    );
    println!(
        "cold start: {:.0} ms vs `docker run --rm IMAGE true` {:.0} ms: ratio {:.2}   target ≤ 1.3",
        median(&cold),
        median(&baseline),
        median(&cold) / median(&baseline)
    );
    println!("\nwritten to {}", out.display());
    Ok(())
}
