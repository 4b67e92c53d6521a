//! The function's EventBridge Scheduler schedules: read, planned against the project's
//! `[schedules.<name>]` tables, and written.
//!
//! A schedule is `<function>-<name>` in the account's `default` group, targeting the function
//! (invoked asynchronously, with the table's payload as the event) through the scheduler role
//! ([`super::scheduler_role`]). Scheduler tags only schedule groups, never schedules (TagResource:
//! "You can only assign tags to schedule groups"), so — as with layer versions — ownership is
//! written in the description: a schedule is lambda-rt's when its description starts with
//! [`OWNER_MARK`] and it targets this function. Anything else, even a schedule of the same name
//! or one that targets this function, is someone else's and never changed or deleted.

use anyhow::Result;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Target};
use aws_sdk_scheduler::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures_util::future::{join_all, try_join_all};

use super::errors::{is_not_found, sdk_failure};
use super::pages::every_item;
use super::poll::{poll, Attempt, Poll};
use crate::error::ForeignResource;
use crate::output::{Action, Change, ResourceReport};
use crate::settings::Schedule;

/// How a schedule's description starts when lambda-rt made it.
pub const OWNER_MARK: &str = "managed by lambda-rt";

/// The description lambda-rt gives a schedule.
pub fn description(function: &str, schedule: &str) -> String {
    format!("{OWNER_MARK}: schedule `{schedule}` of function `{function}`")
}

/// A schedule as read with GetSchedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSchedule {
    pub name: String,
    pub expression: String,
    pub timezone: String,
    pub input: String,
    pub enabled: bool,
    pub target_arn: String,
    pub role_arn: String,
    pub description: String,
    /// When it was made (a rate schedule counts from then).
    pub created: Option<jiff::Timestamp>,
}

impl RemoteSchedule {
    /// Whether lambda-rt made it for `function`.
    pub fn is_ours(&self, function: &str) -> bool {
        self.description.starts_with(OWNER_MARK) && function_of(&self.target_arn) == function
    }
}

/// The function a target ARN names (`arn:…:function:name[:qualifier]` → `name`).
fn function_of(arn: &str) -> &str {
    arn.split(":function:")
        .nth(1)
        .map(|rest| rest.split(':').next().unwrap_or(rest))
        .unwrap_or_default()
}

/// The schedules that may be this function's: those named `<function>-…` in the default group
/// whose target is the function, read in full (every page of the list, then each at once).
pub async fn read(scheduler: &Client, function: &str) -> Result<Vec<RemoteSchedule>> {
    let prefix = format!("{function}-");
    let pages = scheduler
        .list_schedules()
        .group_name("default")
        .name_prefix(&prefix)
        .into_paginator()
        .items()
        .send();
    let listed = every_item(pages, format_args!("list the schedules of `{function}`")).await?;
    let names: Vec<String> = listed
        .iter()
        .filter(|s| {
            s.target()
                .is_some_and(|target| function_of(target.arn()) == function)
        })
        .filter_map(|s| s.name().map(str::to_string))
        .collect();
    let read = try_join_all(names.iter().map(|name| get(scheduler, name))).await?;
    Ok(read.into_iter().flatten().collect())
}

/// One schedule of the default group, `None` if it is gone.
async fn get(scheduler: &Client, name: &str) -> Result<Option<RemoteSchedule>> {
    let output = match scheduler
        .get_schedule()
        .group_name("default")
        .name(name)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(sdk_failure(format_args!("read schedule `{name}`"), &e)),
    };
    let target = output.target();
    Ok(Some(RemoteSchedule {
        name: name.to_string(),
        expression: output.schedule_expression().unwrap_or_default().to_string(),
        timezone: output
            .schedule_expression_timezone()
            .unwrap_or("UTC")
            .to_string(),
        input: target
            .and_then(|t| t.input())
            .unwrap_or_default()
            .to_string(),
        enabled: output.state() != Some(&ScheduleState::Disabled),
        target_arn: target.map(|t| t.arn().to_string()).unwrap_or_default(),
        role_arn: target.map(|t| t.role_arn().to_string()).unwrap_or_default(),
        description: output.description().unwrap_or_default().to_string(),
        created: output
            .creation_date()
            .and_then(|d| jiff::Timestamp::from_second(d.secs()).ok()),
    }))
}

