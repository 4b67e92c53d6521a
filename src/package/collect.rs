//! Which files go into a zip: everything under a directory of the project, minus `.lambdaignore`
//! patterns, each with an explicit mode.
//!
//! Symbolic links (to files or directories, at any depth) are followed only when they resolve
//! inside the project: a link to a home directory, a dangling link or a link loop is refused with
//! its name and target, so a deployment can never pick up files from elsewhere on the machine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::parts::{Entry, IGNORE_FILE};
use crate::error::UsageError;

/// Lists the files under `dir` (a directory of the project at `project_dir`) as zip entries named
/// relative to `dir`, honouring `.lambdaignore`. Executable files are stored 0755, all others 0644:
/// no setuid, setgid or sticky bit, and nothing that depends on the local umask.
pub fn collect_dir(dir: &Path, project_dir: &Path) -> Result<Vec<Entry>> {
    let root = project_dir.canonicalize().with_context(|| {
        format!(
            "failed to read the project directory `{}`",
            project_dir.display()
        )
    })?;
    let shown = |path: &Path| shown(path, project_dir);
    if dir.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
        check_link(dir, &root, &shown)?;
    }
    let mut entries = Vec::new();
    let kept = kept_on_purpose(dir);
    let walk_root = dir.to_path_buf();
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(true)
        .filter_entry(move |entry| !left_out_by_default(entry, &walk_root, &kept))
        .build();
    for item in walker {
        let item = item.map_err(|e| walk_error(&e, dir, &root, &shown))?;
        let path = item.path();
        if path == dir {
            continue;
        }
        // Checked before anything else: a linked directory is where a walk would leave the project.
        if item.path_is_symlink() {
            check_link(path, &root, &shown)?;
        }
        if item.file_type().is_some_and(|t| t.is_dir()) || item.file_name() == IGNORE_FILE {
            continue;
        }
        let relative = path
            .strip_prefix(dir)
            .expect("the walker yields paths under its root");
        let name = zip_name(relative)?;
        let metadata =
            std::fs::metadata(path).with_context(|| format!("failed to read `{}`", shown(path)))?;
        if !metadata.is_file() {
            // Reading a named pipe blocks until someone writes to it, and a socket or a device
            // is not content: neither belongs in a zip.
            return Err(UsageError(format!(
                "`{}` is {}, not a regular file: only regular files (and links to them inside the \
                 project) can be packaged; remove it, or leave it out with .lambdaignore",
                shown(path),
                special_kind(&metadata)
            ))
            .into());
        }
        let executable = metadata.permissions().mode() & 0o111 != 0;
        entries.push(Entry {
            name,
            source: path.to_path_buf(),
            mode: if executable { 0o755 } else { 0o644 },
        });
    }
    Ok(entries)
}

/// Files that usually hold secrets or history — `.env` and `.env.*`, a `.git/` directory, editor
/// swap and backup files — stay out of the zip unless the directory's `.lambdaignore` names them
/// with `!` (e.g. `!.env.defaults`): a stray `.env` would otherwise ship its secrets to Lambda.
fn is_secret_or_history(name: &str, is_dir: bool) -> bool {
    if is_dir {
        return name == ".git";
    }
    name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with('~')
}

