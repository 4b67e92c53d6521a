//! The record `init --from-function` leaves in a project it made from a deployed function:
//! the CodeSha256 of the zip lambda-rt builds from the files it unpacked, beside the CodeSha256
//! Lambda reports for the zip they came in. The same files zipped by another tool (the AWS CLI's
//! `zip`, the console) give other bytes, so without it the first `update` would upload code that
//! is already there. It applies only while the project's files still zip to that first sum.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where the record lives in a project (outside `function/` and `runtime/`, so never packaged).
pub const RECORD_PATH: &str = ".lambda-rt/imported-code.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The CodeSha256 of lambda-rt's zip of the unpacked files.
    pub package_sha256: String,
    /// The CodeSha256 Lambda reported for the function's code when it was unpacked.
    pub code_sha256: String,
}

fn path(project_dir: &Path) -> PathBuf {
    project_dir.join(RECORD_PATH)
}

/// The project's record; `None` when there is none (or it cannot be read: it is only a shortcut).
pub fn read(project_dir: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(path(project_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn write(project_dir: &Path, record: &Record) -> Result<()> {
    let path = path(project_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(record)? + "\n")
        .with_context(|| format!("failed to write `{}`", path.display()))
}
