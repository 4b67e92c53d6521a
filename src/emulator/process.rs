//! Supervising a runtime process: start `bootstrap` in its own process group with a clean
//! Lambda-like environment, collect its stdout and stderr as the function's log, and kill the whole
//! group (handler children included) when done, so nothing is left running.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// Everything the runtime wrote to stdout and stderr, in arrival order; or, when bounded, the
/// last of it. Offsets count every byte ever written, so an offset taken before an event stays
/// valid after older output was dropped.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer(Arc<Mutex<LogBytes>>);

#[derive(Debug, Default)]
struct LogBytes {
    /// Bytes dropped from the front.
    dropped: usize,
    bytes: Vec<u8>,
    /// Keep at least the last this many bytes (and at most twice as many); `None`: keep all.
    keep: Option<usize>,
}

/// What a warm runtime's buffer keeps under `serve`: its output is echoed live to stderr, and the
/// buffer only feeds a log tail (Lambda returns at most 4 KB of it), so a runtime that serves
/// thousands of events does not hold everything they printed.
pub const WARM_LOG_KEEP_BYTES: usize = 64 * 1024;

impl LogBuffer {
    /// A buffer that keeps only about the last `keep` bytes.
    pub fn bounded(keep: usize) -> Self {
        LogBuffer(Arc::new(Mutex::new(LogBytes {
            keep: Some(keep),
            ..LogBytes::default()
        })))
    }

    /// Bytes written so far, dropped ones included.
    pub fn len(&self) -> usize {
        let log = self.0.lock().unwrap();
        log.dropped + log.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held now (at most about twice the bound).
    pub fn held(&self) -> usize {
        self.0.lock().unwrap().bytes.len()
    }

    /// The text written since byte offset `from` (what is still held of it).
    pub fn since(&self, from: usize) -> String {
        let log = self.0.lock().unwrap();
        let start = from.saturating_sub(log.dropped).min(log.bytes.len());
        String::from_utf8_lossy(&log.bytes[start..]).into_owned()
    }

    pub fn push(&self, bytes: &[u8]) {
        let mut log = self.0.lock().unwrap();
        log.bytes.extend_from_slice(bytes);
        // Dropping in halves keeps the cost of a push constant on average.
        if let Some(keep) = log.keep {
            if log.bytes.len() > 2 * keep {
                let drop = log.bytes.len() - keep;
                log.bytes.drain(..drop);
                log.dropped += drop;
            }
        }
    }
}

/// The command that starts `bootstrap` as Lambda would. A `#!/bin/sh` script runs under bash
/// started as `sh` (bash's POSIX mode), because `/bin/sh` is bash on provided.al2023 and
/// provided.al2: where this machine's `/bin/sh` is another shell (dash on Debian and Ubuntu), the
/// AWS tutorial's own bootstrap (`#!/bin/sh` and `set -euo pipefail`) would die locally with
/// "Illegal option -o pipefail", and `[[ ]]` would fail quietly, though both work on Lambda.
fn command_for(bootstrap: &Path) -> Command {
    match sh_script_arguments(bootstrap) {
        Some(arguments) if sh_is_not_bash() => {
            let mut command = Command::new(BASH);
            command.arg0("sh").args(arguments).arg(bootstrap);
            command
        }
        _ => Command::new(bootstrap),
    }
}

const BASH: &str = "/bin/bash";

/// For a `#!/bin/sh [argument]` script, the arguments of its shebang line.
fn sh_script_arguments(bootstrap: &Path) -> Option<Vec<String>> {
    let head = crate::elf::read_head(bootstrap, 256).ok()?;
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    (words.next()? == "/bin/sh").then(|| words.map(str::to_string).collect())
}

/// Whether `/bin/sh` here is another shell than bash, and bash is there to run the script
/// instead (without it, the script runs as it is).
fn sh_is_not_bash() -> bool {
    let sh_is_bash = std::fs::canonicalize("/bin/sh").is_ok_and(|target| {
        target
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("bash"))
    });
    !sh_is_bash && Path::new(BASH).exists()
}

