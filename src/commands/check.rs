//! `lambda-rt check`: runs the project's runtime under the emulator against the Runtime API
//! contract cases of [`crate::emulator::check`], prints one line per case and a summary, and exits
//! 1 when a case failed.

use std::time::Duration;

use anyhow::{Context as _, Result};

use super::context::Context;
use crate::cli::check::CheckArgs;
use crate::cli::OutputFormat;
use crate::emulator::check::{self, CheckOptions, CheckReport, Verdict};
use crate::emulator::Environment;
use crate::error::UsageError;
use crate::output::Ui;
use crate::project::{self, RuntimeKind};

pub async fn run(ctx: &Context, args: &CheckArgs) -> Result<i32> {
    let ui = &ctx.ui;
    let mut settings = ctx.settings.clone();
    if let Some(path) = &args.bootstrap {
        if !path.is_file() {
            return Err(UsageError(format!(
                "--bootstrap `{}` is not a file: pass the runtime executable to check",
                path.display()
            ))
            .into());
        }
        let absolute = path
            .canonicalize()
            .with_context(|| format!("failed to resolve `{}`", path.display()))?;
        settings.bootstrap_override = Some(absolute);
    }
    let kind = project::check_project_files(&settings)?;
    project::check_runs_here(&settings)?;
    if kind != RuntimeKind::Custom && (args.echo_handler.is_some() || args.error_handler.is_some())
    {
        ui.warn(&format!(
            "the runtime follows the {} handler convention, so check supplies its own handlers: \
             --echo-handler and --error-handler are not used",
            kind.as_str()
        ));
    }
    let options = CheckOptions {
        echo_handler: args.echo_handler.clone(),
        error_handler: args.error_handler.clone(),
        // Not the function's timeout: the cases move up to 6 MB through the runtime, which a
        // 3 s timeout on a slow machine would cut short.
        timeout: Duration::from_secs(args.case_timeout.max(1)),
    };
    // Caught from here on, so that a signal while a runtime starts is handled below.
    let mut signals = crate::signals::Signals::install();
    let mut environment = Environment::prepare(&settings)?;
    ui.info(&format!(
        "checking `{}` ({}) against the Runtime API contract",
        project::shown(&settings, &settings.bootstrap_path()),
        describe(kind)
    ));
    let report = tokio::select! {
        report = check::run(&mut environment, kind, &options, &settings.function.handler) => report,
        signal = signals.recv() => {
            // Dropping the cases' workers has killed their runtimes.
            environment.remove_files();
            return Err(crate::error::Interrupted(signal).into());
        }
    };
    environment.remove_files();
    let report = report?;
    print(&report, ui)?;
    Ok(if report.count(Verdict::Fail) > 0 {
        crate::error::exit_code::FAILURE
    } else {
        crate::error::exit_code::SUCCESS
    })
}

fn describe(kind: RuntimeKind) -> &'static str {
    match kind {
        RuntimeKind::Bash => "bash handler convention: check supplies its own handlers",
        RuntimeKind::Deno => "Deno template convention: check supplies its own handlers",
        RuntimeKind::Custom => "custom runtime: its own handlers, named with --echo-handler",
    }
}

fn print(report: &CheckReport, ui: &Ui) -> Result<()> {
    let summary = format!(
        "{} passed, {} failed, {} warnings, {} skipped",
        report.count(Verdict::Pass),
        report.count(Verdict::Fail),
        report.count(Verdict::Warn),
        report.count(Verdict::Skip)
    );
    if ui.format == OutputFormat::Json {
        let mut document = serde_json::to_value(report)?;
        document["schema"] = crate::output::SCHEMA_VERSION.into();
        document["command"] = "check".into();
        document["passed"] = (report.count(Verdict::Fail) == 0).into();
        return ui.print_document(&document);
    }
    for case in &report.cases {
        let label = match case.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "warn",
            Verdict::Skip => "skip",
        };
        let prefix = ui.prefix();
        println!("{prefix}{label:>6}  {}: {}", case.name, case.detail);
        if let Some(hint) = &case.hint {
            println!("{prefix}        hint: {hint}");
        }
    }
    println!("{}{summary}", ui.prefix());
    Ok(())
}
