//! `cargo xtask tidy`: checks of the source tree that no compiler makes, in the spirit of
//! rust-analyzer's tidy test. Run by `cargo xtask test`.
//!
//! - every Rust file starts with a `//!` doc saying what it owns;
//! - no Rust file is longer than 600 lines;
//! - file names in doc comments (and in `docs/*.md`) name files that exist;
//! - an unbounded channel carries a comment, on its line or just above, saying what bounds it;
//! - `unsafe` is allowed in one place only (`crates/lambox-agent/src/isolate.rs`: `unshare`).

use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::root;

/// Longest Rust file, in lines.
const MAX_LINES: usize = 600;

/// The one file that may allow `unsafe_code` (the workspace denies it everywhere else).
const UNSAFE_ALLOWED_IN: &str = "crates/lambox-agent/src/isolate.rs";

/// Files a doc comment may name that are not in the repository: a user's own.
const OUTSIDE_FILES: [&str; 1] = ["lambox.toml"];

/// Extensions of the files a doc comment may name.
const NAMED_EXTENSIONS: [&str; 8] = ["rs", "md", "toml", "sql", "py", "js", "sh", "json"];

/// The files of the repository (tracked or new, not ignored), relative to the root.
fn files() -> anyhow::Result<Vec<String>> {
    let out = Command::new("git")
        .current_dir(root())
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("git ls-files")?;
    anyhow::ensure!(out.status.success(), "git ls-files failed");
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter(|f| root().join(f).is_file())
        .map(str::to_owned)
        .collect())
}

/// The path-like words of a line that end in one of [`NAMED_EXTENSIONS`].
fn named_files(line: &str) -> Vec<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c)))
        .map(|w| w.trim_matches(|c| c == '.' || c == '/'))
        .filter(|w| {
            // `Node.js` is a name, not a file.
            w.rsplit_once('.').is_some_and(|(stem, ext)| {
                stem.starts_with(|c: char| !c.is_ascii_uppercase())
                    && !stem.ends_with('.')
                    && NAMED_EXTENSIONS.contains(&ext)
            }) && !w.contains("..")
        })
        .collect()
}

/// Whether `name` is the whole of, or a path suffix of, one of `files`.
fn exists(name: &str, files: &[String]) -> bool {
    OUTSIDE_FILES.contains(&name)
        || files
            .iter()
            .any(|f| f == name || f.ends_with(&format!("/{name}")))
}

/// Problems of one Rust file.
fn check_rust(path: &str, text: &str, files: &[String], problems: &mut Vec<String>) {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    if !first.starts_with("//!") {
        problems.push(format!("{path}: does not start with a `//!` doc"));
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() > MAX_LINES {
        problems.push(format!(
            "{path}: {} lines (split it before it passes {MAX_LINES})",
            lines.len()
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//!") || trimmed.starts_with("///") {
            for name in named_files(trimmed) {
                if !exists(name, files) {
                    problems.push(format!(
                        "{path}:{}: names {name}, which does not exist",
                        i + 1
                    ));
                }
            }
        }
        // (This file names them to look for them.)
        let looks_for_them = path == "xtask/src/tidy.rs";
        if !looks_for_them && path != UNSAFE_ALLOWED_IN && line.contains("allow(unsafe_code)") {
            problems.push(format!(
                "{path}:{}: allows unsafe code (only {UNSAFE_ALLOWED_IN} may)",
                i + 1
            ));
        }
        if !looks_for_them
            && (line.contains("unbounded_channel") || line.contains("UnboundedSender<"))
        {
            let explained = lines[i.saturating_sub(3)..=i]
                .iter()
                .filter_map(|l| l.split_once("//").map(|(_, comment)| comment))
                .any(|comment| comment.to_ascii_lowercase().contains("bound"));
            if !explained {
                problems.push(format!(
                    "{path}:{}: an unbounded channel without a comment saying what bounds it",
                    i + 1
                ));
            }
        }
    }
}

/// Problems of one Markdown document: file names in backticks must exist.
fn check_markdown(path: &str, text: &str, files: &[String], problems: &mut Vec<String>) {
    for (i, line) in text.lines().enumerate() {
        for quoted in line.split('`').skip(1).step_by(2) {
            for name in named_files(quoted) {
                // `../shared/…` lies outside the repository.
                if !quoted.contains("../") && !exists(name, files) {
                    problems.push(format!(
                        "{path}:{}: names {name}, which does not exist",
                        i + 1
                    ));
                }
            }
        }
    }
}

/// Runs every check; fails listing every problem.
pub fn task() -> anyhow::Result<()> {
    let files = files()?;
    let mut problems = Vec::new();
    for f in &files {
        let path = root().join(f);
        if f.ends_with(".rs") {
            check_rust(f, &std::fs::read_to_string(&path)?, &files, &mut problems);
        } else if f.starts_with("docs/") && f.ends_with(".md") {
            check_markdown(f, &std::fs::read_to_string(&path)?, &files, &mut problems);
        }
    }
    if !problems.is_empty() {
        bail!(
            "tidy found {} problems:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    eprintln!("tidy: {} files checked", files.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Vec<String> {
        vec!["crates/a/src/pool.rs".into(), "docs/architecture.md".into()]
    }

    #[test]
    fn finds_the_files_a_line_names() {
        assert_eq!(
            named_files("/// see `pool.rs` and crates/a/src/lib.rs, not 1.5 or std::fs."),
            ["pool.rs", "crates/a/src/lib.rs"]
        );
        assert!(exists("pool.rs", &repo()));
        assert!(exists("src/pool.rs", &repo()));
        assert!(!exists("ool.rs", &repo()));
    }

    #[test]
    fn reports_what_breaks_the_rules() {
        let mut problems = Vec::new();
        let text = "use x;\n/// reads `gone.rs`\nlet (tx, rx) = mpsc::unbounded_channel();\n\
                    #[allow(unsafe_code)]\n";
        check_rust("f.rs", text, &repo(), &mut problems);
        assert!(problems[0].contains("does not start with"));
        assert_eq!(problems.len(), 4, "{problems:?}");
        let mut ok = Vec::new();
        let text =
            "//! Owns pool.rs.\n// Bounded by `queued`.\nlet c = mpsc::unbounded_channel();\n";
        check_rust("g.rs", text, &repo(), &mut ok);
        assert!(ok.is_empty(), "{ok:?}");
    }
}
