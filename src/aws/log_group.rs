//! The function's log group, `/aws/lambda/<function>`. Lambda makes it at the first run and never
//! deletes it; lambda-rt makes it itself, tagged `managed-by=lambda-rt`, so that the tag — not the
//! function, which may already be gone after an interrupted `delete` — says whose it is, and so
//! that its retention is set before the first log line.
//!
//! `create` and `update` read the group with one DescribeLogGroups beside the function's own
//! reads. Its tags would take a second round trip (ListTagsForResource needs the ARN that call
//! answers), so they are not read there: a group of that name that already exists is where Lambda
//! writes the function's logs whoever made it, and goes with the function as it always did; only
//! `delete`, once the function is gone, reads the tag ([`is_tagged`]). Retention is managed only
//! when the project sets `log-retention-days` (0: forever, CloudWatch Logs' default).

use std::collections::HashMap;

use anyhow::Result;
use aws_sdk_cloudwatchlogs::Client;

use super::errors::{is_not_found, sdk_failure};
use super::logs::log_group_name;
use super::owner::{OWNER_TAG_KEY, OWNER_TAG_VALUE};
use super::pages::every_item;
use crate::output::{Action, Change, ResourceReport};

/// The log group as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    /// Without the `:*` suffix DescribeLogGroups' `arn` has (the form tagging takes).
    pub arn: String,
    /// `None`: events never expire.
    pub retention_days: Option<i32>,
}

/// One write that brings the group in line with the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// Make it, tagged (with the retention, if one is set).
    Create { retention_days: Option<i32> },
    /// Set (`Some`) or remove (`None`: forever) the retention.
    Retention { from: Option<i32>, to: Option<i32> },
}

impl Fix {
    pub fn change(&self) -> Change {
        let days = |d: &Option<i32>| Some(d.map_or("forever".into(), |d| format!("{d} days")));
        match self {
            Fix::Create { .. } => Change::named("missing (`lambda-rt update` makes it)"),
            Fix::Retention { from, to } => Change::new("retention", days(from), days(to)),
        }
    }
}

/// Reads the group of `function`; `None` when it does not exist.
pub async fn read(logs: &Client, function: &str) -> Result<Option<LogGroup>> {
    let name = log_group_name(function);
    // Groups are listed by prefix (`/aws/lambda/f` also finds `/aws/lambda/f2`), page by page.
    let pages = logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .into_paginator()
        .items()
        .send();
    let groups = every_item(pages, format_args!("read log group `{name}`")).await?;
    let Some(group) = groups
        .into_iter()
        .find(|g| g.log_group_name() == Some(name.as_str()))
    else {
        return Ok(None);
    };
    let arn = match (group.log_group_arn(), group.arn()) {
        (Some(arn), _) => arn.to_string(),
        (None, Some(arn)) => arn.trim_end_matches(":*").to_string(),
        (None, None) => return Ok(None),
    };
    Ok(Some(LogGroup {
        name,
        arn,
        retention_days: group.retention_in_days(),
    }))
}

/// Whether the group carries lambda-rt's tag, i.e. lambda-rt made it.
pub async fn is_tagged(logs: &Client, group: &LogGroup) -> Result<bool> {
    let name = &group.name;
    let tags = match logs
        .list_tags_for_resource()
        .resource_arn(&group.arn)
        .send()
        .await
    {
        Ok(output) => output.tags.unwrap_or_default(),
        // Deleted between the two reads: nothing of lambda-rt's left to find.
        Err(e) if is_not_found(&e) => return Ok(false),
        Err(e) => return Err(sdk_failure(format_args!("read the tags of `{name}`"), &e)),
    };
    Ok(tags.get(OWNER_TAG_KEY).map(String::as_str) == Some(OWNER_TAG_VALUE))
}

/// What to write so that the group keeps events as the project says (`retention`: `None` leaves
/// it; `Some(0)` means forever). A missing group is made by `create` (`make_if_missing`: also when
/// a run interrupted after CreateFunction left the function without it), or when the project sets
/// a retention; otherwise (`update` of a function made elsewhere) it is left for Lambda to make at
/// the first run, so that bringing in such a function writes nothing but its tag.
pub fn plan(found: Option<&LogGroup>, retention: Option<i32>, make_if_missing: bool) -> Vec<Fix> {
    let wanted = retention.map(|days| (days > 0).then_some(days));
    match found {
        None if !make_if_missing && retention.is_none() => Vec::new(),
        None => vec![Fix::Create {
            retention_days: wanted.flatten(),
        }],
        Some(group) => wanted
            .filter(|to| *to != group.retention_days)
            .map(|to| Fix::Retention {
                from: group.retention_days,
                to,
            })
            .into_iter()
            .collect(),
    }
}

