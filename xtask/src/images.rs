//! `cargo xtask images`: builds the images the Docker backend's tests run in, on a machine whose
//! engine cannot pull any (no registry): a Debian root filesystem from debootstrap with python3
//! and nodejs, made into an image with `docker import`, and an empty image for `provided`
//! functions that bring a static bootstrap. Where a registry is reachable, the Docker backend
//! uses AWS's public base images instead and none of this is needed.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::cmd::{run, target_dir};

/// Debian with python3 and nodejs: python and node functions run in it.
pub const RUNTIME_IMAGE: &str = "lambox-local/runtime:bookworm";
/// An empty image: `provided` functions with a static `bootstrap` run in it.
pub const SCRATCH_IMAGE: &str = "lambox-local/provided:scratch";

/// Whether a Docker engine answers.
pub fn docker_available() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn image_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Imports the tar of `dir` (or an empty one) as image `name`.
fn docker_import(dir: Option<&Path>, name: &str) -> anyhow::Result<()> {
    let mut tar = Command::new("tar");
    match dir {
        Some(d) => tar.arg("-C").arg(d).args(["-c", "."]),
        None => tar.args(["-c", "--files-from", "/dev/null"]),
    };
    let mut tar = tar.stdout(Stdio::piped()).spawn().context("starting tar")?;
    let status = Command::new("docker")
        .args(["import", "-", name])
        .stdin(tar.stdout.take().expect("piped"))
        .stdout(Stdio::null())
        .status()
        .context("starting docker import")?;
    if !tar.wait()?.success() || !status.success() {
        bail!("importing {name} failed");
    }
    Ok(())
}

/// Builds whichever of the images is missing.
pub fn build() -> anyhow::Result<()> {
    if !image_exists(SCRATCH_IMAGE) {
        docker_import(None, SCRATCH_IMAGE)?;
    }
    if image_exists(RUNTIME_IMAGE) {
        eprintln!("images present: {RUNTIME_IMAGE}, {SCRATCH_IMAGE}");
        return Ok(());
    }
    apt_install("debootstrap", "debootstrap")?;
    let rootfs = target_dir().join("images").join("bookworm");
    let _ = std::fs::remove_dir_all(&rootfs);
    std::fs::create_dir_all(&rootfs)?;
    let mirror = std::env::var("DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned());
    run(Command::new("debootstrap")
        .args(["--variant=minbase", "--include=python3,nodejs", "bookworm"])
        .arg(&rootfs)
        .arg(mirror))?;
    // What an image needs for nothing: package caches and documentation.
    for junk in [
        "var/cache/apt/archives",
        "var/lib/apt/lists",
        "usr/share/doc",
        "usr/share/man",
    ] {
        let _ = std::fs::remove_dir_all(rootfs.join(junk));
    }
    docker_import(Some(&rootfs), RUNTIME_IMAGE)?;
    let _ = std::fs::remove_dir_all(&rootfs);
    eprintln!("built {RUNTIME_IMAGE} and {SCRATCH_IMAGE}");
    Ok(())
}

/// Installs Debian package `package` with apt-get unless `command` runs; refreshes the package
/// lists once if the first attempt fails.
pub fn apt_install(command: &str, package: &str) -> anyhow::Result<()> {
    if Command::new(command).arg("--version").output().is_ok() {
        return Ok(());
    }
    let install = || {
        run(Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    install().or_else(|_| {
        run(Command::new("apt-get").arg("update"))?;
        install()
    })
}
