//! The function's CloudWatch log group, which Lambda creates on first run and never deletes
//! (`delete` removes it with a function of lambda-rt's, never with someone else's).

use anyhow::Result;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_sdk_cloudwatchlogs::Client;

use super::errors::{is_not_found, sdk_failure};
use super::pages::every_item;
use crate::output::{Action, ResourceReport};

/// The log group Lambda writes a function's logs to.
pub fn log_group_name(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
}

/// Deletes the function's log group; a missing group is reported as absent.
pub async fn delete_log_group(
    logs: &Client,
    function_name: &str,
    dry_run: bool,
) -> Result<ResourceReport> {
    let name = log_group_name(function_name);
    if dry_run {
        // Groups are listed by prefix (`/aws/lambda/f` also finds `/aws/lambda/f2`), page by page.
        let pages = logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .into_paginator()
            .items()
            .send();
        let exists = every_item(pages, format_args!("read log group `{name}`"))
            .await?
            .iter()
            .any(|group| group.log_group_name() == Some(name.as_str()));
        let action = if exists {
            Action::Deleted
        } else {
            Action::Absent
        };
        return Ok(ResourceReport::new("log group", name, action));
    }
    match logs.delete_log_group().log_group_name(&name).send().await {
        Ok(_) => Ok(ResourceReport::new("log group", name, Action::Deleted)),
        Err(e) if is_not_found(&e) => Ok(ResourceReport::new("log group", name, Action::Absent)),
        Err(e) => Err(sdk_failure(format_args!("delete log group `{name}`"), &e)),
    }
}

/// A page of log events.
pub struct EventPage {
    pub events: Vec<FilteredLogEvent>,
    pub next_token: Option<String>,
}

/// One FilterLogEvents call over the function's log group: events from `start_ms` on, matching
/// `pattern`; `None` when the log group does not exist (Lambda makes it at the first run).
pub async fn filter_events(
    logs: &Client,
    function_name: &str,
    start_ms: i64,
    pattern: Option<&str>,
    next_token: Option<String>,
) -> Result<Option<EventPage>> {
    let group = log_group_name(function_name);
    match logs
        .filter_log_events()
        .log_group_name(&group)
        .start_time(start_ms)
        .set_filter_pattern(pattern.map(str::to_string))
        .set_next_token(next_token)
        .send()
        .await
    {
        Ok(output) => Ok(Some(EventPage {
            events: output.events.unwrap_or_default(),
            next_token: output.next_token,
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(sdk_failure(format_args!("read the logs in `{group}`"), &e)),
    }
}