/// Sends the fixes for the group of `function`. A group made by someone else between the read
/// and CreateLogGroup (Lambda's first run, another lambda-rt) is read again and planned anew.
pub async fn apply(
    logs: &Client,
    function: &str,
    fixes: &[Fix],
    retention: Option<i32>,
) -> Result<()> {
    let name = log_group_name(function);
    for fix in fixes {
        match *fix {
            Fix::Create { retention_days } => {
                let owner_tag =
                    HashMap::from([(OWNER_TAG_KEY.to_string(), OWNER_TAG_VALUE.to_string())]);
                let created = logs
                    .create_log_group()
                    .log_group_name(&name)
                    .set_tags(Some(owner_tag))
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_already_exists_exception()) =>
                    {
                        let Some(found) = read(logs, function).await? else {
                            return Err(sdk_failure(format_args!("create log group `{name}`"), &e));
                        };
                        let again = plan(Some(&found), retention, false);
                        return Box::pin(apply(logs, function, &again, retention)).await;
                    }
                    Err(e) => {
                        return Err(sdk_failure(format_args!("create log group `{name}`"), &e))
                    }
                }
                if let Some(days) = retention_days {
                    put_retention(logs, &name, days).await?;
                }
            }
            Fix::Retention { to: Some(days), .. } => put_retention(logs, &name, days).await?,
            Fix::Retention { to: None, .. } => {
                logs.delete_retention_policy()
                    .log_group_name(&name)
                    .send()
                    .await
                    .map_err(|e| {
                        sdk_failure(format_args!("remove the retention of `{name}`"), &e)
                    })?;
            }
        }
    }
    Ok(())
}

async fn put_retention(logs: &Client, name: &str, days: i32) -> Result<()> {
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("set the retention of `{name}`"), &e))?;
    Ok(())
}

/// Brings the group of `function` (a function of lambda-rt's; `found`: the group as read) in line
/// with the project (see [`plan`]); the report of what was (or, in a dry run, would be) done, or
/// `None` when there is no group and none is made.
pub async fn converge(
    logs: &Client,
    function: &str,
    found: Option<LogGroup>,
    retention: Option<i32>,
    make_if_missing: bool,
    dry_run: bool,
) -> Result<Option<ResourceReport>> {
    let fixes = plan(found.as_ref(), retention, make_if_missing);
    if found.is_none() && fixes.is_empty() {
        return Ok(None);
    }
    if !dry_run {
        apply(logs, function, &fixes, retention).await?;
    }
    let action = match (&found, fixes.is_empty()) {
        (None, _) => Action::Created,
        (Some(_), true) => Action::Unchanged,
        (Some(_), false) => Action::Updated,
    };
    let changes = match (&found, fixes.first()) {
        (None, Some(Fix::Create { retention_days })) => vec![Change::new(
            "retention",
            None,
            Some(retention_days.map_or("forever".into(), |d| format!("{d} days"))),
        )],
        _ => fixes.iter().map(Fix::change).collect(),
    };
    Ok(Some(
        ResourceReport::new("log group", log_group_name(function), action).changes(changes),
    ))
}

/// Deletes the group of `function` (a dry run only reads whether it is there); a missing group
/// is reported as absent.
pub async fn delete(logs: &Client, function: &str, dry_run: bool) -> Result<ResourceReport> {
    let name = log_group_name(function);
    if dry_run {
        let action = match read(logs, function).await? {
            Some(_) => Action::Deleted,
            None => Action::Absent,
        };
        return Ok(ResourceReport::new("log group", name, action));
    }
    match logs.delete_log_group().log_group_name(&name).send().await {
        Ok(_) => Ok(ResourceReport::new("log group", name, Action::Deleted)),
        Err(e) if is_not_found(&e) => Ok(ResourceReport::new("log group", name, Action::Absent)),
        Err(e) => Err(sdk_failure(format_args!("delete log group `{name}`"), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(retention_days: Option<i32>) -> LogGroup {
        LogGroup {
            name: "/aws/lambda/f".into(),
            arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f".into(),
            retention_days,
        }
    }

    #[test]
    fn a_missing_group_is_made_with_the_retention_asked_for() {
        let create = |retention_days| vec![Fix::Create { retention_days }];
        assert_eq!(plan(None, Some(14), false), create(Some(14)));
        assert_eq!(plan(None, Some(0), false), create(None));
        assert_eq!(plan(None, None, true), create(None));
        // An existing function's missing group, with no retention to set: Lambda makes it.
        assert!(plan(None, None, false).is_empty());
    }

    #[test]
    fn retention_is_converged_only_when_the_project_sets_it() {
        assert!(plan(Some(&group(Some(30))), None, false).is_empty());
        assert!(plan(Some(&group(Some(14))), Some(14), false).is_empty());
        assert!(plan(Some(&group(None)), Some(0), false).is_empty());
        let retention = |from, to| vec![Fix::Retention { from, to }];
        assert_eq!(
            plan(Some(&group(Some(30))), Some(14), false),
            retention(Some(30), Some(14))
        );
        assert_eq!(
            plan(Some(&group(Some(30))), Some(0), false),
            retention(Some(30), None)
        );
        assert_eq!(
            plan(Some(&group(None)), Some(7), false),
            retention(None, Some(7))
        );
    }
}
