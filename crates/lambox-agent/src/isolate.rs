//! `isolate`: starts a runtime in Lambda's file-system layout on a machine that is not Lambda.
//!
//! Run as `lambox isolate [--task DIR] [--opt DIR] [--tmp DIR] [--runtime DIR] --root DIR --
//! COMMAND…` (or `lambox-agent isolate …`) by the process backend in place of the runtime's own
//! command: in new mount (and, unless it runs as root, user) namespaces it builds a root of its
//! own on a tmpfs at `--root` — every top-level directory of the host bound in, but `/tmp` the
//! sandbox's own, `/opt` its layers (read-only), `/var/task` its code (read-only) and
//! `/var/runtime` lambox's runtime clients (read-only) — pivots into it, makes that root
//! read-only, and executes the command in `/var/task`. Paths are then Lambda's literally, and
//! one sandbox cannot see another's `/tmp`.
//!
//! It is done with system calls in this process before anything else runs (the namespaces need
//! a single-threaded process), rather than through an external tool such as bubblewrap, so that
//! nothing beyond lambox needs installing. It is no security boundary: the runtime keeps lambox's
//! user (see the process backend). `isolate --probe` only checks that the kernel allows it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustix::fs::{StatVfsMountFlags, statvfs};
use rustix::mount::{
    MountFlags, MountPropagationFlags, UnmountFlags, mount, mount_bind, mount_bind_recursive,
    mount_change, mount_remount, unmount,
};

/// What `isolate` is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsolateArgs {
    /// Bound read-only at `/var/task`.
    pub task: Option<PathBuf>,
    /// Bound read-only at `/opt` (an empty `/opt` when absent).
    pub opt: Option<PathBuf>,
    /// Bound read-write at `/tmp` (an empty, writable tmpfs directory when absent).
    pub tmp: Option<PathBuf>,
    /// Bound read-only at `/var/runtime`.
    pub runtime: Option<PathBuf>,
    /// An empty directory the new root is built on (a tmpfs is mounted there, in the new mount
    /// namespace only).
    pub root: Option<PathBuf>,
    /// Directories of the host that the runtime must not see (lambox's data directory: other
    /// sandboxes' files, every account's code, the database): an empty, read-only tmpfs covers
    /// each in the new root.
    pub hide: Vec<PathBuf>,
    /// Only check that the namespaces can be made, then exit.
    pub probe: bool,
    /// The command to execute.
    pub command: Vec<String>,
}

impl IsolateArgs {
    /// Parses `[--task DIR] [--opt DIR] [--tmp DIR] [--runtime DIR] [--root DIR] [--hide DIR]…
    /// [--probe] -- COMMAND…`.
    ///
    /// ```
    /// let args = lambox_agent::isolate::IsolateArgs::parse(
    ///     ["--task", "/code", "--root", "/sb/root", "--", "/var/task/bootstrap"].map(String::from),
    /// )
    /// .unwrap();
    /// assert_eq!(args.command, ["/var/task/bootstrap"]);
    /// assert_eq!(args.task.unwrap().to_str(), Some("/code"));
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self::default();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let mut path = |what: &str| -> anyhow::Result<Option<PathBuf>> {
                Ok(Some(
                    it.next()
                        .with_context(|| format!("{what} needs a path"))?
                        .into(),
                ))
            };
            match a.as_str() {
                "--task" => parsed.task = path("--task")?,
                "--opt" => parsed.opt = path("--opt")?,
                "--tmp" => parsed.tmp = path("--tmp")?,
                "--runtime" => parsed.runtime = path("--runtime")?,
                "--root" => parsed.root = path("--root")?,
                "--hide" => parsed.hide.extend(path("--hide")?),
                "--probe" => parsed.probe = true,
                "--" => {
                    parsed.command.extend(it.by_ref());
                }
                other => bail!("unknown argument {other}"),
            }
        }
        if !parsed.probe && parsed.command.is_empty() {
            bail!("no command to run");
        }
        Ok(parsed)
    }
}

/// Builds the layout and executes the command; returns only when that failed. Must be called
/// while the process has one thread.
pub fn exec(args: &IsolateArgs) -> anyhow::Error {
    match enter(args) {
        Err(e) => e,
        Ok(()) if args.probe => std::process::exit(0),
        Ok(()) => {
            let (program, rest) = args.command.split_first().expect("a command, parsed");
            let e = std::process::Command::new(program).args(rest).exec();
            anyhow::Error::new(e).context(format!("cannot execute {program}"))
        }
    }
}

