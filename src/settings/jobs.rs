//! What a scheduled job adds to a project, from `lambda-rt.toml` only (a schedule is a table, not
//! a flag): `[schedules.<name>]` tables, and the asynchronous-invocation settings that decide what
//! happens when a run fails (`max-retry-attempts`, `max-event-age`, `on-failure`). Every value is
//! checked here, before anything is sent: a bad expression, time zone or payload is exit 2
//! naming the table and the problem.

use std::collections::BTreeMap;

use anyhow::Result;
use toml::Spanned;

use super::sources::{ConfigFile, Origin, ScheduleTable};
use crate::error::UsageError;
use crate::schedule_expression::{self, Expression};

/// A schedule of the project, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The table's name (`nightly`); the schedule in AWS is `<function>-<name>`.
    pub name: String,
    pub expression: String,
    /// An IANA name; `UTC` by default.
    pub timezone: String,
    /// The event the function receives (JSON text, `{}` by default).
    pub payload: String,
    pub enabled: bool,
}

impl Schedule {
    /// The schedule's name in EventBridge Scheduler.
    pub fn aws_name(&self, function: &str) -> String {
        format!("{function}-{}", self.name)
    }
}

/// What Lambda does with a failed asynchronous run (a schedule's runs are asynchronous):
/// `None` in a field leaves Lambda's default (2 retries, 6 hours, no destination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsyncInvoke {
    pub max_retry_attempts: Option<i32>,
    pub max_event_age_seconds: Option<i32>,
    /// The failure destination: an SQS queue, SNS topic, function or event bus ARN.
    pub on_failure: Option<String>,
}

/// The schedule name's limit in EventBridge Scheduler (1-64 of `[0-9a-zA-Z-_.]`).
const MAX_SCHEDULE_NAME: usize = 64;
/// The largest `Input` a schedule's target takes (Scheduler's model: 8192 characters).
const MAX_PAYLOAD: usize = 8192;

/// The project's schedules, sorted by name, checked.
pub fn schedules(
    file: &ConfigFile,
    tables: Option<&Spanned<BTreeMap<String, ScheduleTable>>>,
    function: &str,
) -> Result<Vec<Schedule>> {
    let Some(tables) = tables else {
        return Ok(Vec::new());
    };
    let mut schedules = Vec::new();
    for (name, table) in tables.get_ref() {
        let at = |span: std::ops::Range<usize>| file.origin(span);
        let origin = at(table.expression.span());
        let fail = |origin: &Origin, problem: String| -> anyhow::Error {
            UsageError(format!("[schedules.{name}] (at {origin}): {problem}")).into()
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            return Err(fail(
                &origin,
                "a schedule's name may hold only letters, digits, `-`, `_` and `.`; rename the \
                 table"
                    .into(),
            ));
        }
        let aws_name = format!("{function}-{name}");
        if aws_name.len() > MAX_SCHEDULE_NAME {
            return Err(fail(
                &origin,
                format!(
                    "its schedule would be named `{aws_name}` ({} characters), over EventBridge \
                     Scheduler's limit of {MAX_SCHEDULE_NAME}: shorten the table's name",
                    aws_name.len()
                ),
            ));
        }
        let expression = table.expression.get_ref().trim().to_string();
        Expression::parse(&expression).map_err(|problem| fail(&origin, problem))?;
        let timezone = match &table.timezone {
            Some(zone) => {
                schedule_expression::time_zone(zone.get_ref())
                    .map_err(|problem| fail(&at(zone.span()), problem))?;
                zone.get_ref().clone()
            }
            None => "UTC".to_string(),
        };
        let payload = match &table.payload {
            Some(payload) => {
                let text = payload.get_ref();
                let origin = at(payload.span());
                if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
                    return Err(fail(
                        &origin,
                        format!(
                            "the payload is not JSON ({e}): write the event as a JSON string, \
                             e.g. payload = '{{\"date\": \"yesterday\"}}'"
                        ),
                    ));
                }
                if text.chars().count() > MAX_PAYLOAD {
                    return Err(fail(
                        &origin,
                        format!(
                            "the payload is {} characters, over EventBridge Scheduler's limit \
                             of {MAX_PAYLOAD}: keep the event small and let the function read \
                             the rest (e.g. from S3)",
                            text.chars().count()
                        ),
                    ));
                }
                text.clone()
            }
            None => "{}".to_string(),
        };
        schedules.push(Schedule {
            name: name.clone(),
            expression,
            timezone,
            payload,
            enabled: table.enabled.unwrap_or(true),
        });
    }
    Ok(schedules)
}

