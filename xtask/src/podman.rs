//! Podman's Docker-compatible API, for running the Docker backend's tests against it: installs
//! podman from Debian when it is missing, starts its API service on a socket under `target/`,
//! and loads the local images into it from Docker.
//!
//! Podman as root asks for open-file and process limits of 1048576 for every container; where
//! the machine does not grant `CAP_SYS_RESOURCE` that fails, so the service is configured with
//! the limits it runs with itself.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cmd::{run, target_dir};
use crate::images::{RUNTIME_IMAGE, SCRATCH_IMAGE, apt_install};

/// A running `podman system service`, stopped when dropped.
pub struct PodmanService {
    child: Child,
    /// Its Docker-compatible API socket.
    pub socket: PathBuf,
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hard_limit(flag: &str) -> anyhow::Result<u64> {
    let out = Command::new("sh")
        .args(["-c", &format!("ulimit -H{flag}")])
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    Ok(text.trim().parse().unwrap_or(1 << 20))
}

fn ping(socket: &PathBuf) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
        .is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.")
        && answer[8..].starts_with(" 200")
}

fn image_id(tool: &str, image: &str) -> Option<String> {
    let out = Command::new(tool)
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let id = String::from_utf8(out.stdout).ok()?;
    out.status
        .success()
        .then(|| id.trim().trim_start_matches("sha256:").to_owned())
}

/// Starts the service and loads the images the tests use.
pub fn start() -> anyhow::Result<PodmanService> {
    apt_install("podman", "podman")?;
    let dir = target_dir().join("podman");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("containers.conf");
    let nofile = hard_limit("n")?;
    // Podman caps its own process limit at 32768.
    let nproc = hard_limit("u")?.min(32768);
    std::fs::write(
        &conf,
        format!(
            "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n"
        ),
    )?;
    let socket = dir.join("podman.sock");
    let _ = std::fs::remove_file(&socket);
    let child = Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .env("CONTAINERS_CONF", &conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("service.log"))?)
        .spawn()
        .context("starting podman system service")?;
    let service = PodmanService { child, socket };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ping(&service.socket) {
        if Instant::now() > deadline {
            bail!(
                "podman's API did not answer on {}",
                service.socket.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for image in [RUNTIME_IMAGE, SCRATCH_IMAGE] {
        let wanted = image_id("docker", image).context("the local images are not built")?;
        if image_id("podman", image).as_deref() == Some(wanted.as_str()) {
            continue;
        }
        run(Command::new("sh").args(["-c", &format!("docker save {image} | podman load --quiet")]))?;
    }
    Ok(service)
}
