//! `cargo xtask agent`: builds the statically linked agent that runs inside containers and Pods,
//! and checks that it really is static (no program interpreter in its ELF header).

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cmd::{cargo, run, target_dir};

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds a binary of the workspace with a static C runtime into `target/static`, and checks
/// that it is static.
fn build_static_binary(package: &str, bin: &str, release: bool) -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("static");
    let mut command = cargo();
    command
        .args([
            "build", "--locked", "-p", package, "--bin", bin, "--target", TARGET,
        ])
        .arg("--target-dir")
        .arg(&dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static");
    if release {
        command.arg("--release");
    }
    run(&mut command)?;
    let profile = if release { "release" } else { "debug" };
    let path = dir.join(TARGET).join(profile).join(bin);
    let elf = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if has_interpreter(&elf)? {
        bail!("{} is dynamically linked", path.display());
    }
    Ok(path)
}

/// Builds `lambox-agent` with a static C runtime; returns its path.
pub fn build_static() -> anyhow::Result<PathBuf> {
    let bin = build_static_binary("lambox-agent", "lambox-agent", true)?;
    eprintln!("static agent: {}", bin.display());
    Ok(bin)
}

/// The `provided.al2023` test function built with `lambda_runtime`, static.
pub fn build_static_fixture() -> anyhow::Result<PathBuf> {
    build_static_binary("lambox-fixture-lambda-rs", "bootstrap", false)
}

/// Whether a 64-bit little-endian ELF file names a program interpreter (`PT_INTERP`), i.e. needs
/// a dynamic loader.
fn has_interpreter(elf: &[u8]) -> anyhow::Result<bool> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        bail!("not a 64-bit little-endian ELF file");
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
    let phoff = u64::from_le_bytes(elf[32..40].try_into()?) as usize;
    let phentsize = usize::from(u16_at(54));
    let phnum = usize::from(u16_at(56));
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let kind = u32::from_le_bytes(elf.get(at..at + 4).context("truncated ELF")?.try_into()?);
        if kind == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_dynamic() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(has_interpreter(&me).unwrap());
        assert!(has_interpreter(b"not an elf").is_err());
    }
}
