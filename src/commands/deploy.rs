//! What `create` and `update` share around their own flows: resolving and checking the project
//! before any call, and after the function, its URL and the version to publish.

use anyhow::Result;

use crate::aws::lambda::Lambda;
use crate::aws::{Clients, Timing};
use crate::cli::{DeployArgs, SettingsInput};
use crate::commands::create::DeployOptions;
use crate::commands::versions::{self, PublishOptions};
use crate::output::{Action, Report, Ui};
use crate::package::FunctionCode;
use crate::project;
use crate::settings::Settings;

/// A project ready to deploy: every local check passed and the package is built.
pub struct Prepared {
    pub settings: Settings,
    pub code: FunctionCode,
    pub clients: Clients,
    pub options: DeployOptions,
    publish: PublishOptions,
}

/// Settings, flags and project files are checked, and the package built, before any AWS call, so
/// that a mistake changes nothing.
pub async fn prepare(input: &SettingsInput, args: &DeployArgs, command: &str) -> Result<Prepared> {
    let settings = Settings::resolve(input)?;
    settings.require_named_function(command)?;
    let publish = PublishOptions {
        publish: args.publish,
        alias: args.alias.clone(),
        keep: args.keep,
    };
    publish.validate()?;
    project::check_project_files(&settings)?;
    let code = FunctionCode::build(&settings)?;
    let clients = Clients::load(&settings.aws).await?;
    let options = DeployOptions {
        dry_run: args.dry_run,
        force: args.force,
        adopt: args.adopt,
    };
    Ok(Prepared {
        settings,
        code,
        clients,
        options,
        publish,
    })
}

/// After the function: the Function URL when asked for, then the version and alias; prints the
/// report.
pub async fn finish(
    prepared: &Prepared,
    mut report: Report,
    args: &DeployArgs,
    ui: &Ui,
) -> Result<i32> {
    let lambda = Lambda {
        client: &prepared.clients.lambda,
        timing: Timing::default(),
        ui,
    };
    let name = &prepared.settings.function_name;
    if let Some(url) = args.url.wanted() {
        let reports = lambda
            .converge_url(name, url.as_ref(), args.dry_run)
            .await?;
        for report in &reports {
            ui.resource(report, args.dry_run);
        }
        report.resources.extend(reports);
    }
    if prepared.publish.wanted() {
        let function_changed = report
            .resources
            .iter()
            .any(|r| r.kind == "function" && matches!(r.action, Action::Created | Action::Updated));
        let versions = versions::publish_after(
            &lambda,
            &prepared.settings,
            &prepared.publish,
            function_changed,
            args.dry_run,
            ui,
        )
        .await?;
        report.resources.extend(versions);
    }
    ui.finish(&report)?;
    Ok(crate::exit_code::SUCCESS)
}
