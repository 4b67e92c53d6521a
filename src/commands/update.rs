//! `lambda-rt update`: upload code only when the local CodeSha256 differs from the function's, and
//! configuration only for the fields that differ, each write carrying the RevisionId it planned
//! from. Makes no IAM call, except to recognise a function made by an earlier lambda-rt (untagged,
//! with a lambda-rt role).

use anyhow::{anyhow, Result};

use super::context::{staged_reports, Context};
use super::deploy::{self, DeployOptions};
use super::ownership;
use crate::aws::function_spec::FunctionSpec;
use crate::aws::function_state::RolePropagation;
use crate::aws::iam::managed_role_arn;
use crate::cli::deploy::DeployArgs;
use crate::output::Report;
use crate::package::FunctionCode;
use crate::settings::RoleChoice;

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<i32> {
    let prepared = deploy::prepare(ctx, args, "update")?;
    let report = update(ctx, &prepared.code, prepared.options).await?;
    deploy::finish(ctx, &prepared, report, args).await
}

pub async fn update(ctx: &Context, code: &FunctionCode, options: DeployOptions) -> Result<Report> {
    let (settings, ui, timing) = (&ctx.settings, &ctx.ui, ctx.timing);
    let clients = ctx.clients().await?;
    let lambda = ctx.lambda(clients);
    let name = &settings.function_name;
    let Some(remote) = lambda.get(name).await? else {
        return Err(anyhow!(
            "failed to update function `{name}`: it does not exist; run `lambda-rt create` first"
        ));
    };
    let ownership = ownership::ownership(clients, &remote, None).await?;
    let claimed = ownership::claim(
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
    let stager = ctx.stager(clients);
    let converge = deploy::converge_function(
        &lambda,
        &remote,
        &spec,
        code,
        deploy::ConvergeOptions {
            dry_run: options.dry_run,
            force: options.force,
            role: Some(&role),
            stager: stager.as_ref(),
            layer_name: &settings.layer_name,
        },
    );
    let stale = deploy::stale_runtime_note(clients, settings, &remote.config);
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
    resources.extend(staged_reports(stager.as_ref()));
    Ok(Report {
        command: "update",
        dry_run: options.dry_run,
        resources,
        code_sha256: Some(code_sha256),
        layer: None,
        warnings,
    })
}