/// The entry point of the `isolate` subcommand: prints why it failed and exits 127 (as a shell
/// does for a command it cannot run), so that the agent reports a runtime that could not start.
pub fn main(args: impl IntoIterator<Item = String>) -> ! {
    let error = match IsolateArgs::parse(args) {
        Ok(args) => exec(&args),
        Err(e) => e,
    };
    eprintln!("lambox isolate: {error:#}");
    std::process::exit(127)
}

fn enter(args: &IsolateArgs) -> anyhow::Result<()> {
    let probe_root;
    let root = match (&args.root, args.probe) {
        (Some(r), _) => r.clone(),
        (None, true) => {
            probe_root = std::env::temp_dir().join(format!("lambox-probe-{}", std::process::id()));
            std::fs::create_dir_all(&probe_root)?;
            probe_root.clone()
        }
        (None, false) => bail!("--root is required"),
    };
    let result = unshare_namespaces().and_then(|()| build_root(args, &root));
    if args.probe {
        let _ = std::fs::remove_dir(&root);
    }
    result
}

/// New mount namespace, and a user namespace unless running as root (root needs none, and in
/// one it could no longer override permissions on files of users the namespace does not map).
fn unshare_namespaces() -> anyhow::Result<()> {
    use rustix::thread::UnshareFlags;
    let uid = rustix::process::getuid();
    let gid = rustix::process::getgid();
    let as_root = uid.is_root();
    let flags = if as_root {
        UnshareFlags::NEWNS
    } else {
        UnshareFlags::NEWNS | UnshareFlags::NEWUSER
    };
    unshare(flags).context("unshare (mount and user namespaces)")?;
    if !as_root {
        // The user keeps its own ids inside; it gains nothing outside.
        std::fs::write("/proc/self/setgroups", "deny").context("setgroups")?;
        std::fs::write("/proc/self/uid_map", format!("{0} {0} 1", uid.as_raw()))
            .context("uid_map")?;
        std::fs::write("/proc/self/gid_map", format!("{0} {0} 1", gid.as_raw()))
            .context("gid_map")?;
    }
    // Nothing done from here on propagates back to the host's mounts, while the host's
    // unmounts still reach this copy (a private copy would keep the host's mounts busy).
    mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .context("making / a slave of the host's mounts")?;
    Ok(())
}

// The one use of `unsafe` in lambox. `unshare` is unsafe in rustix because `CLONE_FILES` would
// let threads see different descriptor tables; this asks only for new mount and user
// namespaces, in a process with one thread (the namespaces refuse more), just before it executes
// another program.
#[allow(unsafe_code)]
fn unshare(flags: rustix::thread::UnshareFlags) -> std::io::Result<()> {
    // SAFETY: no CLONE_FILES, and this process has a single thread (see above).
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(Into::into)
}