/// The `!` patterns of the directory's own `.lambdaignore`, which bring such files back.
fn kept_on_purpose(dir: &Path) -> ignore::gitignore::Gitignore {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    let _ = builder.add(dir.join(IGNORE_FILE));
    builder
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

fn left_out_by_default(
    entry: &ignore::DirEntry,
    root: &Path,
    kept: &ignore::gitignore::Gitignore,
) -> bool {
    let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
    let name = entry.file_name().to_string_lossy();
    if entry.path() == root || !is_secret_or_history(&name, is_dir) {
        return false;
    }
    let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
    !kept.matched(relative, is_dir).is_whitelist()
}

/// What [`collect_dir`] leaves out of `dir` by default (see [`is_secret_or_history`]), named
/// project-relative (`function/.env`, `function/.git/`), for a command to say so.
pub fn left_out(dir: &Path, project_dir: &Path) -> Vec<String> {
    let kept = kept_on_purpose(dir);
    let found = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (root, project, seen) = (dir.to_path_buf(), project_dir.to_path_buf(), found.clone());
    // The filter records what it leaves out, and so never walks into a `.git/`.
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry(move |entry| {
            if !left_out_by_default(entry, &root, &kept) {
                return true;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = shown(entry.path(), &project);
            seen.lock()
                .unwrap()
                .push(if is_dir { format!("{name}/") } else { name });
            false
        })
        .build();
    walker.for_each(drop);
    let mut found = found.lock().unwrap().clone();
    found.sort();
    found
}

/// `path` relative to the project directory, as the user knows it.
fn shown(path: &Path, project_dir: &Path) -> String {
    path.strip_prefix(project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// What a file that is neither regular nor a directory is, in words.
fn special_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// Refuses a link that leads outside the project, nowhere, or round in circles.
fn check_link(path: &Path, root: &Path, shown: &dyn Fn(&Path) -> String) -> Result<()> {
    let target = std::fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_else(|_| "?".into());
    match path.canonicalize() {
        Ok(resolved) if resolved.starts_with(root) => Ok(()),
        Ok(resolved) => Err(UsageError(format!(
            "`{}` is a symbolic link to `{}`, outside the project: lambda-rt only follows links \
             that stay inside the project, so nothing from elsewhere on this machine is uploaded; \
             copy the files in instead, or leave the link out with .lambdaignore",
            shown(path),
            resolved.display()
        ))
        .into()),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => Err(loop_error(path, shown)),
        Err(_) => Err(UsageError(format!(
            "`{}` is a symbolic link to `{target}`, which does not exist: fix or remove the link",
            shown(path)
        ))
        .into()),
    }
}

fn loop_error(path: &Path, shown: &dyn Fn(&Path) -> String) -> anyhow::Error {
    UsageError(format!(
        "`{}` is a symbolic link loop (following it leads back to where it started): remove the link",
        shown(path)
    ))
    .into()
}

/// Explains a failed step of the walk: a link loop, a broken link, or an unreadable file.
fn walk_error(
    error: &ignore::Error,
    dir: &Path,
    root: &Path,
    shown: &dyn Fn(&Path) -> String,
) -> anyhow::Error {
    let mut current = error;
    let mut path: Option<PathBuf> = None;
    loop {
        match current {
            ignore::Error::Loop { child, .. } => return loop_error(child, shown),
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p.clone());
                current = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                current = err;
            }
            _ => break,
        }
    }
    if let Some(path) = &path {
        if path.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
            if let Err(refused) = check_link(path, root, shown) {
                return refused;
            }
        }
    }
    let place = path.as_deref().unwrap_or(dir);
    anyhow::anyhow!("failed to list `{}`: {error}", shown(place))
}

/// Turns a relative path into a zip entry name, refusing anything that could escape the zip root.
fn zip_name(relative: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(part) => match part.to_str() {
                Some(part) => parts.push(part),
                None => bail!(UsageError(format!(
                    "`{}` is not valid UTF-8: rename it, zip entry names must be UTF-8",
                    relative.display()
                ))),
            },
            _ => bail!("`{}` would escape the zip root", relative.display()),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::test_files::*;
    use std::os::unix::fs::symlink;

    fn names(dir: &Path, project: &Path) -> Vec<String> {
        let mut names: Vec<_> = collect_dir(dir, project)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        names
    }

    fn refusal(dir: &Path, project: &Path) -> String {
        let err = collect_dir(dir, project).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        format!("{err:#}")
    }

    #[test]
    fn special_files_are_refused_unless_left_out() {
        let dir = tree(&[("function/function.sh", "x", 0o644)]);
        let f = dir.path().join("function");
        let made = std::process::Command::new("mkfifo")
            .arg(f.join("pipe"))
            .status()
            .unwrap();
        assert!(made.success());
        let message = refusal(&f, dir.path());
        assert!(
            message.contains("`function/pipe` is a named pipe (FIFO)"),
            "{message}"
        );
        assert!(message.contains(".lambdaignore"), "{message}");
        std::fs::write(f.join(".lambdaignore"), "pipe\n").unwrap();
        assert_eq!(names(&f, dir.path()), vec!["function.sh"]);
    }

    #[test]
    fn lambdaignore_patterns_are_left_out() {
        let dir = tree(&[
            ("function/.lambdaignore", "*.log\nbuild/\n", 0o644),
            ("function/function.sh", "x", 0o644),
            ("function/debug.log", "x", 0o644),
            ("function/build/out", "x", 0o644),
            ("function/lib/keep.sh", "x", 0o644),
        ]);
        let f = dir.path().join("function");
        assert_eq!(names(&f, dir.path()), vec!["function.sh", "lib/keep.sh"]);
    }

    #[test]
    fn secrets_and_history_are_left_out_unless_lambdaignore_keeps_them() {
        let dir = tree(&[
            ("function/.lambdaignore", "!.env.defaults\n", 0o644),
            ("function/function.sh", "x", 0o644),
            ("function/.env", "SECRET=1", 0o644),
            ("function/.env.local", "SECRET=2", 0o644),
            ("function/.env.defaults", "A=1", 0o644),
            ("function/.git/config", "x", 0o644),
            ("function/lib/.function.sh.swp", "x", 0o644),
            ("function/lib/notes~", "x", 0o644),
            ("function/lib/env.sh", "x", 0o644),
        ]);
        let f = dir.path().join("function");
        assert_eq!(
            names(&f, dir.path()),
            vec![".env.defaults", "function.sh", "lib/env.sh"]
        );
        assert_eq!(
            left_out(&f, dir.path()),
            vec![
                "function/.env",
                "function/.env.local",
                "function/.git/",
                "function/lib/.function.sh.swp",
                "function/lib/notes~",
            ]
        );
    }

    #[test]
    fn modes_are_0755_or_0644_without_special_bits() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join("setuid"), "x", 0o4755);
        write(&f.join("sticky"), "x", 0o1644);
        write(&f.join("private"), "x", 0o600);
        let mut modes: Vec<_> = collect_dir(&f, dir.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.mode))
            .collect();
        modes.sort();
        assert_eq!(
            modes,
            vec![
                ("private".to_string(), 0o644),
                ("setuid".to_string(), 0o755),
                ("sticky".to_string(), 0o644)
            ]
        );
    }

    #[test]
    fn links_outside_the_project_are_refused_at_any_depth() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("secret"), "s", 0o644);
        write(&outside.path().join("home/.ssh/id_rsa"), "key", 0o600);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join("function.sh"), "x", 0o644);

        // A link to a file outside.
        symlink(outside.path().join("secret"), f.join("link")).unwrap();
        let text = refusal(&f, dir.path());
        assert!(text.contains("function/link"), "{text}");
        assert!(text.contains("outside the project"), "{text}");
        std::fs::remove_file(f.join("link")).unwrap();

        // A link to a directory outside, nested.
        std::fs::create_dir_all(f.join("lib")).unwrap();
        symlink(outside.path().join("home"), f.join("lib/vendor")).unwrap();
        let text = refusal(&f, dir.path());
        assert!(text.contains("function/lib/vendor"), "{text}");
        assert!(
            text.contains(
                &outside
                    .path()
                    .join("home")
                    .canonicalize()
                    .unwrap()
                    .display()
                    .to_string()
            ),
            "{text}"
        );
        std::fs::remove_file(f.join("lib/vendor")).unwrap();

        // Links that stay inside are followed.
        write(&dir.path().join("shared/util.sh"), "u", 0o644);
        symlink(dir.path().join("shared"), f.join("shared")).unwrap();
        symlink(f.join("function.sh"), f.join("alias.sh")).unwrap();
        assert_eq!(
            names(&f, dir.path()),
            vec!["alias.sh", "function.sh", "shared/util.sh"]
        );
    }

    #[test]
    fn dangling_links_and_loops_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join("function.sh"), "x", 0o644);
        symlink(dir.path().join("nowhere"), f.join("dangling")).unwrap();
        let text = refusal(&f, dir.path());
        assert!(text.contains("function/dangling"), "{text}");
        std::fs::remove_file(f.join("dangling")).unwrap();

        symlink(f.join("self"), f.join("self")).unwrap();
        let text = refusal(&f, dir.path());
        assert!(text.contains("loop"), "{text}");
        std::fs::remove_file(f.join("self")).unwrap();

        symlink(&f, f.join("again")).unwrap();
        let text = refusal(&f, dir.path());
        assert!(text.contains("function/again"), "{text}");
        assert!(text.contains("loop"), "{text}");
    }

    #[test]
    fn a_linked_function_directory_must_stay_inside_too() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("function.sh"), "x", 0o644);
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("function")).unwrap();
        let text = refusal(&dir.path().join("function"), dir.path());
        assert!(text.contains("outside the project"), "{text}");
    }
}
