//! Scratch projects: copies of the repository's runtime/ and function/ (or the Deno template) in
//! a temporary directory, with extra files written in.

use std::path::Path;
use std::process::Command;

use super::tools::*;

/// A scratch project made by the real `lambda-rt init --template deno`.
pub fn deno_project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .args([
            "init",
            "--template",
            "deno",
            "--function-name",
            "deno-fn",
            "-q",
        ])
        .arg(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "init failed: {out:?}");
    Project { dir }
}

/// A scratch project: a copy of the repository's runtime/ and function/.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["runtime", "function"] {
            copy_dir(&repo_root().join(sub), &dir.path().join(sub));
        }
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The project with one more file (e.g. a test's handlers).
    pub fn with(self, relative: &str, text: &str) -> Project {
        self.write(relative, text);
        self
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
