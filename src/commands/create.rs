//! `lambda-rt create`: ensure the execution role and the function. On an existing function it
//! converges code and configuration exactly like `update`; a second run makes no write call.
//!
//! Order, for a new function: the function, the role and the log group are read at once; the function's zip is
//! built (and staged in S3) before the role is made, so a project over Lambda's limits or a missing
//! bucket changes nothing in IAM; then CreateRole, and CreateFunction — retried while IAM
//! propagates the new role — at the same time as the role's policy is attached; then the log group
//! (aws/log_group.rs).

use anyhow::Result;

use super::context::{staged_reports, Context};
use super::deploy::{self, DeployOptions};
use super::jobs;
use super::ownership;
use crate::aws::clients::{partition, Clients};
use crate::aws::concurrency;
use crate::aws::execution_role;
use crate::aws::function_spec::FunctionSpec;
use crate::aws::function_state::{Remote, RolePropagation, RoleVanished};
use crate::aws::function_tags;
use crate::aws::iam;
use crate::aws::lambda::Lambda;
use crate::aws::log_group;
use crate::aws::owner;
use crate::aws::s3::{self, Upload};
use crate::cli::deploy::DeployArgs;
use crate::output::{Action, Change, Report, ResourceReport};
use crate::package::{self, FunctionCode};
use crate::settings::{RoleChoice, Settings};

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<i32> {
    let prepared = deploy::prepare(ctx, args, "create")?;
    let report = create(ctx, &prepared.code, prepared.options).await?;
    deploy::finish(ctx, &prepared, report, args).await
}

/// A role just made gets its managed policies and the project's inline one (`policy-file`).
async fn furnish_new_role(
    ctx: &Context,
    clients: &Clients,
    role_name: &str,
    policies: &[String],
) -> Result<()> {
    iam::attach_policies(&clients.iam, role_name, policies).await?;
    let inline = execution_role::new_role_fixes(ctx.settings.policy_document.as_ref());
    execution_role::apply(&clients.iam, role_name, &inline).await
}

/// Runs a new role's policy attachment beside the write that needs the role, and waits for both
/// whatever happens: a failed attachment must not cut the other write short and leave it unknown.
/// When the write succeeded and the attachment failed, the error says what was made and that a
/// re-run finishes the job.
async fn with_policy_attached<T>(
    ctx: &Context,
    clients: &Clients,
    attach_policy: &Option<(String, Vec<String>)>,
    made: &str,
    write: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let attach = async {
        match attach_policy {
            Some((role_name, policies)) => {
                furnish_new_role(ctx, clients, role_name, policies).await
            }
            None => Ok(()),
        }
    };
    let (attached, written) = tokio::join!(attach, write);
    let written = written?;
    attached.map_err(|error| {
        error.context(format!(
            "{made}, but its new role lacks its policy: fix the cause below, then run `lambda-rt \
             create` again, which attaches it (`lambda-rt status` shows it as drift until then)"
        ))
    })?;
    Ok(written)
}

