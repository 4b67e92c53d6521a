//! What makes a function a scheduled job, converged by `create` and `update`, shown by `status`
//! and removed by `delete`: its schedules (aws/schedules.rs), the scheduler role they run as
//! (aws/scheduler_role.rs) and its asynchronous-invocation settings (aws/async_invoke.rs).
//!
//! [`read`] runs beside the function's own reads (no round trip added to a run); everything that
//! would refuse the run — a schedule or role of the project's name that someone else made — is
//! found there, before anything is written ([`refuse_foreign`]). The writes come after the
//! function's, since the schedules target it: the role first (a schedule names it), then the
//! schedules, and the role is deleted only after the last schedule that used it.

use anyhow::Result;
use futures_util::future::try_join_all;

use super::context::Context;
use crate::aws::async_invoke;
use crate::aws::clients::{partition, Clients};
use crate::aws::iam;
use crate::aws::scheduler_role::{self, SchedulerRole};
use crate::aws::schedules::{self, RemoteSchedule};
use crate::output::{Action, Change, ResourceReport};
use crate::schedule_expression::{self, Expression};
use crate::settings::{AsyncInvoke, Settings};

/// The job's resources as read.
#[derive(Debug, Clone, Default)]
pub struct JobsState {
    /// The schedules that target the function (ours and anyone's).
    pub schedules: Vec<RemoteSchedule>,
    pub role: Option<SchedulerRole>,
    /// `None` when the project does not manage them (not read then) or the function has none.
    pub async_invoke: Option<AsyncInvoke>,
}

/// Reads the function's schedules, then — when the project has schedules or lambda-rt made some
/// — the scheduler role, and the asynchronous settings when the project manages them.
pub async fn read(clients: &Clients, settings: &Settings) -> Result<JobsState> {
    let name = &settings.function_name;
    let async_invoke = async {
        match settings.async_invoke {
            Some(_) => async_invoke::read(&clients.lambda, name).await,
            None => Ok(None),
        }
    };
    let (schedules, async_invoke) = tokio::join!(read_schedules(clients, settings), async_invoke);
    let schedules = schedules?;
    let any_ours = schedules.iter().any(|s| s.is_ours(name));
    let role = if settings.schedules.is_empty() && !any_ours {
        None
    } else {
        scheduler_role::read(&clients.iam, &scheduler_role::role_name(name)).await?
    };
    Ok(JobsState {
        schedules,
        role,
        async_invoke: async_invoke?,
    })
}

/// The schedules; for a project without any, a caller not allowed to list schedules has made
/// none with lambda-rt either (lambda-rt lists before it writes), so that refusal reads as none.
async fn read_schedules(clients: &Clients, settings: &Settings) -> Result<Vec<RemoteSchedule>> {
    let name = &settings.function_name;
    match schedules::read(&clients.scheduler, name).await {
        Ok(found) => Ok(found),
        Err(error) if settings.schedules.is_empty() && is_access_denied(&error) => {
            tracing::debug!("not allowed to list schedules; taking it that there are none");
            Ok(Vec::new())
        }
        Err(error) => Err(error),
    }
}

fn is_access_denied(error: &anyhow::Error) -> bool {
    error.to_string().contains("AccessDenied")
}

/// Refuses the run, before anything is written, when a schedule or the scheduler role the
/// project needs is someone else's.
pub fn refuse_foreign(settings: &Settings, state: &JobsState) -> Result<()> {
    let name = &settings.function_name;
    schedules::refuse_foreign(name, &settings.schedules, &state.schedules)?;
    if !settings.schedules.is_empty() {
        scheduler_role::refuse_foreign(state.role.as_ref())?;
    }
    Ok(())
}

/// The function's ARN when it is not known yet (a dry run of `create`).
pub async fn function_arn_of(clients: &Clients, name: &str, known: Option<&str>) -> Result<String> {
    if let Some(arn) = known.filter(|arn| !arn.is_empty()) {
        return Ok(arn.to_string());
    }
    let account = clients.account_id().await?;
    Ok(format!(
        "arn:{}:lambda:{}:{account}:function:{name}",
        partition(&clients.region),
        clients.region
    ))
}

