//! What a project directory holds and the checks it must pass before anything is zipped, uploaded
//! or run: `runtime/bootstrap` (a script with a usable shebang and Unix line endings, or a Linux
//! executable for the function's architecture), and the handler file the runtime expects.
//!
//! Every check here runs before the first AWS call of `create`, `update` and `publish-layer`, and
//! before `invoke --local` and `serve` start anything; each names the file project-relative and
//! says how to fix it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::architecture::Architecture;
use crate::elf::{self, ElfKind};
use crate::error::UsageError;
use crate::settings::{Origin, Settings, Template, CONFIG_FILE};

/// A line in lambda-rt's bundled bash runtime by which it recognises its own bootstrap.
pub const BASH_RUNTIME_MARKER: &str = "# lambda-rt's bash custom runtime";

/// How the project's runtime finds its handler, which decides what can be checked locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// `_HANDLER=file.function` → `function/file.sh` defines `function` (the bundled runtime, the
    /// tutorial's, or any runtime following their convention).
    Bash,
    /// The Deno template: `function/file.ts` (or `.mts`, `.js`, `.mjs`) exports `function`.
    Deno,
    /// Anything else (a compiled bootstrap, a runtime interface client): `_HANDLER` is passed
    /// through and no handler file is assumed.
    Custom,
}

impl RuntimeKind {
    /// Detects the kind with no setting in the common cases: the Deno template says so in
    /// lambda-rt.toml; a handler whose `function/<file>.sh` exists, or lambda-rt's own bash
    /// bootstrap, follows the bash convention; anything else is custom.
    pub fn detect(settings: &Settings) -> RuntimeKind {
        match settings.template {
            Template::Deno => return RuntimeKind::Deno,
            Template::Custom => return RuntimeKind::Custom,
            Template::Bash | Template::Http | Template::Job => {}
        }
        if bash_handler_file(settings).is_file() || is_bundled_bash_runtime(settings) {
            return RuntimeKind::Bash;
        }
        RuntimeKind::Custom
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Bash => "bash",
            RuntimeKind::Deno => "deno",
            RuntimeKind::Custom => "custom",
        }
    }
}

/// `function/<file>.sh` for `_HANDLER=<file>.<function>`.
pub fn bash_handler_file(settings: &Settings) -> PathBuf {
    settings.function_dir().join(format!(
        "{}.sh",
        handler_file_stem(&settings.function.handler)
    ))
}

fn handler_file_stem(handler: &str) -> &str {
    handler.split_once('.').map(|(f, _)| f).unwrap_or(handler)
}

fn is_bundled_bash_runtime(settings: &Settings) -> bool {
    elf::read_head(&settings.bootstrap_path(), 4096)
        .is_ok_and(|head| String::from_utf8_lossy(&head).contains(BASH_RUNTIME_MARKER))
}

/// The handler file the runtime will load, if its kind has one: `function/<file>.sh` for bash, the
/// first of `<file>.ts`, `.mts`, `.js`, `.mjs` that exists for Deno (the runtime's own order).
pub fn handler_file(settings: &Settings, kind: RuntimeKind) -> Option<PathBuf> {
    let stem = handler_file_stem(&settings.function.handler);
    let extensions: &[&str] = match kind {
        RuntimeKind::Bash => &["sh"],
        RuntimeKind::Deno => &["ts", "mts", "js", "mjs"],
        RuntimeKind::Custom => return None,
    };
    let candidates: Vec<PathBuf> = extensions
        .iter()
        .map(|ext| settings.function_dir().join(format!("{stem}.{ext}")))
        .collect();
    Some(
        candidates
            .iter()
            .find(|path| path.is_file())
            .unwrap_or(&candidates[0])
            .clone(),
    )
}

