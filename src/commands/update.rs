//! `lambda-rt update`: upload code only when the local CodeSha256 differs from the function's, and
//! configuration only for the fields that differ, each write carrying the RevisionId it planned
//! from. Makes no IAM call, except to recognise a function made by an earlier lambda-rt (untagged,
//! with a lambda-rt role).

use anyhow::{anyhow, Result};

use crate::aws::lambda::{FunctionSpec, Lambda, RolePropagation};
use crate::aws::{Clients, Timing};
use crate::cli::{DeployArgs, SettingsInput};
use crate::commands::create::DeployOptions;
use crate::output::{Action, Report, Ui};
use crate::package::FunctionCode;
use crate::project;
use crate::settings::{RoleChoice, Settings};

pub async fn run(input: &SettingsInput, args: &DeployArgs, ui: &Ui) -> Result<i32> {
    let settings = Settings::resolve(input)?;
    settings.require_named_function("update")?;
    let publish = super::versions::PublishOptions {
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
    let mut report = update(&clients, &settings, &code, options, Timing::default(), ui).await?;
    if let Some(url) = args.url.wanted() {
        let lambda = crate::aws::lambda::Lambda {
            client: &clients.lambda,
            timing: Timing::default(),
            ui,
        };
        let reports = lambda
            .converge_url(&settings.function_name, url.as_ref(), args.dry_run)
            .await?;
        for report in &reports {
            ui.resource(report, args.dry_run);
        }
        report.resources.extend(reports);
    }
    if publish.wanted() {
        let lambda = crate::aws::lambda::Lambda {
            client: &clients.lambda,
            timing: Timing::default(),
            ui,
        };
        let function_changed = report
            .resources
            .iter()
            .any(|r| r.kind == "function" && matches!(r.action, Action::Created | Action::Updated));
        let versions = super::versions::publish_after(
            &lambda,
            &settings,
            &publish,
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

pub async fn update(
    clients: &Clients,
    settings: &Settings,
    code: &FunctionCode,
    options: DeployOptions,
    timing: Timing,
    ui: &Ui,
) -> Result<Report> {
    let lambda = Lambda {
        client: &clients.lambda,
        timing,
        ui,
    };
    let name = &settings.function_name;
    let Some(remote) = lambda.get(name).await? else {
        return Err(anyhow!(
            "failed to update function `{name}`: it does not exist; run `lambda-rt create` first"
        ));
    };
    let ownership = super::ownership(clients, &remote, None).await?;
    let claimed = super::claim(
        &lambda,
        &remote,
        ownership,
        options.adopt,
        "change",
        options.dry_run,
    )
    .await?;
    let remote_role = remote.config.role().unwrap_or_default();
    let role_arn = match &settings.role {
        RoleChoice::Existing(arn) => arn.clone(),
        RoleChoice::Managed(role_name) => managed_role_arn(remote_role, role_name),
    };
    // `update` reads no role, so a new role's age is unknown: a refusal is retried briefly.
    let role = RolePropagation::for_age(
        role_arn.clone(),
        timing.iam_propagation.max_total,
        timing.iam_propagation.max_total,
        timing.old_role_grace,
    );
    let spec = FunctionSpec::new(settings, role_arn);
    let stager = super::stager(clients, settings, ui);
    let converge = super::converge_function(
        &lambda,
        stager.as_ref(),
        &remote,
        &spec,
        code,
        &settings.layer_name,
        super::ConvergeOptions {
            dry_run: options.dry_run,
            force: options.force,
            role: Some(&role),
        },
    );
    let stale = super::stale_runtime_note(clients, settings, &remote.config);
    let ((mut report, code_sha256), stale) = tokio::try_join!(converge, stale)?;
    if let Some(note) = claimed {
        report = report.note(note);
    }
    ui.resource(&report, options.dry_run);
    let warnings: Vec<String> = stale.into_iter().collect();
    for warning in &warnings {
        ui.warn(warning);
    }
    let mut resources = vec![report];
    resources.extend(super::staged_reports(stager.as_ref()));
    Ok(Report {
        command: "update",
        dry_run: options.dry_run,
        resources,
        code_sha256: Some(code_sha256),
        layer: None,
        warnings,
    })
}

/// The ARN of role `role_name` in the function's account, derived from the function's current role
/// ARN without an IAM call (IAM ARNs are `arn:<partition>:iam::<account>:role/<path><name>`).
pub fn managed_role_arn(remote_role_arn: &str, role_name: &str) -> String {
    if remote_role_arn.rsplit('/').next() == Some(role_name) {
        return remote_role_arn.to_string();
    }
    let prefix = remote_role_arn
        .split(":role/")
        .next()
        .unwrap_or("arn:aws:iam::");
    format!("{prefix}:role/{role_name}")
}

#[cfg(test)]
mod tests {
    use super::managed_role_arn;

    #[test]
    fn role_arn_is_derived_without_iam() {
        let current = "arn:aws:iam::123456789012:role/service/bash-runtime-role";
        assert_eq!(managed_role_arn(current, "bash-runtime-role"), current);
        assert_eq!(
            managed_role_arn(current, "other"),
            "arn:aws:iam::123456789012:role/other"
        );
    }
}
