//! What makes a function a scheduled job, converged by `create` and `update`, shown by `status`
//! and removed by `delete`: its schedules (aws/schedules.rs), the scheduler role they run as
//! (aws/scheduler_role.rs) and its asynchronous-invocation settings (aws/async_invoke.rs).
//!
//! [`read`] runs beside the function's own reads, in two round trips (ListSchedules, then each
//! schedule of the function's with the scheduler role); everything that would refuse the run — a schedule or role of the project's name that someone else made — is
//! found there, before anything is written ([`refuse_foreign`]). The writes come after the
//! function's, since the schedules target it: the role first (a schedule names it), then the
//! schedules, and the role is deleted only after the last schedule that used it.

use std::collections::HashMap;

use anyhow::Result;
use futures_util::future::try_join_all;

use super::context::Context;
use crate::aws::async_invoke;
use crate::aws::clients::{partition, Clients};
use crate::aws::function_tags::{self, TagPlan};
use crate::aws::iam;
use crate::aws::owner;
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

/// Reads the asynchronous settings (when the project manages them) and, with `schedules`, the
/// function's schedules and the scheduler role (at once when the project has schedules; after the
/// list when only lambda-rt's schedules still need it), all at once.
async fn read(clients: &Clients, settings: &Settings, schedules: bool) -> Result<JobsState> {
    let name = &settings.function_name;
    let async_invoke = async {
        match settings.async_invoke {
            Some(_) => async_invoke::read(&clients.lambda, name).await,
            None => Ok(None),
        }
    };
    let schedules_and_role = async {
        match schedules {
            true => read_schedules_and_role(clients, settings).await,
            false => Ok((Vec::new(), None)),
        }
    };
    let (async_invoke, schedules_and_role) = tokio::join!(async_invoke, schedules_and_role);
    let (schedules, role) = schedules_and_role?;
    Ok(JobsState {
        schedules,
        role,
        async_invoke: async_invoke?,
    })
}

async fn read_schedules_and_role(
    clients: &Clients,
    settings: &Settings,
) -> Result<(Vec<RemoteSchedule>, Option<SchedulerRole>)> {
    let name = &settings.function_name;
    let role_name = scheduler_role::role_name(name);
    let role_wanted = !settings.schedules.is_empty();
    let role = async {
        match role_wanted {
            true => scheduler_role::read(&clients.iam, &role_name).await,
            false => Ok(None),
        }
    };
    let (schedules, role) = tokio::join!(read_schedules(clients, settings), role);
    let schedules = schedules?;
    let role = match role? {
        None if !role_wanted && schedules.iter().any(|s| s.is_ours(name)) => {
            scheduler_role::read(&clients.iam, &role_name).await?
        }
        role => role,
    };
    Ok((schedules, role))
}

/// What [`read_early`] read beside the function: the job's resources, and whether the schedules
/// were among them.
pub struct EarlyRead {
    state: JobsState,
    schedules_read: bool,
}

/// The job's resources read beside the function: the schedules when the project has some, the
/// asynchronous settings when it manages them; `None` when it does neither (see [`read_late`]).
pub async fn read_early(clients: &Clients, settings: &Settings) -> Result<Option<EarlyRead>> {
    let schedules = !settings.schedules.is_empty();
    if !schedules && settings.async_invoke.is_none() {
        return Ok(None);
    }
    let state = read(clients, settings, schedules).await?;
    Ok(Some(EarlyRead {
        state,
        schedules_read: schedules,
    }))
}

/// The job's resources once the function is read: what was read early, and — for a project without
/// schedules — the schedules only when the function's tags say lambda-rt made some for it
/// ([`owner::SCHEDULES_TAG_KEY`]): a no-op of a project without schedules asks Scheduler nothing.
pub async fn read_late(
    clients: &Clients,
    settings: &Settings,
    early: Option<EarlyRead>,
    function_tags: Option<&HashMap<String, String>>,
) -> Result<JobsState> {
    let marked = function_tags.is_some_and(marked);
    match early {
        Some(early) if early.schedules_read || !marked => Ok(early.state),
        Some(early) => {
            let (schedules, role) = read_schedules_and_role(clients, settings).await?;
            Ok(JobsState {
                schedules,
                role,
                ..early.state
            })
        }
        None if marked => read(clients, settings, true).await,
        None => Ok(JobsState::default()),
    }
}

