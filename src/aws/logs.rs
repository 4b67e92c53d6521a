//! Reading the function's CloudWatch logs (`logs`, `invoke --log`) and the name of its log group;
//! the group itself is `log_group.rs`'s.

use anyhow::Result;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_sdk_cloudwatchlogs::Client;

use super::errors::{is_not_found, sdk_failure};

/// The log group Lambda writes a function's logs to.
pub fn log_group_name(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
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