/// What differs from the project, as `status` shows it (and `update` would write).
pub fn drift(settings: &Settings, state: &JobsState, function_arn: &str) -> Vec<ResourceReport> {
    let name = &settings.function_name;
    let role_name = scheduler_role::role_name(name);
    let wanted = !settings.schedules.is_empty();
    let role_fixes = scheduler_role::plan(state.role.as_ref(), wanted, function_arn);
    let role_arn = role_arn_of(clients_free_role_arn(function_arn, &role_name), state);
    let mut reports: Vec<ResourceReport> = scheduler_role::report(&role_name, &role_fixes)
        .into_iter()
        .collect();
    let fixes = schedules::plan(
        name,
        &settings.schedules,
        &state.schedules,
        function_arn,
        &role_arn,
    );
    reports.extend(fixes.iter().map(|fix| fix.report(name)));
    let changes =
        async_invoke::differences(state.async_invoke.as_ref(), settings.async_invoke.as_ref());
    reports.extend(async_invoke::report(name, changes));
    reports
}

/// The role's ARN as read, else the one it will have (same account as the function).
fn role_arn_of(future: String, state: &JobsState) -> String {
    match &state.role {
        Some(role) if role.owned => role.arn.clone(),
        _ => future,
    }
}

fn clients_free_role_arn(function_arn: &str, role_name: &str) -> String {
    let partition = function_arn.split(':').nth(1).unwrap_or("aws");
    let account = scheduler_role::account_of(function_arn);
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// Brings the job's resources in line with the project, after the function's own writes;
/// returns their reports (each printed as it is known).
///
/// `function_arn` is `None` only in a dry run of `create` for a function that does not exist yet;
/// its ARN is then asked for only if there is something to show.
pub async fn converge(
    ctx: &Context,
    state: &JobsState,
    function_arn: Option<&str>,
    dry_run: bool,
) -> Result<Vec<ResourceReport>> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    let clients = ctx.clients().await?;
    let name = &settings.function_name;
    let idle = settings.schedules.is_empty()
        && state.schedules.iter().all(|s| !s.is_ours(name))
        && state.role.is_none()
        && settings.async_invoke.is_none();
    if idle {
        return Ok(Vec::new());
    }
    let function_arn = &function_arn_of(clients, name, function_arn).await?;
    let role_name = scheduler_role::role_name(name);
    let wanted = !settings.schedules.is_empty();
    let mut reports = Vec::new();
    let mut say = |report: ResourceReport| {
        ui.resource(&report, dry_run);
        reports.push(report);
    };

    // 1. The role, unless it is to go (that waits for the schedules that use it).
    let role_fixes = scheduler_role::plan(state.role.as_ref(), wanted, function_arn);
    let deleting_role = role_fixes.contains(&scheduler_role::Fix::Delete);
    let mut role_arn = role_arn_of(clients_free_role_arn(function_arn, &role_name), state);
    let role_is_new = role_fixes.contains(&scheduler_role::Fix::Create);
    if !deleting_role && !role_fixes.is_empty() {
        if !dry_run {
            let found = state.role.as_ref().map(|r| r.arn.as_str());
            role_arn = scheduler_role::apply(
                &clients.iam,
                &role_name,
                name,
                function_arn,
                found,
                &role_fixes,
            )
            .await?;
        }
        if let Some(report) = scheduler_role::report(&role_name, &role_fixes) {
            say(report.arn(Some(&role_arn)));
        }
    }

    // 2. The schedules. A role IAM has not propagated yet is refused by Scheduler for a while.
    let fixes = schedules::plan(
        name,
        &settings.schedules,
        &state.schedules,
        function_arn,
        &role_arn,
    );
    if !dry_run && !fixes.is_empty() {
        let young = role_is_new
            || state
                .role
                .as_ref()
                .is_some_and(|r| r.age < ctx.timing.iam_propagation.max_total);
        let retry = young.then_some(ctx.timing.iam_propagation);
        schedules::apply(
            &clients.scheduler,
            name,
            &fixes,
            function_arn,
            &role_arn,
            retry,
        )
        .await?;
    }
    for fix in &fixes {
        say(fix.report(name));
    }

    // 3. The role, once no schedule uses it.
    if deleting_role {
        if !dry_run {
            scheduler_role::apply(
                &clients.iam,
                &role_name,
                name,
                function_arn,
                None,
                &role_fixes,
            )
            .await?;
        }
        if let Some(report) = scheduler_role::report(&role_name, &role_fixes) {
            say(report);
        }
    }

    // 4. What Lambda does with a failed run.
    let changes =
        async_invoke::differences(state.async_invoke.as_ref(), settings.async_invoke.as_ref());
    if let (Some(wanted), false) = (&settings.async_invoke, changes.is_empty()) {
        if !dry_run {
            async_invoke::put(&ctx.lambda(clients), name, wanted).await?;
        }
        if let Some(report) = async_invoke::report(name, changes) {
            say(report);
        }
    }
    Ok(reports)
}

