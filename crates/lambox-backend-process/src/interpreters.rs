//! Which interpreter runs a runtime on this machine: the version the runtime names when the
//! machine has it — a path configured for the runtime, `pythonX.Y` on `PATH`, a pyenv or nvm
//! installation — else the configured default (`process.python`, `process.node`), which the
//! backend then says, once in lambox's log and in every init log of the function's sandboxes.
//!
//! Each candidate is asked for its real executable and version (version managers put shims on
//! `PATH` that cost tens of milliseconds on every start, and may not run at all), once per
//! runtime.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use lambox_core::backend::BackendError;
use tokio::sync::OnceCell;

/// The interpreter a runtime runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// Its executable.
    pub path: String,
    /// Its version (`3.12.1`, `20.20.2`).
    pub version: String,
    /// Whether it is the version the runtime names.
    pub exact: bool,
    /// `python` or `nodejs`.
    pub language: &'static str,
}

impl Interpreter {
    /// Lambda's runtime version text for it (`python:3.12.1`).
    pub fn runtime_version(&self) -> String {
        format!("{}:{}", self.language, self.version)
    }

    /// What is to be said about it for `runtime`, when it is not the version named.
    pub fn note(&self, runtime: &str) -> Option<String> {
        (!self.exact).then(|| {
            format!(
                "this machine has no interpreter for {runtime}: its functions run on {} {} ({}); \
                 install it, or set process.interpreters.\"{runtime}\"",
                self.language, self.version, self.path
            )
        })
    }
}

/// `(language, version wanted)` of a runtime: `("python", "3.12")`, `("nodejs", "20")`.
pub fn wanted(runtime: &str) -> Option<(&'static str, &str)> {
    if let Some(v) = runtime.strip_prefix("python") {
        return Some(("python", v));
    }
    let major = runtime.strip_prefix("nodejs")?.split('.').next()?;
    Some(("nodejs", major))
}

/// Whether `version` is what a runtime wanting `want` asks for (`3.12` ⊇ `3.12.1`, `20` ⊇
/// `20.20.2`).
pub fn matches(want: &str, version: &str) -> bool {
    version == want || version.starts_with(&format!("{want}."))
}

/// Installations of version managers (pyenv, nvm) that hold `language` `want`, newest first.
fn managed(language: &str, want: &str) -> Vec<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let (root_var, default_root, versions, prefix, bin) = if language == "python" {
        (
            "PYENV_ROOT",
            ".pyenv",
            "versions",
            format!("{want}."),
            format!("bin/python{want}"),
        )
    } else {
        (
            "NVM_DIR",
            ".nvm",
            "versions/node",
            format!("v{want}."),
            "bin/node".to_owned(),
        )
    };
    let Some(root) = std::env::var_os(root_var)
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(default_root)))
    else {
        return Vec::new();
    };
    let mut found: Vec<String> = std::fs::read_dir(root.join(versions))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path().join(&bin))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    found.reverse();
    found
}

/// Finds and remembers the interpreter of each runtime.
pub struct Interpreters {
    configured: BTreeMap<String, String>,
    python: String,
    node: String,
    resolved: Mutex<HashMap<String, Arc<OnceCell<Interpreter>>>>,
}

impl Interpreters {
    /// With paths configured per runtime, and the defaults of each language.
    pub fn new(configured: BTreeMap<String, String>, python: String, node: String) -> Self {
        Self {
            configured,
            python,
            node,
            resolved: Mutex::default(),
        }
    }

    /// The interpreter of `runtime` (`python3.12`, `nodejs20.x`), found once.
    pub async fn of(&self, runtime: &str) -> Result<Interpreter, BackendError> {
        let cell = {
            let mut map = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(runtime.to_owned()).or_default().clone()
        };
        cell.get_or_try_init(|| self.find(runtime)).await.cloned()
    }

    async fn find(&self, runtime: &str) -> Result<Interpreter, BackendError> {
        let (language, want) = wanted(runtime).ok_or_else(|| {
            BackendError::Unsupported(format!(
                "the process backend has no interpreter for {runtime}"
            ))
        })?;
        let default = if language == "python" {
            &self.python
        } else {
            &self.node
        };
        let mut candidates: Vec<String> =
            self.configured.get(runtime).cloned().into_iter().collect();
        if language == "python" {
            candidates.push(format!("python{want}"));
        }
        candidates.extend(managed(language, want));
        candidates.push(default.clone());
        for candidate in &candidates {
            if let Some((path, version)) = probe(language, candidate).await
                && matches(want, &version)
            {
                return Ok(Interpreter {
                    path,
                    version,
                    exact: true,
                    language,
                });
            }
        }
        let (path, version) = probe(language, default).await.ok_or_else(|| {
            BackendError::Unsupported(format!("{default} cannot be started for {runtime}"))
        })?;
        Ok(Interpreter {
            path,
            version,
            exact: false,
            language,
        })
    }
}

/// The real executable and version of an interpreter, if it runs.
async fn probe(language: &str, program: &str) -> Option<(String, String)> {
    let args: &[&str] = if language == "python" {
        &[
            "-c",
            "import sys, platform; print(sys.executable); print(platform.python_version())",
        ]
    } else {
        &[
            "-e",
            "console.log(process.execPath); console.log(process.versions.node)",
        ]
    };
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let path = lines.next()?.trim().to_owned();
    let version = lines.next()?.trim().to_owned();
    (!path.is_empty() && !version.is_empty()).then_some((path, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_a_runtime_asks_for() {
        assert_eq!(wanted("python3.12"), Some(("python", "3.12")));
        assert_eq!(wanted("nodejs20.x"), Some(("nodejs", "20")));
        assert_eq!(wanted("provided.al2023"), None);
        assert!(matches("3.12", "3.12.1"));
        assert!(!matches("3.1", "3.12.1"));
        assert!(matches("20", "20.20.2"));
        assert!(!matches("2", "20.20.2"));
        let i = Interpreter {
            path: "/usr/bin/python3".into(),
            version: "3.11.7".into(),
            exact: false,
            language: "python",
        };
        assert_eq!(i.runtime_version(), "python:3.11.7");
        assert!(
            i.note("python3.14")
                .unwrap()
                .contains("no interpreter for python3.14")
        );
    }

    #[tokio::test]
    async fn finds_the_machines_python() {
        let interpreters = Interpreters::new(BTreeMap::new(), "python3".into(), "node".into());
        // A version no machine has: the default runs it, and says so.
        let fallback = interpreters.of("python3.99").await.unwrap();
        assert!(!fallback.exact);
        assert!(
            fallback.path.starts_with('/'),
            "the real executable: {fallback:?}"
        );
        // The default's own version: found exactly.
        let own = wanted_of(&fallback.version);
        assert!(
            interpreters
                .of(&format!("python{own}"))
                .await
                .unwrap()
                .exact
        );
    }

    fn wanted_of(version: &str) -> String {
        version.split('.').take(2).collect::<Vec<_>>().join(".")
    }
}
