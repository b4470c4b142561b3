//! `cargo xtask bench logs`:
//!
//! - FilterLogEvents over 1,000,000 stored log events of one function with a term matching 0.1%
//!   of them (boto3, p50 of 20 calls);
//! - what storing logs costs an invocation: warm invoke p50 of a function that prints a 1 KB line
//!   per invoke against one that prints nothing, in alternating batches.

use serde_json::json;

use super::harness::{Server, f64s, numeric_options, python_json, scratch_dir};
use super::invoke::sequential;
use super::stats::median;
use crate::test::venv_python;

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (mut events, mut batches, mut requests) = (1_000_000, 6, 500);
    numeric_options(
        args,
        &mut [
            ("--events", &mut events),
            ("--batches", &mut batches),
            ("--requests", &mut requests),
        ],
    )?;
    let python = venv_python()?;
    let bin = super::against::binaries(&[])?.0.remove(0).1;
    let dir = scratch_dir("logs")?;
    // Room for every event (the default bound is a million per group, and START/END/REPORT
    // lines count too).
    let (server, _) = Server::start(
        &bin,
        &dir,
        &[("LAMBOX_LOGS__KEEP_EVENTS_PER_GROUP", "2000000")],
    )?;
    let endpoint = server.endpoint();
    python_json(&python, "logs.py", &["setup", "--endpoint", &endpoint])?;

    // What a log line costs an invocation.
    sequential(server.port, "quiet", 100)?;
    sequential(server.port, "chatty", 100)?;
    let (mut quiet, mut chatty) = (Vec::new(), Vec::new());
    for _ in 0..batches {
        let (c, o) = sequential(server.port, "quiet", requests)?;
        quiet.push((median(&c), median(&o)));
        let (c, o) = sequential(server.port, "chatty", requests)?;
        chatty.push((median(&c), median(&o)));
    }
    let m =
        |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (qc, ql) = (m(&quiet, |x| x.0), m(&quiet, |x| x.1));
    let (cc, cl) = (m(&chatty, |x| x.0), m(&chatty, |x| x.1));

    // FilterLogEvents over a million events.
    let events_arg = events.to_string();
    let populated = python_json(
        &python,
        "logs.py",
        &["populate", "--endpoint", &endpoint, "--events", &events_arg],
    )?;
    let filtered = python_json(&python, "logs.py", &["filter", "--endpoint", &endpoint])?;
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    let filter_ms = f64s(&filtered["ms"]);
    let filter_p50 = median(&filter_ms);

    println!("\nlogs benchmark (release build, process backend)");
    println!(
        "warm invoke p50, no log line:     {qc:>7.1} µs (lambox {ql:>6.1} µs), {batches} batches of {requests}"
    );
    println!(
        "warm invoke p50, a 1 KB line:     {cc:>7.1} µs (lambox {cl:>6.1} µs): ratio {:.3}   target ≤ 1.05",
        cc / qc
    );
    println!(
        "FilterLogEvents, {} events, 0.1% matching ({:?} found): p50 {filter_p50:.1} ms   target ≤ 100 ms",
        populated["events"], filtered["matches"]
    );
    println!(
        "  (storing them: {:.1} s through {} invokes)",
        populated["seconds"].as_f64().unwrap_or(f64::NAN),
        events / 10_000
    );
    let report = json!({
        "warm_invoke_us": {"quiet": qc, "quiet_lambox": ql, "chatty": cc, "chatty_lambox": cl, "ratio": cc / qc},
        "filter_log_events_ms": {"p50": filter_p50, "samples": filter_ms, "events": populated["events"],
                                 "matches": filtered["matches"], "populate_seconds": populated["seconds"]},
    });
    super::harness::write_report("logs", &report)?;
    Ok(())
}
