//! The binary pre-flight: before anything is sent, every ELF file of a package is checked against
//! the runtime it will run on — the newest glibc symbol version it needs, each shared library it
//! names, and the architecture it is built for. Each of these deploys fine and then fails every
//! cold start ("version `GLIBC_2.36' not found", "error while loading shared libraries",
//! "exec format error"), so a failure is a usage error (exit 2) naming the file, what it needs,
//! what the runtime has, and the fix.
//!
//! A library is there when the runtime's image has it ([`super::runtime_libraries`]) or the
//! package brings it where Lambda's loader looks: `LD_LIBRARY_PATH` on provided runtimes includes
//! `/var/task`, `/var/task/lib` and `/opt/lib` (the Lambda developer guide's table of defined
//! runtime environment variables), so `lib/X` or `X` at the root of the function zip or layer; or
//! where the binary's own RUNPATH says (`$ORIGIN/../lib`). Libraries that other layers of the
//! function may bring cannot be seen from here: with such layers a missing library is a warning.

use std::collections::BTreeSet;
use std::path::Path;

use crate::architecture::Architecture;
use crate::elf::ElfKind;
use crate::package::Entry;

/// What the package will run on.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub runtime: &'a str,
    pub architecture: Architecture,
    /// The function has layers besides lambda-rt's, whose files lambda-rt cannot see.
    pub other_layers: bool,
}

/// One reason a file would not run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Glibc { wanted: super::GlibcVersion },
    Library(String),
    Architecture(u16),
}

/// Checks every ELF file among `entries` against `target`. `beside`: the zip names of files that
/// will be on the function's file system with them but are not checked here (the function code,
/// when the layer is checked). Returns the warnings to show; errors are usage errors.
pub fn check(
    entries: &[Entry],
    beside: &[String],
    project_dir: &Path,
    target: Target,
) -> anyhow::Result<Vec<String>> {
    let glibc = super::runtime_glibc(target.runtime);
    let libraries = super::runtime_libraries::of(target.runtime);
    let present: BTreeSet<&str> = entries
        .iter()
        .map(|e| e.name.as_str())
        .chain(beside.iter().map(String::as_str))
        .collect();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut fixes = BTreeSet::new();
    for entry in entries {
        let Some(needs) = super::needs_of(&entry.source) else {
            continue;
        };
        let mut problems = Vec::new();
        if ElfKind::Machine(needs.machine).architecture() != Some(target.architecture) {
            problems.push(Problem::Architecture(needs.machine));
        } else if let (Some(has), Some(wanted)) = (glibc, needs.glibc) {
            if wanted > has {
                problems.push(Problem::Glibc { wanted });
            }
        }
        if let Some(libraries) = &libraries {
            for library in &needs.libraries {
                if !libraries.contains(&library.as_str())
                    && !packaged(library, &entry.name, &needs.search_paths, &present)
                {
                    problems.push(Problem::Library(library.clone()));
                }
            }
        }
        let shown = shown(entry, project_dir);
        for problem in problems {
            let line = describe(&problem, &shown, target);
            match problem {
                Problem::Library(_) if target.other_layers => warnings.push(format!(
                    "{line}, unless one of the function's other layers brings it (lambda-rt \
                     cannot see their files)"
                )),
                _ => {
                    fixes.insert(fix(&problem, target));
                    errors.push(line);
                }
            }
        }
    }
    if errors.is_empty() {
        return Ok(warnings);
    }
    let fixes: Vec<&str> = fixes.iter().map(String::as_str).collect();
    let message = if errors.len() == 1 {
        format!("{}. {}", errors[0], fixes.join(". "))
    } else {
        format!(
            "{} problems would make the function fail on Lambda:\n  - {}\n{}",
            errors.len(),
            errors.join("\n  - "),
            fixes.join(".\n")
        )
    };
    Err(crate::error::UsageError(message).into())
}

