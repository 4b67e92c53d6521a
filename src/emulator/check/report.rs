//! What `check` found: a verdict per case, and the options it was run with.

use std::time::Duration;

use serde::Serialize;

/// The names of the cases (besides the round trips, `round trip: <name>`), so that a case not run
/// is listed as skipped under the same name as when it runs.
pub mod case {
    pub const STARTS: &str = "starts and asks for an event";
    pub const REQUEST_ID: &str = "answers the request id it is given";
    pub const AT_RESPONSE: &str = "a response starting with @";
    pub const TRACE_ID: &str = "_X_AMZN_TRACE_ID is set for each event";
    pub const DEADLINE: &str = "the deadline reaches the handler";
    pub const ERROR_PATH: &str = "a failing handler is reported to /error";
    pub const AFTER_ERROR: &str = "the next event after an error is served";
    pub const OVERSIZED: &str = "a response over 6 MB is refused cleanly";
    pub const HUNDRED: &str = "100 invocations leak no process or file";
    pub const TIMEOUT: &str = "a hanging handler is stopped at the timeout";
    pub const INIT_ERROR: &str = "a missing handler is an init error and the runtime exits";
}

/// How one case went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Works, but not as Lambda's own runtimes do; does not fail `check`.
    Warn,
    /// Not run, with the reason in `detail`.
    Skip,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
    /// How to fix a failure or warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `check` was told beyond the project.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// For a custom runtime: a handler that returns its event unchanged.
    pub echo_handler: Option<String>,
    /// For a custom runtime: a handler that always fails.
    pub error_handler: Option<String>,
    /// The function timeout for each case (the timeout case uses 1 s).
    pub timeout: Duration,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub runtime_kind: &'static str,
    pub cases: Vec<CaseResult>,
}

impl CheckReport {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cases.iter().filter(|c| c.verdict == verdict).count()
    }
}
