//! `lambda-rt update --watch`: an `update`, then one deploy per change to `runtime/`, `function/`
//! or `lambda-rt.toml` until Ctrl-C. Bursts of saves are debounced into one deploy
//! ([`crate::watch`]); each deploy re-reads the settings and sends only what differs — code,
//! configuration, and, when `runtime/` changed under a function that runs the project's layer, a
//! new layer version attached to it — and prints one line with its duration. A failed deploy
//! (a syntax error, a refused setting, an AWS error) prints its error and the watch goes on.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::context::Context;
use super::publish_layer::{self, PublishOptions};
use super::{deploy, update};
use crate::cli::common::SettingsInput;
use crate::cli::deploy::UpdateArgs;
use crate::error::{exit_code, InterruptedRemote, UsageError};
use crate::output::{Action, Report, Ui};
use crate::settings::functions;
use crate::signals::Signals;
use crate::watch::{ProjectWatcher, DEBOUNCE};

pub async fn run(ctx: &Context, args: &UpdateArgs, input: &SettingsInput) -> Result<i32> {
    let deploy_args = &args.deploy;
    if deploy_args.publish || deploy_args.alias.is_some() || deploy_args.url.wanted().is_some() {
        return Err(UsageError(
            "--watch deploys $LATEST on each change; publish versions, aliases and the Function \
             URL with a plain `lambda-rt update` (e.g. `update --publish`) when you are done"
                .into(),
        )
        .into());
    }
    // Installed first: Ctrl-C during the first update must stop it, not kill the process.
    let mut signals = Signals::install();
    let mut watcher = ProjectWatcher::new(&ctx.settings.project_dir, DEBOUNCE)?;
    let first = tokio::select! {
        result = update::run(ctx, deploy_args) => result,
        signal = signals.recv() => return Err(InterruptedRemote(signal).into()),
    };
    if let Err(error) = first {
        ctx.ui.warn(&format!("{error:#}; still watching"));
    }
    ctx.ui.info(
        "watching runtime/, function/ and lambda-rt.toml: each change is deployed (Ctrl-C stops)",
    );
    loop {
        let changed = tokio::select! {
            changed = watcher.next() => changed?,
            _ = signals.recv() => {
                ctx.ui.info("stopped watching");
                return Ok(exit_code::INTERRUPTED);
            }
        };
        let started = Instant::now();
        let deployed = tokio::select! {
            deployed = deploy_change(&ctx.ui, args, input, &changed) => deployed,
            // Stopped mid-deploy: like any command that talks to AWS, the next run converges.
            signal = signals.recv() => return Err(InterruptedRemote(signal).into()),
        };
        report_line(&ctx.ui, &changed, deployed, started.elapsed());
    }
}

/// One deploy of the project as it is now: its settings read again, then `update`, then
/// `publish-layer` when `runtime/` changed and the function runs the project's layer. Returns
/// what changed in AWS, one entry per resource.
async fn deploy_change(
    ui: &Ui,
    args: &UpdateArgs,
    input: &SettingsInput,
    changed: &[PathBuf],
) -> Result<Vec<String>> {
    // The one function watched (`--only NAME` in a project of several).
    let settings = functions::resolve_project(input)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the watched function is gone from lambda-rt.toml"))?;
    // Quiet: the watch prints one line per deploy.
    let ctx = Context::new(settings, Ui::new(ui.format, true));
    let prepared = deploy::prepare(&ctx, &args.deploy, "update")?;
    let report = update::update(&ctx, &prepared.code, prepared.options).await?;
    let mut done = changed_resources(&report);
    let runtime_changed = changed.iter().any(|path| path.starts_with("runtime"));
    let stale_layer = report
        .warnings
        .iter()
        .any(|warning| warning.starts_with(deploy::STALE_RUNTIME));
    if runtime_changed && stale_layer {
        let settings = &ctx.settings;
        let layer =
            crate::package::layer_package(crate::package::layer_entries(settings)?, settings);
        let options = PublishOptions {
            share_with: &[],
            keep: None,
            dry_run: args.deploy.dry_run,
            adopt: args.deploy.adopt,
        };
        let published =
            publish_layer::publish(&ctx, &layer, Some(&prepared.code), &options).await?;
        done.extend(changed_resources(&published));
    }
    Ok(done)
}

fn changed_resources(report: &Report) -> Vec<String> {
    report
        .resources
        .iter()
        .filter(|resource| resource.action != Action::Unchanged)
        .map(|resource| {
            let changes: Vec<String> = resource.changes.iter().map(|c| c.to_string()).collect();
            let changes = if changes.is_empty() {
                String::new()
            } else {
                format!(" ({})", changes.join(", "))
            };
            format!(
                "{} {} `{}`{changes}",
                resource.action.describe(report.dry_run),
                resource.kind,
                resource.name
            )
        })
        .collect()
}

/// `function/function.sh changed: updated function `f` (code) in 0.41 s`.
fn report_line(ui: &Ui, changed: &[PathBuf], deployed: Result<Vec<String>>, took: Duration) {
    let what = match changed {
        [one] => format!("{} changed", one.display()),
        [first, rest @ ..] => format!("{} and {} more changed", first.display(), rest.len()),
        [] => "changed".to_string(),
    };
    let seconds = took.as_secs_f64();
    match deployed {
        Ok(done) if done.is_empty() => {
            ui.info(&format!("{what}: nothing to deploy ({seconds:.2} s)"))
        }
        Ok(done) => ui.info(&format!("{what}: {} in {seconds:.2} s", done.join(", "))),
        Err(error) => ui.warn(&format!(
            "{what}: the deploy failed after {seconds:.2} s: {error:#}; still watching"
        )),
    }
}
