//! `cargo xtask agent`: builds the statically linked agent that runs inside containers and Pods,
//! and checks that it really is static (no program interpreter in its ELF header).

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cmd::{cargo, run, target_dir};

/// Builds `lambox-agent` with a static C runtime; returns its path.
pub fn build_static() -> anyhow::Result<PathBuf> {
    let target = "x86_64-unknown-linux-gnu";
    let dir = target_dir().join("static");
    run(cargo()
        .args([
            "build",
            "--locked",
            "--release",
            "-p",
            "lambox-agent",
            "--bin",
            "lambox-agent",
            "--target",
            target,
        ])
        .arg("--target-dir")
        .arg(&dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static"))?;
    let bin = dir.join(target).join("release").join("lambox-agent");
    let elf = std::fs::read(&bin).with_context(|| format!("reading {}", bin.display()))?;
    if has_interpreter(&elf)? {
        bail!("{} is dynamically linked", bin.display());
    }
    eprintln!("static agent: {}", bin.display());
    Ok(bin)
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