/// Whether a function's tags say lambda-rt may have made schedules for it.
pub fn marked(tags: &HashMap<String, String>) -> bool {
    tags.get(owner::SCHEDULES_TAG_KEY)
        .is_some_and(|v| v == owner::SCHEDULES_TAG_VALUE)
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

/// Whether a failed read was refused for want of permission ([`crate::aws::errors::sdk_failure`]'s
/// message carries the service's error code).
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
pub fn drift(
    settings: &Settings,
    state: &JobsState,
    function_arn: &str,
    marked: bool,
) -> Vec<ResourceReport> {
    let name = &settings.function_name;
    let role_name = scheduler_role::role_name(name);
    let wanted = !settings.schedules.is_empty();
    let tag = owner::SCHEDULES_TAG_KEY;
    let mark = match (wanted, marked) {
        (true, false) => Some(Change::new(format!("tag {tag}"), None, Some("yes".into()))),
        (false, true) => Some(Change::new(format!("tag {tag}"), Some("yes".into()), None)),
        _ => None,
    };
    let role_fixes = scheduler_role::plan(state.role.as_ref(), wanted, function_arn);
    let role_arn = role_arn_of(future_role_arn(function_arn, &role_name), state);
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
    reports.extend(
        mark.map(|change| ResourceReport::new("tags", name, Action::Updated).changes(vec![change])),
    );
    reports
}

/// The role's ARN as read, else the one it will have (same account as the function).
fn role_arn_of(future: String, state: &JobsState) -> String {
    match &state.role {
        Some(role) if role.owned => role.arn.clone(),
        _ => future,
    }
}

/// The scheduler role's ARN, in the function's account and partition.
fn future_role_arn(function_arn: &str, role_name: &str) -> String {
    let partition = function_arn.split(':').nth(1).unwrap_or("aws");
    let account = scheduler_role::account_of(function_arn);
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// Brings the job's resources in line with the project, after the function's own writes;
/// returns their reports (each printed as it is known).
///
/// `function_arn` is `None` only in a dry run of `create` for a function that does not exist yet;
/// its ARN is then asked for only if there is something to show. `marked`: the function carries
/// [`owner::SCHEDULES_TAG_KEY`]; it is tagged before the first schedule is made and untagged after
/// the last one and the role are gone.
pub async fn converge(
    ctx: &Context,
    state: &JobsState,
    function_arn: Option<&str>,
    marked: bool,
    dry_run: bool,
) -> Result<Vec<ResourceReport>> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    let clients = ctx.clients().await?;
    let name = &settings.function_name;
    let idle = settings.schedules.is_empty()
        && !marked
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

    // 0. The mark that this function has schedules of lambda-rt's, before the first is made.
    let lambda = ctx.lambda(clients);
    let mark = |set: bool| {
        let mut plan = TagPlan::default();
        let key = owner::SCHEDULES_TAG_KEY.to_string();
        match set {
            true => {
                plan.set.insert(key, owner::SCHEDULES_TAG_VALUE.to_string());
            }
            false => plan.remove.push(key),
        }
        plan
    };
    if wanted && !marked {
        let plan = mark(true);
        if !dry_run {
            function_tags::apply(&lambda, name, function_arn, &plan).await?;
        }
        say(ResourceReport::new("tags", name, Action::Updated)
            .changes(plan.changes(&HashMap::new())));
    }

    // 1. The role, unless it is to go (that waits for the schedules that use it).
    let role_fixes = scheduler_role::plan(state.role.as_ref(), wanted, function_arn);
    let deleting_role = role_fixes.contains(&scheduler_role::Fix::Delete);
    let mut role_arn = role_arn_of(future_role_arn(function_arn, &role_name), state);
    let role_is_new = role_fixes.contains(&scheduler_role::Fix::Create);
    let fix_role = |found| {
        let (iam, role_name, fixes) = (&clients.iam, &role_name, &role_fixes);
        scheduler_role::apply(iam, role_name, name, function_arn, found, fixes)
    };
    if !deleting_role && !role_fixes.is_empty() {
        if !dry_run {
            let found = state.role.as_ref().map(|r| r.arn.as_str());
            role_arn = fix_role(found).await?;
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
            fix_role(None).await?;
        }
        if let Some(report) = scheduler_role::report(&role_name, &role_fixes) {
            say(report);
        }
    }

    // 4. The mark goes once nothing it stood for is left.
    if !wanted && marked {
        let plan = mark(false);
        if !dry_run {
            function_tags::apply(&lambda, name, function_arn, &plan).await?;
        }
        let tags = HashMap::from([(
            owner::SCHEDULES_TAG_KEY.to_string(),
            owner::SCHEDULES_TAG_VALUE.to_string(),
        )]);
        say(ResourceReport::new("tags", name, Action::Updated).changes(plan.changes(&tags)));
    }

    // 5. What Lambda does with a failed run.
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

/// Reads what [`remove`] deletes, after the function (`function_tags`: `None` when it is gone):
/// nothing at all for a function without the schedules mark; for one that is gone, the list, in
/// case an interrupted `delete` left schedules or the role behind. Someone else's schedules, even
/// those that target the function, are not in it.
pub async fn read_leftovers(
    clients: &Clients,
    name: &str,
    function_tags: Option<&HashMap<String, String>>,
) -> Result<Leftovers> {
    if function_tags.is_some_and(|tags| !marked(tags)) {
        return Ok(Leftovers::default());
    }
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
pub fn drift_changes(
    settings: &Settings,
    state: &JobsState,
    function_arn: &str,
    marked: bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for report in drift(settings, state, function_arn, marked) {
        let label = format!("{} {}", report.kind, report.name);
        match report.action {
            Action::Created => changes.push(Change::named(format!(
                "{label}: missing (`lambda-rt update` makes it)"
            ))),
            Action::Deleted => {
                let why = report
                    .note
                    .clone()
                    .or_else(|| report.changes.first().map(|c| c.field.clone()))
                    .unwrap_or_else(|| "not in the project".into());
                changes.push(Change::named(format!(
                    "{label}: {why} (`lambda-rt update` deletes it)"
                )))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Schedule;

    const ARN: &str = "arn:aws:lambda:eu-central-1:123456789012:function:job";

    fn project(schedules: Vec<Schedule>) -> Settings {
        let dir = crate::settings::bash_project();
        let mut settings =
            crate::settings::with_config_file(dir.path(), "function-name = \"job\"\n");
        settings.schedules = schedules;
        settings
    }

    fn nightly(expression: &str) -> Schedule {
        Schedule {
            name: "nightly".into(),
            expression: expression.into(),
            timezone: "Europe/Berlin".into(),
            payload: "{}".into(),
            enabled: true,
        }
    }

    fn remote(name: &str, description: &str, enabled: bool) -> RemoteSchedule {
        RemoteSchedule {
            name: name.into(),
            expression: "cron(0 3 * * ? *)".into(),
            timezone: "Europe/Berlin".into(),
            input: "{}".into(),
            enabled,
            target_arn: ARN.into(),
            role_arn: "arn:aws:iam::123456789012:role/job-scheduler".into(),
            description: description.into(),
            created: None,
        }
    }

    #[test]
    fn status_lists_ours_first_with_the_next_run_in_their_zone() {
        let state = JobsState {
            schedules: vec![
                remote("job-a-theirs", "made by hand", true),
                remote(
                    "job-nightly",
                    &schedules::description("job", "nightly"),
                    true,
                ),
                remote("job-off", &schedules::description("job", "off"), false),
            ],
            ..Default::default()
        };
        let now: jiff::Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let views = views(&state, "job", now);
        let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["job-nightly", "job-off", "job-a-theirs"]);
        assert_eq!(views[0].next_run.as_deref(), Some("2026-12-04 03:00 CET"));
        assert!(views[0].managed && !views[2].managed);
        assert_eq!(
            views[1].next_run, None,
            "a disabled schedule has no next run"
        );
    }

    #[test]
    fn drift_names_each_difference_as_update_would_write_it() {
        let ours = remote(
            "job-nightly",
            &schedules::description("job", "nightly"),
            true,
        );
        let role = SchedulerRole {
            name: "job-scheduler".into(),
            arn: "arn:aws:iam::123456789012:role/job-scheduler".into(),
            owned: true,
            trust: Some(scheduler_role::trust_policy("123456789012")),
            invoke: Some(scheduler_role::invoke_policy(ARN)),
            age: Default::default(),
        };
        let state = JobsState {
            schedules: vec![ours],
            role: Some(role),
            async_invoke: None,
        };
        let in_sync = project(vec![nightly("cron(0 3 * * ? *)")]);
        assert!(drift_changes(&in_sync, &state, ARN, true).is_empty());

        let moved = project(vec![nightly("cron(0 4 * * ? *)")]);
        let lines: Vec<String> = drift_changes(&moved, &state, ARN, true)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            ["schedule job-nightly: expression cron(0 3 * * ? *) → cron(0 4 * * ? *)"]
        );

        // Gone from the project: the schedule, the role and the mark would go.
        let none = project(vec![]);
        let lines: Vec<String> = drift_changes(&none, &state, ARN, true)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("scheduler role job-scheduler: no schedule left"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("schedule job-nightly: its table is gone"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("tags job: tag lambda-rt:schedules"),
            "{lines:?}"
        );
        // Nothing of lambda-rt's and no mark: nothing to say.
        assert!(drift_changes(&none, &JobsState::default(), ARN, false).is_empty());
    }

    #[test]
    fn only_the_mark_with_its_value_counts() {
        let tag =
            |value: &str| HashMap::from([("lambda-rt:schedules".to_string(), value.to_string())]);
        assert!(marked(&tag("yes")));
        assert!(!marked(&tag("no")));
        assert!(!marked(&HashMap::new()));
    }
}
