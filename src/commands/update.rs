//! `lambda-rt update`: upload code only when the local CodeSha256 differs from the function's, and
//! configuration only for the fields that differ, each write carrying the RevisionId it planned
//! from. The role lambda-rt manages is read beside the function and converged too (its policies
//! and trust policy, see `aws/execution_role.rs`), and made if it is missing; a role given with
//! `--role-arn`, or someone else's, is never changed.

use std::time::Duration;

use anyhow::{anyhow, Result};

use super::context::{staged_reports, Context};
use super::deploy::{self, DeployOptions};
use super::jobs;
use super::ownership;
use crate::aws::clients::{partition, Clients};
use crate::aws::concurrency;
use crate::aws::execution_role::{self, RoleFix, RoleState};
use crate::aws::function_spec::FunctionSpec;
use crate::aws::function_state::RolePropagation;
use crate::aws::function_tags;
use crate::aws::iam::{self, managed_role_arn};
use crate::aws::log_group;
use crate::cli::deploy::DeployArgs;
use crate::output::{Action, Report, ResourceReport};
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
    let role_name = match &settings.role {
        RoleChoice::Managed(role_name) => Some(role_name.as_str()),
        RoleChoice::Existing(_) => None,
    };
    // The function, lambda-rt's role and the log group, read at once; the function's failure is
    // the one told.
    let (remote, role_state, log_group, jobs_state) = tokio::join!(
        lambda.get(name),
        read_managed_role(clients, role_name),
        log_group::read(&clients.logs, name),
        jobs::read_early(clients, settings)
    );
    let (remote, role_state, log_group) = (remote?, role_state?, log_group?);
    let Some(remote) = remote else {
        return Err(anyhow!(
            "failed to update function `{name}`: it does not exist; run `lambda-rt create` first"
        ));
    };
    // The project's policies can go on the role and exist, before anything is written.
    let wanted_policies = execution_role::wanted_policies(
        partition(&clients.region),
        &settings.policies,
        settings.function.vpc.is_some(),
    );
    if let Some(role_name) = role_name {
        execution_role::check_project_policies(
            &clients.iam,
            role_name,
            role_state.as_ref(),
            &wanted_policies,
            settings.policy_document.as_ref(),
        )
        .await?;
    }
    // Someone else's schedule or scheduler role of the project's name stops the run here.
    let jobs_state = jobs::read_late(clients, settings, jobs_state?, Some(&remote.tags)).await?;
    jobs::refuse_foreign(settings, &jobs_state)?;
    let remote_role = remote.config.role().unwrap_or_default();
    // An adopted function keeps the role it has unless the project names one: `<function>-role`
    // was never made for it.
    let ownership::Claimed {
        note: claimed,
        keeps_its_role,
    } = ownership::claim_for_change(ctx, &lambda, &remote, None, options.adopt, options.dry_run)
        .await?;
    let mut resources = Vec::new();
    let (role_arn, role_age, role_fixes) = match (&settings.role, role_state) {
        (RoleChoice::Existing(arn), _) => (arn.clone(), None, Vec::new()),
        _ if keeps_its_role => (remote_role.to_string(), None, Vec::new()),
        (RoleChoice::Managed(role_name), None) => {
            // The project's role is gone (deleted by hand) or was never made (an adopted
            // function): make it before the function is pointed at it.
            let attach = wanted_policies.iter().cloned().map(RoleFix::Attach);
            let report = ResourceReport::new("role", role_name, Action::Created)
                .changes(attach.map(|fix| fix.change()).collect());
            let arn = if options.dry_run {
                managed_role_arn(remote_role, role_name)
            } else {
                let arn = iam::create_role(&clients.iam, role_name, name).await?;
                iam::attach_policies(&clients.iam, role_name, &wanted_policies).await?;
                let inline = execution_role::new_role_fixes(settings.policy_document.as_ref());
                execution_role::apply(&clients.iam, role_name, &inline).await?;
                arn
            };
            ui.resource(&report, options.dry_run);
            resources.push(report.arn(Some(&arn)));
            (arn, Some(Duration::ZERO), Vec::new())
        }
        (RoleChoice::Managed(role_name), Some(state)) => {
            let fixes = if state.role.is_owned() {
                execution_role::plan(&state, &wanted_policies, settings.policy_document.as_ref())
            } else {
                Vec::new()
            };
            if !fixes.is_empty() {
                let report = ResourceReport::new("role", role_name, Action::Updated)
                    .arn(Some(&state.role.arn))
                    .changes(fixes.iter().map(|f| f.change()).collect());
                ui.resource(&report, options.dry_run);
                resources.push(report);
            }
            (state.role.arn.clone(), Some(state.role.age), fixes)
        }
    };
    // A role read here has a known age; otherwise a refusal is retried briefly.
    let bound = timing.iam_propagation.max_total;
    let role = RolePropagation::for_age(
        role_arn.clone(),
        role_age.unwrap_or(bound),
        bound,
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
    let fix_role = async {
        match (&settings.role, options.dry_run) {
            (RoleChoice::Managed(role_name), false) => {
                execution_role::apply(&clients.iam, role_name, &role_fixes).await
            }
            _ => Ok(()),
        }
    };
    let retention = settings.log_retention_days;
    let group = log_group::converge(
        &clients.logs,
        name,
        log_group,
        retention,
        false,
        options.dry_run,
    );
    // All four run to the end whatever happens: a failed role or log group write must not cut a
    // code or configuration write short and leave it unreported.
    let (converged, stale, role_fixed, group) = tokio::join!(converge, stale, fix_role, group);
    let (mut report, code_sha256) = converged?;
    role_fixed.map_err(|error| {
        error.context(format!(
            "function `{name}` is up to date, but its role could not be brought in line: fix the \
             cause below, then run `lambda-rt update` again"
        ))
    })?;
    let stale = stale?;
    if let Some(note) = claimed {
        report = report.note(note);
    }
    ui.resource(&report, options.dry_run);
    let warnings: Vec<String> = stale.into_iter().collect();
    for warning in &warnings {
        ui.warn(warning);
    }
    resources.push(report);
    if let Some(group) = group? {
        ui.resource(&group, options.dry_run);
        resources.push(group);
    }
    let (arn, wanted) = (remote.arn().unwrap_or_default(), settings.tags.as_ref());
    if let Some(report) =
        function_tags::converge(&lambda, name, arn, &remote.tags, wanted, options.dry_run).await?
    {
        ui.resource(&report, options.dry_run);
        resources.push(report);
    }
    let (reserved, wanted) = (remote.reserved_concurrency, settings.reserved_concurrency);
    if let Some(report) =
        concurrency::converge(&lambda, name, reserved, wanted, options.dry_run).await?
    {
        ui.resource(&report, options.dry_run);
        resources.push(report);
    }
    let marked = jobs::marked(&remote.tags);
    let jobs = jobs::converge(ctx, &jobs_state, remote.arn(), marked, options.dry_run).await?;
    resources.extend(jobs);
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

/// The project's role with its policies, when lambda-rt manages it (`None` for `--role-arn`, or
/// when the role does not exist).
async fn read_managed_role(clients: &Clients, name: Option<&str>) -> Result<Option<RoleState>> {
    match name {
        Some(name) => execution_role::read(&clients.iam, name).await,
        None => Ok(None),
    }
}
