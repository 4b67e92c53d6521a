//! `lambda-rt init DIR`: scaffolds a new project from a bundled template — `runtime/`,
//! `function/` and a `lambda-rt.toml` — without overwriting anything unless `--force`.
//!
//! The templates are compiled into the binary: the bash one is this repository's own `runtime/`
//! and `function/`, the others live in `templates/`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::init::InitArgs;
use crate::cli::OutputFormat;
use crate::error::UsageError;
use crate::output::{self, Ui};
use crate::settings::{validate, Origin, Template, CONFIG_FILE};

/// One file of a template.
struct TemplateFile {
    path: &'static str,
    contents: &'static str,
    mode: u32,
}

/// A file of a template: where it goes in the project, read at build time from `dir` + `path`
/// of this repository.
macro_rules! template {
    ($dir:literal, $path:literal, $mode:literal) => {
        TemplateFile {
            path: $path,
            contents: include_str!(concat!("../../", $dir, $path)),
            mode: $mode,
        }
    };
}

const BASH_FILES: &[TemplateFile] = &[
    template!("", "runtime/bootstrap", 0o755),
    template!("", "function/function.sh", 0o644),
];

const DENO_FILES: &[TemplateFile] = &[
    template!("templates/deno/", "runtime/bootstrap", 0o755),
    template!("templates/deno/", "runtime/runtime.ts", 0o644),
    template!("templates/deno/", "function/function.ts", 0o644),
];

const CUSTOM_FILES: &[TemplateFile] = &[
    template!("templates/custom/", "runtime/bootstrap", 0o755),
    template!("templates/custom/", "function/handler", 0o755),
];

const HTTP_FILES: &[TemplateFile] = &[
    template!("", "runtime/bootstrap", 0o755),
    template!("templates/http/", "function/function.sh", 0o644),
];

const JOB_FILES: &[TemplateFile] = &[
    template!("", "runtime/bootstrap", 0o755),
    template!("templates/job/", "function/function.sh", 0o644),
];

/// What `init` did, for `--output json`.
#[derive(Debug, Serialize)]
struct InitReport {
    schema: u32,
    command: &'static str,
    project_dir: PathBuf,
    template: &'static str,
    function_name: String,
    files: Vec<FileReport>,
}

#[derive(Debug, Serialize)]
struct FileReport {
    path: String,
    /// `created`, or with `--force` `overwritten` (`kept` for an existing lambda-rt.toml).
    action: &'static str,
}

