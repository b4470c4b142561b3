//! `cargo xtask bench invoke`:
//!
//! - warm invoke latency of a python echo function through plain HTTP and through boto3: p50,
//!   p99, and lambox's own overhead (its time from request in to response out, minus the time
//!   the runtime client held the event, both reported by lambox per invoke);
//! - throughput with 10 warm sandboxes and 10, 20 and 50 concurrent HTTP clients;
//! - cold start (a new function's first invoke) against `python -c 'import handler'` timed in
//!   the same run;
//! - a warm invoke by another account, allowed by a resource policy of 20 statements, against
//!   the owner's own warm invoke, in alternating batches;
//! - cold starts with two layers against none, and with namespaces against none (`layers.rs`,
//!   of the current build only).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::against;
use super::harness::{
    ACCOUNT, Server, cold_starts, create_functions, f64s, invoke_path, numeric_options,
    python_json, scratch_dir,
};
use super::http::Conn;
use super::stats::{median, percentile};
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
    sequential_as(port, ACCOUNT, name, n)
}

/// [`sequential`] signed for `account`.
fn sequential_as(
    port: u16,
    account: &str,
    name: &str,
    n: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut conn = Conn::open(port)?;
    let path = invoke_path(name);
    let mut client = Vec::with_capacity(n);
    let mut overhead = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let a = conn.request("POST", &path, account, PAYLOAD)?;
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

/// What one binary measured, run by run.
#[derive(Default)]
struct Metrics {
    http_p50: Vec<f64>,
    http_p99: Vec<f64>,
    over_p50: Vec<f64>,
    over_p99: Vec<f64>,
    boto_p50: Vec<f64>,
    boto_p99: Vec<f64>,
    rates: Vec<Vec<f64>>,
    cold: Vec<f64>,
    baseline: Vec<f64>,
    /// Per run, p50 (client µs, lambox µs) of the owner's invokes and of another account's.
    same_account: Vec<(f64, f64)>,
    cross_account: Vec<(f64, f64)>,
}

/// The account that invokes the owner's function through its policy.
const OTHER_ACCOUNT: &str = "222222222222";

/// Gives `name` a policy of 20 statements, the last of which lets [`OTHER_ACCOUNT`] invoke
/// it; `false` when the server has no AddPermission (an older baseline).
fn grant_through_twenty_statements(port: u16, name: &str) -> anyhow::Result<bool> {
    let mut conn = Conn::open(port)?;
    for i in 0..20 {
        let (principal, action) = if i == 19 {
            (OTHER_ACCOUNT.to_owned(), "lambda:InvokeFunction")
        } else {
            (
                format!("{:012}", 333_333_333_300u64 + i),
                "lambda:GetFunction",
            )
        };
        let body =
            json!({"StatementId": format!("s{i}"), "Action": action, "Principal": principal});
        let a = conn.request(
            "POST",
            &format!("/2015-03-31/functions/{name}/policy"),
            ACCOUNT,
            body.to_string().as_bytes(),
        )?;
        if a.status != 201 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Alternating batches of the owner's and the other account's warm invokes of `name`.
fn cross_account(port: u16, name: &str, n: usize, m: &mut Metrics) -> anyhow::Result<()> {
    if !grant_through_twenty_statements(port, name)? {
        return Ok(());
    }
    let arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}");
    sequential_as(port, OTHER_ACCOUNT, &arn, 100)?;
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for _ in 0..6 {
        let (c, o) = sequential_as(port, ACCOUNT, name, n)?;
        same.push((percentile(&c, 50.0), percentile(&o, 50.0)));
        let (c, o) = sequential_as(port, OTHER_ACCOUNT, &arn, n)?;
        cross.push((percentile(&c, 50.0), percentile(&o, 50.0)));
    }
    let med =
        |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    m.same_account
        .push((med(&same, |x| x.0), med(&same, |x| x.1)));
    m.cross_account
        .push((med(&cross, |x| x.0), med(&cross, |x| x.1)));
    Ok(())
}

const LEVELS: [usize; 3] = [10, 20, 50];

struct Setup {
    python: std::path::PathBuf,
    runtime_python: String,
    handler_dir: std::path::PathBuf,
}

/// One run of every measurement against `bin`.
fn measure(
    setup: &Setup,
    o: &Options,
    bin: &Path,
    tag: &str,
    m: &mut Metrics,
) -> anyhow::Result<()> {
    let python = &setup.python;
    let dir = scratch_dir(&format!("invoke-{tag}"))?;
    let (server, _) = Server::start(
        bin,
        &dir,
        &[("LAMBOX_POOL__MAX_INSTANCES_PER_FUNCTION", "10")],
    )?;
    let endpoint = server.endpoint();
    create_functions(python, &endpoint, &["echo".to_owned()])?;

    // Warm latency, plain HTTP.
    sequential(server.port, "echo", 200)?;
    let (client, overhead) = sequential(server.port, "echo", o.requests)?;
    m.http_p50.push(percentile(&client, 50.0));
    m.http_p99.push(percentile(&client, 99.0));
    m.over_p50.push(percentile(&overhead, 50.0));
    m.over_p99.push(percentile(&overhead, 99.0));

    // Another account's warm invoke through a policy of 20 statements.
    cross_account(server.port, "echo", (o.requests / 6).max(100), m)?;

    // Warm latency, boto3.
    let b = python_json(
        python,
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
    m.boto_p50.push(percentile(&ms, 50.0));
    m.boto_p99.push(percentile(&ms, 99.0));

    // Throughput.
    m.rates.resize(LEVELS.len(), Vec::new());
    for (i, clients) in LEVELS.iter().enumerate() {
        m.rates[i].push(throughput(server.port, "echo", *clients, o.seconds)?);
    }

    // Cold starts, each against the baseline right before it.
    let names: Vec<String> = (0..5).map(|i| format!("cold-{tag}-{i}")).collect();
    create_functions(python, &endpoint, &names)?;
    let (c, b) = cold_starts(server.port, &names, PAYLOAD, || {
        import_baseline(&setup.runtime_python, &setup.handler_dir)
    })?;
    m.cold.extend(c);
    m.baseline.extend(b);
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn summary(m: &Metrics, o: &Options) -> serde_json::Value {
    json!({
        "warm_http_us": {"p50": median(&m.http_p50), "p99": median(&m.http_p99), "requests_per_run": o.requests},
        "overhead_us": {"p50": median(&m.over_p50), "p99": median(&m.over_p99)},
        "warm_boto3_ms": {"p50": median(&m.boto_p50), "p99": median(&m.boto_p99)},
        "throughput_per_s": LEVELS.iter().zip(&m.rates).map(|(c, r)| json!({"clients": c, "median": median(r), "runs": r})).collect::<Vec<_>>(),
        "cold_start_ms": {"median": median(&m.cold), "samples": m.cold},
        "python_import_baseline_ms": {"median": median(&m.baseline), "samples": m.baseline},
        "cold_start_ratio": median(&m.cold) / median(&m.baseline),
        "cross_account": cross_summary(m),
    })
}

/// p50s of the owner's and the other account's invokes, and what the policy check adds.
fn cross_summary(m: &Metrics) -> serde_json::Value {
    if m.cross_account.is_empty() {
        return serde_json::Value::Null;
    }
    let med =
        |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (sc, sl) = (med(&m.same_account, |x| x.0), med(&m.same_account, |x| x.1));
    let (cc, cl) = (
        med(&m.cross_account, |x| x.0),
        med(&m.cross_account, |x| x.1),
    );
    json!({"same_client_us": sc, "same_lambox_us": sl, "cross_client_us": cc,
           "cross_lambox_us": cl, "added_client_us": cc - sc, "added_lambox_us": cl - sl})
}

fn print_metrics(label: &str, m: &Metrics) {
    println!("\n[{label}]");
    println!(
        "warm invoke, plain HTTP:   p50 {:>7.0} µs   p99 {:>7.0} µs",
        median(&m.http_p50),
        median(&m.http_p99)
    );
    println!(
        "lambox overhead:           p50 {:>7.0} µs   p99 {:>7.0} µs   target p50 ≤ 300, p99 ≤ 2000",
        median(&m.over_p50),
        median(&m.over_p99)
    );
    println!(
        "warm invoke, boto3:        p50 {:>7.2} ms   p99 {:>7.2} ms",
        median(&m.boto_p50),
        median(&m.boto_p99)
    );
    for (c, r) in LEVELS.iter().zip(&m.rates) {
        println!(
            "throughput, {c:>2} clients:    {:>7.0} invokes/s   target ≥ 3000",
            median(r)
        );
    }
    let c = cross_summary(m);
    if !c.is_null() {
        println!(
            "cross-account (20 statements): p50 {:>5.0} µs vs own {:>5.0} µs; lambox {:>5.0} vs {:>5.0} µs: adds {:.1} µs (client) / {:.1} µs (lambox)   target ≤ 10 µs",
            c["cross_client_us"].as_f64().unwrap_or(f64::NAN),
            c["same_client_us"].as_f64().unwrap_or(f64::NAN),
            c["cross_lambox_us"].as_f64().unwrap_or(f64::NAN),
            c["same_lambox_us"].as_f64().unwrap_or(f64::NAN),
            c["added_client_us"].as_f64().unwrap_or(f64::NAN),
            c["added_lambox_us"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!(
        "cold start:                {:>7.1} ms vs python -c 'import handler' {:>5.1} ms: ratio {:.2}   target ≤ 1.3",
        median(&m.cold),
        median(&m.baseline),
        median(&m.cold) / median(&m.baseline)
    );
}

/// Current against baseline: the ratio of medians of the headline figures.
fn print_comparison(current: &Metrics, base: &Metrics, label: &str) -> serde_json::Value {
    let ratio = |a: &[f64], b: &[f64]| median(a) / median(b);
    let rows = [
        ("warm HTTP p50", ratio(&current.http_p50, &base.http_p50)),
        ("warm HTTP p99", ratio(&current.http_p99, &base.http_p99)),
        ("overhead p50", ratio(&current.over_p50, &base.over_p50)),
        ("boto3 p50", ratio(&current.boto_p50, &base.boto_p50)),
        ("throughput 10", ratio(&current.rates[0], &base.rates[0])),
        ("throughput 50", ratio(&current.rates[2], &base.rates[2])),
        ("cold start", ratio(&current.cold, &base.cold)),
    ];
    println!("\ncurrent / {label} (medians; < 1 is faster, except throughput where > 1 is better)");
    for (name, r) in &rows {
        println!("{name:<16} {r:>6.3}");
    }
    serde_json::Value::Object(
        rows.iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect(),
    )
}

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (bins, rest) = against::binaries(args)?;
    let o = parse(&rest)?;
    let handler_dir = scratch_dir("baseline-handler")?;
    std::fs::write(
        handler_dir.join("handler.py"),
        "def handler(event, context):\n    return event\n",
    )?;
    let setup = Setup {
        python: venv_python()?,
        runtime_python: real_python()?,
        handler_dir,
    };
    let mut metrics: Vec<Metrics> = bins.iter().map(|_| Metrics::default()).collect();
    for r in 0..o.runs {
        for i in against::order(&bins, r) {
            let (label, bin) = &bins[i];
            measure(&setup, &o, bin, &format!("{label}-{r}"), &mut metrics[i])?;
            let m = &metrics[i];
            eprintln!(
                "run {r} [{label}]: http p50 {:.0} µs, overhead p50 {:.0} µs, throughput {:?}/s",
                m.http_p50[r],
                m.over_p50[r],
                m.rates.iter().map(|v| v[r].round()).collect::<Vec<_>>()
            );
        }
    }
    println!(
        "\ninvoke benchmark (release build, process backend, {} runs, medians of per-run values)",
        o.runs
    );
    let mut report = json!({"runs": o.runs});
    for ((label, _), m) in bins.iter().zip(&metrics) {
        print_metrics(label, m);
        report[label] = summary(m, &o);
    }
    if let [current, base] = metrics.as_slice() {
        report["current_over_baseline"] = print_comparison(current, base, &bins[1].0);
    }
    let mut layer_samples = super::layers::Samples::default();
    for r in 0..o.runs {
        super::layers::measure(
            &setup.python,
            &bins[0].1,
            &r.to_string(),
            5,
            3,
            &mut layer_samples,
        )?;
    }
    println!(
        "
[{}] layers and namespaces, {} runs × 5 functions, 3 MB per layer",
        bins[0].0, o.runs
    );
    report["layers"] = super::layers::report(&layer_samples);
    let mut url_samples = super::urls::Samples::default();
    for r in 0..o.runs {
        super::urls::measure(
            &setup.python,
            &bins[0].1,
            &r.to_string(),
            300,
            100,
            &mut url_samples,
        )?;
    }
    println!(
        "\n[{}] function URLs and streaming, {} runs × 300 requests, 100 MB streamed",
        bins[0].0, o.runs
    );
    report["urls"] = super::urls::report(&url_samples);
    super::harness::write_report("invoke", &report)?;
    Ok(())
}
