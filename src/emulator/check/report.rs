//! What `check` found: a verdict per case, and the options it was run with.

use std::time::Duration;

use serde::Serialize;

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
