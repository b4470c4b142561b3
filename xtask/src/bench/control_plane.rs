//! `cargo xtask bench control-plane`:
//!
//! - boto3 × (CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
//!   PublishVersion, ListVersionsByFunction, CreateAlias, GetAlias, AddPermission, GetPolicy,
//!   DeleteFunction) against lambox with `durability = "full"` and `"normal"` and, in the same
//!   run, against the trivial floor endpoint; median per operation and the ratios;
//! - a warm invoke through an alias that routes half of its invokes to a second version, against
//!   invoking the version directly, in alternating batches: p50 client latency and lambox's
//!   own time;
//! - start-up to the first answered request with an empty store and with 10,000 functions;
//! - idle RSS;
//! - CreateFunction with a 45 MB zip.
//!
//! `--ops-only` measures the operations alone (a quicker loop while working on them).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::against;
use super::floor;
use super::harness::{Server, f64s, numeric_options, python_json, scratch_dir};
use super::invoke::sequential;
use super::stats::median;
use crate::test::venv_python;

/// The operations timed, each with whether it only reads.
const OPS: [(&str, bool); 11] = [
    ("CreateFunction", false),
    ("GetFunction", true),
    ("GetFunctionConfiguration", true),
    ("ListFunctions", true),
    ("PublishVersion", false),
    ("ListVersionsByFunction", true),
    ("CreateAlias", false),
    ("GetAlias", true),
    ("AddPermission", false),
    ("GetPolicy", true),
    ("DeleteFunction", false),
];

/// The targets: reads against the floor; writes with each durability.
const READ_TARGET: f64 = 1.1;
const WRITE_FULL_TARGET: f64 = 1.4;
const WRITE_NORMAL_TARGET: f64 = 1.15;

struct Options {
    runs: usize,
    ops: usize,
    functions: usize,
    ops_only: bool,
}

fn parse(args: &[&str]) -> anyhow::Result<Options> {
    let (mut runs, mut ops, mut functions) = (3, 200, 10_000);
    let ops_only = args.contains(&"--ops-only");
    let args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--ops-only")
        .collect();
    numeric_options(
        &args,
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
        ops_only,
    })
}

/// The median of each operation; NaN for one the server does not have (an older baseline).
fn op_medians(samples: &Value) -> Vec<f64> {
    OPS.iter()
        .map(|(op, _)| {
            let s = f64s(&samples[op]);
            if s.is_empty() { f64::NAN } else { median(&s) }
        })
        .collect()
}

/// p50s of a warm invoke through a weighted alias, through an alias of one version, and of the
/// version directly.
#[derive(Default)]
struct AliasInvoke {
    /// Per batch, (client µs, lambox µs) through the weighted alias.
    alias: Vec<(f64, f64)>,
    /// The same through the alias of version 1 alone.
    plain: Vec<(f64, f64)>,
    /// The same for version 1.
    version: Vec<(f64, f64)>,
}

/// Alternating batches of invokes of `ab:live` (versions 1 and 2 at 0.5), `ab:plain` (version 1)
/// and `ab:1`.
fn alias_invoke(
    python: &std::path::Path,
    bin: &std::path::Path,
    o: &Options,
) -> anyhow::Result<AliasInvoke> {
    let dir = scratch_dir("alias-invoke")?;
    let (server, _) = Server::start(bin, &dir, &[])?;
    python_json(
        python,
        "control_plane.py",
        &[
            "alias-setup",
            "--endpoint",
            &server.endpoint(),
            "--name",
            "ab",
        ],
    )?;
    // Warm both versions' sandboxes.
    sequential(server.port, "ab:live", 50)?;
    sequential(server.port, "ab:1", 50)?;
    sequential(server.port, "ab:plain", 50)?;
    let mut out = AliasInvoke::default();
    let batch = o.ops.max(100);
    for _ in 0..o.runs.max(3) * 2 {
        for (target, into) in [
            ("ab:live", &mut out.alias),
            ("ab:plain", &mut out.plain),
            ("ab:1", &mut out.version),
        ] {
            let (client, lambox) = sequential(server.port, target, batch)?;
            into.push((median(&client), median(&lambox)));
        }
    }
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(out)
}

