//! Talking to AWS: building the clients once, turning SDK errors into readable messages with hints,
//! and the bounded retry/backoff helper. `aws/` is the only place that calls `.send()`.

pub mod iam;
pub mod lambda;
pub mod layer;
pub mod logs;
pub mod s3;

use std::error::Error as StdError;
use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::settings::AwsSettings;
use crate::UsageError;

/// How long to wait before giving up on a TCP connection to the endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of an API call may take, sending the request included (`--read-timeout`).
/// Generous because UpdateFunctionCode uploads up to 50 MB in its request.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts per API call for transient errors (`--max-attempts`); the SDK's standard retry mode
/// backs off exponentially with jitter between them.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The AWS clients every remote command shares, built once.
#[derive(Debug, Clone)]
pub struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// For `--s3-bucket` staging only.
    pub s3: aws_sdk_s3::Client,
    pub region: String,
    /// Attempts per API call, for the calls lambda-rt retries itself (see [`layer`]).
    pub max_attempts: u32,
}

impl Clients {
    /// Loads the standard AWS configuration (profiles, env, SSO, `AWS_ENDPOINT_URL`) with our
    /// overrides on top.
    pub async fn load(settings: &AwsSettings) -> Result<Self> {
        let max_attempts = settings.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        let read_timeout = settings
            .read_timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_READ_TIMEOUT);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(read_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts));
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            return Err(UsageError(
                "no AWS region is configured: pass --region, set AWS_REGION, or set `region` in \
                 lambda-rt.toml or in your AWS profile"
                    .into(),
            )
            .into());
        };
        // A custom endpoint (an emulator, a VPC endpoint) rarely serves virtual-hosted buckets
        // (`bucket.host`), so address buckets by path there.
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(settings.endpoint_url.is_some())
            .build();
        Ok(Clients {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            lambda: aws_sdk_lambda::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            region,
            max_attempts,
        })
    }
}

/// Bounded exponential backoff for retries and polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt.
    pub max_total: Duration,
}

impl Backoff {
    fn next_delay(&self, delay: Duration) -> Duration {
        (delay * 2).min(self.max_delay)
    }
}

/// The backoff policies lambda-rt uses; tests shrink them to milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// CreateFunction right after CreateRole fails until IAM has propagated the role (often
    /// 5-15 s, sometimes longer).
    pub iam_propagation: Backoff,
    /// A write while an update is in progress fails with ResourceConflictException.
    pub conflict: Backoff,
    /// Polling for State=Active and LastUpdateStatus=Successful.
    pub state_poll: Backoff,
}

impl Timing {
    /// A short bound for errors that are probably not transient (e.g. a role that was not created
    /// just now and still cannot be assumed).
    pub fn conflict_short(&self) -> Backoff {
        Backoff {
            max_total: self
                .conflict
                .max_total
                .min(std::time::Duration::from_secs(10)),
            ..self.conflict
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            iam_propagation: Backoff {
                initial: Duration::from_secs(1),
                max_delay: Duration::from_secs(8),
                max_total: Duration::from_secs(120),
            },
            conflict: Backoff {
                initial: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                max_total: Duration::from_secs(120),
            },
            state_poll: Backoff {
                initial: Duration::from_millis(250),
                max_delay: Duration::from_secs(5),
                max_total: Duration::from_secs(600),
            },
        }
    }
}

/// The last error of a retried call, and whether it was given up on because time ran out.
#[derive(Debug)]
pub struct Retried<E> {
    pub error: E,
    pub gave_up_after: Option<Duration>,
}

/// Calls `op` until it succeeds, fails with an error `retryable` rejects, or `backoff` runs out.
pub async fn retry<T, E, Fut>(
    backoff: Backoff,
    label: &str,
    retryable: impl Fn(&E) -> bool,
    mut op: impl FnMut() -> Fut,
) -> Result<T, Retried<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    let mut delay = backoff.initial;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) if retryable(&error) => {
                if start.elapsed() + delay > backoff.max_total {
                    return Err(Retried {
                        error,
                        gave_up_after: Some(start.elapsed()),
                    });
                }
                tracing::debug!("{label}: retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = backoff.next_delay(delay);
            }
            Err(error) => {
                return Err(Retried {
                    error,
                    gave_up_after: None,
                })
            }
        }
    }
}