/// `path` as the user knows it: relative to the project directory.
pub fn shown(settings: &Settings, path: &Path) -> String {
    path.strip_prefix(&settings.project_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn usage(message: String) -> anyhow::Error {
    UsageError(message).into()
}

/// Checks everything a deployment or a local run needs: `function/`, the runtime, and the handler
/// file for the runtime's kind. Returns the kind.
pub fn check_project_files(settings: &Settings) -> Result<RuntimeKind> {
    let function_dir = settings.function_dir();
    if !function_dir.is_dir() {
        let start = if settings.in_project {
            "create it and put the handler code there"
        } else {
            "run `lambda-rt init DIR` to start a project, or point --project-dir at one"
        };
        return Err(usage(format!(
            "`{}/` does not exist: {start}",
            shown(settings, &function_dir)
        )));
    }
    check_runtime_files(settings)?;
    let kind = RuntimeKind::detect(settings);
    if kind != RuntimeKind::Custom
        && !crate::settings::validate::follows_file_function(&settings.function.handler)
    {
        return Err(usage(format!(
            "invalid handler `{}` for the {} runtime: use <file>.<function>, e.g. \
             `function.handler` for a function `handler` in function/function.{} (--handler)",
            settings.function.handler,
            kind.as_str(),
            if kind == RuntimeKind::Deno {
                "ts"
            } else {
                "sh"
            }
        )));
    }
    if let Some(file) = handler_file(settings, kind) {
        if !file.is_file() {
            let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("sh");
            return Err(usage(format!(
                "the handler file `{}` does not exist (handler `{}`, {} runtime): create it, or \
                 set --handler to <file>.<function> for an existing function/<file>.{extension}",
                shown(settings, &file),
                settings.function.handler,
                kind.as_str(),
            )));
        }
        if kind == RuntimeKind::Bash {
            check_line_endings(settings, &file, Script::Sourced)?;
        }
    }
    Ok(kind)
}

/// Checks that `runtime/bootstrap` exists and that Lambda can execute it: a script with a
/// shebang naming an absolute interpreter and Unix line endings, or a 64-bit Linux executable
/// for the function's architecture.
pub fn check_runtime_files(settings: &Settings) -> Result<()> {
    let runtime_dir = settings.runtime_dir();
    if !runtime_dir.is_dir() && settings.bootstrap_override.is_none() {
        let start = if settings.in_project {
            "create it with the custom runtime's executable `bootstrap`"
        } else {
            "run `lambda-rt init DIR` to start a project, or point --project-dir at one"
        };
        return Err(usage(format!(
            "`{}/` does not exist: {start}",
            shown(settings, &runtime_dir)
        )));
    }
    let bootstrap = settings.bootstrap_path();
    let head = match elf::read_head(&bootstrap, 4096) {
        Ok(head) => head,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(usage(format!(
                "`{}` does not exist: the custom runtime's executable must be called bootstrap \
                 and sit at the root of runtime/",
                shown(settings, &bootstrap)
            )))
        }
        Err(e) => {
            return Err(usage(format!(
                "cannot read `{}`: {e}",
                shown(settings, &bootstrap)
            )))
        }
    };
    check_bootstrap(settings, &bootstrap, &head, settings.function.architecture)?;
    if head.starts_with(b"#!") {
        check_line_endings(settings, &bootstrap, Script::Executed)?;
    }
    Ok(())
}

/// For local runs: the bootstrap must also run on this machine.
pub fn check_runs_here(settings: &Settings) -> Result<()> {
    let bootstrap = settings.bootstrap_path();
    let Ok(head) = elf::read_head(&bootstrap, 64) else {
        return Ok(());
    };
    let kind = elf::classify(&head);
    match (kind, elf::host_architecture()) {
        (ElfKind::Machine(_), Some(host)) if kind.architecture() != Some(host) => {
            Err(usage(format!(
                "`{}` is built for {}, and this machine is {host}: it can run in Lambda with \
                 --architecture {}, but not here; build it for {host} to run it locally",
                shown(settings, &bootstrap),
                kind.describe(),
                kind.describe()
            )))
        }
        _ => Ok(()),
    }
}

fn check_bootstrap(
    settings: &Settings,
    bootstrap: &Path,
    head: &[u8],
    architecture: Architecture,
) -> Result<()> {
    let name = shown(settings, bootstrap);
    if head.starts_with(b"#!") {
        let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        let line = String::from_utf8_lossy(&head[2..line_end]);
        if line.ends_with('\r') {
            return Err(crlf_error(&name, Script::Executed));
        }
        let interpreter = line.split_whitespace().next().unwrap_or_default();
        if !interpreter.starts_with('/') {
            return Err(usage(format!(
                "the shebang of `{name}` names `{interpreter}`, not an absolute path: Lambda starts \
                 bootstrap directly, so write e.g. `#!/bin/bash` or `#!/usr/bin/env bash`"
            )));
        }
        return Ok(());
    }
    let kind = elf::classify(head);
    match kind {
        ElfKind::NotElf => Err(usage(format!(
            "`{name}` has no shebang line and is not a Linux executable: start it with e.g. \
             `#!/bin/bash`, or build it for Linux; otherwise Lambda fails with \
             Runtime.InvalidEntrypoint"
        ))),
        ElfKind::Unsupported => Err(usage(format!(
            "`{name}` is a 32-bit or big-endian ELF file: Lambda runs 64-bit x86_64 or arm64 \
             executables; build it for {architecture}"
        ))),
        ElfKind::Machine(_) if kind.architecture() == Some(architecture) => Ok(()),
        ElfKind::Machine(_) => {
            let fix = match kind.architecture() {
                Some(other) => format!(
                    "build it for {architecture}, or deploy with --architecture {other} \
                     (`architecture = \"{other}\"` in {CONFIG_FILE})"
                ),
                None => format!("build it for {architecture}"),
            };
            Err(usage(format!(
                "`{name}` is built for {}, but the function runs on {architecture}: Lambda would \
                 fail every start with \"exec format error\"; {fix}",
                kind.describe()
            )))
        }
    }
}

/// What CRLF line endings do to a script in Lambda.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Started by its shebang: the kernel looks for an interpreter whose name ends in `\r`.
    Executed,
    /// Sourced by the runtime: bash reads every `\r` as part of a word.
    Sourced,
}

