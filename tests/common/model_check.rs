//! Would AWS have accepted what the tests sent? Every request the proxy forwarded is checked, when
//! its [`super::aws::Aws`] is dropped, against the service models botocore ships, by
//! `tests/tools/model_check.py` (botocore comes with the awscli that `scripts/test.sh` installs
//! into `.venv`). moto accepts much that AWS refuses; this makes any such request fail the test.

use std::io::Write;
use std::process::Command;

use super::tools::{repo_root, venv_python};

/// What the check found over a batch of recorded requests.
#[derive(Debug)]
pub struct ModelReport {
    pub checked: u64,
    pub violations: Vec<serde_json::Value>,
}

/// Checks `requests` (as [`super::proxy::AwsProxy::take_recorded`] gives them).
pub fn check(requests: &[serde_json::Value]) -> ModelReport {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for request in requests {
        writeln!(file, "{request}").unwrap();
    }
    file.flush().unwrap();
    let output = Command::new(venv_python())
        .arg(repo_root().join("tests/tools/model_check.py"))
        .arg(file.path())
        .output()
        .expect("failed to run tests/tools/model_check.py");
    assert!(
        output.status.success(),
        "the model check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    ModelReport {
        checked: report["checked"].as_u64().unwrap_or(0),
        violations: report["violations"].as_array().cloned().unwrap_or_default(),
    }
}

/// Panics, listing them, if any of `requests` breaks its operation's model.
pub fn assert_accepted(requests: &[serde_json::Value]) {
    if requests.is_empty() {
        return;
    }
    let report = check(requests);
    assert!(
        report.violations.is_empty(),
        "{} of the {} requests sent would be refused by AWS (its published models say):\n{}",
        report.violations.len(),
        report.checked,
        report
            .violations
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
