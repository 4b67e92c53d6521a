//! `lambda-rt invoke`: send one event to the function (in AWS, or locally with `--local`) and print
//! the response bytes on stdout. A function error prints its type and message on stderr and exits
//! with [`crate::error::exit_code::FUNCTION_ERROR`].

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use anyhow::{Context as _, Result};
use base64::Engine;

use super::context::Context;
use crate::aws::invoke::DEFAULT_INVOKE_TIMEOUT;
use crate::cli::invoke::InvokeArgs;
use crate::cli::OutputFormat;
use crate::emulator;
use crate::emulator::api::MAX_EVENT_BYTES;
use crate::error::{exit_code, UsageError};
use crate::invocation::InvokeOutcome;
use crate::output::Ui;
use crate::project;
use crate::settings::Settings;

pub async fn run(ctx: &Context, args: &InvokeArgs) -> Result<i32> {
    let settings = &ctx.settings;
    let payload = match &args.schedule {
        Some(schedule) => schedule_payload(&ctx.settings, schedule)?,
        None => read_payload(args)?,
    };
    check_out(args)?;
    let outcome = if args.local {
        if args.qualifier.is_some() {
            return Err(UsageError(
                "--qualifier names a published version or alias in AWS; `--local` runs the \
                 project as it is: drop one of them"
                    .into(),
            )
            .into());
        }
        project::check_project_files(settings)?;
        project::check_runs_here(settings)?;
        warn_what_lambda_would_refuse(ctx);
        emulator::invoke_once(settings, payload).await?
    } else {
        settings.require_named_function("invoke")?;
        let clients = ctx.clients().await?;
        let lambda = ctx.lambda(clients);
        let timeout = args
            .invoke_timeout
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_INVOKE_TIMEOUT);
        lambda
            .invoke(
                &settings.function_name,
                args.qualifier.as_deref(),
                &payload,
                args.log,
                timeout,
                clients.max_attempts,
            )
            .await?
    };
    present(&outcome, args, &ctx.ui)
}

/// Local runs use this machine's glibc and libraries, so a binary that only runs here is not
/// refused; it is said at once, rather than at the next `create` or `update`.
fn warn_what_lambda_would_refuse(ctx: &Context) {
    // A package that cannot be built is the local run's own error to report.
    let Ok(entries) = crate::package::FunctionCode::build(&ctx.settings).and_then(|c| c.entries())
    else {
        return;
    };
    if let Err(error) = super::deploy::preflight(ctx, &entries, &[]) {
        ctx.ui.warn(&format!(
            "this runs here, but not on Lambda: create and update would refuse it: {error}"
        ));
    }
}

