//! The kernel's error kinds and the process exit codes they map to ([`failure_kind`]). A leaf:
//! every layer may name these errors, and this file names nothing of the crate.

/// Process exit codes (documented in README).
pub mod exit_code {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    /// Bad command line or settings: nothing was changed.
    pub const USAGE: i32 = 2;
    /// The command worked but the invoked function reported an error.
    pub const FUNCTION_ERROR: i32 = 3;
    /// The function exists but lambda-rt did not create it: refused, nothing changed (`--adopt`).
    pub const NOT_OURS: i32 = 4;
    /// An Invoke's answer was lost after it was sent: the function may or may not have run.
    pub const INVOKE_OUTCOME_UNKNOWN: i32 = 5;
    /// `status`: the function differs from the project (or does not exist).
    pub const DRIFTED: i32 = 6;
    /// Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: i32 = 130;
}

/// The exit code of a failed command and its name in a JSON error document (`error.code`).
pub fn failure_kind(error: &anyhow::Error) -> (i32, &'static str) {
    let any = |test: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool| error.chain().any(test);
    if any(&|c| c.is::<UsageError>()) {
        (exit_code::USAGE, "usage")
    } else if any(&|c| c.is::<NotOurs>() || c.is::<ForeignResource>()) {
        (exit_code::NOT_OURS, "not_ours")
    } else if any(&|c| c.is::<InvokeOutcomeUnknown>()) {
        (exit_code::INVOKE_OUTCOME_UNKNOWN, "invoke_outcome_unknown")
    } else if any(&|c| c.is::<Interrupted>() || c.is::<InterruptedRemote>()) {
        (exit_code::INTERRUPTED, "interrupted")
    } else {
        (exit_code::FAILURE, "failure")
    }
}

/// An error in what the user asked for (flags, settings, project files), found before any change
/// was made; `main` exits with [`exit_code::USAGE`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// lambda-rt refused to touch a function it did not create.
#[derive(Debug, thiserror::Error)]
#[error(
    "function `{function}` exists but was not created by lambda-rt (it has no \
     `managed-by=lambda-rt` tag), so lambda-rt will not {verb} it\nhint: if lambda-rt should \
     manage it from now on, run the same command with --adopt (lambda-rt tags the function, then \
     proceeds); otherwise pick another --function-name"
)]
pub struct NotOurs {
    pub function: String,
    pub verb: &'static str,
}

/// lambda-rt refused to change a resource it did not make that holds a name the project needs
/// (a schedule): nothing changed; exit [`exit_code::NOT_OURS`] like a foreign function.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ForeignResource(pub String);

/// Invoke failed in a way that leaves open whether the function ran: it is not sent again.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to invoke function `{function}`: {detail}; the function may have run, so the Invoke \
     was not sent again (Invoke is not idempotent)\nhint: check the function's logs (`aws logs \
     tail /aws/lambda/{function}`) before invoking again{timeout_hint}"
)]
pub struct InvokeOutcomeUnknown {
    pub function: String,
    pub detail: String,
    pub timeout_hint: String,
}

/// The command was stopped by SIGINT or SIGTERM after cleaning up what it had started.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0}; everything lambda-rt started has been stopped")]
pub struct Interrupted(pub &'static str);

/// A command that changes AWS resources was stopped by SIGINT or SIGTERM between (or during) API
/// calls. Every command converges, so running it again finishes the job.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted by {0}: the AWS call in flight may or may not have been applied; run the same \
     command again to finish (it picks up from what exists)"
)]
pub struct InterruptedRemote(pub &'static str);