/// The flags a bind mount of `path` must keep when it is remounted: inside a user namespace the
/// kernel refuses to drop `nosuid`, `nodev`, `noexec` or to change atime flags of a mount it
/// inherited.
fn kept_flags(path: &Path) -> MountFlags {
    let mut flags = MountFlags::NOSUID | MountFlags::NODEV;
    if let Ok(st) = statvfs(path) {
        let f = st.f_flag;
        for (have, keep) in [
            (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
            (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
            (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
            (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
        ] {
            if f.contains(have) {
                flags |= keep;
            }
        }
        // Neither: the mount updates access times strictly, which a remount must say, or the
        // kernel takes it for a change to relatime (refused for an inherited mount).
        if !f.intersects(StatVfsMountFlags::NOATIME | StatVfsMountFlags::RELATIME) {
            flags |= MountFlags::STRICTATIME;
        }
    }
    flags
}

/// Binds `source` at `target` (created), read-only when asked.
fn bind(source: &Path, target: &Path, read_only: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(target)?;
    mount_bind(source, target)
        .with_context(|| format!("binding {} at {}", source.display(), target.display()))?;
    if read_only {
        mount_remount(
            target,
            MountFlags::BIND | MountFlags::RDONLY | kept_flags(target),
            "",
        )
        .with_context(|| format!("making {} read-only", target.display()))?;
    }
    Ok(())
}

/// Recreates `/<entries of dir>` under `new`, but for the names in `skip`: a symlink as the same
/// symlink, a directory bound (with what is mounted below it).
fn mirror(dir: &Path, new: &Path, skip: &[&str]) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name: OsString = entry.file_name();
        if name.to_str().is_some_and(|n| skip.contains(&n)) {
            continue;
        }
        let (from, to) = (entry.path(), new.join(&name));
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            if let Ok(target) = std::fs::read_link(&from) {
                std::os::unix::fs::symlink(target, &to)?;
            }
        } else if kind.is_dir() {
            std::fs::create_dir(&to)?;
            // A directory that cannot be bound (a special file system this user may not bind)
            // is left empty rather than failing the sandbox.
            if mount_bind_recursive(&from, &to).is_err() {
                note(&format!("{} is not visible in the sandbox", from.display()));
            }
        }
    }
    Ok(())
}

/// Notes what the sandbox will not see, on standard error (the agent's log), without failing.
fn note(what: &str) {
    eprintln!("lambox isolate: {what}");
}

fn build_root(args: &IsolateArgs, root: &Path) -> anyhow::Result<()> {
    mount(
        "lambox",
        root,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(c"mode=0755"),
    )
    .with_context(|| format!("mounting a tmpfs at {}", root.display()))?;
    mirror(Path::new("/"), root, &["tmp", "opt", "var"])?;
    std::fs::create_dir(root.join("var"))?;
    mirror(Path::new("/var"), &root.join("var"), &["task", "runtime"])?;
    match &args.task {
        Some(task) => bind(task, &root.join("var/task"), true)?,
        None => std::fs::create_dir(root.join("var/task"))?,
    }
    match &args.runtime {
        Some(runtime) => bind(runtime, &root.join("var/runtime"), true)?,
        None => std::fs::create_dir(root.join("var/runtime"))?,
    }
    match &args.opt {
        Some(opt) => bind(opt, &root.join("opt"), true)?,
        None => std::fs::create_dir(root.join("opt"))?,
    }
    match &args.tmp {
        Some(tmp) => bind(tmp, &root.join("tmp"), false)?,
        None => {
            std::fs::create_dir(root.join("tmp"))?;
            std::fs::set_permissions(
                root.join("tmp"),
                std::os::unix::fs::PermissionsExt::from_mode(0o1777),
            )?;
        }
    }
    for hidden in &args.hide {
        let Ok(inside) = hidden.strip_prefix("/") else {
            continue;
        };
        let at = root.join(inside);
        // Only where the new root shows it (not under the sandbox's own /tmp or /opt).
        if at.is_dir() {
            mount(
                "lambox",
                &at,
                "tmpfs",
                MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
                None,
            )
            .with_context(|| format!("hiding {}", hidden.display()))?;
        }
    }
    let old = root.join(".old-root");
    std::fs::create_dir(&old)?;
    rustix::process::pivot_root(root, &old).context("pivot_root")?;
    std::env::set_current_dir("/")?;
    unmount("/.old-root", UnmountFlags::DETACH).context("detaching the old root")?;
    std::fs::remove_dir("/.old-root")?;
    // Lambda's root is read-only; what is below keeps its own flags.
    mount_remount(
        "/",
        MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
        "",
    )
    .context("making / read-only")?;
    std::env::set_current_dir("/var/task")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let a = IsolateArgs::parse(
            [
                "--task",
                "/c",
                "--opt",
                "/o",
                "--tmp",
                "/t",
                "--runtime",
                "/r",
                "--root",
                "/x",
                "--",
                "node",
                "--flag",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(a.opt.as_deref(), Some(Path::new("/o")));
        assert_eq!(a.command, ["node", "--flag"]);
        assert!(IsolateArgs::parse(["--task".to_owned()]).is_err());
        assert!(IsolateArgs::parse(["--bogus".to_owned()]).is_err());
        assert!(IsolateArgs::parse(["--root".to_owned(), "/x".to_owned()]).is_err());
        assert!(IsolateArgs::parse(["--probe".to_owned()]).unwrap().probe);
    }
}