/// The event a schedule's runs send (`--schedule NAME`): its table's payload, checked already.
pub fn schedule_payload(settings: &Settings, name: &str) -> Result<Vec<u8>> {
    match settings.schedules.iter().find(|s| s.name == name) {
        Some(schedule) => Ok(schedule.payload.clone().into_bytes()),
        None if settings.schedules.is_empty() => Err(UsageError(format!(
            "--schedule {name}: the project has no schedules; add a [schedules.{name}] table to \
             lambda-rt.toml (see README, \"A nightly job\")"
        ))
        .into()),
        None => Err(UsageError(format!(
            "--schedule {name}: no [schedules.{name}] in lambda-rt.toml; the project's schedules \
             are {}",
            settings
                .schedules
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

/// The event bytes: `--payload`, `--payload-file` (`-` for stdin), or `{}`; always valid JSON.
pub fn read_payload(args: &InvokeArgs) -> Result<Vec<u8>> {
    let (bytes, source) = match (&args.payload, &args.payload_file) {
        (Some(text), _) => (text.clone().into_bytes(), "--payload".to_string()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("failed to read the payload from stdin")?;
            (bytes, "the payload on stdin".to_string())
        }
        (None, Some(path)) => {
            let bytes = std::fs::read(path).map_err(|e| {
                UsageError(format!(
                    "failed to read payload file `{}`: {e}",
                    path.display()
                ))
            })?;
            (bytes, format!("payload file `{}`", path.display()))
        }
        (None, None) => (b"{}".to_vec(), String::new()),
    };
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(UsageError(format!(
            "the payload is {} bytes, over Lambda's {MAX_EVENT_BYTES}-byte limit for synchronous \
             invocations: send a smaller event (e.g. a reference to the data in S3)",
            bytes.len()
        ))
        .into());
    }
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        // `@file` is how curl and the AWS CLI (`file://`) read a file; lambda-rt has a flag.
        let hint = match args.payload.as_deref() {
            Some(text) if text.starts_with('@') || text.starts_with("file://") => format!(
                "; to send a file's contents, use --payload-file {}",
                crate::output::shell_quote(
                    text.trim_start_matches('@').trim_start_matches("file://")
                )
            ),
            _ => String::new(),
        };
        return Err(UsageError(format!(
            "{source} is not valid JSON ({e}): Lambda events are JSON documents, e.g. --payload \
             '{{\"text\":\"Hello\"}}'{hint}"
        ))
        .into());
    }
    Ok(bytes)
}

/// Prints the outcome and returns the exit code.
fn present(outcome: &InvokeOutcome, args: &InvokeArgs, ui: &Ui) -> Result<i32> {
    let error_summary = outcome.function_error.as_ref().map(|kind| {
        let document: serde_json::Value =
            serde_json::from_slice(&outcome.payload).unwrap_or(serde_json::Value::Null);
        let error_type = document["errorType"].as_str().unwrap_or(kind.as_str());
        let message = document["errorMessage"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&outcome.payload).into_owned());
        format!("function error ({kind}): {error_type}: {message}")
    });

    if ui.format == OutputFormat::Json {
        // The payload as parsed JSON when it is JSON, so that `abc` and `"abc"` cannot be mistaken
        // for each other; the exact bytes always, in base64.
        let parsed = serde_json::from_slice::<serde_json::Value>(&outcome.payload).ok();
        let document = crate::output::document(
            "invoke",
            serde_json::json!({
                "local": args.local,
                "function_error": outcome.function_error,
                "payload_is_json": parsed.is_some(),
                "payload": parsed,
                "payload_base64": base64::engine::general_purpose::STANDARD.encode(&outcome.payload),
                "executed_version": outcome.executed_version,
                "log": if args.log { outcome.log_tail.clone() } else { None },
            }),
        );
        write_result(args, format!("{document:#}\n").as_bytes())?;
    } else {
        if args.log {
            match &outcome.log_tail {
                Some(log) if !log.is_empty() => {
                    for line in log.lines() {
                        eprintln!("{}", crate::output::log_line(None, None, line));
                    }
                }
                _ => ui.info("(no log came back with the answer)"),
            }
        }
        write_result(args, &outcome.payload)?;
    }

    match error_summary {
        Some(summary) => {
            if !ui.quiet {
                eprintln!("{summary}");
                if !args.log && ui.format == OutputFormat::Text {
                    eprintln!(
                        "hint: run it again with --log to see the function's output (its own error \
                         messages are there)"
                    );
                }
            }
            Ok(exit_code::FUNCTION_ERROR)
        }
        None => Ok(exit_code::SUCCESS),
    }
}

/// Checks before anything runs that `--out` can be written: a function that ran is not worth
/// running again because its answer had nowhere to go.
fn check_out(args: &InvokeArgs) -> Result<()> {
    let Some(path) = &args.out else {
        return Ok(());
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if path.is_dir() {
        return Err(UsageError(format!(
            "--out `{}` is a directory: name a file",
            path.display()
        ))
        .into());
    }
    if !parent.is_dir() {
        return Err(UsageError(format!(
            "--out `{}`: the directory `{}` does not exist: create it first, or write elsewhere",
            path.display(),
            parent.display()
        ))
        .into());
    }
    Ok(())
}

/// Writes the response to `--out` or stdout (adding a newline only for a person at a terminal).
fn write_result(args: &InvokeArgs, bytes: &[u8]) -> Result<()> {
    if let Some(path) = &args.out {
        return std::fs::write(path, bytes)
            .with_context(|| format!("failed to write the response to `{}`", path.display()));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    if stdout.is_terminal() && !bytes.ends_with(b"\n") {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}