/// A running `bootstrap`.
pub struct RuntimeProcess {
    child: Child,
    pgid: Pid,
    pub log: LogBuffer,
    readers: Vec<tokio::task::JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl RuntimeProcess {
    /// Starts `bootstrap` in `cwd` with exactly `env` (nothing inherited from lambda-rt's own
    /// environment, as in Lambda). With `echo` (a warm runtime of `serve`), output is also copied
    /// to lambda-rt's stderr, and the log buffer keeps only its last [`WARM_LOG_KEEP_BYTES`].
    pub fn spawn(
        bootstrap: &Path,
        cwd: &Path,
        env: &[(String, String)],
        echo: bool,
    ) -> Result<Self> {
        let mut command = command_for(bootstrap);
        command
            .current_dir(cwd)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // The runtime dies with lambda-rt, even a SIGKILLed one (which cannot stop it itself);
        // what the handler started is cleared at the next start (`leftovers.rs`). The signal
        // follows the thread that spawned the child: a runtime worker thread, which lives as long
        // as lambda-rt's runtime does.
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("failed to start `{}`", bootstrap.display()))?;
        let pgid = Pid::from_raw(child.id().context("the runtime exited at once")? as i32);
        let log = if echo {
            LogBuffer::bounded(WARM_LOG_KEEP_BYTES)
        } else {
            LogBuffer::default()
        };
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(copy_into(stdout, log.clone(), echo)));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(copy_into(stderr, log.clone(), echo)));
        }
        Ok(RuntimeProcess {
            child,
            pgid,
            log,
            readers,
            exit: None,
        })
    }

    /// The process id, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.pgid.as_raw() as u32
    }

    /// Waits for the process to exit (cancel-safe).
    pub async fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let status = self
            .child
            .wait()
            .await
            .unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(1));
        self.exit = Some(status);
        status
    }

    /// Whether the process is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exit = Some(status);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// How many processes are in the runtime's process group (Linux: read from /proc).
    pub fn group_size(&self) -> Option<usize> {
        let group = self.pgid.as_raw().to_string();
        let mut count = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // After the command (which may hold spaces and parentheses): state ppid pgrp ...
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            if fields.first() != Some(&"Z") && fields.get(2) == Some(&group.as_str()) {
                count += 1;
            }
        }
        Some(count)
    }

    /// [`Process::group_size`] once the group has emptied, or after `limit`: processes sent
    /// SIGKILL take a moment to die and be reaped, longer on a busy machine, and counting at once
    /// would blame the runtime for processes already on their way out.
    pub async fn group_size_after_exit(&self, limit: std::time::Duration) -> Option<usize> {
        let started = std::time::Instant::now();
        loop {
            let size = self.group_size()?;
            if size == 0 || started.elapsed() >= limit {
                return Some(size);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// How many files the runtime process has open (Linux: read from /proc).
    pub fn open_files(&self) -> Option<usize> {
        let dir = format!("/proc/{}/fd", self.pgid.as_raw());
        Some(std::fs::read_dir(dir).ok()?.count())
    }

    /// Kills the whole process group, reaps the process, and collects the rest of its output.
    pub async fn kill(&mut self) {
        let _ = killpg(self.pgid, Signal::SIGKILL);
        self.wait().await;
        for reader in self.readers.drain(..) {
            // Output still in the pipes arrives promptly once the group is gone; bound the wait in
            // case a detached grandchild kept a pipe open.
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
    }
}

impl Drop for RuntimeProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

async fn copy_into(mut pipe: impl AsyncReadExt + Unpin, log: LogBuffer, echo: bool) {
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                log.push(&buffer[..n]);
                if echo {
                    use std::io::Write;
                    let _ = std::io::stderr().write_all(&buffer[..n]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogBuffer;

    #[test]
    fn a_bounded_log_keeps_the_last_bytes_and_offsets_stay_valid() {
        let log = LogBuffer::bounded(10);
        for i in 0..1000 {
            log.push(format!("{:03}\n", i % 1000).as_bytes());
        }
        assert_eq!(log.len(), 4000);
        assert!(log.held() <= 20, "{}", log.held());
        let before_last = log.len();
        log.push(b"last\n");
        assert_eq!(log.since(before_last), "last\n");
        // An offset older than what is held gives what is held.
        assert!(log.since(0).ends_with("999\nlast\n"));

        let unbounded = LogBuffer::default();
        for _ in 0..1000 {
            unbounded.push(b"0123456789");
        }
        assert_eq!(unbounded.held(), 10_000);
        assert_eq!(unbounded.since(9_990), "0123456789");
    }
}
