//! `cargo xtask bench invoke`:
//!
//! - warm invoke latency of a python echo function through plain HTTP and through boto3: p50,
//!   p99, and lambox's own overhead (its time from request in to response out, minus the time
//!   the runtime client held the event, both reported by lambox per invoke);
//! - throughput with 10 warm sandboxes and 10, 20 and 50 concurrent HTTP clients;
//! - cold start (a new function's first invoke) against `python -c 'import handler'` timed in
//!   the same run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::harness::{
    ACCOUNT, Server, cold_starts, create_functions, f64s, invoke_path, numeric_options,
    python_json, scratch_dir,
};
use super::http::Conn;
use super::stats::{median, percentile};
use crate::cmd::{build_lambox, target_dir};
use crate::test::venv_python;

const PAYLOAD: &[u8] = br#"{"hello":"world"}"#;

struct Options {
    runs: usize,
    requests: usize,
    seconds: u64,
}

fn parse(args: &[&str]) -> anyhow::Result<Options> {
    let (mut runs, mut requests, mut seconds) = (3, 5000, 5);
    numeric_options(
        args,
        &mut [
            ("--runs", &mut runs),
            ("--requests", &mut requests),
            ("--seconds", &mut seconds),
        ],
    )?;
    Ok(Options {
        runs,
        requests,
        seconds: seconds as u64,
    })
}

/// Client latency, lambox's time and the runtime's time of `n` sequential invokes, in µs.
pub(super) fn sequential(port: u16, name: &str, n: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut conn = Conn::open(port)?;
    let path = invoke_path(name);
    let mut client = Vec::with_capacity(n);
    let mut overhead = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let a = conn.request("POST", &path, ACCOUNT, PAYLOAD)?;
        client.push(t.elapsed().as_secs_f64() * 1e6);
        if a.status != 200 || a.header("x-amz-function-error").is_some() {
            bail!(
                "invoke failed: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
        }
        let num = |h: &str| -> anyhow::Result<f64> {
            Ok(a.header(h)
                .with_context(|| format!("the answer has no {h}"))?
                .parse()?)
        };
        overhead.push(num("x-lambox-server-us")? - num("x-lambox-runtime-us")?);
    }
    Ok((client, overhead))
}

/// Invokes per second with `clients` concurrent connections for `seconds`.
fn throughput(port: u16, name: &str, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let path = invoke_path(name);
    let counting = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, done, failed, counting, path) = (
                stop.clone(),
                done.clone(),
                failed.clone(),
                counting.clone(),
                path.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut conn = Conn::open(port)?;
                while !stop.load(Ordering::Relaxed) {
                    let a = conn.request("POST", &path, ACCOUNT, PAYLOAD)?;
                    if !counting.load(Ordering::Relaxed) {
                        continue;
                    }
                    if a.status == 200 && a.header("x-amz-function-error").is_none() {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(())
            })
        })
        .collect();
    // A second to bring every sandbox up, then count.
    std::thread::sleep(Duration::from_secs(1));
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
    }
    if failed.load(Ordering::Relaxed) > 0 {
        bail!("{} invokes failed", failed.load(Ordering::Relaxed));
    }
    Ok(count as f64 / elapsed)
}

