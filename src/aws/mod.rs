//! Talking to AWS: the clients (built once), how long lambda-rt waits and retries ([`Timing`],
//! [`poll`]), what an error means ([`errors`]), and what lambda-rt owns ([`owner`]). `aws/` is the
//! only place that calls `.send()`.

pub mod calls;
pub mod errors;
mod http;
pub mod iam;
pub mod lambda;
pub mod layer;
pub mod logs;
pub mod owner;
pub mod poll;
pub mod s3;
pub mod url;
pub mod versions;

use std::error::Error as StdError;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

pub use errors::{describe, is_transient, sdk_failure};
pub use poll::Poll;

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
        let read_timeout = settings.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT);
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
        let endpoint_url = settings
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        if let Some(client) = http::for_endpoint(endpoint_url.as_deref())? {
            loader = loader.http_client(client);
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
        errors::set_endpoint(errors::EndpointInfo {
            url: config.endpoint_url().map(str::to_string),
            region: region.clone(),
            max_attempts,
        });
        // A custom endpoint (an emulator, a VPC endpoint) rarely serves virtual-hosted buckets
        // (`bucket.host`), so address buckets by path there.
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(settings.endpoint_url.is_some())
            .interceptor(calls::CallLog)
            .build();
        let log = calls::CallLog;
        Ok(Clients {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&config)
                    .interceptor(log)
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&config)
                    .interceptor(log)
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(&config)
                    .interceptor(log)
                    .build(),
            ),
            region,
            max_attempts,
        })
    }
}

/// How lambda-rt waits for AWS; tests scale it down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Polling Lambda's State and LastUpdateStatus.
    pub state: Poll,
    /// Retrying a call while IAM has not propagated a new role to Lambda.
    pub iam_propagation: Poll,
    /// Retrying an Invoke that Lambda throttled (429).
    pub throttled: Poll,
    /// For a role older than the propagation bound that still cannot be assumed, the short bound
    /// it gets anyway (it is more likely wrong than new).
    pub old_role_grace: Duration,
    /// Conflicting writes (409: someone else's update in progress) tried again after waiting.
    pub conflict_attempts: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            state: Poll::STATE,
            iam_propagation: Poll::IAM_PROPAGATION,
            throttled: Poll::THROTTLED,
            old_role_grace: Duration::from_secs(10),
            conflict_attempts: 10,
        }
    }
}

impl Timing {
    /// Every duration divided by `factor` (tests).
    pub fn scaled_down(factor: u32) -> Timing {
        let default = Timing::default();
        Timing {
            state: default.state.scaled_down(factor),
            iam_propagation: default.iam_propagation.scaled_down(factor),
            throttled: default.throttled.scaled_down(factor),
            old_role_grace: default.old_role_grace / factor,
            conflict_attempts: default.conflict_attempts,
        }
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

/// The statement ids (`Sid`) of a resource policy document (a function's or a layer version's).
pub fn statement_ids(policy: &serde_json::Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .map(|statements| {
            statements
                .iter()
                .filter_map(|s| s["Sid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
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

    #[test]
    fn partitions() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
