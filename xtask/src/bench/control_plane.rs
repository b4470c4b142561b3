//! `cargo xtask bench control-plane`:
//!
//! - boto3 × (CreateFunction, GetFunction, ListFunctions, DeleteFunction) against lambox and, in
//!   the same run, against the trivial floor endpoint; median per operation and the ratio;
//! - start-up to the first answered request with an empty store and with 10,000 functions;
//! - idle RSS;
//! - CreateFunction with a 45 MB zip.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::floor;
use super::harness::{Server, f64s, numeric_options, python_json, scratch_dir};
use super::stats::median;
use crate::cmd::{build_lambox, target_dir};
use crate::test::venv_python;

const OPS: [&str; 4] = [
    "CreateFunction",
    "GetFunction",
    "ListFunctions",
    "DeleteFunction",
];

struct Options {
    runs: usize,
    ops: usize,
    functions: usize,
}

fn parse(args: &[&str]) -> anyhow::Result<Options> {
    let (mut runs, mut ops, mut functions) = (3, 200, 10_000);
    numeric_options(
        args,
        &mut [
            ("--runs", &mut runs),
            ("--ops", &mut ops),
            ("--functions", &mut functions),
        ],
    )?;
    Ok(Options {
        runs,
        ops,
        functions,
    })
}

fn op_medians(samples: &Value) -> Vec<f64> {
    OPS.iter().map(|op| median(&f64s(&samples[op]))).collect()
}

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let o = parse(args)?;
    let python = venv_python()?;
    let bin = build_lambox(true)?;
    let floor_port = floor::start()?;
    let floor_endpoint = format!("http://127.0.0.1:{floor_port}");
    let n = o.ops.to_string();

    // 1. Operation latency against the floor, interleaved run by run.
    let mut lambox_runs: Vec<Vec<f64>> = Vec::new();
    let mut floor_runs: Vec<Vec<f64>> = Vec::new();
    for r in 0..o.runs {
        let dir = scratch_dir(&format!("ops-{r}"))?;
        let (server, _) = Server::start(&bin, &dir, &[])?;
        let measure_lambox = || {
            python_json(
                &python,
                "control_plane.py",
                &["ops", "--endpoint", &server.endpoint(), "--n", &n],
            )
        };
        let measure_floor = || {
            python_json(
                &python,
                "control_plane.py",
                &["ops", "--endpoint", &floor_endpoint, "--n", &n],
            )
        };
        let (l, f) = if r % 2 == 0 {
            let l = measure_lambox()?;
            (l, measure_floor()?)
        } else {
            let f = measure_floor()?;
            (measure_lambox()?, f)
        };
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
        lambox_runs.push(op_medians(&l));
        floor_runs.push(op_medians(&f));
        eprintln!(
            "run {r}: lambox {:?} ms, floor {:?} ms",
            lambox_runs[r], floor_runs[r]
        );
    }
    let mut ops_report = Vec::new();
    for (i, op) in OPS.iter().enumerate() {
        let l = median(&lambox_runs.iter().map(|r| r[i]).collect::<Vec<_>>());
        let f = median(&floor_runs.iter().map(|r| r[i]).collect::<Vec<_>>());
        ops_report.push(json!({"op": op, "lambox_ms": l, "floor_ms": f, "ratio": l / f}));
    }

    // 2. Start-up with an empty store (a fresh data directory each time) and idle RSS.
    let mut empty_ms = Vec::new();
    let mut idle_rss = Vec::new();
    for r in 0..o.runs.max(5) {
        let dir = scratch_dir(&format!("start-empty-{r}"))?;
        let (server, took) = Server::start(&bin, &dir, &[])?;
        empty_ms.push(took.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(1));
        idle_rss.push(server.rss_mb()?);
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
    }

    // 3. Start-up with 10,000 functions.
    let dir = scratch_dir("start-full")?;
    let (server, _) = Server::start(&bin, &dir, &[("LAMBOX_DURABILITY", "normal")])?;
    let count = o.functions.to_string();
    let t = Instant::now();
    python_json(
        &python,
        "control_plane.py",
        &["populate", "--endpoint", &server.endpoint(), "--n", &count],
    )?;
    eprintln!(
        "populated {count} functions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    server.stop()?;
    let mut full_ms = Vec::new();
    let mut full_rss = Vec::new();
    for _ in 0..o.runs.max(5) {
        let (server, took) = Server::start(&bin, &dir, &[])?;
        full_ms.push(took.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(1));
        full_rss.push(server.rss_mb()?);
        server.stop()?;
    }
    std::fs::remove_dir_all(&dir)?;

    // 4. CreateFunction with a 45 MB zip.
    let dir = scratch_dir("bigzip")?;
    let (server, _) = Server::start(&bin, &dir, &[])?;
    let runs = o.runs.to_string();
    let big = python_json(
        &python,
        "control_plane.py",
        &[
            "bigzip",
            "--endpoint",
            &server.endpoint(),
            "--mb",
            "45",
            "--runs",
            &runs,
        ],
    )?;
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    let big_seconds = f64s(&big["seconds"]);

    let report = json!({
        "runs": o.runs,
        "ops_per_run": o.ops,
        "operations": ops_report,
        "startup_empty_ms": {"median": median(&empty_ms), "samples": empty_ms},
        "startup_full_ms": {"functions": o.functions, "median": median(&full_ms), "samples": full_ms},
        "idle_rss_mb": {"empty_store": median(&idle_rss), "full_store": median(&full_rss)},
        "create_45mb_zip_s": {"zip_bytes": big["zip_bytes"], "median": median(&big_seconds), "samples": big_seconds},
    });
    let out = target_dir().join("bench").join("control-plane.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;

    println!(
        "\ncontrol-plane benchmark (release build, {} runs × {} iterations, medians)",
        o.runs, o.ops
    );
    println!(
        "{:<16} {:>10} {:>10} {:>7}   target ≤ 1.50",
        "operation", "lambox ms", "floor ms", "ratio"
    );
    for r in &ops_report {
        println!(
            "{:<16} {:>10.3} {:>10.3} {:>7.2}",
            r["op"].as_str().unwrap_or_default(),
            r["lambox_ms"].as_f64().unwrap_or_default(),
            r["floor_ms"].as_f64().unwrap_or_default(),
            r["ratio"].as_f64().unwrap_or_default()
        );
    }
    println!(
        "start-up, empty store:        {:>8.1} ms   target ≤ 100 ms",
        median(&empty_ms)
    );
    println!(
        "start-up, {:>6} functions:   {:>8.1} ms   target ≤ 1000 ms",
        o.functions,
        median(&full_ms)
    );
    println!(
        "idle RSS, empty store:        {:>8.1} MB   target ≤ 20 MB",
        median(&idle_rss)
    );
    println!(
        "idle RSS, {:>6} functions:   {:>8.1} MB",
        o.functions,
        median(&full_rss)
    );
    println!(
        "CreateFunction, 45 MB zip:    {:>8.3} s    target ≤ 1.5 s",
        median(&big_seconds)
    );
    println!("\nwritten to {}", out.display());
    Ok(())
}