fn print_alias_invoke(a: &AliasInvoke) -> Value {
    let m =
        |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (ac, al) = (m(&a.alias, |x| x.0), m(&a.alias, |x| x.1));
    let (pc, pl) = (m(&a.plain, |x| x.0), m(&a.plain, |x| x.1));
    let (vc, vl) = (m(&a.version, |x| x.0), m(&a.version, |x| x.1));
    println!(
        "\nwarm invoke, p50 of {} alternating batches",
        a.alias.len()
    );
    println!("{:<38} {:>10} {:>10}", "", "client µs", "lambox µs");
    println!(
        "{:<38} {ac:>10.1} {al:>10.1}",
        "through weighted alias (1; 2 at 0.5)"
    );
    println!("{:<38} {pc:>10.1} {pl:>10.1}", "through alias of version 1");
    println!("{:<38} {vc:>10.1} {vl:>10.1}", "version 1 directly");
    println!(
        "alias resolution adds {:.1} µs (client) / {:.1} µs (lambox)   target ≤ 20 µs",
        pc - vc,
        pl - vl
    );
    println!(
        "weighted alias adds {:.1} µs (client) / {:.1} µs (lambox): two sandboxes take turns",
        ac - vc,
        al - vl
    );
    json!({"weighted_client_us": ac, "weighted_lambox_us": al, "plain_client_us": pc,
           "plain_lambox_us": pl, "version_client_us": vc, "version_lambox_us": vl,
           "added_client_us": pc - vc, "added_lambox_us": pl - vl,
           "weighted_added_client_us": ac - vc, "weighted_added_lambox_us": al - vl})
}

/// What one binary measured.
#[derive(Default)]
struct Metrics {
    /// Per run, the median of each operation, with `durability = "full"`.
    ops: Vec<Vec<f64>>,
    /// The same with `durability = "normal"`.
    ops_normal: Vec<Vec<f64>>,
    empty_ms: Vec<f64>,
    idle_rss: Vec<f64>,
    full_ms: Vec<f64>,
    full_rss: Vec<f64>,
    big_seconds: Vec<f64>,
    /// lambox's peak RSS (MiB) over the large uploads.
    big_peak_rss: Vec<f64>,
}

impl Metrics {
    fn op(&self, i: usize) -> f64 {
        median(&self.ops.iter().map(|r| r[i]).collect::<Vec<_>>())
    }

    fn op_normal(&self, i: usize) -> f64 {
        median(&self.ops_normal.iter().map(|r| r[i]).collect::<Vec<_>>())
    }
}

/// The median over runs of operation `i` against the floor.
fn floor_op(floor: &[Vec<f64>], i: usize) -> f64 {
    median(&floor.iter().map(|r| r[i]).collect::<Vec<_>>())
}

