//! Invoke, which is not idempotent: sent with the SDK's retries off and a read timeout of its
//! own, and sent again only when Lambda refused it without running the function.

use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{LogType, State};
use base64::Engine;
use tokio::time::Instant;

use super::clients::CONNECT_TIMEOUT;
use super::errors::{is_not_found, problem, refused_before_sending, sdk_failure, Problem};
use super::function_state::Status;
use super::lambda::Lambda;
use crate::error::InvokeOutcomeUnknown;
use crate::invocation::InvokeOutcome;

/// How long `invoke` waits for the function by default: Lambda's longest timeout (900 s) plus a
/// minute for a cold start and the transfer.
pub const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(960);

impl Lambda<'_> {
    /// Invokes the function synchronously, sending the event exactly once unless Lambda refused it
    /// without running the function. The happy path is one request, with no prior read.
    ///
    /// Sent again: a 409 (Pending, or Inactive — the first Invoke wakes an Inactive function and
    /// it goes Pending): the state is read and waited out, then the Invoke is sent once more; a 429
    /// (throttled) after a short pause; a connection that could not be opened. Never sent again: a
    /// timeout, a dropped connection or a 5xx, where the function may have run
    /// ([`InvokeOutcomeUnknown`]).
    pub async fn invoke(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        tail: bool,
        timeout: Duration,
        max_attempts: u32,
    ) -> Result<InvokeOutcome> {
        let mut rng = fastrand::Rng::new();
        let throttle_deadline = self.timing.throttled.deadline();
        let (mut conflicts, mut connects) = (0, 0);
        loop {
            let mut request = self
                .client
                .invoke()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_string))
                .payload(Blob::new(payload.to_vec()));
            if tail {
                request = request.log_type(LogType::Tail);
            }
            let result = request
                .customize()
                .config_override(invoke_config(timeout))
                .send()
                .await;
            let error = match result {
                Ok(output) => return Ok(outcome(output)),
                Err(error) => error,
            };
            let service = error.as_service_error();
            if is_not_found(&error) {
                if let Some(qualifier) = qualifier {
                    return Err(anyhow!(
                        "failed to invoke function `{name}`: it has no version or alias \
                         `{qualifier}` (see `lambda-rt versions`), or does not exist"
                    ));
                }
                return Err(anyhow!(
                    "failed to invoke function `{name}`: it does not exist; run `lambda-rt create` \
                     first (or check --function-name and --region)"
                ));
            }
            if service.is_some_and(is_not_ready) && conflicts < self.timing.conflict_attempts {
                // Lambda refused to run it (Pending, or Inactive and now waking up).
                conflicts += 1;
                let status = self.read_status(name).await?;
                let status = if status.state == Some(State::Inactive) {
                    // The refusal wakes it; the next read shows Pending.
                    Status {
                        state: Some(State::Pending),
                        ..status
                    }
                } else {
                    status
                };
                self.wait_ready(name, &status, false).await?;
                continue;
            }
            let retry_in = self.timing.throttled.next_interval(&mut rng);
            let throttled = service.is_some_and(|s| s.is_too_many_requests_exception());
            let refused_connect =
                problem(&error) == Problem::Connect && connects + 1 < max_attempts;
            if (throttled && Instant::now() + retry_in < throttle_deadline) || refused_connect {
                if refused_connect {
                    connects += 1;
                }
                tracing::debug!("invoke of `{name}` refused before running; sending again");
                tokio::time::sleep(retry_in).await;
                continue;
            }
            if refused_before_sending(&error) {
                return Err(sdk_failure(
                    format_args!("invoke function `{name}`"),
                    &error,
                ));
            }
            let timeout_hint = if problem(&error) == Problem::Timeout {
                format!(
                    "; no answer came within --invoke-timeout ({} s)",
                    timeout.as_secs_f64()
                )
            } else {
                String::new()
            };
            return Err(InvokeOutcomeUnknown {
                function: name.to_string(),
                detail: super::errors::describe(&error),
                timeout_hint,
            }
            .into());
        }
    }
}

/// Invoke's own client settings: no SDK retries (a retried Invoke runs the function again), and a
/// read timeout that follows how long a function may run, not the control plane's `--read-timeout`.
fn invoke_config(timeout: Duration) -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::default()
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(timeout)
                .build(),
        )
}

/// A refusal that means "not now": ResourceConflictException (Pending, Inactive) or
/// ResourceNotReadyException (Inactive function whose VPC connection is being restored).
fn is_not_ready(error: &InvokeError) -> bool {
    error.is_resource_conflict_exception() || error.is_resource_not_ready_exception()
}

fn outcome(output: aws_sdk_lambda::operation::invoke::InvokeOutput) -> InvokeOutcome {
    let log_tail = output.log_result().map(|encoded| {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|_| encoded.to_string())
    });
    InvokeOutcome {
        function_error: output.function_error().map(str::to_string),
        executed_version: output.executed_version().map(str::to_string),
        payload: output.payload.map(Blob::into_inner).unwrap_or_default(),
        log_tail,
    }
}