/// The interpreter the process backend runs python with (version-manager shims resolved).
fn real_python() -> anyhow::Result<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Wall time of `python -c 'import handler'` in a directory holding the echo handler, ms.
fn import_baseline(python: &str, dir: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    let status = Command::new(python)
        .args(["-c", "import handler"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "the baseline failed");
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let o = parse(args)?;
    let python = venv_python()?;
    let bin = build_lambox(true)?;
    let runtime_python = real_python()?;

    let mut http_p50 = Vec::new();
    let mut http_p99 = Vec::new();
    let mut over_p50 = Vec::new();
    let mut over_p99 = Vec::new();
    let mut boto_p50 = Vec::new();
    let mut boto_p99 = Vec::new();
    let levels = [10usize, 20, 50];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); levels.len()];
    let mut cold = Vec::new();
    let mut baseline = Vec::new();

    let handler_dir = scratch_dir("baseline-handler")?;
    std::fs::write(
        handler_dir.join("handler.py"),
        "def handler(event, context):\n    return event\n",
    )?;

    for r in 0..o.runs {
        let dir = scratch_dir(&format!("invoke-{r}"))?;
        let (server, _) = Server::start(
            &bin,
            &dir,
            &[("LAMBOX_POOL__MAX_INSTANCES_PER_FUNCTION", "10")],
        )?;
        let endpoint = server.endpoint();
        create_functions(&python, &endpoint, &["echo".to_owned()])?;

        // Warm latency, plain HTTP.
        sequential(server.port, "echo", 200)?;
        let (client, overhead) = sequential(server.port, "echo", o.requests)?;
        http_p50.push(percentile(&client, 50.0));
        http_p99.push(percentile(&client, 99.0));
        over_p50.push(percentile(&overhead, 50.0));
        over_p99.push(percentile(&overhead, 99.0));

        // Warm latency, boto3.
        let b = python_json(
            &python,
            "invoke.py",
            &[
                "boto3",
                "--endpoint",
                &endpoint,
                "--name",
                "echo",
                "--n",
                "1000",
            ],
        )?;
        let ms = f64s(&b["ms"]);
        boto_p50.push(percentile(&ms, 50.0));
        boto_p99.push(percentile(&ms, 99.0));

        // Throughput.
        for (i, clients) in levels.iter().enumerate() {
            rates[i].push(throughput(server.port, "echo", *clients, o.seconds)?);
        }

        // Cold starts, each against the baseline right before it.
        let names: Vec<String> = (0..5).map(|i| format!("cold-{r}-{i}")).collect();
        create_functions(&python, &endpoint, &names)?;
        let (c, b) = cold_starts(server.port, &names, PAYLOAD, || {
            import_baseline(&runtime_python, &handler_dir)
        })?;
        cold.extend(c);
        baseline.extend(b);
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
        eprintln!(
            "run {r}: http p50 {:.0} µs, overhead p50 {:.0} µs, throughput {:?}/s",
            http_p50[r],
            over_p50[r],
            rates.iter().map(|v| v[r].round()).collect::<Vec<_>>()
        );
    }

    let report = json!({
        "runs": o.runs,
        "warm_http_us": {"p50": median(&http_p50), "p99": median(&http_p99), "requests_per_run": o.requests},
        "overhead_us": {"p50": median(&over_p50), "p99": median(&over_p99)},
        "warm_boto3_ms": {"p50": median(&boto_p50), "p99": median(&boto_p99)},
        "throughput_per_s": levels.iter().zip(&rates).map(|(c, r)| json!({"clients": c, "median": median(r), "runs": r})).collect::<Vec<_>>(),
        "cold_start_ms": {"median": median(&cold), "samples": cold},
        "python_import_baseline_ms": {"median": median(&baseline), "samples": baseline},
        "cold_start_ratio": median(&cold) / median(&baseline),
    });
    let out = target_dir().join("bench").join("invoke.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    println!(
        "\ninvoke benchmark (release build, process backend, {} runs, medians of per-run values)",
        o.runs
    );
    println!(
        "warm invoke, plain HTTP:   p50 {:>7.0} µs   p99 {:>7.0} µs",
        median(&http_p50),
        median(&http_p99)
    );
    println!(
        "lambox overhead:           p50 {:>7.0} µs   p99 {:>7.0} µs   target p50 ≤ 300, p99 ≤ 2000",
        median(&over_p50),
        median(&over_p99)
    );
    println!(
        "warm invoke, boto3:        p50 {:>7.2} ms   p99 {:>7.2} ms",
        median(&boto_p50),
        median(&boto_p99)
    );
    for (c, r) in levels.iter().zip(&rates) {
        println!(
            "throughput, {c:>2} clients:    {:>7.0} invokes/s   target ≥ 3000",
            median(r)
        );
    }
    println!(
        "cold start:                {:>7.1} ms vs python -c 'import handler' {:>5.1} ms: ratio {:.2}   target ≤ 1.3",
        median(&cold),
        median(&baseline),
        median(&cold) / median(&baseline)
    );
    println!("\nwritten to {}", out.display());
    Ok(())
}
