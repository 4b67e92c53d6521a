//! `lambda-rt delete`: the function and what lambda-rt made for it — its log group (unless
//! `--keep-logs`), the layer versions it published (unless `--keep-layer`), the zips it staged in
//! S3, its role once no other function uses it, and its schedules with their scheduler role.
//! Nothing of someone else's is deleted: a function without lambda-rt's tag is refused (unless
//! `--adopt`), a role without its tag, layer versions without its description marker, schedules
//! without its description mark and objects without its metadata are kept. Whatever
//! is already gone is reported absent; a second run exits 0.
//!
//! It takes three rounds of calls: every read at once — the role's policy and instance-profile
//! lists included, read before it is known whether the role goes, because DeleteRole needs them
//! emptied first and waiting for GetRole before listing would cost a round trip; then every delete
//! at once, the role's policies detached beside them; then DeleteRole. A function that carries the
//! schedules mark (`lambda-rt:schedules`), or one already gone, adds one round of reads after the
//! first: its schedules and scheduler role (commands/jobs.rs).

use anyhow::Result;
use futures_util::future::{join_all, try_join_all};

use super::context::Context;
use super::jobs;
use super::ownership;
use crate::aws::clients::Clients;
use crate::aws::function_state::Remote;
use crate::aws::iam::{self, RemoteRole};
use crate::aws::lambda::Lambda;
use crate::aws::layer::{LayerVersion, Layers};
use crate::aws::owner::Ownership;
use crate::aws::{log_group, logs};
use crate::cli::delete::DeleteArgs;
use crate::error::NotOurs;
use crate::output::{Action, Report, ResourceReport};
use crate::settings::{RoleChoice, Settings};

pub async fn run(ctx: &Context, args: &DeleteArgs) -> Result<i32> {
    ctx.settings.require_named_function("delete")?;
    let report = delete(ctx, args).await?;
    ctx.ui.finish(&report)?;
    Ok(crate::error::exit_code::SUCCESS)
}

