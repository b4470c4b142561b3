//! `--against REV`: the same benchmark, in the same run, against lambox as it was at a git
//! revision, so that before/after numbers come from one machine at one time.
//!
//! The revision's tree is exported with `git archive` and built in release into the same target
//! directory (so dependencies are built once), and its binary is copied aside before the
//! current tree is built.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::cmd::{build_lambox, cargo, root, run, target_dir};

/// The binaries a benchmark measures: `(label, path)`, the current build first.
pub type Binaries = Vec<(String, PathBuf)>;

/// Splits `--against REV` out of a suite's arguments and builds what is measured.
pub fn binaries<'a>(args: &[&'a str]) -> anyhow::Result<(Binaries, Vec<&'a str>)> {
    let mut rest = Vec::new();
    let mut against = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == "--against" {
            against = Some(*it.next().context("--against needs a git revision")?);
        } else {
            rest.push(*a);
        }
    }
    let mut bins = Vec::new();
    let baseline = match against {
        Some(rev) => Some((rev.to_owned(), build_revision(rev)?)),
        None => None,
    };
    let current = build_lambox(true)?;
    let aside = target_dir().join("bench").join("lambox-current");
    std::fs::create_dir_all(target_dir().join("bench"))?;
    // Unlinked first: a copy still running (a run that was killed) keeps its own file.
    let _ = std::fs::remove_file(&aside);
    std::fs::copy(&current, &aside)?;
    bins.push(("current".to_owned(), aside));
    bins.extend(baseline);
    Ok((bins, rest))
}

/// Builds `lambox` of revision `rev` in release; returns its path.
fn build_revision(rev: &str) -> anyhow::Result<PathBuf> {
    let bench = target_dir().join("bench");
    let src = bench.join(format!("src-{rev}"));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src)?;
    let tarball = bench.join(format!("src-{rev}.tar"));
    run(Command::new("git")
        .current_dir(root())
        .args(["archive", "--format=tar", "--output"])
        .arg(&tarball)
        .arg(rev))?;
    run(Command::new("tar")
        .arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&src))?;
    std::fs::remove_file(&tarball)?;
    run(cargo()
        .current_dir(&src)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "lambox-server",
            "--bin",
            "lambox",
        ])
        .arg("--target-dir")
        .arg(target_dir()))?;
    let built = target_dir().join("release").join("lambox");
    let aside = bench.join(format!("lambox-{rev}"));
    let _ = std::fs::remove_file(&aside);
    std::fs::copy(&built, &aside)?;
    std::fs::remove_dir_all(&src)?;
    Ok(aside)
}

/// The order binaries are measured in during run `r`: alternated, so that neither always goes
/// first on a machine that warms up or slows down.
pub fn order(bins: &Binaries, r: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..bins.len()).collect();
    if r % 2 == 1 {
        idx.reverse();
    }
    idx
}
