//! What the benchmarks share: a release lambox on a free port, scratch directories, and the
//! Python clients in `xtask/python`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::cmd::{root, run as run_cmd, target_dir};

/// A release `lambox serve` on a free port.
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
        let started = Instant::now();
        let child = Command::new(bin)
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
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .context("no VmRSS")?
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

/// Whether a ListFunctions request is answered with 200.
fn first_answer(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = b"GET /2015-03-31/functions?MaxItems=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200"
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
