//! The Deno binary a Deno-template runtime carries as `bin/deno`: where it comes from (`--deno`,
//! `runtime/bin/deno`, or `deno` on PATH) and a check that it is an ELF executable Lambda (or this
//! machine, for local runs) can execute.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::architecture::Architecture;
use crate::elf::{self, ElfKind};
use crate::error::UsageError;
use crate::settings::{Settings, Template};

/// Name of the Deno binary inside the runtime (and so `/opt/bin/deno` on Lambda).
pub const LAYER_PATH: &str = "bin/deno";

/// Where the Deno binary for the runtime comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenoSource {
    /// `runtime/bin/deno` is already part of the runtime directory: nothing to add.
    InRuntime(PathBuf),
    /// Added to the runtime as `bin/deno` from this file (`--deno`, or `deno` on PATH).
    External(PathBuf),
}

/// Finds the Deno binary the project's runtime needs, if it needs one, and checks it runs on
/// `architecture`. Bash projects need none unless `--deno` asks for it.
pub fn resolve(settings: &Settings, architecture: Architecture) -> Result<Option<DenoSource>> {
    let source =
        if let Some(path) = &settings.deno {
            DenoSource::External(path.clone())
        } else if settings.runtime_dir().join(LAYER_PATH).is_file() {
            DenoSource::InRuntime(settings.runtime_dir().join(LAYER_PATH))
        } else if settings.template == Template::Deno {
            match find_on_path("deno") {
                Some(path) => DenoSource::External(path),
                None => return Err(UsageError(
                    "the Deno template needs a Deno binary for the runtime and none was found: \
                     install Deno (e.g. `pip install deno` or `npm install -g deno`), or pass \
                     --deno PATH to a Linux build of Deno"
                        .to_string(),
                )
                .into()),
            }
        } else {
            return Ok(None);
        };
    let path = match &source {
        DenoSource::InRuntime(path) | DenoSource::External(path) => path,
    };
    check_executable(path, architecture)?;
    Ok(Some(source))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Checks that `path` is a 64-bit little-endian ELF executable for `architecture`, so that a macOS
/// build, a wrapper script or the wrong architecture is refused here rather than failing on Lambda
/// with an exec format error.
pub fn check_executable(path: &Path, architecture: Architecture) -> Result<()> {
    let header = elf::read_head(path, 64).map_err(|e| {
        UsageError(format!(
            "cannot read the Deno binary `{}`: {e} (--deno)",
            path.display()
        ))
    })?;
    let kind = elf::classify(&header);
    match kind {
        ElfKind::NotElf => Err(UsageError(format!(
            "`{}` is not a Linux executable (no ELF header): Lambda needs the Linux {architecture} \
             build of Deno; a macOS or Windows build, or a wrapper script, cannot run there (--deno)",
            path.display()
        ))
        .into()),
        ElfKind::Unsupported => Err(UsageError(format!(
            "`{}` is not a 64-bit little-endian ELF file: Lambda needs the Linux {architecture} \
             build of Deno (--deno)",
            path.display()
        ))
        .into()),
        ElfKind::Machine(_) if kind.architecture() == Some(architecture) => Ok(()),
        ElfKind::Machine(_) => Err(UsageError(format!(
            "`{}` is built for {}, but the function runs on {architecture}: use the Deno build \
             for {architecture} (--deno), or change --architecture",
            path.display(),
            kind.describe()
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::elf::tests::elf;
    use crate::elf::{EM_AARCH64, EM_X86_64};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn elf_headers_are_matched_to_the_architecture() {
        let dir = tempfile::tempdir().unwrap();
        let x86 = write(dir.path(), "x86", &elf(EM_X86_64));
        let arm = write(dir.path(), "arm", &elf(EM_AARCH64));
        check_executable(&x86, Architecture::X86_64).unwrap();
        check_executable(&arm, Architecture::Arm64).unwrap();

        let err = check_executable(&x86, Architecture::Arm64).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(
            err.to_string().contains("built for x86_64")
                && err.to_string().contains("runs on arm64"),
            "{err}"
        );

        let script = write(dir.path(), "script", b"#!/bin/sh\nexec deno \"$@\"\n");
        let err = check_executable(&script, Architecture::X86_64).unwrap_err();
        assert!(err.to_string().contains("no ELF header"), "{err}");

        let mut thirty_two_bit = elf(EM_X86_64);
        thirty_two_bit[4] = 1;
        let path = write(dir.path(), "elf32", &thirty_two_bit);
        let err = check_executable(&path, Architecture::X86_64).unwrap_err();
        assert!(err.to_string().contains("64-bit"), "{err}");

        let short = write(dir.path(), "short", b"\x7fELF");
        assert!(check_executable(&short, Architecture::X86_64).is_err());

        let err = check_executable(&dir.path().join("missing"), Architecture::X86_64).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