/// Whether a failed call may succeed if tried again: no answer (connection, timeout), a server
/// error (5xx), or throttling. Whether such a call was *applied* is unknown.
pub fn is_transient<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            status >= 500
                || status == 429
                || matches!(
                    code,
                    "Throttling" | "ThrottlingException" | "TooManyRequestsException"
                )
        }
        _ => false,
    }
}

/// Runs a write that is *not* idempotent (each success mints something new) with the SDK's own
/// retries turned off by the caller: after a transient failure the request may have been applied
/// anyway (the answer was lost), so `applied` looks for its effect and returns it if it is there;
/// only otherwise is the write tried again, up to `max_attempts` attempts in all.
pub async fn write_once<T, E, Fut, Check>(
    max_attempts: u32,
    what: impl Display,
    mut op: impl FnMut() -> Fut,
    mut applied: impl FnMut() -> Check,
) -> Result<T>
where
    E: ProvideErrorMetadata + StdError + 'static,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    Check: Future<Output = Result<Option<T>>>,
{
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !is_transient(&error) || attempt >= max_attempts {
            let note = if attempt > 1 {
                format!(" (after {attempt} attempts)")
            } else {
                String::new()
            };
            return Err(sdk_failure(format_args!("{what}{note}"), &error));
        }
        tracing::debug!(
            "{what}: transient failure ({}); checking whether it was applied",
            describe(&error)
        );
        tokio::time::sleep(delay).await;
        if let Some(value) = applied().await? {
            return Ok(value);
        }
        delay = (delay * 2).min(Duration::from_secs(10));
        attempt += 1;
    }
}

/// `failed to <what>: <AWS code>: <message>` plus a hint where one exists.
pub fn sdk_failure<E, R>(what: impl Display, error: &SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    let detail = describe(error);
    let hint = hint_for(&detail);
    anyhow!("failed to {what}: {detail}{hint}")
}

/// A one-line description of an SDK error: the service's code and message, or the transport
/// problem with its causes, never the SDK's debug dump.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => source_chain(err),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_string(),
        SdkError::ResponseError(_) => format!(
            "the connection failed while reading the answer ({})",
            source_chain(error)
        ),
        SdkError::DispatchFailure(failure) => {
            let text = source_chain(error);
            if failure.is_timeout() {
                format!("the AWS endpoint did not answer in time ({text})")
            } else if failure.is_io() {
                format!("could not reach the AWS endpoint ({text})")
            } else if text.contains("credential") {
                // Signing failed before anything was sent: not a connection problem.
                format!("no AWS credentials were found ({text})")
            } else {
                format!("the connection to the AWS endpoint failed ({text})")
            }
        }
        _ => source_chain(error),
    }
}

fn source_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn hint_for(detail: &str) -> &'static str {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("credential") || lower.contains("identity") {
        "\nhint: configure AWS credentials (`aws configure`, `aws sso login`, AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, or --profile)"
    } else if lower.contains("timed out") || lower.contains("did not answer in time") {
        "\nhint: the endpoint did not answer in time, even after retrying: check the network and \
         --endpoint-url, or raise --read-timeout / --max-attempts; then run the command again (it \
         continues where this one stopped)"
    } else if lower.contains("could not reach") || lower.contains("the connection") {
        "\nhint: check the network, --endpoint-url / AWS_ENDPOINT_URL, and --region; then run the \
         command again (it continues where this one stopped)"
    } else if lower.contains("accessdenied") || lower.contains("not authorized") {
        "\nhint: the credentials in use lack a permission named above"
    } else {
        ""
    }
}

/// The AWS partition of a region, for building ARNs of AWS-managed policies.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retry_stops_at_the_bound_and_reports_it() {
        let backoff = Backoff {
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_total: Duration::from_millis(30),
        };
        let mut calls = 0;
        let result: Result<(), Retried<&str>> = retry(
            backoff,
            "test",
            |_| true,
            || {
                calls += 1;
                async { Err("busy") }
            },
        )
        .await;
        let err = result.unwrap_err();
        assert!(err.gave_up_after.is_some());
        assert!(calls > 2, "retried {calls} times");
    }

    #[tokio::test]
    async fn retry_does_not_retry_other_errors() {
        let mut calls = 0;
        let result: Result<(), Retried<&str>> = retry(
            Timing::default().conflict,
            "test",
            |e| *e == "busy",
            || {
                calls += 1;
                async { Err("fatal") }
            },
        )
        .await;
        assert!(result.unwrap_err().gave_up_after.is_none());
        assert_eq!(calls, 1);
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