/// The create flow, for a project whose package is built.
pub async fn create(ctx: &Context, code: &FunctionCode, options: DeployOptions) -> Result<Report> {
    let (settings, ui, timing) = (&ctx.settings, &ctx.ui, ctx.timing);
    let clients = ctx.clients().await?;
    let dry_run = options.dry_run;
    let lambda = ctx.lambda(clients);
    let stager = ctx.stager(clients);
    let name = &settings.function_name;

    // 1. The function, the role and the log group, read at once.
    let function_and_role = async {
        match &settings.role {
            RoleChoice::Managed(role_name) => {
                let (remote, found) = tokio::try_join!(
                    lambda.get(name),
                    execution_role::read(&clients.iam, role_name)
                )?;
                Ok((remote, Some(found)))
            }
            RoleChoice::Existing(_) => Ok((lambda.get(name).await?, None)),
        }
    };
    let ((remote, found), log_group, jobs_state) = tokio::try_join!(
        function_and_role,
        log_group::read(&clients.logs, name),
        jobs::read_early(clients, settings)
    )?;
    let remote_tags = remote.as_ref().map(|r| &r.tags);
    let jobs_state = jobs::read_late(clients, settings, jobs_state, remote_tags).await?;
    // Someone else's schedule or scheduler role of the project's name stops the run here.
    jobs::refuse_foreign(settings, &jobs_state)?;
    // A new function with schedules is made with the mark that it has them.
    let marked = match &remote {
        Some(remote) => jobs::marked(&remote.tags),
        None => !settings.schedules.is_empty(),
    };

    // The project's policies can go on the role and exist, before anything is written.
    let wanted_policies = execution_role::wanted_policies(
        partition(&clients.region),
        &settings.policies,
        settings.function.vpc.is_some(),
    );
    if let (RoleChoice::Managed(role_name), Some(found)) = (&settings.role, &found) {
        execution_role::check_project_policies(
            &clients.iam,
            role_name,
            found.as_ref(),
            &wanted_policies,
            settings.policy_document.as_ref(),
        )
        .await?;
    }

    // 2. Someone else's function is left alone, before anything is written.
    let mut claimed = None;
    let mut kept_role = None;
    if let Some(remote) = &remote {
        let known_role = found.as_ref().and_then(Option::as_ref).map(|f| &f.role);
        let claim =
            ownership::claim_for_change(ctx, &lambda, remote, known_role, options.adopt, dry_run)
                .await?;
        // An adopted function keeps the role it has unless the project names one:
        // `<function>-role` was never made for it.
        if claim.keeps_its_role {
            kept_role = remote.config.role().map(str::to_string);
        }
        claimed = claim.note;
    }

    // 3. A new function's zip is built and staged before the role is made. What it leaves out by
    // default (secrets, history) is said once, here, when the function is made.
    if remote.is_none() {
        let mut left_out = package::left_out(&settings.function_dir(), &settings.project_dir);
        left_out.extend(package::left_out(
            &settings.runtime_dir(),
            &settings.project_dir,
        ));
        if !left_out.is_empty() {
            ui.info(&format!(
                "left out of the zip: {} (files that usually hold secrets or history; a `!` \
                 pattern in .lambdaignore, e.g. `!.env.defaults`, deploys one)",
                left_out.join(", ")
            ));
        }
    }
    let new_function_code = match remote {
        Some(_) => None,
        None if dry_run => Some(Upload::inline(code.package(false)?)),
        None => {
            let package = code.package(false)?;
            Some(s3::prepare(stager.as_ref(), |s| s.function_key(name), package).await?)
        }
    };

    // 4. The role.
    let mut resources = Vec::new();
    let grace = timing.old_role_grace;
    let bound = timing.iam_propagation.max_total;
    let mut attach_policy = None;
    let role = match (&settings.role, found) {
        (RoleChoice::Managed(_), _) if kept_role.is_some() => {
            let arn = kept_role.unwrap_or_default();
            let report = ResourceReport::new("role", &arn, Action::Kept)
                .arn(Some(&arn))
                .note("the adopted function's own role; not managed by lambda-rt");
            ui.resource(&report, dry_run);
            resources.push(report);
            Some(RolePropagation::for_age(arn, bound, bound, grace))
        }
        (RoleChoice::Existing(arn), _) => {
            let report = ResourceReport::new("role", arn, Action::Kept)
                .arn(Some(arn))
                .note("given by --role-arn; not managed by lambda-rt");
            ui.resource(&report, dry_run);
            resources.push(report);
            // lambda-rt makes no IAM call for such a role, so its age is unknown.
            Some(RolePropagation::for_age(arn.clone(), bound, bound, grace))
        }
        (RoleChoice::Managed(role_name), Some(found)) => {
            let policy_arn = iam::basic_execution_policy_arn(partition(&clients.region));
            let (report, role) = match found {
                None => {
                    let attach = wanted_policies
                        .iter()
                        .cloned()
                        .map(execution_role::RoleFix::Attach);
                    let report = ResourceReport::new("role", role_name, Action::Created)
                        .changes(attach.map(|fix| fix.change()).collect());
                    if dry_run {
                        (report, None)
                    } else {
                        let arn = iam::create_role(&clients.iam, role_name, name).await?;
                        attach_policy = Some((role_name.clone(), wanted_policies.clone()));
                        let role =
                            RolePropagation::for_age(arn.clone(), Default::default(), bound, grace)
                                .managed();
                        (report.arn(Some(arn)), Some(role))
                    }
                }
                Some(state) if !state.role.is_owned() => {
                    let role = &state.role;
                    if !role.trusts_lambda {
                        return Err(iam::foreign_untrusted(role_name));
                    }
                    let extra = execution_role::extra_permissions(&state, &policy_arn);
                    if !extra.is_empty() && remote.is_none() {
                        ui.warn(&format!(
                            "role `{role_name}` was not created by lambda-rt and is used as it \
                             is: the function gets what it grants beyond writing logs ({}). To \
                             give it only what it needs, delete that role or name another with \
                             --role-name",
                            extra.join(", ")
                        ));
                    }
                    let report = ResourceReport::new("role", role_name, Action::Kept)
                        .arn(Some(&role.arn))
                        .note("exists and was not created by lambda-rt; used as is");
                    let propagation =
                        RolePropagation::for_age(role.arn.clone(), role.age, bound, grace)
                            .managed();
                    (report, Some(propagation))
                }
                Some(state) => {
                    // Ours: converge it (e.g. after a run that stopped right after CreateRole, or
                    // a policy attached or removed by hand).
                    let role = &state.role;
                    let inline = settings.policy_document.as_ref();
                    let fixes = execution_role::plan(&state, &wanted_policies, inline);
                    let mut changes: Vec<Change> = fixes.iter().map(|f| f.change()).collect();
                    let has_user = role.users().iter().any(|u| u == name);
                    let mut role_age = role.age;
                    if !has_user {
                        changes.push(Change::new("tag", None, Some(owner::role_user_tag(name))));
                    }
                    if !dry_run {
                        let attach = execution_role::apply(&clients.iam, role_name, &fixes);
                        let tag = async {
                            if !has_user {
                                iam::add_user(&clients.iam, role_name, name).await?;
                            }
                            Ok::<_, anyhow::Error>(())
                        };
                        // Both writes run to the end, so neither is left unknown.
                        let (attached, tagged) = tokio::join!(attach, tag);
                        let failed = attached.is_err() || tagged.is_err();
                        if failed && iam::get_role(&clients.iam, role_name).await?.is_none() {
                            // Deleted since the read (another run's `delete`): made again.
                            let vanished = RoleVanished(role_name.clone());
                            ui.notice(&format!(
                                "{vanished} (another `lambda-rt delete`?): creating it again"
                            ));
                            iam::create_role(&clients.iam, role_name, name).await?;
                            attach_policy = Some((role_name.clone(), wanted_policies.clone()));
                            role_age = std::time::Duration::ZERO;
                        } else {
                            attached?;
                            tagged?;
                        }
                    }
                    let action = if changes.is_empty() {
                        Action::Unchanged
                    } else {
                        Action::Updated
                    };
                    let report = ResourceReport::new("role", role_name, action)
                        .arn(Some(&role.arn))
                        .changes(changes);
                    let propagation =
                        RolePropagation::for_age(role.arn.clone(), role_age, bound, grace)
                            .managed();
                    (report, Some(propagation))
                }
            };
            ui.resource(&report, dry_run);
            resources.push(report);
            role
        }
        (RoleChoice::Managed(_), None) => unreachable!("a managed role is always read"),
    };

    // 5. The function.
    let known_arn = remote.as_ref().and_then(|r| r.arn()).map(str::to_string);
    let remote_reserved = remote.as_ref().and_then(|r| r.reserved_concurrency);
    let remote_tags = remote
        .as_ref()
        .map(|r| (r.arn().unwrap_or_default().to_string(), r.tags.clone()));
    let (report, code_sha256) = match (remote, role, new_function_code) {
        (None, Some(role), Some(upload)) if !dry_run => {
            let spec = FunctionSpec::new(settings, role.role_arn.clone());
            let mut tags = owner::owner_tags();
            tags.extend(settings.tags.clone().unwrap_or_default());
            if marked {
                tags.insert(
                    owner::SCHEDULES_TAG_KEY.into(),
                    owner::SCHEDULES_TAG_VALUE.into(),
                );
            }
            let made = format!("function `{name}` was created");
            let create = create_function(ctx, &lambda, spec, &upload, role, &tags);
            let arn = with_policy_attached(ctx, clients, &attach_policy, &made, create).await?;
            let report = ResourceReport::new("function", name, Action::Created).arn(Some(arn));
            (report, upload.package.code_sha256.clone())
        }
        (None, _, upload) => (
            ResourceReport::new("function", name, Action::Created),
            upload
                .map(|u| u.package.code_sha256.clone())
                .unwrap_or_default(),
        ),
        (Some(remote), role, _) => {
            // A role made just now for an existing function: its policy goes on while the
            // function's configuration waits for IAM to propagate it.
            let role_arn = match (&role, &settings.role) {
                (Some(role), _) => role.role_arn.clone(),
                // A dry run that would create the role: compare with the role's future ARN.
                (None, RoleChoice::Managed(role_name)) => {
                    iam::managed_role_arn(remote.config.role().unwrap_or_default(), role_name)
                }
                (None, RoleChoice::Existing(arn)) => arn.clone(),
            };
            let spec = FunctionSpec::new(settings, role_arn);
            let converge = converge(
                &lambda,
                &stager,
                &remote,
                &spec,
                code,
                settings,
                options,
                role.as_ref(),
            );
            let made = format!("function `{name}` was brought up to date");
            let (mut report, sha) =
                with_policy_attached(ctx, clients, &attach_policy, &made, converge).await?;
            if let Some(note) = claimed {
                report = report.note(note);
            }
            (report, sha)
        }
    };
    ui.resource(&report, dry_run);
    let function_arn = report.arn.clone().or(known_arn);
    resources.push(report);

    // 6. The log group and the reserved concurrency, once the function is there.
    let retention = settings.log_retention_days;
    // `create` makes a missing group even for an existing function: a run stopped right after
    // CreateFunction left it without one.
    let group = log_group::converge(&clients.logs, name, log_group, retention, true, dry_run);
    if let Some(group) = group.await? {
        ui.resource(&group, dry_run);
        resources.push(group);
    }
    if let Some((arn, tags)) = &remote_tags {
        let wanted = settings.tags.as_ref();
        if let Some(report) =
            function_tags::converge(&lambda, name, arn, tags, wanted, dry_run).await?
        {
            ui.resource(&report, dry_run);
            resources.push(report);
        }
    }
    let wanted = settings.reserved_concurrency;
    if let Some(report) =
        concurrency::converge(&lambda, name, remote_reserved, wanted, dry_run).await?
    {
        ui.resource(&report, dry_run);
        resources.push(report);
    }
    // 7. Its schedules and what happens when a run fails (commands/jobs.rs).
    let jobs = jobs::converge(ctx, &jobs_state, function_arn.as_deref(), marked, dry_run).await?;
    resources.extend(jobs);
    resources.extend(staged_reports(stager.as_ref()));
    Ok(Report {
        command: "create",
        dry_run,
        resources,
        code_sha256: Some(code_sha256),
        layer: None,
        warnings: Vec::new(),
    })
}