/// One write that brings the schedules in line with the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    Create(Schedule),
    Update(Schedule, Vec<Change>),
    Delete(String),
}

impl Fix {
    /// How the write is reported (its resource line) or shown as drift.
    pub fn report(&self, function: &str) -> ResourceReport {
        match self {
            Fix::Create(schedule) => {
                ResourceReport::new("schedule", schedule.aws_name(function), Action::Created)
                    .changes(vec![Change::new(
                        "expression",
                        None,
                        Some(format!("{} ({})", schedule.expression, schedule.timezone)),
                    )])
            }
            Fix::Update(schedule, changes) => {
                ResourceReport::new("schedule", schedule.aws_name(function), Action::Updated)
                    .changes(changes.clone())
            }
            Fix::Delete(name) => ResourceReport::new("schedule", name, Action::Deleted)
                .note("its table is gone from lambda-rt.toml"),
        }
    }
}

/// Refuses, before anything is written, a project whose schedule name is taken by a schedule
/// lambda-rt did not make for this function.
pub fn refuse_foreign(
    function: &str,
    wanted: &[Schedule],
    remote: &[RemoteSchedule],
) -> Result<()> {
    for schedule in wanted {
        let name = schedule.aws_name(function);
        if let Some(theirs) = remote
            .iter()
            .find(|r| r.name == name && !r.is_ours(function))
        {
            return Err(ForeignResource(format!(
                "schedule `{name}` exists but was not made by lambda-rt for function `{function}` \
                 (its description does not start with \"{OWNER_MARK}\"; it targets `{}`), so \
                 lambda-rt will not change it; nothing was changed\nhint: rename \
                 [schedules.{}] in lambda-rt.toml, or delete that schedule if it is yours to \
                 delete",
                theirs.target_arn, schedule.name
            ))
            .into());
        }
    }
    Ok(())
}

/// What to write so that the function's schedules are exactly the project's: `remote` as read
/// (someone else's are left out of the plan), `function_arn` and `role_arn` the target's.
pub fn plan(
    function: &str,
    wanted: &[Schedule],
    remote: &[RemoteSchedule],
    function_arn: &str,
    role_arn: &str,
) -> Vec<Fix> {
    let ours: Vec<&RemoteSchedule> = remote.iter().filter(|r| r.is_ours(function)).collect();
    let mut fixes = Vec::new();
    for schedule in wanted {
        let name = schedule.aws_name(function);
        match ours.iter().find(|r| r.name == name) {
            None => fixes.push(Fix::Create(schedule.clone())),
            Some(found) => {
                let changes = differences(schedule, found, function_arn, role_arn);
                if !changes.is_empty() {
                    fixes.push(Fix::Update(schedule.clone(), changes));
                }
            }
        }
    }
    for found in ours {
        if !wanted.iter().any(|s| s.aws_name(function) == found.name) {
            fixes.push(Fix::Delete(found.name.clone()));
        }
    }
    fixes
}

fn differences(
    wanted: &Schedule,
    found: &RemoteSchedule,
    function_arn: &str,
    role_arn: &str,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut compare = |field: &str, from: &str, to: &str| {
        if from != to {
            changes.push(Change::new(field, Some(from.into()), Some(to.into())));
        }
    };
    compare("expression", &found.expression, &wanted.expression);
    compare("timezone", &found.timezone, &wanted.timezone);
    compare("payload", &found.input, &wanted.payload);
    let state = |enabled: bool| if enabled { "enabled" } else { "disabled" };
    compare("state", state(found.enabled), state(wanted.enabled));
    compare("target", &found.target_arn, function_arn);
    compare("role", &found.role_arn, role_arn);
    changes
}