/// `max-retry-attempts` (0-2), `max-event-age` (60-21600 seconds) and `on-failure` (an ARN of
/// a kind Lambda can deliver to), Lambda's limits for PutFunctionEventInvokeConfig. `None` when
/// the project sets none of them (lambda-rt then leaves the function's settings alone).
pub fn async_invoke(
    file: &ConfigFile,
    retries: Option<&Spanned<i64>>,
    max_age: Option<&Spanned<i64>>,
    on_failure: Option<&Spanned<String>>,
) -> Result<Option<AsyncInvoke>> {
    if retries.is_none() && max_age.is_none() && on_failure.is_none() {
        return Ok(None);
    }
    let bad = |origin: Origin, problem: &str| -> anyhow::Error {
        UsageError(format!("{problem} (from {origin})")).into()
    };
    if let Some(retries) = retries {
        if !(0..=2).contains(retries.get_ref()) {
            return Err(bad(
                file.origin(retries.span()),
                &format!(
                    "max-retry-attempts is {}; Lambda retries a failed asynchronous run 0, 1 or 2 \
                     times",
                    retries.get_ref()
                ),
            ));
        }
    }
    if let Some(age) = max_age {
        if !(60..=21_600).contains(age.get_ref()) {
            return Err(bad(
                file.origin(age.span()),
                &format!(
                    "max-event-age is {} seconds; Lambda keeps an event between 60 seconds and 6 \
                     hours (21600)",
                    age.get_ref()
                ),
            ));
        }
    }
    if let Some(arn) = on_failure {
        let kind_ok = destination_kind(arn.get_ref()).is_some();
        if !kind_ok {
            return Err(bad(
                file.origin(arn.span()),
                &format!(
                    "on-failure `{}` is not a failure destination Lambda takes: give the ARN of \
                     an SQS queue, an SNS topic, a Lambda function or an EventBridge event bus",
                    arn.get_ref()
                ),
            ));
        }
    }
    Ok(Some(AsyncInvoke {
        max_retry_attempts: retries.map(|r| *r.get_ref() as i32),
        max_event_age_seconds: max_age.map(|a| *a.get_ref() as i32),
        on_failure: on_failure.map(|a| a.get_ref().clone()),
    }))
}

/// What a failure destination is, from its ARN (`arn:<partition>:<service>:<region>:<account>:…`),
/// and the permission the function's role needs to deliver there.
pub fn destination_kind(arn: &str) -> Option<(&'static str, &'static str)> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, _partition, service, region, account, resource] = fields.as_slice() else {
        return None;
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if *prefix != "arn" || region.is_empty() || !account_ok || resource.is_empty() {
        return None;
    }
    match *service {
        "sqs" if !resource.contains(':') => Some(("SQS queue", "sqs:SendMessage")),
        "sns" if !resource.contains(':') => Some(("SNS topic", "sns:Publish")),
        "lambda" if resource.starts_with("function:") => {
            Some(("Lambda function", "lambda:InvokeFunction"))
        }
        "events" if resource.starts_with("event-bus/") => {
            Some(("EventBridge event bus", "events:PutEvents"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_recognised_by_their_arn() {
        let kind = |arn| destination_kind(arn).map(|(kind, _)| kind);
        assert_eq!(
            kind("arn:aws:sqs:eu-central-1:123456789012:failures"),
            Some("SQS queue")
        );
        assert_eq!(
            kind("arn:aws:sns:eu-central-1:123456789012:alerts"),
            Some("SNS topic")
        );
        assert_eq!(
            kind("arn:aws:lambda:eu-central-1:123456789012:function:on-fail"),
            Some("Lambda function")
        );
        assert_eq!(
            kind("arn:aws:events:eu-central-1:123456789012:event-bus/default"),
            Some("EventBridge event bus")
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:sqs:eu-central-1:1234:failures",
            "failures",
            "arn:aws:lambda:eu-central-1:123456789012:layer:x",
        ] {
            assert_eq!(kind(bad), None, "{bad}");
        }
    }
}