pub async fn delete(ctx: &Context, args: &DeleteArgs) -> Result<Report> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    let clients = ctx.clients().await?;
    let dry_run = args.dry_run;
    let lambda = ctx.lambda(clients);
    let layers = ctx.layers(clients);
    let name = &settings.function_name;

    // The runtime layer of a project of several functions goes with the last of them.
    let shared_with = &settings.layer_shared_with;
    let keep_layer = args.keep_layer || !shared_with.is_empty();

    // Round 1: every read at once.
    let read_role = async {
        match &settings.role {
            RoleChoice::Managed(role_name) if !dry_run => {
                let (role, dependents) = tokio::try_join!(
                    iam::get_role(&clients.iam, role_name),
                    iam::dependents(&clients.iam, role_name)
                )?;
                Ok((role, dependents))
            }
            RoleChoice::Managed(role_name) => Ok((
                iam::get_role(&clients.iam, role_name).await?,
                Default::default(),
            )),
            RoleChoice::Existing(_) => Ok((None, Default::default())),
        }
    };
    let read_layers = async {
        if keep_layer {
            Ok(Vec::new())
        } else {
            layers.versions(&settings.layer_name).await
        }
    };
    let (remote, (role, dependents), versions) =
        tokio::try_join!(lambda.get(name), read_role, read_layers)?;
    let leftovers = jobs::read_leftovers(clients, name, remote.as_ref().map(|r| &r.tags)).await?;

    // Someone else's function: nothing at all is deleted.
    let ownership = match &remote {
        Some(remote) => Some(ownership::ownership(clients, remote, role.as_ref()).await?),
        None => None,
    };
    if ownership == Some(Ownership::Foreign) && !args.adopt {
        return Err(NotOurs {
            function: name.clone(),
            verb: "delete",
        }
        .into());
    }
    let role_plan = plan_role(&lambda, settings, role, name).await?;

    // Round 2: every delete at once.
    let function = delete_function(&lambda, name, remote.as_ref(), dry_run);
    let log_group = delete_log_group(clients, name, remote.is_some(), args.keep_logs, dry_run);
    let layer = delete_layer(&layers, settings, versions, keep_layer, dry_run);
    let staged = delete_staged(ctx, clients, keep_layer, dry_run);
    let role = apply_role(&lambda, clients, settings, role_plan, &dependents, dry_run);
    let jobs = jobs::remove(clients, leftovers, dry_run);
    let (function, log_group, layer, staged, role, jobs) =
        tokio::join!(function, log_group, layer, staged, role, jobs);

    let mut resources = Vec::new();
    let mut errors = Vec::new();
    for result in [
        function.map(|r| vec![r]),
        log_group.map(|r| vec![r]),
        layer,
        staged,
        role.map(|r| vec![r]),
        jobs,
    ] {
        match result {
            Ok(reports) => {
                for report in reports {
                    ui.resource(&report, dry_run);
                    resources.push(report);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    if let Some(error) = errors.into_iter().next() {
        return Err(
            error.context("run `lambda-rt delete` again to finish: it picks up what is left")
        );
    }
    Ok(Report {
        command: "delete",
        dry_run,
        resources,
        code_sha256: None,
        layer: None,
        warnings: Vec::new(),
    })
}

async fn delete_function(
    lambda: &Lambda<'_>,
    name: &str,
    remote: Option<&Remote>,
    dry_run: bool,
) -> Result<ResourceReport> {
    let Some(remote) = remote else {
        return Ok(ResourceReport::new("function", name, Action::Absent));
    };
    let action = if dry_run {
        Action::Deleted
    } else {
        lambda.delete(name, &remote.status()).await?
    };
    Ok(ResourceReport::new("function", name, action).arn(remote.arn()))
}

/// The log group goes with a function of lambda-rt's. Without the function, only a group
/// lambda-rt tagged (it makes them so) is known to be its own — e.g. after a `delete` interrupted
/// between the function and its group; any other is kept.
async fn delete_log_group(
    clients: &Clients,
    name: &str,
    function_exists: bool,
    keep: bool,
    dry_run: bool,
) -> Result<ResourceReport> {
    let group = logs::log_group_name(name);
    if keep {
        return Ok(ResourceReport::new("log group", group, Action::Kept).note("--keep-logs"));
    }
    if !function_exists {
        return Ok(match log_group::read(&clients.logs, name).await? {
            None => ResourceReport::new("log group", group, Action::Absent),
            Some(found) if log_group::is_tagged(&clients.logs, &found).await? => {
                log_group::delete(&clients.logs, name, dry_run).await?
            }
            Some(_) => ResourceReport::new("log group", group, Action::Kept).note(
                "the function is gone and the group carries no lambda-rt tag, so lambda-rt cannot \
                 tell whose it is; delete it with `aws logs delete-log-group` if it is yours",
            ),
        });
    }
    log_group::delete(&clients.logs, name, dry_run).await
}

async fn delete_layer(
    layers: &Layers<'_>,
    settings: &Settings,
    versions: Vec<LayerVersion>,
    keep: bool,
    dry_run: bool,
) -> Result<Vec<ResourceReport>> {
    if keep {
        let note = match settings.layer_shared_with.as_slice() {
            [] => "--keep-layer".to_string(),
            others => format!("the project's {} still use it", others.join(", ")),
        };
        return Ok(vec![ResourceReport::new(
            "layer",
            &settings.layer_name,
            Action::Kept,
        )
        .note(note)]);
    }
    layers
        .delete_all(&settings.layer_name, versions, dry_run)
        .await
}

/// The zips staged for this function and its layer (the bucket itself is the user's).
async fn delete_staged(
    ctx: &Context,
    clients: &Clients,
    keep_layer: bool,
    dry_run: bool,
) -> Result<Vec<ResourceReport>> {
    let settings = &ctx.settings;
    let Some(stager) = ctx.stager(clients) else {
        return Ok(Vec::new());
    };
    let mut keys = vec![stager.staging.function_key(&settings.function_name)];
    if !keep_layer {
        keys.push(stager.staging.layer_key(&settings.layer_name));
    }
    let stager = &stager;
    try_join_all(keys.into_iter().map(|key| async move {
        let action = stager.delete(&key, dry_run).await?;
        let mut report = ResourceReport::new(
            "staged zip",
            format!("s3://{}/{key}", stager.staging.bucket),
            action,
        );
        if action == Action::Kept {
            report = report.note("not put there by lambda-rt");
        }
        Ok::<_, anyhow::Error>(report)
    }))
    .await
}

/// What happens to the role.
enum RolePlan {
    /// `--role-arn`: not lambda-rt's business.
    Given(String),
    Absent(String),
    /// Not created by lambda-rt.
    Foreign(RemoteRole),
    /// Ours, and other functions still use it: only this function's mark goes (and marks of
    /// functions that are gone or use another role now).
    Shared {
        role: RemoteRole,
        users: Vec<String>,
        stale: Vec<String>,
    },
    /// Ours, and this was its last user.
    Delete(RemoteRole),
}

/// Decides the role's fate: lambda-rt's role goes with its last user. The users named by the
/// role's tags are checked (at once): a function that is gone, or that uses another role now, no
/// longer counts. A role from before roles recorded their users counts only this function.
/// After this delete removed its mark from a shared role: the role read again, and deleted when
/// no user is left. Two deletes of functions sharing a role each see the other as a user when
/// they plan; whichever removes the last mark sees none here, so the role never outlives both.
/// `None` when the role stays.
async fn delete_if_last(
    lambda: &Lambda<'_>,
    clients: &Clients,
    settings: &Settings,
    role_name: &str,
) -> Result<Option<ResourceReport>> {
    let function = &settings.function_name;
    let Some(role) = iam::get_role(&clients.iam, role_name).await? else {
        // The other delete got there first.
        return Ok(Some(ResourceReport::new("role", role_name, Action::Absent)));
    };
    let RolePlan::Delete(role) = plan_role(lambda, settings, Some(role), function).await? else {
        return Ok(None);
    };
    match iam::dependents(&clients.iam, role_name).await {
        Ok(dependents) => iam::delete_role(&clients.iam, role_name, &dependents).await?,
        // Deleted by the other delete between the read and the lists.
        Err(_) if iam::get_role(&clients.iam, role_name).await?.is_none() => {
            return Ok(Some(ResourceReport::new("role", role_name, Action::Absent)));
        }
        Err(error) => return Err(error),
    }
    Ok(Some(
        ResourceReport::new("role", role_name, Action::Deleted).arn(Some(&role.arn)),
    ))
}

async fn plan_role(
    lambda: &Lambda<'_>,
    settings: &Settings,
    role: Option<RemoteRole>,
    function: &str,
) -> Result<RolePlan> {
    let role_name = match &settings.role {
        RoleChoice::Existing(arn) => return Ok(RolePlan::Given(arn.clone())),
        RoleChoice::Managed(name) => name,
    };
    let Some(role) = role else {
        return Ok(RolePlan::Absent(role_name.clone()));
    };
    if !role.is_owned() {
        return Ok(RolePlan::Foreign(role));
    }
    let others: Vec<String> = role.users().into_iter().filter(|u| u != function).collect();
    let role_arn = role.arn.as_str();
    let checks = join_all(others.iter().map(|user| async move {
        let remote = lambda.get(user).await?;
        Ok::<_, anyhow::Error>(remote.is_some_and(|r| r.config.role() == Some(role_arn)))
    }))
    .await;
    let mut users = Vec::new();
    let mut stale = Vec::new();
    for (user, check) in others.into_iter().zip(checks) {
        if check? {
            users.push(user);
        } else {
            stale.push(user);
        }
    }
    Ok(if users.is_empty() {
        RolePlan::Delete(role)
    } else {
        RolePlan::Shared { role, users, stale }
    })
}

async fn apply_role(
    lambda: &Lambda<'_>,
    clients: &Clients,
    settings: &Settings,
    plan: RolePlan,
    dependents: &iam::Dependents,
    dry_run: bool,
) -> Result<ResourceReport> {
    let function = &settings.function_name;
    Ok(match plan {
        RolePlan::Given(arn) => ResourceReport::new("role", &arn, Action::Kept)
            .arn(Some(&arn))
            .note("given by --role-arn; not managed by lambda-rt"),
        RolePlan::Absent(name) => ResourceReport::new("role", name, Action::Absent),
        RolePlan::Foreign(role) => ResourceReport::new("role", &role.name, Action::Kept)
            .arn(Some(&role.arn))
            .note("not created by lambda-rt"),
        RolePlan::Shared { role, users, stale } => {
            if !dry_run {
                let mut gone = stale;
                if role.users().iter().any(|u| u == function) {
                    gone.push(function.clone());
                }
                iam::remove_users(&clients.iam, &role.name, &gone).await?;
                if let Some(report) = delete_if_last(lambda, clients, settings, &role.name).await? {
                    return Ok(report);
                }
            }
            let users: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
            ResourceReport::new("role", &role.name, Action::Kept)
                .arn(Some(&role.arn))
                .note(format!("still used by function {}", users.join(", ")))
        }
        RolePlan::Delete(role) => {
            if !dry_run {
                iam::delete_role(&clients.iam, &role.name, dependents).await?;
            }
            ResourceReport::new("role", &role.name, Action::Deleted).arn(Some(&role.arn))
        }
    })
}
