//! The AWS clients every remote command shares, built once from the standard AWS configuration
//! (profiles, environment, SSO, `AWS_ENDPOINT_URL`) with lambda-rt's timeouts and retries on top,
//! and Lambda's requests paced within its control-plane quota ([`pace`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::EnvConfigFiles;

use super::{calls, errors, http, pace};
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
    /// For the caller's account (staging's ExpectedBucketOwner) only.
    pub sts: aws_sdk_sts::Client,
    /// For `[schedules]` (EventBridge Scheduler).
    pub scheduler: aws_sdk_scheduler::Client,
    account: std::sync::Arc<tokio::sync::OnceCell<String>>,
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
        let named = named_profile(settings);
        if let Some(profile) = &named {
            require_profile(profile).await?;
        }
        if let Some(profile) = &settings.profile {
            // A profile the user names for lambda-rt (`--profile`, `LAMBDA_RT_PROFILE`, the
            // project's `profile`) wins over credentials in the environment, as `aws --profile`
            // does: otherwise stray `AWS_ACCESS_KEY_ID`s would silently act on another account.
            // `AWS_PROFILE` keeps the SDK's order (environment keys first), as everywhere else.
            loader = loader.profile_name(profile).credentials_provider(
                ProfileFileCredentialsProvider::builder()
                    .profile_name(profile)
                    .build(),
            );
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
        let plain_http = http::for_endpoint(endpoint_url.as_deref())?;
        if let Some(client) = &plain_http {
            loader = loader.http_client(client.clone());
        }
        let config = loader.load().await;
        // Every Lambda request of the run, whichever function it is for, in one pace.
        let lambda_http = pace::paced(
            plain_http.unwrap_or_else(http::for_aws),
            Arc::new(pace::Pace::lambda_control_plane()),
        );
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
            profile: settings.profile.clone(),
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
                    .http_client(lambda_http)
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
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&config)
                    .interceptor(log)
                    .build(),
            ),
            scheduler: aws_sdk_scheduler::Client::from_conf(
                aws_sdk_scheduler::config::Builder::from(&config)
                    .interceptor(log)
                    .build(),
            ),
            account: Default::default(),
            region,
            max_attempts,
        })
    }

    /// The account the credentials belong to (STS GetCallerIdentity, asked once per run).
    pub async fn account_id(&self) -> Result<&str> {
        let account = self
            .account
            .get_or_try_init(|| async {
                let identity = self.sts.get_caller_identity().send().await.map_err(|e| {
                    errors::sdk_failure(format_args!("read the caller's account"), &e)
                })?;
                Ok::<_, anyhow::Error>(identity.account().unwrap_or_default().to_string())
            })
            .await?;
        Ok(account.as_str())
    }
}

/// The profile this run uses by name, if any: lambda-rt's own setting, else `AWS_PROFILE`.
fn named_profile(settings: &AwsSettings) -> Option<String> {
    settings.profile.clone().or_else(|| {
        std::env::var("AWS_PROFILE")
            .ok()
            .filter(|name| !name.is_empty())
    })
}

/// Refuses a profile that is in neither the AWS config nor the credentials file, before any AWS
/// call: the SDK would fall back to other credentials (or fail without naming the profile), so a
/// typo could act on the wrong account.
async fn require_profile(name: &str) -> Result<()> {
    let env = aws_types::os_shim_internal::Env::real();
    let fs = aws_types::os_shim_internal::Fs::real();
    let profiles = aws_config::profile::load(&fs, &env, &EnvConfigFiles::default(), None)
        .await
        .map_err(|error| UsageError(format!("could not read the AWS profiles: {error}")))?;
    if profiles.get_profile(name).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = profiles.profiles().collect();
    known.sort_unstable();
    let known = if known.is_empty() {
        "they define no profiles".to_string()
    } else {
        format!("known profiles: {}", known.join(", "))
    };
    let file = |variable: &str, default: &str| {
        std::env::var(variable).unwrap_or_else(|_| default.to_string())
    };
    Err(UsageError(format!(
        "AWS profile `{name}` is not in {} or {} ({known}); fix --profile, LAMBDA_RT_PROFILE, \
         `profile` in lambda-rt.toml or AWS_PROFILE, or run `aws configure --profile {name}`",
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ))
    .into())
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
