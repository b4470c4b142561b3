//! Support for end-to-end tests: runs the real `lambox` binary on a free port with a temporary
//! data directory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the `lambox` binary is: `$LAMBOX_BIN`, else the workspace's debug build.
fn lambox_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LAMBOX_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("debug").join("lambox")
}

/// A running `lambox serve`, killed on drop.
pub struct Lambox {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    data_dir: tempfile::TempDir,
}

impl Lambox {
    /// Starts lambox with a fresh data directory and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = spawn(data_dir.path(), port)?;
        let me = Self {
            child,
            port,
            data_dir,
        };
        me.wait_ready()?;
        Ok(me)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills lambox with SIGKILL and starts it again on the same data directory and port.
    pub fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        self.child = spawn(self.data_dir.path(), self.port)?;
        self.wait_ready()
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(
                    b"GET /_lambox/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                );
                let mut out = String::new();
                if s.read_to_string(&mut out).is_ok() && out.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("lambox did not become ready on port {}", self.port)
    }
}

impl Drop for Lambox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(data_dir: &Path, port: u16) -> anyhow::Result<Child> {
    let bin = lambox_bin();
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: run `cargo build -p lambox-server` first",
        bin.display()
    );
    Ok(Command::new(bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("LAMBOX_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
