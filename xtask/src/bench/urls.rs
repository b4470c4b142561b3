//! Function URLs and response streaming (part of `cargo xtask bench invoke`, and alone as
//! `cargo xtask bench urls [--runs N] [--requests N] [--megabytes N]`):
//!
//! - a warm function URL request against Invoke of the same function (a python function that
//!   answers `{"statusCode": 200, "body": "ok"}`), alternately, one connection each;
//! - time to first byte of a streaming URL: from the node handler's first write (its own clock,
//!   in the bytes it writes) to their arrival at the client;
//! - lambox's resident memory while a function streams `--megabytes` MB through a URL, against
//!   its memory before.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::{Value, json};

use super::harness::{ACCOUNT, Server, invoke_path, numeric_options, python_json, scratch_dir};
use super::http::Conn;
use super::stats::median;
use crate::test::venv_python;

/// The samples of one run or several.
#[derive(Default)]
pub struct Samples {
    url_us: Vec<f64>,
    invoke_us: Vec<f64>,
    ttfb_ms: Vec<f64>,
    rss_growth_mb: Vec<f64>,
    stream_mb_per_s: Vec<f64>,
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One GET of a streaming URL: (ms from the handler's first write to its arrival, bytes of the
/// body, seconds it took). Reads the raw socket, so that nothing buffers between.
fn stream_once(port: u16, url_id: &str, megabytes: usize) -> anyhow::Result<(f64, usize, f64)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let started = Instant::now();
    write!(
        s,
        "GET /lambda-url/{url_id}/?mb={megabytes} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut first_write: Option<(f64, f64)> = None;
    let mut total = 0usize;
    loop {
        let n = s.read(&mut buf)?;
        let arrived = epoch_ms();
        if n == 0 {
            break;
        }
        total += n;
        if first_write.is_none() {
            head.extend_from_slice(&buf[..n]);
            // The handler's first line: {"t": <its clock>}\n, inside the first chunk.
            if let Some(start) = head.windows(5).position(|w| w == b"{\"t\":")
                && let Some(len) = head[start..].iter().position(|b| *b == b'\n')
            {
                let line: Value = serde_json::from_slice(&head[start..start + len])?;
                let t = line["t"].as_f64().context("no t in the first line")?;
                first_write = Some((t, arrived));
            }
        }
    }
    let (t, arrived) = first_write.context("the stream had no first line")?;
    Ok((arrived - t, total, started.elapsed().as_secs_f64()))
}

/// One run: a server of `bin`, `requests` of each kind, one stream of `megabytes` MB.
pub fn measure(
    python: &Path,
    bin: &Path,
    tag: &str,
    requests: usize,
    megabytes: usize,
    s: &mut Samples,
) -> anyhow::Result<()> {
    let dir = scratch_dir(&format!("urls-{tag}"))?;
    let (server, _) = Server::start(bin, &dir, &[])?;
    let made = python_json(
        python,
        "urls.py",
        &["--endpoint", &server.endpoint(), "--tag", tag],
    )?;
    let name = made["constant"].as_str().context("constant")?;
    let url = made["constant_url"].as_str().context("constant_url")?;
    let streaming = made["streaming_url"].as_str().context("streaming_url")?;
    let url_path = format!("/lambda-url/{url}/");
    let (mut by_url, mut by_invoke) = (Conn::open(server.port)?, Conn::open(server.port)?);
    let one = |conn: &mut Conn, method: &str, path: &str| -> anyhow::Result<f64> {
        let t = Instant::now();
        let a = conn.request(method, path, ACCOUNT, b"{}")?;
        let us = t.elapsed().as_secs_f64() * 1e6;
        anyhow::ensure!(a.status == 200, "{path}: {}", a.status);
        Ok(us)
    };
    for i in 0..requests + 20 {
        let u = one(&mut by_url, "GET", &url_path)?;
        let v = one(&mut by_invoke, "POST", &invoke_path(name))?;
        if i >= 20 {
            s.url_us.push(u);
            s.invoke_us.push(v);
        }
    }
    // First bytes: a few streams without a payload, after one that starts the sandbox.
    stream_once(server.port, streaming, 0)?;
    for _ in 0..10 {
        s.ttfb_ms.push(stream_once(server.port, streaming, 0)?.0);
    }
    // Memory while a large stream goes through.
    let before = server.rss_mb()?;
    let mut peak = before;
    let streaming_done = std::sync::atomic::AtomicBool::new(false);
    let (bytes, seconds) = std::thread::scope(|scope| -> anyhow::Result<(usize, f64)> {
        let sampler = scope.spawn(|| {
            let mut peak = 0f64;
            while !streaming_done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(server.rss_mb().unwrap_or(0.0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        });
        let result = stream_once(server.port, streaming, megabytes);
        streaming_done.store(true, std::sync::atomic::Ordering::Relaxed);
        peak = peak.max(sampler.join().unwrap_or(0.0));
        let (_, bytes, seconds) = result?;
        Ok((bytes, seconds))
    })?;
    anyhow::ensure!(
        bytes >= megabytes * 1024 * 1024,
        "the stream carried {bytes} bytes"
    );
    s.rss_growth_mb.push(peak - before);
    s.stream_mb_per_s.push(bytes as f64 / 1_048_576.0 / seconds);
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Prints the medians and ratios and returns them as JSON.
pub fn report(s: &Samples) -> Value {
    let (url, invoke) = (median(&s.url_us), median(&s.invoke_us));
    let ttfb = median(&s.ttfb_ms);
    let growth = median(&s.rss_growth_mb);
    let rate = median(&s.stream_mb_per_s);
    println!(
        "warm function URL request: {url:>7.0} µs vs Invoke {invoke:>6.0} µs: ratio {:.2}   target ≤ 1.2",
        url / invoke
    );
    println!("streaming URL, handler's first write to the client: {ttfb:.2} ms   target ≤ 2 ms");
    println!("lambox RSS growth while streaming: {growth:.1} MB ({rate:.0} MB/s)   target ≤ 10 MB");
    json!({
        "url_us": {"median": url, "samples": s.url_us.len()},
        "invoke_us": {"median": invoke, "samples": s.invoke_us.len()},
        "url_over_invoke": url / invoke,
        "first_byte_ms": {"median": ttfb, "samples": s.ttfb_ms},
        "rss_growth_mb": {"median": growth, "samples": s.rss_growth_mb},
        "stream_mb_per_s": {"median": rate, "samples": s.stream_mb_per_s},
    })
}

/// `cargo xtask bench urls`.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let (mut runs, mut requests, mut megabytes) = (3, 300, 100);
    numeric_options(
        args,
        &mut [
            ("--runs", &mut runs),
            ("--requests", &mut requests),
            ("--megabytes", &mut megabytes),
        ],
    )?;
    let python = venv_python()?;
    let bin = super::against::binaries(&[])?.0.remove(0).1;
    let mut s = Samples::default();
    for r in 0..runs {
        measure(&python, &bin, &r.to_string(), requests, megabytes, &mut s)?;
    }
    println!(
        "\nfunction URL benchmark (release build, process backend, {runs} runs × {requests} requests, {megabytes} MB streamed)"
    );
    let report = report(&s);
    super::harness::write_report("urls", &report)?;
    Ok(())
}