/// Makes the writes, all at once, each to its end; the first failure is the error. With `retry`
/// (the role is new), a create or update that Scheduler refuses because it cannot assume the role
/// yet is tried again until IAM has propagated it.
pub async fn apply(
    scheduler: &Client,
    function: &str,
    fixes: &[Fix],
    function_arn: &str,
    role_arn: &str,
    retry: Option<Poll>,
) -> Result<()> {
    let results = join_all(fixes.iter().map(|fix| async move {
        let (verb, schedule) = match fix {
            Fix::Create(schedule) => ("create", schedule),
            Fix::Update(schedule, _) => ("update", schedule),
            Fix::Delete(name) => return delete(scheduler, name).await,
        };
        let write = |_| async move {
            let sent = match fix {
                Fix::Create(_) => create(scheduler, function, schedule, function_arn, role_arn)
                    .await
                    .map_err(|e| {
                        (
                            is_role_refused(&e),
                            describe_failure(verb, schedule, function, &e),
                        )
                    }),
                _ => update(scheduler, function, schedule, function_arn, role_arn)
                    .await
                    .map_err(|e| {
                        (
                            is_role_refused(&e),
                            describe_failure(verb, schedule, function, &e),
                        )
                    }),
            };
            match sent {
                Ok(()) => Attempt::Done(()),
                Err((true, error)) if retry.is_some() => Attempt::Again(error),
                Err((_, error)) => Attempt::Fail(error),
            }
        };
        let policy = retry.unwrap_or(Poll::IAM_PROPAGATION);
        poll(policy, policy.deadline(), false, write)
            .await
            .map_err(|gave_up| gave_up.error)
    }))
    .await;
    results.into_iter().collect()
}

fn describe_failure<E>(
    verb: &str,
    schedule: &Schedule,
    function: &str,
    error: &aws_sdk_scheduler::error::SdkError<E, HttpResponse>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let name = schedule.aws_name(function);
    sdk_failure(format_args!("{verb} schedule `{name}`"), error)
}

/// Scheduler's answer while it cannot assume the schedule's role yet (a new role IAM has not
/// propagated): 400 ValidationException "The execution role you provide must allow AWS
/// EventBridge Scheduler to assume the role." The API models no code of its own for it
/// (aws/aws-sdk-js-v3#6494 shows the message), so the message tells it from other validation
/// errors.
fn is_role_refused<E: ProvideErrorMetadata>(
    error: &aws_sdk_scheduler::error::SdkError<E, HttpResponse>,
) -> bool {
    error.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationException")
            && e.message().is_some_and(|m| m.contains("assume the role"))
    })
}

fn target(schedule: &Schedule, function_arn: &str, role_arn: &str) -> Target {
    Target::builder()
        .arn(function_arn)
        .role_arn(role_arn)
        .input(&schedule.payload)
        .build()
        .expect("arn and role are set")
}

fn state(schedule: &Schedule) -> ScheduleState {
    if schedule.enabled {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    }
}

/// Scheduler runs a schedule at the minute given unless told it may spread the runs.
fn exact_time() -> FlexibleTimeWindow {
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .expect("mode is set")
}

type WriteResult<E> = Result<(), aws_sdk_scheduler::error::SdkError<E, HttpResponse>>;

/// The whole schedule on a CreateSchedule or UpdateSchedule request (UpdateSchedule replaces the
/// schedule, so every field is sent again).
macro_rules! whole_schedule {
    ($request:expr, $function:expr, $schedule:expr, $function_arn:expr, $role_arn:expr) => {
        $request
            .name($schedule.aws_name($function))
            .group_name("default")
            .description(description($function, &$schedule.name))
            .schedule_expression(&$schedule.expression)
            .schedule_expression_timezone(&$schedule.timezone)
            .state(state($schedule))
            .flexible_time_window(exact_time())
            .target(target($schedule, $function_arn, $role_arn))
    };
}