fn crlf_error(name: &str, script: Script) -> anyhow::Error {
    let consequence = match script {
        Script::Executed => {
            "Lambda would look for an interpreter called `bash\\r` and fail every start with \
             \"no such file or directory\""
        }
        Script::Sourced => {
            "bash would read each `\\r` as part of the line (\"$'\\r': command not found\", \
             syntax errors), so the handler would not load"
        }
    };
    usage(format!(
        "`{name}` has Windows (CRLF) line endings: {consequence}; convert it with \
         `sed -i 's/\\r$//' {name}` (or dos2unix) and set your editor to LF line endings"
    ))
}

/// Refuses a script with CRLF line endings.
fn check_line_endings(settings: &Settings, path: &Path, script: Script) -> Result<()> {
    let bytes = std::fs::read(path)
        .map_err(|e| usage(format!("cannot read `{}`: {e}", shown(settings, path))))?;
    if bytes.windows(2).any(|w| w == b"\r\n") {
        return Err(crlf_error(&shown(settings, path), script));
    }
    Ok(())
}

impl Settings {
    /// Refuses to act on a function in AWS that nobody named: outside a project (no
    /// lambda-rt.toml, runtime/ or function/), the default function name would pick whatever
    /// function happens to be called `bash-runtime`.
    pub fn require_named_function(&self, command: &str) -> Result<()> {
        if self.in_project || self.function_name_origin != Origin::Default {
            return Ok(());
        }
        let dir = if self.project_dir == std::path::Path::new(".") {
            "the current directory".to_string()
        } else {
            format!("`{}`", self.project_dir.display())
        };
        Err(UsageError(format!(
            "{dir} is not a lambda-rt project (no {CONFIG_FILE}, runtime/ or function/), so \
             `lambda-rt {command}` does not know which function you mean: run it in a project \
             (`lambda-rt init DIR` starts one), point --project-dir at one, or name the function \
             with --function-name"
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::common::SettingsInput;
    use crate::elf::tests::elf;
    use crate::elf::{EM_AARCH64, EM_X86_64};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_handler_file_follows_the_template() {
        let dir = crate::settings::bash_project();
        let resolve = |text: &str| crate::settings::with_config_file(dir.path(), text);
        let handler = |s: &Settings| handler_file(s, RuntimeKind::detect(s)).unwrap();
        assert!(handler(&resolve("")).ends_with("function/function.sh"));
        let deno = resolve("template = \"deno\"");
        // None exists yet: the first candidate is named in errors.
        assert!(handler(&deno).ends_with("function/function.ts"));
        std::fs::write(dir.path().join("function/function.js"), "").unwrap();
        assert!(handler(&deno).ends_with("function/function.js"));
    }

    fn project(bootstrap: &[u8], files: &[(&str, &str)]) -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("runtime")).unwrap();
        std::fs::create_dir_all(dir.path().join("function")).unwrap();
        let path = dir.path().join("runtime/bootstrap");
        std::fs::write(&path, bootstrap).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut input = SettingsInput::default();
        input.project.project_dir = Some(dir.path().to_path_buf());
        let settings = Settings::resolve(&input).unwrap();
        (dir, settings)
    }

    fn refusal(result: Result<impl std::fmt::Debug>) -> String {
        let err = result.unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        err.to_string()
    }

    #[test]
    fn kinds_are_detected_from_the_files() {
        let (_d, s) = project(
            b"#!/bin/sh\n",
            &[("function/function.sh", "handler() { :; }")],
        );
        assert_eq!(check_project_files(&s).unwrap(), RuntimeKind::Bash);
        // A Python runtime interface client: no .sh file, so custom, and nothing is assumed.
        let (_d, s) = project(
            b"#!/bin/sh\nexec python3 -m awslambdaric app.handler\n",
            &[("function/app.py", "def handler(e, c): return e")],
        );
        assert_eq!(check_project_files(&s).unwrap(), RuntimeKind::Custom);
        // lambda-rt's own bash runtime with the handler missing: the handler is what is wrong.
        let bundled = format!("#!/bin/bash\n{BASH_RUNTIME_MARKER}\n");
        let (_d, s) = project(bundled.as_bytes(), &[]);
        let text = refusal(check_project_files(&s));
        assert!(text.contains("function/function.sh"), "{text}");
        assert!(!text.contains("/tmp"), "{text}");
    }

    #[test]
    fn crlf_scripts_are_refused() {
        let (_d, s) = project(b"#!/bin/bash\r\necho hi\r\n", &[]);
        let text = refusal(check_runtime_files(&s));
        assert!(text.contains("runtime/bootstrap"), "{text}");
        assert!(text.contains("CRLF"), "{text}");
        let (_d, s) = project(b"#!/bin/bash\necho hi\r\n", &[]);
        assert!(refusal(check_runtime_files(&s)).contains("CRLF"));
        let (_d, s) = project(
            b"#!/bin/bash\n",
            &[("function/function.sh", "handler() {\r\n  echo\r\n}\r\n")],
        );
        let text = refusal(check_project_files(&s));
        assert!(text.contains("function/function.sh"), "{text}");
        assert!(
            !text.contains("interpreter"),
            "a sourced file has none: {text}"
        );
        assert!(text.contains("command not found"), "{text}");
    }

    #[test]
    fn shebangs_must_name_an_absolute_interpreter() {
        let (_d, s) = project(b"#!bash\n", &[]);
        assert!(refusal(check_runtime_files(&s)).contains("absolute"));
        for good in [
            &b"#!/bin/bash\n"[..],
            b"#! /bin/sh -e\n",
            b"#!/usr/bin/env python3\n",
        ] {
            let (_d, s) = project(good, &[]);
            check_runtime_files(&s).unwrap();
        }
        let (_d, s) = project(b"echo no shebang\n", &[]);
        assert!(refusal(check_runtime_files(&s)).contains("no shebang"));
    }

    #[test]
    fn elf_bootstraps_must_match_the_architecture() {
        let (_d, s) = project(&elf(EM_X86_64), &[]);
        check_runtime_files(&s).unwrap();
        let (_d, s) = project(&elf(EM_AARCH64), &[]);
        let text = refusal(check_runtime_files(&s));
        assert!(text.contains("built for arm64"), "{text}");
        assert!(text.contains("--architecture arm64"), "{text}");
        let mut arm = s.clone();
        arm.function.architecture = Architecture::Arm64;
        check_runtime_files(&arm).unwrap();
        let mut x86 = project(&elf(EM_X86_64), &[]);
        x86.1.function.architecture = Architecture::Arm64;
        assert!(refusal(check_runtime_files(&x86.1)).contains("built for x86_64"));
    }

    #[test]
    fn outside_a_project_the_hint_is_init() {
        let dir = tempfile::tempdir().unwrap();
        let mut input = SettingsInput::default();
        input.project.project_dir = Some(dir.path().to_path_buf());
        let settings = Settings::resolve(&input).unwrap();
        let text = refusal(check_project_files(&settings));
        assert!(text.contains("lambda-rt init"), "{text}");
    }
}