pub fn run(args: &InitArgs, ui: &Ui) -> Result<i32> {
    let dir = &args.dir;
    let function_name = match &args.function_name {
        Some(name) => name.clone(),
        None => default_function_name(dir)?,
    };
    validate::function_name(&function_name, &Origin::Flag("--function-name".into()))?;

    let templates = match args.template {
        Template::Bash => BASH_FILES,
        Template::Deno => DENO_FILES,
        Template::Custom => CUSTOM_FILES,
        Template::Http => HTTP_FILES,
        Template::Job => JOB_FILES,
    };
    let config = config_file(args.template, &function_name);
    let mut files: Vec<(&str, &str, u32)> = templates
        .iter()
        .map(|f| (f.path, f.contents, f.mode))
        .collect();
    files.push((CONFIG_FILE, config.as_str(), 0o644));

    // Every check before the first write: a refusal leaves the directory exactly as it was.
    if dir.exists() && !dir.is_dir() {
        return Err(UsageError(format!(
            "`{}` exists and is not a directory: pick another place for the project",
            dir.display()
        ))
        .into());
    }
    let existing: Vec<&str> = files
        .iter()
        .map(|(path, _, _)| *path)
        .filter(|path| dir.join(path).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(UsageError(format!(
            "`{}` already has {}: lambda-rt init does not overwrite files; pass --force to replace \
             them with the {} template's, or pick an empty directory",
            dir.display(),
            existing
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            args.template.as_str()
        ))
        .into());
    }

    // A directory of the project that is a link (`runtime -> /elsewhere`) would have --force
    // write outside the project: refused before anything is written.
    for (path, _, _) in &files {
        if let Some(link) = linked_directory(dir, path) {
            return Err(UsageError(format!(
                "`{}` is a symbolic link: lambda-rt init never writes through links, which could \
                 point outside the project. Replace it with a directory, or pick another place \
                 for the project",
                link.display()
            ))
            .into());
        }
    }

    let mut reports = Vec::new();
    for (path, contents, mode) in &files {
        let target = dir.join(path);
        let existed = existing.contains(path);
        // lambda-rt.toml holds the user's settings, not the template's: --force keeps it.
        if existed && *path == CONFIG_FILE {
            ui.info(&format!("{:>12}  {path}", "kept"));
            reports.push(FileReport {
                path: path.to_string(),
                action: "kept",
            });
            continue;
        }
        write_file(&target, contents, *mode)?;
        let action = if existed { "overwritten" } else { "created" };
        ui.info(&format!("{action:>12}  {path}"));
        reports.push(FileReport {
            path: path.to_string(),
            action,
        });
    }

    if ui.format == OutputFormat::Json {
        let report = InitReport {
            schema: crate::output::SCHEMA_VERSION,
            command: "init",
            project_dir: dir.clone(),
            template: args.template.as_str(),
            function_name,
            files: reports,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        ui.info(&next_steps(dir, args.template));
    }
    Ok(crate::error::exit_code::SUCCESS)
}

/// The directory's own name, when it is a valid function name.
fn default_function_name(dir: &Path) -> Result<String> {
    let absolute = std::path::absolute(dir)
        .with_context(|| format!("failed to resolve `{}`", dir.display()))?;
    let name = absolute
        .components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    if validate::function_name(&name, &Origin::Default).is_ok() {
        Ok(name)
    } else {
        Err(UsageError(format!(
            "the directory name `{name}` is not a valid Lambda function name: pass \
             --function-name NAME (1 to 64 letters, digits, `-` or `_`)"
        ))
        .into())
    }
}

fn config_file(template: Template, function_name: &str) -> String {
    let handler = match template {
        // The custom template's runtime runs the executable function/<handler>.
        Template::Custom => "handler = \"handler\"",
        Template::Bash | Template::Deno | Template::Http | Template::Job => {
            "# handler = \"function.handler\""
        }
    };
    let mut text = format!(
        "# lambda-rt settings for this project. Every key is optional; flags and LAMBDA_RT_*\n\
         # environment variables override them. See `lambda-rt create --help`.\n\
         function-name = \"{function_name}\"\n\
         template = \"{}\"\n\
         {handler}\n\
         # memory = 128\n\
         # timeout = 3\n",
        template.as_str()
    );
    if template == Template::Deno {
        text.push_str(
            "# The Deno binary publish-layer puts in the layer as bin/deno [default: `deno` on PATH]\n\
             # deno = \"/path/to/linux/deno\"\n\
             # The layer zip is ~40 MB; stage zips in S3 when they pass Lambda's 50 MB upload limit:\n\
             # s3-bucket = \"my-deployment-bucket\"\n",
        );
    }
    if template == Template::Job {
        text.push_str(JOB_SETTINGS);
    }
    text
}

/// The `job` template's schedule and failure handling (README, "A nightly job").
const JOB_SETTINGS: &str = r#"# A run's logs are kept two weeks.
log-retention-days = 14
# When a run fails, Lambda tries it once more; an event older than an hour is dropped. With
# on-failure, the failed event goes to that SQS queue, SNS topic, function or event bus (the
# function's role must be allowed to send there: see `policies`).
max-retry-attempts = 1
max-event-age = 3600
# on-failure = "arn:aws:sqs:eu-central-1:123456789012:nightly-failures"
# Commands from this machine that the job needs on Lambda too:
# tools = ["jq"]

# Every night at 3 am, Berlin time (cron fields: minutes hours day-of-month month day-of-week
# year; one of the two day fields is `?`). The payload is the event each run gets.
[schedules.nightly]
expression = "cron(0 3 * * ? *)"
timezone = "Europe/Berlin"
payload = '{"job": "nightly", "day": "yesterday"}'
"#;

/// What to run next, starting with `cd DIR && ` unless DIR is the current directory.
fn next_steps(dir: &Path, template: Template) -> String {
    let cd = if dir.components().all(|c| c == std::path::Component::CurDir) {
        String::new()
    } else {
        format!("cd {} && ", output::shell_quote(&dir.display().to_string()))
    };
    match template {
        Template::Bash => format!(
            "next: `{cd}lambda-rt invoke --local` runs it here; `lambda-rt create` deploys it"
        ),
        Template::Deno => format!(
            "next: `{cd}lambda-rt invoke --local` runs it here (needs `deno` on PATH); \
             `lambda-rt create` deploys it, and `lambda-rt publish-layer` moves runtime/ and Deno \
             into a layer so later updates upload only function/"
        ),
        Template::Http => format!(
            "next: `{cd}lambda-rt serve --http 8080`, then `curl 'localhost:8080/hello?name=you'`; \
             `lambda-rt create --url --url-auth none` deploys it with a public HTTPS URL"
        ),
        Template::Job => format!(
            "next: `{cd}lambda-rt invoke --local --schedule nightly` runs it here with the \
             schedule's payload; `lambda-rt create` deploys it with its schedule"
        ),
        Template::Custom => format!(
            "next: replace runtime/bootstrap with your runtime, then `{cd}lambda-rt check \
             --echo-handler handler` tests it against the Runtime API contract; `lambda-rt \
             invoke --local` runs it here, `lambda-rt create` deploys it"
        ),
    }
}

/// The first directory between `dir` and its file `relative` that is a symbolic link.
fn linked_directory(dir: &Path, relative: &str) -> Option<std::path::PathBuf> {
    let mut current = dir.to_path_buf();
    let parent = Path::new(relative).parent()?;
    for component in parent.components() {
        current.push(component);
        if current.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
            return Some(current);
        }
    }
    None
}

fn write_file(target: &Path, contents: &str, mode: u32) -> Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    // A symlink in place of a template file is replaced, never followed.
    if target.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
        std::fs::remove_file(target)
            .with_context(|| format!("failed to replace `{}`", target.display()))?;
    }
    std::fs::write(target, contents)
        .with_context(|| format!("failed to write `{}`", target.display()))?;
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("failed to set the mode of `{}`", target.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::output::shell_quote;

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_quote("my-function"), "my-function");
        assert_eq!(shell_quote("bad name!"), "'bad name!'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