async fn create(
    scheduler: &Client,
    function: &str,
    schedule: &Schedule,
    function_arn: &str,
    role_arn: &str,
) -> WriteResult<aws_sdk_scheduler::operation::create_schedule::CreateScheduleError> {
    let request = scheduler.create_schedule();
    whole_schedule!(request, function, schedule, function_arn, role_arn)
        .send()
        .await
        .map(drop)
}

async fn update(
    scheduler: &Client,
    function: &str,
    schedule: &Schedule,
    function_arn: &str,
    role_arn: &str,
) -> WriteResult<aws_sdk_scheduler::operation::update_schedule::UpdateScheduleError> {
    let request = scheduler.update_schedule();
    whole_schedule!(request, function, schedule, function_arn, role_arn)
        .send()
        .await
        .map(drop)
}

/// Deletes a schedule; one already gone counts as deleted.
pub async fn delete(scheduler: &Client, name: &str) -> Result<()> {
    match scheduler
        .delete_schedule()
        .group_name("default")
        .name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(sdk_failure(format_args!("delete schedule `{name}`"), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:eu-central-1:123456789012:function:job";
    const ROLE: &str = "arn:aws:iam::123456789012:role/job-scheduler";

    fn wanted(name: &str, expression: &str) -> Schedule {
        Schedule {
            name: name.into(),
            expression: expression.into(),
            timezone: "Europe/Berlin".into(),
            payload: "{}".into(),
            enabled: true,
        }
    }

    fn remote(schedule: &Schedule, description: &str, target: &str) -> RemoteSchedule {
        RemoteSchedule {
            name: schedule.aws_name("job"),
            expression: schedule.expression.clone(),
            timezone: schedule.timezone.clone(),
            input: schedule.payload.clone(),
            enabled: schedule.enabled,
            target_arn: target.into(),
            role_arn: ROLE.into(),
            description: description.into(),
            created: None,
        }
    }

    #[test]
    fn the_plan_creates_updates_and_deletes_only_ours() {
        let nightly = wanted("nightly", "cron(0 3 * * ? *)");
        let ours = description("job", "nightly");
        let same = remote(&nightly, &ours, ARN);
        assert!(plan(
            "job",
            std::slice::from_ref(&nightly),
            std::slice::from_ref(&same),
            ARN,
            ROLE
        )
        .is_empty());

        let moved = wanted("nightly", "cron(0 4 * * ? *)");
        let fixes = plan(
            "job",
            std::slice::from_ref(&moved),
            std::slice::from_ref(&same),
            ARN,
            ROLE,
        );
        assert_eq!(fixes.len(), 1);
        let Fix::Update(_, changes) = &fixes[0] else {
            panic!("{fixes:?}")
        };
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "expression");

        // Gone from the project: deleted; someone else's (no mark, or another target): untouched.
        let theirs = remote(&wanted("report", "rate(1 day)"), "nightly report", ARN);
        let other_function = remote(
            &wanted("weekly", "rate(7 days)"),
            &description("job-x", "weekly"),
            "arn:aws:lambda:eu-central-1:123456789012:function:job-x",
        );
        let fixes = plan("job", &[], &[same, theirs, other_function], ARN, ROLE);
        assert_eq!(fixes, vec![Fix::Delete("job-nightly".into())]);
    }

    #[test]
    fn a_name_taken_by_someone_elses_schedule_is_refused() {
        let nightly = wanted("nightly", "cron(0 3 * * ? *)");
        let theirs = remote(&nightly, "made in the console", ARN);
        let error = refuse_foreign("job", std::slice::from_ref(&nightly), &[theirs]).unwrap_err();
        assert!(
            error.to_string().contains("not made by lambda-rt"),
            "{error}"
        );
        let ours = remote(&nightly, &description("job", "nightly"), ARN);
        assert!(refuse_foreign("job", &[nightly], &[ours]).is_ok());
    }

    #[test]
    fn the_function_is_read_from_a_target_arn() {
        assert_eq!(function_of(ARN), "job");
        assert_eq!(function_of(&format!("{ARN}:live")), "job");
        assert_eq!(function_of("arn:aws:sqs:eu-central-1:1:q"), "");
    }
}
