//! What a killed lambda-rt leaves behind, cleared at the next start. `invoke --local` and `serve`
//! keep a function's code and runtime in a temporary directory named after their process
//! (`lambda-rt-local.<pid>.*`); a SIGKILL gives them no chance to remove it or to stop the
//! runtime. The runtime's own process is told to die with its parent (PR_SET_PDEATHSIG, see
//! `process.rs`), but what the handler started lives on. So every start first looks for
//! directories of processes that are gone, kills the processes still working in them (their
//! working directory is inside: the runtime starts in the task root), and removes them.

use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The name prefix of this process's temporary directories.
pub fn prefix() -> String {
    format!("{}{}.", PREFIX, std::process::id())
}

const PREFIX: &str = "lambda-rt-local.";

/// Clears the directories (and the processes working in them) of lambda-rt processes that no
/// longer exist. Best effort: anything it cannot read or remove is left alone.
pub fn clear_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('.').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let owner_alive = kill(Pid::from_raw(pid), None).is_ok();
        if owner_alive || !is_ours(&entry.path()) {
            continue;
        }
        kill_processes_in(&entry.path());
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// Whether this user owns the directory.
fn is_ours(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata("/proc/self") else {
        return false;
    };
    path.symlink_metadata().is_ok_and(|m| m.uid() == me.uid())
}

/// Kills every process whose working directory is inside `dir`.
fn kill_processes_in(dir: &Path) {
    let Ok(dir) = dir.canonicalize() else {
        return;
    };
    for pid in processes_working_in(&dir) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

fn processes_working_in(dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let cwd: PathBuf = std::fs::read_link(entry.path().join("cwd")).ok()?;
            cwd.starts_with(dir).then_some(pid)
        })
        .collect()
}
