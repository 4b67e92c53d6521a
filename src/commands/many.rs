//! A command over the functions of a project of several (`[functions.<name>]` in lambda-rt.toml):
//! each function runs the command as a one-function project would, at most [`PARALLEL`] at once,
//! with the run's AWS clients shared. Lines are prefixed `[name] `; with `--output json` the run
//! prints one document with a result per function. One function's failure does not stop the
//! others: each failure is printed (`[name] error: ...`) and the exit code is the worst result —
//! the first failure's code in name order, else 6 if any function drifted (`status`), else 0.
//! `publish-layer` publishes the shared runtime layer with the first function, then attaches it
//! to the others; `status`, `versions` and `check` run one function at a time so that each
//! function's rows stay together. `invoke`, `logs`, `rollback` and `update --watch` act on one
//! function: running every job of a project, or interleaving their logs, is not what a bare
//! command should do.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use futures_util::stream::{self, StreamExt};
use serde_json::json;

use super::context::Context;
use super::{check, create, delete, publish_layer, status, update, versions};
use crate::aws::clients::Clients;
use crate::cli::{Command, OutputFormat};
use crate::error::{exit_code, failure_kind, UsageError};
use crate::output::{self, Ui};
use crate::settings::Settings;

/// Functions worked on at once. Lambda's requests are paced within its quota whatever this is
/// ([`crate::aws::pace`]), so it bounds what waits at once: each function's wait for IAM to
/// propagate its new role and for Lambda's Pending is time the others can use. Measured through
/// the realism proxy (real-AWS timings, 15 requests a second), 50 functions took 36 s ten at a
/// time, 17 s 25 at a time and 12.5 s 50 at a time, one function 7 s; 25 keeps IAM's requests,
/// which lambda-rt does not pace (IAM publishes no rate), to half as many at once.
pub const PARALLEL: usize = 25;

/// Whether `command` runs over several functions; the others act on one (`--only NAME`).
pub fn runs_over_many(command: &Command) -> bool {
    match command {
        Command::Create(_)
        | Command::Delete(_)
        | Command::Status(_)
        | Command::PublishLayer(_)
        | Command::Versions(_)
        | Command::Check(_) => true,
        Command::Update(args) => !args.watch,
        _ => false,
    }
}

/// The refusal of a command that acts on one function in a project of several.
pub fn one_function_only(command: &Command, all: &[Settings]) -> anyhow::Error {
    let names: Vec<&str> = all.iter().map(|s| s.function_name.as_str()).collect();
    UsageError(format!(
        "`lambda-rt {}` acts on one function and this project has {}: {}; name one with --only \
         NAME",
        command.name(),
        names.len(),
        names.join(", ")
    ))
    .into()
}

/// One function's outcome: its exit code or its error, and its JSON document.
struct Outcome {
    function: String,
    result: Result<i32>,
    document: Option<serde_json::Value>,
}

/// Runs `command` over `all` (at least two functions) and returns the run's exit code.
pub async fn run(command: &Command, all: Vec<Settings>, ui: Ui) -> Result<i32> {
    // `check` runs here and needs no AWS configuration; the others share one set of clients.
    let clients = match command {
        Command::Check(_) => None,
        _ => {
            let chosen = &all[0].aws.chosen_by_project_file;
            if !chosen.is_empty() {
                ui.notice(&format!("from lambda-rt.toml: {}", chosen.join(", ")));
            }
            Some(Clients::load(&all[0].aws).await?)
        }
    };
    let contexts: Vec<Context> = all
        .into_iter()
        .map(|settings| {
            let collected = Arc::new(Mutex::new(Vec::new()));
            let ui = ui.for_function(&settings.function_name, collected);
            Context::with_clients(settings, ui, clients.clone())
        })
        .collect();
    let mut outcomes = match command {
        // One at a time: each function's rows stay together.
        Command::Status(_) | Command::Versions(_) | Command::Check(_) => {
            over(command, contexts, 1).await
        }
        // The first publishes the layer; the others find it and attach it.
        Command::PublishLayer(_) => {
            let mut rest = contexts;
            let first = rest.remove(0);
            let mut outcomes = over(command, vec![first], 1).await;
            outcomes.extend(over(command, rest, PARALLEL).await);
            outcomes
        }
        _ => over(command, contexts, PARALLEL).await,
    };
    outcomes.sort_by(|a, b| a.function.cmp(&b.function));
    finish(command, &ui, outcomes)
}

/// Runs `command` for each context, at most `parallel` at once.
async fn over(command: &Command, contexts: Vec<Context>, parallel: usize) -> Vec<Outcome> {
    stream::iter(contexts)
        .map(|ctx| async move {
            let result = one(command, &ctx).await;
            let document = ctx.ui.take_document();
            Outcome {
                function: ctx.settings.function_name.clone(),
                result,
                document,
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await
}

async fn one(command: &Command, ctx: &Context) -> Result<i32> {
    match command {
        Command::Create(args) => create::run(ctx, args).await,
        Command::Update(args) => update::run(ctx, &args.deploy).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::PublishLayer(args) => publish_layer::run(ctx, args).await,
        Command::Versions(args) => versions::run_versions(ctx, args).await,
        Command::Check(args) => check::run(ctx, args).await,
        other => Err(anyhow::anyhow!(
            "`lambda-rt {}` does not run over several functions",
            other.name()
        )),
    }
}

/// Prints each failure and, with `--output json`, the run's document; the worst exit code.
fn finish(command: &Command, ui: &Ui, outcomes: Vec<Outcome>) -> Result<i32> {
    let mut worst = exit_code::SUCCESS;
    let mut results = Vec::new();
    for outcome in outcomes {
        let (code, result) = match &outcome.result {
            Ok(code) => (*code, json!({ "result": outcome.document })),
            Err(error) => {
                let text = format!("{error:#}");
                eprintln!("[{}] error: {text}", outcome.function);
                let (code, kind) = failure_kind(error);
                let document = output::error_json(command.name(), kind, code, &text);
                (code, json!({ "error": document["error"] }))
            }
        };
        worst = match (worst, code) {
            (exit_code::SUCCESS, code) => code,
            (exit_code::DRIFTED, code) if code != exit_code::SUCCESS => code,
            (worst, _) => worst,
        };
        let mut entry = json!({ "function": outcome.function, "exit_code": code });
        output::add_fields(&mut entry, result);
        results.push(entry);
    }
    if ui.format == OutputFormat::Json {
        let document = output::document(
            command.name(),
            json!({ "functions": results, "exit_code": worst }),
        );
        output::print_json(&document)?;
    }
    Ok(worst)
}