/// Start-up with 10,000 functions, idle RSS, and CreateFunction with a 45 MB zip, for `bin`.
fn measure_stores(
    python: &std::path::Path,
    o: &Options,
    bin: &std::path::Path,
    tag: &str,
    m: &mut Metrics,
) -> anyhow::Result<()> {
    for r in 0..o.runs.max(5) {
        let dir = scratch_dir(&format!("start-empty-{tag}-{r}"))?;
        let (server, took) = Server::start(bin, &dir, &[])?;
        m.empty_ms.push(took.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(1));
        m.idle_rss.push(server.rss_mb()?);
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
    }
    let dir = scratch_dir(&format!("start-full-{tag}"))?;
    let (server, _) = Server::start(bin, &dir, &[("LAMBOX_DURABILITY", "normal")])?;
    let count = o.functions.to_string();
    let t = Instant::now();
    python_json(
        python,
        "control_plane.py",
        &["populate", "--endpoint", &server.endpoint(), "--n", &count],
    )?;
    eprintln!(
        "[{tag}] populated {count} functions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    server.stop()?;
    for _ in 0..o.runs.max(5) {
        let (server, took) = Server::start(bin, &dir, &[])?;
        m.full_ms.push(took.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(1));
        m.full_rss.push(server.rss_mb()?);
        server.stop()?;
    }
    std::fs::remove_dir_all(&dir)?;
    let dir = scratch_dir(&format!("bigzip-{tag}"))?;
    let (server, _) = Server::start(bin, &dir, &[])?;
    let runs = o.runs.to_string();
    let big = python_json(
        python,
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
    m.big_peak_rss.push(server.peak_rss_mb()?);
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    m.big_seconds.extend(f64s(&big["seconds"]));
    Ok(())
}

fn print_metrics(label: &str, m: &Metrics, floor: &[Vec<f64>], o: &Options) {
    println!("\n[{label}]");
    println!(
        "{:<26} {:>9} {:>9} {:>6} {:>9} {:>6}   target (full / normal)",
        "operation", "floor ms", "full ms", "ratio", "normal ms", "ratio"
    );
    for (i, (op, read)) in OPS.iter().enumerate() {
        let f = floor_op(floor, i);
        let target = if *read {
            format!("≤ {READ_TARGET}")
        } else {
            format!("≤ {WRITE_FULL_TARGET} / ≤ {WRITE_NORMAL_TARGET}")
        };
        println!(
            "{op:<26} {f:>9.3} {:>9.3} {:>6.2} {:>9.3} {:>6.2}   {target}",
            m.op(i),
            m.op(i) / f,
            m.op_normal(i),
            m.op_normal(i) / f,
        );
    }
    if o.ops_only {
        return;
    }
    println!(
        "start-up, empty store:        {:>8.1} ms   target ≤ 100 ms",
        median(&m.empty_ms)
    );
    println!(
        "start-up, {:>6} functions:   {:>8.1} ms   target ≤ 100 ms",
        o.functions,
        median(&m.full_ms)
    );
    println!(
        "idle RSS, empty store:        {:>8.1} MB   target ≤ 20 MB",
        median(&m.idle_rss)
    );
    println!(
        "idle RSS, {:>6} functions:   {:>8.1} MB   target ≤ 40 MB",
        o.functions,
        median(&m.full_rss)
    );
    println!(
        "CreateFunction, 45 MB zip:    {:>8.3} s    target ≤ 0.6 s",
        median(&m.big_seconds)
    );
    println!(
        "  lambox's peak RSS meanwhile: {:>7.1} MiB  target ≤ 150 MiB",
        median(&m.big_peak_rss)
    );
}

fn summary(m: &Metrics, floor: &[Vec<f64>], o: &Options) -> Value {
    let ops: Vec<Value> = OPS
        .iter()
        .enumerate()
        .map(|(i, (op, read))| {
            let f = floor_op(floor, i);
            json!({"op": op, "reads_only": read, "floor_ms": f,
                   "full_ms": m.op(i), "full_ratio": m.op(i) / f,
                   "normal_ms": m.op_normal(i), "normal_ratio": m.op_normal(i) / f})
        })
        .collect();
    if o.ops_only {
        return json!({ "operations": ops });
    }
    json!({
        "operations": ops,
        "startup_empty_ms": {"median": median(&m.empty_ms), "samples": m.empty_ms},
        "startup_full_ms": {"functions": o.functions, "median": median(&m.full_ms), "samples": m.full_ms},
        "idle_rss_mb": {"empty_store": median(&m.idle_rss), "full_store": median(&m.full_rss)},
        "create_45mb_zip_s": {"median": median(&m.big_seconds), "samples": m.big_seconds},
        "create_45mb_zip_peak_rss_mib": {"median": median(&m.big_peak_rss), "samples": m.big_peak_rss},
    })
}

/// What the hardware allows a durable write: the median time of one `fdatasync` after a small
/// append, on the file system the benchmarks' data directories are on.
fn fdatasync_floor_us() -> anyhow::Result<f64> {
    use std::io::Write;
    let dir = scratch_dir("fdatasync")?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("probe"))?;
    let mut samples = Vec::with_capacity(200);
    for _ in 0..200 {
        file.write_all(&[b'x'; 128])?;
        let t = Instant::now();
        file.sync_data()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(file);
    std::fs::remove_dir_all(&dir)?;
    Ok(median(&samples))
}

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (bins, rest) = against::binaries(args)?;
    let o = parse(&rest)?;
    let python = venv_python()?;
    let floor_port = floor::start()?;
    let floor_endpoint = format!("http://127.0.0.1:{floor_port}");
    let n = o.ops.to_string();
    let ops_of = |endpoint: &str| -> anyhow::Result<Vec<f64>> {
        let samples = python_json(
            &python,
            "control_plane.py",
            &["ops", "--endpoint", endpoint, "--n", &n],
        )?;
        Ok(op_medians(&samples))
    };

    // 1. Operation latency, interleaved run by run with the floor and between binaries.
    let mut metrics: Vec<Metrics> = bins.iter().map(|_| Metrics::default()).collect();
    let mut floor_runs: Vec<Vec<f64>> = Vec::new();
    for r in 0..o.runs {
        if r % 2 == 1 {
            floor_runs.push(ops_of(&floor_endpoint)?);
        }
        for i in against::order(&bins, r) {
            let (label, bin) = &bins[i];
            for durability in ["full", "normal"] {
                let dir = scratch_dir(&format!("ops-{label}-{durability}-{r}"))?;
                let (server, _) = Server::start(bin, &dir, &[("LAMBOX_DURABILITY", durability)])?;
                let measured = ops_of(&server.endpoint())?;
                server.stop()?;
                std::fs::remove_dir_all(&dir)?;
                eprintln!("run {r} [{label}, {durability}]: {measured:?} ms");
                if durability == "full" {
                    metrics[i].ops.push(measured);
                } else {
                    metrics[i].ops_normal.push(measured);
                }
            }
        }
        if r % 2 == 0 {
            floor_runs.push(ops_of(&floor_endpoint)?);
        }
        eprintln!("run {r} [floor]: {:?} ms", floor_runs[r]);
    }

    // 2. Invoking through a weighted alias, for the current binary (a baseline may have none).
    let alias = if o.ops_only {
        None
    } else {
        Some(alias_invoke(&python, &bins[0].1, &o)?)
    };

    // 3. Start-up, memory and the large upload, one binary after the other.
    if !o.ops_only {
        for (i, (label, bin)) in bins.iter().enumerate() {
            measure_stores(&python, &o, bin, label, &mut metrics[i])?;
        }
    }

    let disk_us = fdatasync_floor_us()?;
    println!(
        "\ncontrol-plane benchmark (release build, {} runs × {} iterations, medians; \
         durability \"full\", lambox's default: every write is fdatasync'd before its answer; \
         \"normal\": a write survives a crash of lambox, not a power loss)",
        o.runs, o.ops
    );
    println!(
        "the disk's floor: one fdatasync of a small append in target/bench: {disk_us:.0} µs (p50 of 200)"
    );
    let mut report = json!({"runs": o.runs, "ops_per_run": o.ops,
                            "durability": ["full", "normal"], "fdatasync_us": disk_us});
    if let Some(alias) = &alias {
        report["alias_invoke"] = print_alias_invoke(alias);
    }
    for ((label, _), m) in bins.iter().zip(&metrics) {
        print_metrics(label, m, &floor_runs, &o);
        report[label] = summary(m, &floor_runs, &o);
    }
    if let [current, base] = metrics.as_slice() {
        println!(
            "\ncurrent / {} (medians; < 1 is faster or smaller)",
            bins[1].0
        );
        let mut ratios = serde_json::Map::new();
        for (i, (op, _)) in OPS.iter().enumerate() {
            let r = current.op(i) / base.op(i);
            println!("{op:<26} {r:>6.3}");
            ratios.insert((*op).to_owned(), json!(r));
        }
        let stores: &[(&str, &Vec<f64>, &Vec<f64>)] = if o.ops_only {
            &[]
        } else {
            &[
                ("start-up, empty", &current.empty_ms, &base.empty_ms),
                ("start-up, full", &current.full_ms, &base.full_ms),
                ("idle RSS, empty", &current.idle_rss, &base.idle_rss),
                (
                    "CreateFunction 45 MB",
                    &current.big_seconds,
                    &base.big_seconds,
                ),
            ]
        };
        for (name, a, b) in stores {
            let r = median(a) / median(b);
            println!("{name:<22} {r:>6.3}");
            ratios.insert((*name).to_owned(), json!(r));
        }
        report["current_over_baseline"] = Value::Object(ratios);
    }
    super::harness::write_report("control-plane", &report)?;
    Ok(())
}
