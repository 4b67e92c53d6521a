//! The AWS clients every remote command shares, built once from the standard AWS configuration
//! (profiles, environment, SSO, `AWS_ENDPOINT_URL`) with lambda-rt's timeouts and retries on top.

use std::time::Duration;

use anyhow::Result;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use super::{calls, errors, http};
use crate::error::UsageError;
use crate::settings::AwsSettings;

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
