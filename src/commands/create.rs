//! `lambda-rt create`: ensure the execution role and the function. On an existing function it
//! converges code and configuration exactly like `update`; a second run makes no write call.
//!
//! Order, for a new function: the function and the role are read at once; the function's zip is
//! built (and staged in S3) before the role is made, so a project over Lambda's limits or a missing
//! bucket changes nothing in IAM; then CreateRole, and CreateFunction — retried while IAM
//! propagates the new role — at the same time as the role's policy is attached.

use anyhow::Result;

use super::context::{staged_reports, Context};
use super::deploy::{self, DeployOptions};
use super::ownership;
use crate::aws::clients::{partition, Clients};
use crate::aws::function_spec::FunctionSpec;
use crate::aws::function_state::{Remote, RolePropagation};
use crate::aws::iam;
use crate::aws::lambda::Lambda;
use crate::aws::owner;
use crate::aws::s3::{self, Upload};
use crate::cli::deploy::DeployArgs;
use crate::output::{Action, Change, Report, ResourceReport};
use crate::package::FunctionCode;
use crate::settings::{RoleChoice, Settings};

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<i32> {
    let prepared = deploy::prepare(ctx, args, "create")?;
    let report = create(ctx, &prepared.code, prepared.options).await?;
    deploy::finish(ctx, &prepared, report, args).await
}

/// What the role read found, for a managed role.
struct RoleFound {
    role: Option<iam::RemoteRole>,
    /// The ARNs of its managed policies (only read for a role of lambda-rt's).
    attached: Vec<String>,
}

/// Reads the role and, when it is lambda-rt's, its policies: two reads at once (the policy list
/// fails for a missing role, which the role read reports instead).
async fn read_role(clients: &Clients, name: &str) -> Result<RoleFound> {
    let (role, attached) = tokio::join!(
        iam::get_role(&clients.iam, name),
        iam::attached_policies(&clients.iam, name)
    );
    let role = role?;
    let attached = match &role {
        Some(role) if role.is_owned() => attached?,
        _ => Vec::new(),
    };
    Ok(RoleFound { role, attached })
}

/// The create flow, for a project whose package is built.
pub async fn create(ctx: &Context, code: &FunctionCode, options: DeployOptions) -> Result<Report> {
    let (settings, ui, timing) = (&ctx.settings, &ctx.ui, ctx.timing);
    let clients = ctx.clients().await?;
    let dry_run = options.dry_run;
    let lambda = ctx.lambda(clients);
    let stager = ctx.stager(clients);
    let name = &settings.function_name;

    // 1. The function and the role, read at once.
    let (remote, found) = match &settings.role {
        RoleChoice::Managed(role_name) => {
            let (remote, found) =
                tokio::try_join!(lambda.get(name), read_role(clients, role_name))?;
            (remote, Some(found))
        }
        RoleChoice::Existing(_) => (lambda.get(name).await?, None),
    };

    // 2. Someone else's function is left alone, before anything is written.
    let mut claimed = None;
    if let Some(remote) = &remote {
        let known_role = found.as_ref().and_then(|f| f.role.as_ref());
        let ownership = ownership::ownership(clients, remote, known_role).await?;
        claimed =
            ownership::claim(&lambda, remote, ownership, options.adopt, "change", dry_run).await?;
    }

    // 3. A new function's zip is built and staged before the role is made.
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
            let (report, role) = match found.role {
                None => {
                    let report = ResourceReport::new("role", role_name, Action::Created)
                        .changes(vec![Change::named("attach AWSLambdaBasicExecutionRole")]);
                    if dry_run {
                        (report, None)
                    } else {
                        let arn = iam::create_role(&clients.iam, role_name, name).await?;
                        attach_policy = Some((role_name.clone(), policy_arn));
                        let role =
                            RolePropagation::for_age(arn.clone(), Default::default(), bound, grace);
                        (report.arn(Some(arn)), Some(role))
                    }
                }
                Some(role) if !role.is_owned() => {
                    if !role.trusts_lambda {
                        return Err(iam::foreign_untrusted(role_name));
                    }
                    let report = ResourceReport::new("role", role_name, Action::Kept)
                        .arn(Some(&role.arn))
                        .note("exists and was not created by lambda-rt; used as is");
                    let propagation =
                        RolePropagation::for_age(role.arn.clone(), role.age, bound, grace);
                    (report, Some(propagation))
                }
                Some(role) => {
                    // Ours: converge it (e.g. after a run that stopped right after CreateRole).
                    let mut changes = Vec::new();
                    let has_policy = found.attached.contains(&policy_arn);
                    let has_user = role.users().iter().any(|u| u == name);
                    if !has_policy {
                        changes.push(Change::named("attach AWSLambdaBasicExecutionRole"));
                    }
                    if !has_user {
                        changes.push(Change::new("tag", None, Some(owner::role_user_tag(name))));
                    }
                    if !dry_run {
                        let attach = async {
                            if !has_policy {
                                iam::attach_policy(&clients.iam, role_name, &policy_arn).await?;
                            }
                            Ok::<_, anyhow::Error>(())
                        };
                        let tag = async {
                            if !has_user {
                                iam::add_user(&clients.iam, role_name, name).await?;
                            }
                            Ok(())
                        };
                        tokio::try_join!(attach, tag)?;
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
                        RolePropagation::for_age(role.arn.clone(), role.age, bound, grace);
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
    let (report, code_sha256) = match (remote, role, new_function_code) {
        (None, Some(role), Some(upload)) if !dry_run => {
            let spec = FunctionSpec::new(settings, role.role_arn.clone());
            let attach = async {
                if let Some((role_name, policy_arn)) = &attach_policy {
                    iam::attach_policy(&clients.iam, role_name, policy_arn).await?;
                }
                Ok(())
            };
            let tags = owner::owner_tags();
            let (_, arn) = tokio::try_join!(attach, lambda.create(&spec, &upload, &role, &tags))?;
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
            let attach = async {
                if let Some((role_name, policy_arn)) = &attach_policy {
                    iam::attach_policy(&clients.iam, role_name, policy_arn).await?;
                }
                Ok(())
            };
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
            let (_, (mut report, sha)) = tokio::try_join!(attach, converge)?;
            if let Some(note) = claimed {
                report = report.note(note);
            }
            (report, sha)
        }
    };
    ui.resource(&report, dry_run);
    resources.push(report);
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