/// What `delete` removes, read in its first round: the schedules lambda-rt made for the function
/// and its scheduler role, if lambda-rt made it.
#[derive(Debug, Clone, Default)]
pub struct Leftovers {
    schedules: Vec<String>,
    role: Option<String>,
}

/// Reads what [`remove`] deletes. Someone else's schedules, even those that target the function,
/// are not in it.
pub async fn read_leftovers(clients: &Clients, name: &str) -> Result<Leftovers> {
    let role_name = scheduler_role::role_name(name);
    let (found, role) = tokio::join!(
        schedules::read(&clients.scheduler, name),
        scheduler_role::read(&clients.iam, &role_name)
    );
    let found = match found {
        Ok(found) => found,
        // Nobody who may not list schedules made any with lambda-rt (it lists before it writes).
        Err(error) if is_access_denied(&error) => Vec::new(),
        Err(error) => return Err(error),
    };
    Ok(Leftovers {
        schedules: found
            .into_iter()
            .filter(|s| s.is_ours(name))
            .map(|s| s.name)
            .collect(),
        role: role?.filter(|r| r.owned).map(|r| r.name),
    })
}

/// `delete`: the schedules and the scheduler role, all at once (IAM deletes a role that
/// schedules still name). The asynchronous settings go with the function.
pub async fn remove(
    clients: &Clients,
    leftovers: Leftovers,
    dry_run: bool,
) -> Result<Vec<ResourceReport>> {
    let schedules = try_join_all(leftovers.schedules.iter().map(|schedule| async move {
        if !dry_run {
            schedules::delete(&clients.scheduler, schedule).await?;
        }
        Ok::<_, anyhow::Error>(
            ResourceReport::new("schedule", schedule, Action::Deleted)
                .note("made by lambda-rt for this function"),
        )
    }));
    let role = async {
        let Some(role_name) = &leftovers.role else {
            return Ok(None);
        };
        if !dry_run {
            let dependents = iam::dependents(&clients.iam, role_name).await?;
            iam::delete_role(&clients.iam, role_name, &dependents).await?;
        }
        Ok::<_, anyhow::Error>(scheduler_role::report(
            role_name,
            &[scheduler_role::Fix::Delete],
        ))
    };
    let (mut reports, role) = tokio::try_join!(schedules, role)?;
    reports.extend(role);
    Ok(reports)
}

/// The drift [`drift`] finds, as `status` lists it: one line per difference, named after the
/// resource.
pub fn drift_changes(settings: &Settings, state: &JobsState, function_arn: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    for report in drift(settings, state, function_arn) {
        let label = format!("{} {}", report.kind, report.name);
        match report.action {
            Action::Created => changes.push(Change::named(format!(
                "{label}: missing (`lambda-rt update` makes it)"
            ))),
            Action::Deleted => changes.push(Change::named(format!(
                "{label}: not in the project (`lambda-rt update` deletes it)"
            ))),
            _ => changes.extend(report.changes.into_iter().map(|change| {
                Change::new(format!("{label}: {}", change.field), change.from, change.to)
            })),
        }
    }
    changes
}

/// A schedule as `status` shows it: its expression, time zone, state and next run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScheduleView {
    pub name: String,
    pub expression: String,
    pub timezone: String,
    pub enabled: bool,
    /// In the schedule's time zone, e.g. `2026-12-04 03:00 CET`; `None`: no run ahead.
    pub next_run: Option<String>,
    /// lambda-rt made it (else it is someone else's schedule that targets the function).
    pub managed: bool,
}

/// Every schedule that targets the function, lambda-rt's first, with its next run after `now`.
pub fn views(state: &JobsState, function: &str, now: jiff::Timestamp) -> Vec<ScheduleView> {
    let mut views: Vec<ScheduleView> = state
        .schedules
        .iter()
        .map(|schedule| ScheduleView {
            name: schedule.name.clone(),
            expression: schedule.expression.clone(),
            timezone: schedule.timezone.clone(),
            enabled: schedule.enabled,
            next_run: schedule.enabled.then(|| next_run(schedule, now)).flatten(),
            managed: schedule.is_ours(function),
        })
        .collect();
    views.sort_by_key(|v| (!v.managed, v.name.clone()));
    views
}

fn next_run(schedule: &RemoteSchedule, now: jiff::Timestamp) -> Option<String> {
    let expression = Expression::parse(&schedule.expression).ok()?;
    let zone = schedule_expression::time_zone(&schedule.timezone).ok()?;
    let since = schedule.created.unwrap_or(now);
    let next = expression.next_run(&zone, now, since)?;
    Some(next.strftime("%Y-%m-%d %H:%M %Z").to_string())
}