/// Whether the package brings `library` where the loader will look for it on behalf of the file
/// at zip path `name`.
fn packaged(library: &str, name: &str, search_paths: &[String], present: &BTreeSet<&str>) -> bool {
    if present.contains(library) || present.contains(format!("lib/{library}").as_str()) {
        return true;
    }
    let origin = name.rsplit_once('/').map_or("", |(dir, _)| dir);
    search_paths.iter().any(|path| {
        let dir = if let Some(rest) = path
            .strip_prefix("$ORIGIN")
            .or_else(|| path.strip_prefix("${ORIGIN}"))
        {
            format!("{origin}{rest}")
        } else if let Some(rest) = path
            .strip_prefix("/opt")
            .or_else(|| path.strip_prefix("/var/task"))
        {
            rest.to_string()
        } else {
            return false;
        };
        normalize(&format!("{dir}/{library}")).is_some_and(|p| present.contains(p.as_str()))
    })
}

/// `bin/../lib/x` → `lib/x`; `None` when it climbs above the zip root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The file as the user knows it: its path in the project, or its zip name and where it comes
/// from (a tool from this machine, the Deno binary).
fn shown(entry: &Entry, project_dir: &Path) -> String {
    match entry.source.strip_prefix(project_dir) {
        Ok(relative) => format!("`{}`", relative.display()),
        Err(_) => format!("`{}` (from {})", entry.name, entry.source.display()),
    }
}

fn describe(problem: &Problem, shown: &str, target: Target) -> String {
    let runtime = target.runtime;
    match problem {
        Problem::Glibc { wanted } => {
            let has = super::runtime_glibc(runtime).expect("checked only with a known glibc");
            format!(
                "{shown} needs GLIBC_{}.{} and {runtime} has glibc {}.{}: Lambda would fail every \
                 cold start with \"version `GLIBC_{}.{}' not found\"",
                wanted.0, wanted.1, has.0, has.1, wanted.0, wanted.1
            )
        }
        Problem::Library(library) => format!(
            "{shown} needs {library}, which {runtime} does not have and the package does not \
             bring: Lambda would fail every cold start with \"error while loading shared \
             libraries: {library}: cannot open shared object file\""
        ),
        Problem::Architecture(machine) => format!(
            "{shown} is built for {}, but the function runs on {}: Lambda could not run or load it",
            ElfKind::Machine(*machine).describe(),
            target.architecture
        ),
    }
}

fn fix(problem: &Problem, target: Target) -> String {
    match problem {
        Problem::Glibc { .. } => "Use a build made for an older glibc (e.g. built in the \
                                  amazonlinux container of that runtime, or a static build)"
            .to_string(),
        Problem::Library(_) => "Put the library in runtime/lib/ (Lambda looks in /opt/lib and \
                                /var/task/lib), list a command from this machine in `tools` in \
                                lambda-rt.toml so that lambda-rt copies it with its libraries, or \
                                use a static build"
            .to_string(),
        Problem::Architecture(_) => format!("Use a build for {}", target.architecture),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(names: &[&'static str]) -> BTreeSet<&'static str> {
        names.iter().copied().collect()
    }

    #[test]
    fn a_library_is_found_where_lambdas_loader_looks() {
        let here = present(&["bin/jq", "lib/libjq.so.1", "libonig.so.5", "vendor/libx.so"]);
        assert!(packaged("libjq.so.1", "bin/jq", &[], &here));
        assert!(packaged("libonig.so.5", "bin/jq", &[], &here));
        assert!(!packaged("libx.so", "bin/jq", &[], &here));
        let origin = ["$ORIGIN/../vendor".to_string()];
        assert!(packaged("libx.so", "bin/jq", &origin, &here));
        assert!(packaged(
            "libx.so",
            "bin/jq",
            &["/opt/vendor".into()],
            &here
        ));
        assert!(!packaged("libx.so", "bin/jq", &["/usr/lib".into()], &here));
        // A RUNPATH that climbs out of the zip finds nothing in it.
        assert!(!packaged(
            "libx.so",
            "jq",
            &["$ORIGIN/../../vendor".into()],
            &here
        ));
    }
}
