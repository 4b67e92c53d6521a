//! `tools = ["jq", …]` in `lambda-rt.toml`: commands from this machine's PATH that travel with
//! the runtime as `bin/<name>` (0755) — in the runtime layer, in a function zip that carries the
//! runtime, and in local runs — with the shared libraries the target runtime's image lacks as
//! `lib/<soname>`, found the way this machine's loader finds them. Lambda puts `/opt/bin` on PATH
//! and `/opt/lib` (and `/var/task/lib`) on LD_LIBRARY_PATH, so a handler just runs `jq`.
//!
//! Whether a copied tool can run on Lambda at all (its glibc, its architecture) is the binary
//! pre-flight's to say, like for any other file of the package.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::parts::Entry;
use crate::binaries;
use crate::error::UsageError;
use crate::settings::Settings;

/// The entries of the project's tools, given the runtime's own entries (which win for a library
/// and clash for a command).
pub fn entries(settings: &Settings, runtime: &[Entry]) -> Result<Vec<Entry>> {
    if settings.tools.is_empty() {
        return Ok(Vec::new());
    }
    let on_lambda = binaries::runtime_libraries::of(&settings.function.runtime);
    let mut entries: Vec<Entry> = Vec::new();
    let mut copied = BTreeSet::new();
    for tool in &settings.tools {
        let name = format!("bin/{tool}");
        if runtime.iter().any(|e| e.name == name) {
            return Err(UsageError(format!(
                "tools lists `{tool}`, and runtime/{name} exists too: keep one (remove it from \
                 tools, or delete runtime/{name})"
            ))
            .into());
        }
        let found = find_on_path(tool).ok_or_else(|| {
            UsageError(format!(
                "tools lists `{tool}`, which is not on this machine's PATH: install it (e.g. \
                 `apt-get install {tool}`), or remove it from tools in lambda-rt.toml"
            ))
        })?;
        let source = found
            .canonicalize()
            .with_context(|| format!("failed to resolve `{}`", found.display()))?;
        let mut wanted = vec![(source.clone(), tool.clone())];
        entries.push(Entry {
            name,
            source,
            mode: 0o755,
        });
        // The libraries the runtime's image lacks, and theirs in turn.
        while let Some((needer, needer_name)) = wanted.pop() {
            let Some(needs) = binaries::needs_of(&needer) else {
                continue;
            };
            let Some(on_lambda) = &on_lambda else {
                continue;
            };
            for library in needs.libraries {
                let brought = runtime
                    .iter()
                    .any(|e| e.name == format!("lib/{library}") || e.name == library);
                if on_lambda.contains(&library.as_str()) || brought || copied.contains(&library) {
                    continue;
                }
                let found =
                    find_library(&library, &needer, &needs.search_paths).ok_or_else(|| {
                        UsageError(format!(
                        "tools: `{needer_name}` (for `{tool}`) needs {library}, which {} does not \
                         have and which is not found on this machine: install the package that \
                         has it, or put it in runtime/lib/",
                        settings.function.runtime
                    ))
                    })?;
                let source = found
                    .canonicalize()
                    .with_context(|| format!("failed to resolve `{}`", found.display()))?;
                copied.insert(library.clone());
                wanted.push((source.clone(), library.clone()));
                entries.push(Entry {
                    name: format!("lib/{library}"),
                    source,
                    mode: 0o644,
                });
            }
        }
    }
    Ok(entries)
}

/// The first executable file named `command` in this machine's PATH.
fn find_on_path(command: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(command))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Where this machine's loader would find `library` for the file at `needer`: its own RUNPATH
/// (`$ORIGIN` being its directory), then LD_LIBRARY_PATH, then the system's library directories.
fn find_library(library: &str, needer: &Path, search_paths: &[String]) -> Option<PathBuf> {
    let origin = needer.parent().unwrap_or(Path::new("/"));
    let own = search_paths.iter().map(|path| {
        PathBuf::from(
            path.replace("${ORIGIN}", &origin.display().to_string())
                .replace("$ORIGIN", &origin.display().to_string()),
        )
    });
    let from_environment: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|value| std::env::split_paths(&value).collect())
        .unwrap_or_default();
    let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
    let system = [
        format!("/lib/{triplet}"),
        format!("/usr/lib/{triplet}"),
        "/lib64".into(),
        "/usr/lib64".into(),
        "/lib".into(),
        "/usr/lib".into(),
        "/usr/local/lib".into(),
    ]
    .map(PathBuf::from);
    own.chain(from_environment)
        .chain(system)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(library))
        .find(|candidate| candidate.is_file())
}