/// CreateFunction. A role lambda-rt manages that is deleted while this run waits for Lambda to
/// accept it (another run's `delete` took the last other function sharing it, between this run's
/// read and its CreateFunction) is made again, said so, and CreateFunction sent once more —
/// instead of waiting out IAM propagation for a role that will never propagate.
async fn create_function(
    ctx: &Context,
    lambda: &Lambda<'_>,
    spec: FunctionSpec,
    upload: &Upload<'_>,
    role: RolePropagation,
    tags: &std::collections::HashMap<String, String>,
) -> Result<String> {
    let error = match lambda.create(&spec, upload, &role, tags).await {
        Err(error) if error.is::<RoleVanished>() => error,
        done => return done,
    };
    let role_name = iam::role_name_of(&role.role_arn).to_string();
    ctx.ui.notice(&format!(
        "{error} (another `lambda-rt delete`?): creating it again"
    ));
    let clients = ctx.clients().await?;
    let arn = iam::create_role(&clients.iam, &role_name, &spec.name).await?;
    let policies = execution_role::wanted_policies(
        partition(&clients.region),
        &ctx.settings.policies,
        ctx.settings.function.vpc.is_some(),
    );
    furnish_new_role(ctx, clients, &role_name, &policies).await?;
    let timing = ctx.timing;
    let role = RolePropagation::for_age(
        arn.clone(),
        Default::default(),
        timing.iam_propagation.max_total,
        timing.old_role_grace,
    )
    .managed();
    let spec = FunctionSpec {
        role_arn: arn,
        ..spec
    };
    lambda.create(&spec, upload, &role, tags).await
}

#[allow(clippy::too_many_arguments)]
async fn converge(
    lambda: &Lambda<'_>,
    stager: &Option<s3::Stager<'_>>,
    remote: &Remote,
    spec: &FunctionSpec,
    code: &FunctionCode,
    settings: &Settings,
    options: DeployOptions,
    role: Option<&RolePropagation>,
) -> Result<(ResourceReport, String)> {
    deploy::converge_function(
        lambda,
        remote,
        spec,
        code,
        deploy::ConvergeOptions {
            dry_run: options.dry_run,
            force: options.force,
            role,
            stager: stager.as_ref(),
            layer_name: &settings.layer_name,
        },
    )
    .await
}
