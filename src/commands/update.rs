//! `lambda-rt update`: upload code only when the local CodeSha256 differs from the function's, and
//! configuration only for the fields that differ, each write carrying the RevisionId it planned
//! from. Makes no IAM call, except to recognise a function made by an earlier lambda-rt (untagged,
//! with a lambda-rt role).

use anyhow::{anyhow, Result};

use crate::aws::lambda::{FunctionSpec, Lambda, RolePropagation};
use crate::aws::{Clients, Timing};
use crate::cli::{DeployArgs, SettingsInput};
use crate::commands::create::DeployOptions;
use crate::output::{Report, Ui};
use crate::package::FunctionCode;
use crate::settings::{RoleChoice, Settings};

pub async fn run(input: &SettingsInput, args: &DeployArgs, ui: &Ui) -> Result<i32> {
    let prepared = super::deploy::prepare(input, args, "update").await?;
    let report = update(
        &prepared.clients,
        &prepared.settings,
        &prepared.code,
        prepared.options,
        Timing::default(),
        ui,
    )
    .await?;
    super::deploy::finish(&prepared, report, args, ui).await
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
