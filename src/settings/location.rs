//! Which directory is the project: `--project-dir` as given, else the current directory or the
//! nearest one above it that is a project, as git and cargo look upwards (`cd function &&
//! lambda-rt update` acts on the project around it).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::sources::CONFIG_FILE;
use crate::error::UsageError;

/// The project directory and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub dir: PathBuf,
    /// Found in a directory above the current one: commands say so, naming it.
    pub above: bool,
}

/// `--project-dir` when given (it must be a directory), else the first of the current directory
/// and its ancestors that is a project. The current directory is one when it has any of
/// `lambda-rt.toml`, `runtime/` or `function/` (as before); a directory above it needs
/// `lambda-rt.toml`, or `runtime/` and `function/` together, so a stray `function/` folder
/// somewhere up the tree is not mistaken for a project. Ancestors are named relatively (`..`),
/// so paths in messages stay short. Nothing found: the current directory.
pub fn locate(explicit: Option<&Path>) -> Result<Located> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            let problem = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(UsageError(format!(
                "--project-dir `{}` {problem}: point it at a project's directory (the one with \
                 {CONFIG_FILE}, runtime/ and function/)",
                dir.display()
            ))
            .into());
        }
        return Ok(Located {
            dir: dir.to_path_buf(),
            above: false,
        });
    }
    let here = PathBuf::from(".");
    if looks_like_a_project(&here) {
        return Ok(Located {
            dir: here,
            above: false,
        });
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(Located {
            dir: here,
            above: false,
        });
    };
    let mut relative = PathBuf::new();
    for ancestor in cwd.ancestors().skip(1) {
        relative.push("..");
        if ancestor.join(CONFIG_FILE).is_file()
            || (ancestor.join("runtime").is_dir()
                && (ancestor.join("function").is_dir() || ancestor.join("functions").is_dir()))
        {
            return Ok(Located {
                dir: relative,
                above: true,
            });
        }
    }
    Ok(Located {
        dir: here,
        above: false,
    })
}

/// The rule for the current directory (and for `--project-dir`): any one of the three.
pub fn looks_like_a_project(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file()
        || dir.join("runtime").is_dir()
        || dir.join("function").is_dir()
        || dir.join("functions").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_given_as_the_project_is_a_usage_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = locate(Some(file.path())).unwrap_err();
        assert!(error.downcast_ref::<UsageError>().is_some(), "{error:#}");
        assert!(format!("{error:#}").contains("is not a directory"));
        let error = locate(Some(Path::new("/no/such/dir"))).unwrap_err();
        assert!(format!("{error:#}").contains("does not exist"));
    }
}
