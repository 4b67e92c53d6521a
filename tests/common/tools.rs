//! Where the tools the tests drive are: the repository, moto_server, Deno and the virtualenv's
//! Python. A missing tool fails the test with how to install it, never skips it.

use std::path::PathBuf;

/// The repository root (where runtime/ and function/ live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of the moto_server executable: `$MOTO_SERVER`, the project's `.venv`, or `PATH`.
pub fn moto_server_path() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    if let Ok(path) = which("moto_server") {
        return path;
    }
    panic!(
        "moto_server was not found: run the test suite with `scripts/test.sh`, which installs it into \
         .venv, or `python3 -m venv .venv && .venv/bin/pip install 'moto[server]'`"
    );
}

pub fn which(program: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}

/// The runtime needs bash and curl, like Lambda's provided.al2023 image has.
pub fn require_runtime_tools() {
    for tool in ["bash", "curl"] {
        if which(tool).is_err() {
            panic!("`{tool}` is required by runtime/bootstrap: install it (e.g. `apt-get install {tool}`)");
        }
    }
}

/// The Deno binary the Deno-template tests use: `$DENO`, the project's `.venv` (where
/// `scripts/setup-test-tools.sh` installs it from PyPI), or `PATH`.
pub fn deno_path() -> PathBuf {
    if let Ok(path) = std::env::var("DENO") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join(".venv/bin/deno");
    if venv.exists() {
        return venv;
    }
    if let Ok(path) = which("deno") {
        return path;
    }
    panic!(
        "deno was not found: run the test suite with `scripts/test.sh`, which installs it into \
         .venv, or `.venv/bin/pip install deno` (or `npm install -g deno`)"
    );
}

/// The project's virtualenv Python (where `scripts/setup-test-tools.sh` installs jsonschema).
pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run the suite with `scripts/test.sh`, which creates it",
        python.display()
    );
    python
}
