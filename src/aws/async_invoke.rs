//! The function's asynchronous-invocation settings (what Lambda does when a run that nobody waits
//! for fails — a scheduled run is one): retries, the age after which an event is dropped, and the
//! failure destination. Managed only when the project sets one of them; then the whole
//! configuration is the project's (PutFunctionEventInvokeConfig replaces it: a field the project
//! leaves out gets Lambda's default, 2 retries and 6 hours).

use anyhow::{anyhow, Result};
use aws_sdk_lambda::operation::put_function_event_invoke_config::PutFunctionEventInvokeConfigError;
use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
use aws_sdk_lambda::Client;

use super::errors::{is_not_found, sdk_failure};
use super::function_state::conflict_by_code;
use super::lambda::Lambda;
use crate::output::{Action, Change, ResourceReport};
use crate::settings::AsyncInvoke;

conflict_by_code!(PutFunctionEventInvokeConfigError);

/// Lambda's defaults, which a configuration without the field means.
pub const DEFAULT_RETRIES: i32 = 2;
pub const DEFAULT_MAX_AGE_SECONDS: i32 = 21_600;

/// The settings as Lambda holds them, `None` fields meaning Lambda's default.
pub async fn read(lambda: &Client, function: &str) -> Result<Option<AsyncInvoke>> {
    match lambda
        .get_function_event_invoke_config()
        .function_name(function)
        .send()
        .await
    {
        Ok(output) => Ok(Some(AsyncInvoke {
            max_retry_attempts: output.maximum_retry_attempts(),
            max_event_age_seconds: output.maximum_event_age_in_seconds(),
            on_failure: output
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(str::to_string),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(sdk_failure(
            format_args!("read the asynchronous-invocation settings of `{function}`"),
            &e,
        )),
    }
}

/// What differs between the function's settings (`found`) and the project's (`wanted`); empty
/// when nothing does, or when the project does not manage them.
pub fn differences(found: Option<&AsyncInvoke>, wanted: Option<&AsyncInvoke>) -> Vec<Change> {
    let Some(wanted) = wanted else {
        return Vec::new();
    };
    let found = found.cloned().unwrap_or_default();
    let mut changes = Vec::new();
    let number = |value: Option<i32>, default: i32| value.unwrap_or(default).to_string();
    let pairs = [
        (
            "max-retry-attempts",
            number(found.max_retry_attempts, DEFAULT_RETRIES),
            number(wanted.max_retry_attempts, DEFAULT_RETRIES),
        ),
        (
            "max-event-age",
            number(found.max_event_age_seconds, DEFAULT_MAX_AGE_SECONDS),
            number(wanted.max_event_age_seconds, DEFAULT_MAX_AGE_SECONDS),
        ),
        (
            "on-failure",
            found.on_failure.clone().unwrap_or_else(|| "none".into()),
            wanted.on_failure.clone().unwrap_or_else(|| "none".into()),
        ),
    ];
    for (field, from, to) in pairs {
        if from != to {
            changes.push(Change::new(field, Some(from), Some(to)));
        }
    }
    changes
}

/// The report of a change, `None` when there is none.
pub fn report(function: &str, changes: Vec<Change>) -> Option<ResourceReport> {
    (!changes.is_empty()).then(|| {
        ResourceReport::new("async invocation", function, Action::Updated).changes(changes)
    })
}

/// PutFunctionEventInvokeConfig with the project's settings, once the function takes writes
/// (a new function is Pending for a while; see [`Lambda::write_when_ready`]).
pub async fn put(lambda: &Lambda<'_>, function: &str, wanted: &AsyncInvoke) -> Result<()> {
    let destination = wanted.on_failure.as_ref().map(|arn| {
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(arn).build())
            .build()
    });
    let what = "set the asynchronous-invocation settings of function";
    let written = lambda
        .write_when_ready(function, what, |_| {
            lambda
                .client
                .put_function_event_invoke_config()
                .function_name(function)
                .set_maximum_retry_attempts(wanted.max_retry_attempts)
                .set_maximum_event_age_in_seconds(wanted.max_event_age_seconds)
                .set_destination_config(destination.clone())
                .send()
        })
        .await;
    match (written, &wanted.on_failure) {
        (Ok(_), _) => Ok(()),
        // Lambda delivers to the destination as the function's execution role.
        (Err(error), Some(arn)) => Err(anyhow!(
            "{error}\nhint: Lambda sends failed events to `{arn}` as the function's role, which \
             must be allowed to (sqs:SendMessage, sns:Publish, lambda:InvokeFunction or \
             events:PutEvents on it): add that with `policies` or `policy-file`"
        )),
        (Err(error), None) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managed_settings_differ_and_defaults_count_as_set() {
        let wanted = AsyncInvoke {
            max_retry_attempts: Some(0),
            max_event_age_seconds: None,
            on_failure: Some("arn:aws:sqs:eu-central-1:123456789012:failed".into()),
        };
        assert!(differences(None, None).is_empty());
        let changes = differences(None, Some(&wanted));
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["max-retry-attempts", "on-failure"]);
        assert!(differences(Some(&wanted), Some(&wanted)).is_empty());
        let defaults = AsyncInvoke {
            max_retry_attempts: Some(2),
            max_event_age_seconds: Some(21_600),
            on_failure: None,
        };
        assert!(differences(None, Some(&defaults)).is_empty());
    }
}
