//! What the benchmarks share: a release lambox on a free port, scratch directories, and the
//! Python clients in `xtask/python`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::http::Conn;
use crate::cmd::{root, run as run_cmd, target_dir};

/// The account the benchmarks act as.
pub const ACCOUNT: &str = "111111111111";

/// The Invoke path of a function.
pub fn invoke_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

/// A release `lambox serve` on a free port, killed if it is dropped before it is stopped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<(Self, Duration)> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // Only `env` configures what is measured, not what the calling shell has set.
        let inherited: Vec<String> = std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("LAMBOX_") || k.starts_with("AWS_"))
            .collect();
        let mut command = Command::new(bin);
        for k in &inherited {
            command.env_remove(k);
        }
        let started = Instant::now();
        let child = command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let server = Self { child, port };
        let deadline = started + Duration::from_secs(60);
        while Instant::now() < deadline {
            if first_answer(port) {
                return Ok((server, started.elapsed()));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        bail!("lambox did not answer within 60 s")
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Resident set size in MB, from /proc.
    pub fn rss_mb(&self) -> anyhow::Result<f64> {
        self.status_mb("VmRSS:")
    }

    /// The peak resident set since the server started (`VmHWM`), in MiB.
    pub fn peak_rss_mb(&self) -> anyhow::Result<f64> {
        self.status_mb("VmHWM:")
    }

    fn status_mb(&self, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .with_context(|| format!("no {field}"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb / 1024.0)
    }

    pub fn stop(mut self) -> anyhow::Result<()> {
        // SIGTERM for a clean shutdown, then wait.
        run_cmd(Command::new("kill").args(["-TERM", &self.child.id().to_string()]))?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A benchmark that failed half-way does not leave its server running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether a ListFunctions request is answered with 200.
fn first_answer(port: u16) -> bool {
    Conn::open(port)
        .and_then(|mut c| c.request("GET", "/2015-03-31/functions?MaxItems=1", ACCOUNT, b""))
        .is_ok_and(|a| a.status == 200)
}

/// The numbers in a JSON array (empty when `v` is not one).
pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Creates the python echo function under each of `names` (through boto3).
pub fn create_functions(python: &Path, endpoint: &str, names: &[String]) -> anyhow::Result<()> {
    let mut args = vec!["create", "--endpoint", endpoint];
    for n in names {
        args.extend(["--name", n.as_str()]);
    }
    python_json(python, "invoke.py", &args).map(|_| ())
}

/// Each function's first invoke (ms), each right after a sample of `baseline` (ms): cold starts
/// and what they are compared with, measured alternately so that both see the same machine.
pub fn cold_starts(
    port: u16,
    names: &[String],
    payload: &[u8],
    mut baseline: impl FnMut() -> anyhow::Result<f64>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut cold, mut base) = (Vec::new(), Vec::new());
    for name in names {
        base.push(baseline()?);
        let mut conn = Conn::open(port)?;
        let t = Instant::now();
        let a = conn.request("POST", &invoke_path(name), ACCOUNT, payload)?;
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            a.status == 200 && a.header("x-amz-function-error").is_none(),
            "cold invoke of {name} failed: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    Ok((cold, base))
}

/// Writes a suite's report to `target/bench/<name>.json` and says where.
pub fn write_report(name: &str, report: &Value) -> anyhow::Result<()> {
    let out = target_dir().join("bench").join(format!("{name}.json"));
    std::fs::create_dir_all(target_dir().join("bench"))?;
    std::fs::write(&out, serde_json::to_string_pretty(report)?)?;
    println!("\nwritten to {}", out.display());
    Ok(())
}

pub fn scratch_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = target_dir()
        .join("bench")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub fn python_json(python: &Path, script: &str, args: &[&str]) -> anyhow::Result<Value> {
    let script = root().join("xtask/python").join(script);
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("bench client failed: {}", out.status);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Parses `--name N` options into `values`, whose keys name the options it accepts.
pub fn numeric_options(args: &[&str], values: &mut [(&str, &mut usize)]) -> anyhow::Result<()> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = values
            .iter_mut()
            .find(|(name, _)| name == a)
            .with_context(|| format!("unknown option {a}"))?;
        *slot.1 = it
            .next()
            .with_context(|| format!("{a} needs a number"))?
            .parse()?;
    }
    Ok(())
}
