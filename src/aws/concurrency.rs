//! The function's reserved concurrency: how many of the account's concurrent executions are kept
//! for it (and the most it may run at once; 0 stops it). GetFunction reports it beside the
//! configuration, so reading it costs nothing extra; PutFunctionConcurrency sets it and
//! DeleteFunctionConcurrency removes it, written like anything else hanging off the function
//! ([`Lambda::write_when_ready`]: a Pending or updating function is waited for).

use anyhow::Result;
use aws_sdk_lambda::operation::delete_function_concurrency::DeleteFunctionConcurrencyError;
use aws_sdk_lambda::operation::put_function_concurrency::PutFunctionConcurrencyError;

use super::function_state::conflict_by_code;
use super::lambda::Lambda;
use crate::output::{Action, Change, ResourceReport};

conflict_by_code!(PutFunctionConcurrencyError, DeleteFunctionConcurrencyError);

/// How a reserved concurrency reads in a report.
fn label(reserved: Option<i32>) -> String {
    reserved.map_or("none".into(), |n| n.to_string())
}

/// The change to make, if any: `wanted` is the project's setting (`None`: not managed;
/// `Some(None)`: no reservation), `remote` what the function has.
pub fn plan(remote: Option<i32>, wanted: Option<Option<i32>>) -> Option<Change> {
    let wanted = wanted?;
    (wanted != remote).then(|| {
        Change::new(
            "reserved concurrency",
            Some(label(remote)),
            Some(label(wanted)),
        )
    })
}

/// Brings the reserved concurrency of function `name` to `wanted` (see [`plan`]); `None` when
/// there is nothing to report.
pub async fn converge(
    lambda: &Lambda<'_>,
    name: &str,
    remote: Option<i32>,
    wanted: Option<Option<i32>>,
    dry_run: bool,
) -> Result<Option<ResourceReport>> {
    let Some(change) = plan(remote, wanted) else {
        return Ok(None);
    };
    if !dry_run {
        match wanted.flatten() {
            Some(count) => {
                lambda
                    .write_when_ready(name, "set the reserved concurrency of function", |_| {
                        lambda
                            .client
                            .put_function_concurrency()
                            .function_name(name)
                            .reserved_concurrent_executions(count)
                            .send()
                    })
                    .await?;
            }
            None => {
                lambda
                    .write_when_ready(name, "remove the reserved concurrency of function", |_| {
                        lambda
                            .client
                            .delete_function_concurrency()
                            .function_name(name)
                            .send()
                    })
                    .await?;
            }
        }
    }
    Ok(Some(
        ResourceReport::new("concurrency", name, Action::Updated).changes(vec![change]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_managed_and_different_value_is_a_change() {
        assert_eq!(plan(Some(5), None), None);
        assert_eq!(plan(Some(5), Some(Some(5))), None);
        assert_eq!(plan(None, Some(None)), None);
        let change = plan(None, Some(Some(5))).unwrap();
        assert_eq!(change.to_string(), "reserved concurrency none → 5");
        let change = plan(Some(5), Some(None)).unwrap();
        assert_eq!(change.to_string(), "reserved concurrency 5 → none");
        assert!(plan(Some(5), Some(Some(0))).is_some());
    }
}
