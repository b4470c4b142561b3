//! Cold starts with layers and with namespaces (part of `cargo xtask bench invoke`, and alone as
//! `cargo xtask bench layers [--runs N] [--functions N] [--megabytes N]`):
//!
//! - a new python function with two layers of a few MB each (200 files per MB) against the same
//!   function without layers, after a first function has unpacked and merged the two layers;
//! - a new function on the process backend with namespaces (`lambox isolate`) against one on a
//!   second lambox with `process.namespaces = false`.
//!
//! Each pair is measured alternately, so that both sides see the same machine.

use std::path::Path;

use serde_json::{Value, json};

use super::harness::{
    Server, cold_starts, create_functions, numeric_options, python_json, scratch_dir,
};
use super::stats::median;
use crate::test::venv_python;

const PAYLOAD: &[u8] = br#"{"hello":"world"}"#;

/// The samples of one run or several.
#[derive(Default)]
pub struct Samples {
    with_layers: Vec<f64>,
    without_layers: Vec<f64>,
    isolated: Vec<f64>,
    not_isolated: Vec<f64>,
}

/// One run: two servers of `bin`, `functions` cold starts of each kind.
pub fn measure(
    python: &Path,
    bin: &Path,
    tag: &str,
    functions: usize,
    megabytes: usize,
    s: &mut Samples,
) -> anyhow::Result<()> {
    let dir = scratch_dir(&format!("layers-{tag}"))?;
    let (isolating, _) = Server::start(bin, &dir.join("namespaces"), &[])?;
    let (plain, _) = Server::start(
        bin,
        &dir.join("plain"),
        &[("LAMBOX_PROCESS__NAMESPACES", "false")],
    )?;
    let endpoint = isolating.endpoint();
    let mb = megabytes.to_string();
    let published = python_json(
        python,
        "invoke.py",
        &[
            "layers",
            "--endpoint",
            &endpoint,
            "--name",
            "deps-a",
            "--name",
            "deps-b",
            "--megabytes",
            &mb,
        ],
    )?;
    let arns: Vec<String> = published["arns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(arns.len() == 2, "two layers published: {published}");
    let names = |prefix: &str| -> Vec<String> {
        (0..functions)
            .map(|i| format!("{prefix}-{tag}-{i}"))
            .collect()
    };
    let create = |server: &Server, names: &[String], layers: &[String]| -> anyhow::Result<()> {
        let endpoint = server.endpoint();
        let mut args = vec!["create", "--endpoint", endpoint.as_str()];
        for n in names {
            args.extend(["--name", n.as_str()]);
        }
        for l in layers {
            args.extend(["--layer", l.as_str()]);
        }
        python_json(python, "invoke.py", &args).map(|_| ())
    };
    // The first extraction of each layer (and of their merge), and of the code, are not measured.
    let warm = vec![format!("first-{tag}")];
    create(&isolating, &warm, &arns)?;
    create_functions(python, &plain.endpoint(), &[format!("first-{tag}")])?;
    cold_starts(isolating.port, &warm, PAYLOAD, || Ok(0.0))?;
    cold_starts(plain.port, &warm, PAYLOAD, || Ok(0.0))?;

    let (layered, bare) = (names("layered"), names("bare"));
    create(&isolating, &layered, &arns)?;
    create(&isolating, &bare, &[])?;
    create_functions(python, &plain.endpoint(), &names("plain"))?;
    let mut next_bare = bare.iter();
    let (with_layers, without) = cold_starts(isolating.port, &layered, PAYLOAD, || {
        let name = next_bare.next().expect("as many as layered");
        let (c, _) = cold_starts(isolating.port, std::slice::from_ref(name), PAYLOAD, || {
            Ok(0.0)
        })?;
        Ok(c[0])
    })?;
    s.with_layers.extend(with_layers);
    s.without_layers.extend(without);
    // Namespaces against none: the functions without layers of both servers, alternately.
    let (more_isolated, plain_names) = (names("bare2"), names("plain"));
    create(&isolating, &more_isolated, &[])?;
    let mut next_plain = plain_names.iter();
    let (isolated, not_isolated) = cold_starts(isolating.port, &more_isolated, PAYLOAD, || {
        let name = next_plain.next().expect("as many as isolated");
        let (c, _) = cold_starts(plain.port, std::slice::from_ref(name), PAYLOAD, || Ok(0.0))?;
        Ok(c[0])
    })?;
    s.isolated.extend(isolated);
    s.not_isolated.extend(not_isolated);
    isolating.stop()?;
    plain.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Prints the medians and ratios and returns them as JSON.
pub fn report(s: &Samples) -> Value {
    let (wl, wo) = (median(&s.with_layers), median(&s.without_layers));
    let (iso, plain) = (median(&s.isolated), median(&s.not_isolated));
    println!(
        "cold start with two layers: {wl:>7.1} ms vs without {wo:>6.1} ms: ratio {:.2}   target ≤ 1.3",
        wl / wo
    );
    println!(
        "cold start with namespaces: {iso:>7.1} ms vs without {plain:>6.1} ms: ratio {:.2}   target ≤ 1.15",
        iso / plain
    );
    json!({
        "two_layers_ms": {"median": wl, "samples": s.with_layers},
        "no_layers_ms": {"median": wo, "samples": s.without_layers},
        "layers_ratio": wl / wo,
        "namespaces_ms": {"median": iso, "samples": s.isolated},
        "no_namespaces_ms": {"median": plain, "samples": s.not_isolated},
        "namespaces_ratio": iso / plain,
    })
}

/// `cargo xtask bench layers`.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (mut runs, mut functions, mut megabytes) = (3, 5, 3);
    numeric_options(
        args,
        &mut [
            ("--runs", &mut runs),
            ("--functions", &mut functions),
            ("--megabytes", &mut megabytes),
        ],
    )?;
    let python = venv_python()?;
    let bin = super::against::binaries(&[])?.0.remove(0).1;
    let mut s = Samples::default();
    for r in 0..runs {
        measure(&python, &bin, &r.to_string(), functions, megabytes, &mut s)?;
    }
    println!(
        "\nlayers benchmark (release build, process backend, {runs} runs × {functions} functions, {megabytes} MB per layer)"
    );
    let report = report(&s);
    super::harness::write_report("layers", &report)?;
    Ok(())
}
