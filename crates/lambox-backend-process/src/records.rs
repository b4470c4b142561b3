//! What a sandbox leaves on disk so that a later lambox can find and stop it: its directory
//! under `sandboxes/`, with the agent's and the runtime's pids. A pid is only acted on when the
//! process still carries the sandbox's id in its environment, so a recycled pid is never hit.

use std::fs;
use std::path::Path;

/// File with the agent's pid and the installation id, `<pid> <installation>`.
pub const AGENT_PID: &str = "agent.pid";
use lambox_core::protocol::{RUNTIME_PID_FILE, SANDBOX_ID_ENV};

/// Records the agent of a sandbox.
pub fn write_agent_pid(dir: &Path, pid: u32, installation_id: &str) -> std::io::Result<()> {
    fs::write(dir.join(AGENT_PID), format!("{pid} {installation_id}\n"))
}

/// The installation a sandbox directory belongs to.
pub fn installation_of(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(AGENT_PID)).ok()?;
    text.split_whitespace().nth(1).map(str::to_owned)
}

fn pid_in(dir: &Path, file: &str) -> Option<i32> {
    fs::read_to_string(dir.join(file))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether process `pid` belongs to sandbox `id` (its environment says so).
fn belongs_to(pid: i32, id: &str) -> bool {
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let marker = format!("{SANDBOX_ID_ENV}={id}");
    environ.split(|b| *b == 0).any(|v| v == marker.as_bytes())
}

/// Kills the process groups of a sandbox's agent and runtime, where they are still the
/// sandbox's.
pub fn kill_sandbox(dir: &Path, id: &str) {
    for file in [RUNTIME_PID_FILE, AGENT_PID] {
        if let Some(pid) = pid_in(dir, file)
            && belongs_to(pid, id)
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// The ids of the sandbox directories under `root` that belong to `installation_id`.
pub fn owned_sandboxes(root: &Path, installation_id: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let id = e.file_name().to_str()?.to_owned();
            // A directory without a record is one whose start failed half-way; it is ours too.
            let owner = installation_of(&e.path());
            (owner.is_none() || owner.as_deref() == Some(installation_id)).then_some(id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_comes_from_the_record() {
        let root = tempfile::tempdir().unwrap();
        for (id, inst) in [("a", "me"), ("b", "other")] {
            let d = root.path().join(id);
            fs::create_dir_all(&d).unwrap();
            write_agent_pid(&d, 1, inst).unwrap();
        }
        fs::create_dir_all(root.path().join("c")).unwrap();
        let mut owned = owned_sandboxes(root.path(), "me");
        owned.sort();
        assert_eq!(owned, ["a", "c"]);
    }

    #[test]
    fn never_touches_a_process_of_another_sandbox() {
        // Our own pid does not carry the marker, so it is not ours to kill.
        assert!(!belongs_to(std::process::id() as i32, "some-sandbox"));
    }
}
