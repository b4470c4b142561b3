//! `cargo xtask test` and `cargo xtask lint`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::cmd::{build_lambox, cargo, root, run};

/// The venv's Python, created and filled from `tests/python/requirements.txt` when missing or
/// out of date.
pub fn venv_python() -> anyhow::Result<PathBuf> {
    let root = root();
    let venv = root.join(".venv");
    let python = venv.join("bin").join("python");
    let requirements = root.join("tests/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).context("reading requirements.txt")?;
    let stamp = venv.join(".lambox-requirements");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(system).args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// Everything the project tests; the Docker backend's tests are left out only when asked
/// (`with_docker` false), never silently because no engine answers.
pub fn run_all(with_docker: bool, pytest_args: &[&str]) -> anyhow::Result<()> {
    crate::tidy::task()?;
    let python = venv_python()?;
    let bin = build_lambox(false)?;
    let static_agent = crate::agent::build_static()?;
    // A function built with AWS's lambda_runtime crate, static so that it also runs in an empty
    // image.
    let rs_bootstrap = crate::agent::build_static_fixture()?;
    let docker = with_docker;
    if docker {
        anyhow::ensure!(
            crate::images::docker_available(),
            "no Docker engine answers: start one, or run `cargo xtask test --no-docker` to leave \
             the Docker backend's tests out"
        );
        crate::images::build()?;
    } else {
        eprintln!("--no-docker: the Docker backend's tests will be skipped");
    }
    run(cargo().args(["test", "--locked", "--workspace"]))?;
    run(cargo()
        .args(["doc", "--locked", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    run_examples()?;
    // Headless Chromium for the test of function URLs' CORS in a browser.
    crate::images::apt_install("chromium", "chromium")?;
    let pytest = |suite: &str, engine: Option<&std::path::Path>| {
        let mut c = Command::new(&python);
        c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", suite])
            .args(pytest_args)
            .current_dir(root())
            .env("LAMBOX_RS_BOOTSTRAP", &rs_bootstrap)
            .env("LAMBOX_DOCKER_TESTS", if docker { "1" } else { "0" })
            .env("LAMBOX_STATIC_AGENT", &static_agent)
            .env("LAMBOX_BROWSER_TESTS", "1")
            .env("LAMBOX_BIN", &bin);
        if let Some(socket) = engine {
            c.env("DOCKER_HOST", format!("unix://{}", socket.display()))
                .env("LAMBOX_DOCKER_ENGINE", "podman");
        }
        run(&mut c)
    };
    pytest("tests/python", None)?;
    if docker {
        // The Docker backend's suite again, against Podman's Docker-compatible API.
        let podman = crate::podman::start()?;
        pytest("tests/python/test_docker.py", Some(&podman.socket))?;
    }
    Ok(())
}

/// Runs every crate's examples (each checks what it shows); the store's on a copy of the data
/// directory an earlier lambox wrote.
fn run_examples() -> anyhow::Result<()> {
    let copy = crate::cmd::target_dir().join("examples-data");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy)?;
    std::fs::copy(
        root().join("crates/lambox-store/tests/fixtures/b0992aa/lambox.db"),
        copy.join("lambox.db"),
    )?;
    let copy = copy.display().to_string();
    let examples: [(&str, &str, &[&str]); 6] = [
        ("lambox-core", "custom_backend", &[]),
        ("lambox-backend-process", "run_sandbox", &[]),
        ("lambox-store", "inspect_data_dir", &[&copy]),
        ("lambox-store", "write_latency", &["50"]),
        ("lambox-server", "embedded", &[]),
        ("lambox-server", "embedded_start", &["3"]),
    ];
    for (package, example, args) in examples {
        run(cargo()
            .args([
                "run",
                "--locked",
                "-q",
                "-p",
                package,
                "--example",
                example,
                "--",
            ])
            .args(args))?;
    }
    Ok(())
}

/// `cargo xtask test [--no-docker] [-- PYTEST_ARGS]`.
pub fn task(args: &[&str]) -> anyhow::Result<()> {
    let (with_docker, args) = match args {
        ["--no-docker", rest @ ..] => (false, rest),
        rest => (true, rest),
    };
    let pytest_args = match args {
        ["--", rest @ ..] => rest,
        rest => rest,
    };
    run_all(with_docker, pytest_args)
}

/// `cargo xtask lint`.
pub fn lint() -> anyhow::Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .args(["doc", "--locked", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}
