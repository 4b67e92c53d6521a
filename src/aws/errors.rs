//! Turning AWS SDK errors into what lambda-rt does and says: which failures may succeed if tried
//! again ([`is_transient`]), which mean an Invoke never reached the function
//! ([`refused_before_sending`]), and one readable line with a hint for everything else
//! ([`sdk_failure`]). Service errors are classified by their modeled variant or code, never by
//! message text, except where the API models nothing (see `lambda::is_role_refused`).

use std::error::Error as StdError;
use std::fmt::Display;
use std::sync::OnceLock;

use anyhow::anyhow;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// Where lambda-rt sends its AWS calls and how often it tries, for messages about failed
/// connections (set once by `Clients::load`).
#[derive(Debug, Clone)]
pub struct EndpointInfo {
    /// `--endpoint-url` / `AWS_ENDPOINT_URL`, or `None` for AWS itself.
    pub url: Option<String>,
    pub region: String,
    pub max_attempts: u32,
    /// The profile named with `--profile` (or its setting), whose credentials alone are used.
    pub profile: Option<String>,
}

static ENDPOINT: OnceLock<EndpointInfo> = OnceLock::new();

/// Records the endpoint for later messages; the first call wins (one process, one endpoint).
pub fn set_endpoint(info: EndpointInfo) {
    let _ = ENDPOINT.set(info);
}

/// "the AWS endpoint URL" or "AWS (region)", for messages.
pub fn endpoint_phrase() -> String {
    match ENDPOINT.get() {
        Some(EndpointInfo { url: Some(url), .. }) => format!("the AWS endpoint {url}"),
        Some(EndpointInfo { region, .. }) => format!("AWS ({region})"),
        None => "the AWS endpoint".to_string(),
    }
}

/// `--max-attempts` as set for this process.
pub fn max_attempts() -> Option<u32> {
    ENDPOINT.get().map(|info| info.max_attempts)
}

fn attempts_phrase() -> String {
    match ENDPOINT.get() {
        Some(info) if info.max_attempts > 1 => format!(" after {} attempts", info.max_attempts),
        _ => String::new(),
    }
}

/// What went wrong with a call, as far as what to do next is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The service answered with an error code.
    Service { code: String, status: u16 },
    /// No credentials could be found: nothing was sent.
    Credentials,
    /// The connection could not be made: nothing was sent.
    Connect,
    /// No answer in time; the request may have been applied.
    Timeout,
    /// The connection broke after the request was sent; it may have been applied.
    Dropped,
    /// The endpoint answered with something that is not an AWS answer.
    NotAws { status: u16 },
    /// Anything else (building the request, ...).
    Other,
}

/// Classifies an SDK error.
pub fn problem<E, R>(error: &SdkError<E, R>) -> Problem
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let status = raw_status(service.raw());
            match service.err().code() {
                Some(code) => Problem::Service {
                    code: code.to_string(),
                    status,
                },
                // An answer the SDK could not read as an AWS error (a web page, a proxy's 502).
                None => Problem::NotAws { status },
            }
        }
        SdkError::TimeoutError(_) => Problem::Timeout,
        SdkError::ResponseError(_) => Problem::Dropped,
        SdkError::DispatchFailure(failure) => {
            if chain_has::<aws_credential_types::provider::error::CredentialsError>(error) {
                Problem::Credentials
            } else if failure.is_timeout() {
                Problem::Timeout
            } else if chain_has_connect_failure(error) {
                Problem::Connect
            } else if failure.is_user() {
                Problem::Other
            } else {
                // The connection broke on the way (reset, closed before the answer): the request
                // may or may not have been applied.
                Problem::Dropped
            }
        }
        _ => Problem::Other,
    }
}

fn raw_status<R: std::fmt::Debug + 'static>(raw: &R) -> u16 {
    (raw as &dyn std::any::Any)
        .downcast_ref::<HttpResponse>()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn chain_has<T: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<T>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// A failure to open the TCP connection (refused, no route, DNS): nothing was sent.
fn chain_has_connect_failure(error: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// Whether a failed call may succeed if tried again: no answer (connection, timeout), a server
/// error (5xx), or throttling. Whether such a call was *applied* is unknown.
pub fn is_transient<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match problem(error) {
        Problem::Timeout | Problem::Dropped | Problem::Connect => true,
        Problem::Service { code, status } => {
            status >= 500
                || status == 429
                || matches!(
                    code.as_str(),
                    "Throttling" | "ThrottlingException" | "TooManyRequestsException"
                )
        }
        _ => false,
    }
}

/// Whether a failed Invoke certainly never ran the function: the connection was never made, or
/// Lambda answered with an error code. Lambda's Invoke reference: "Error codes are reserved for
/// errors that prevent your function from executing, such as permissions errors, quota errors, or
/// issues with your function's code and configuration" — but a 5xx may come from anywhere on the
/// way (a load balancer, a proxy) after the event was handed over, so only 4xx answers count.
pub fn refused_before_sending<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match problem(error) {
        Problem::Connect | Problem::Credentials => true,
        Problem::Service { status, .. } => (400..500).contains(&status),
        _ => false,
    }
}

/// `failed to <what>: <AWS code>: <message>` plus a hint where one exists.
pub fn sdk_failure<E, R>(what: impl Display, error: &SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    let detail = describe(error);
    let hint = hint_for(&problem(error));
    anyhow!("failed to {what}: {detail}{hint}")
}

/// A one-line description of an SDK error: the service's code and message, or the transport
/// problem with its causes, never the SDK's debug dump.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match (problem(error), error) {
        (Problem::Service { .. }, SdkError::ServiceError(service)) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => source_chain(err),
            }
        }
        (Problem::NotAws { status }, _) => format!(
            "{} did not answer like AWS (HTTP {status}, not an AWS error document)",
            endpoint_phrase()
        ),
        (Problem::Credentials, _) => {
            // The provider chain's full story (every place it looked, and why each failed) is
            // long; it goes to -v.
            tracing::debug!("credentials: {}", source_chain(error));
            match ENDPOINT.get().and_then(|info| info.profile.as_deref()) {
                Some(profile) => format!(
                    "AWS profile `{profile}` gives no credentials (a profile that is named is \
                     used alone, keys in the environment aside; -v says what it tried)"
                ),
                None => "no AWS credentials were found (in the environment, the shared config \
                         and credentials files, SSO, web identity, or the ECS and EC2 metadata \
                         services)"
                    .to_string(),
            }
        }
        (Problem::Timeout, _) => format!(
            "{} did not answer in time{}",
            endpoint_phrase(),
            attempts_phrase()
        ),
        (Problem::Connect, _) => format!(
            "could not connect to {}{} ({})",
            endpoint_phrase(),
            attempts_phrase(),
            innermost(error)
        ),
        (Problem::Dropped, _) => format!(
            "the connection to {} broke before the answer arrived{} ({})",
            endpoint_phrase(),
            attempts_phrase(),
            innermost(error)
        ),
        _ => source_chain(error),
    }
}

/// The last cause in an error's chain (e.g. "Connection refused (os error 111)").
fn innermost(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
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

fn hint_for(problem: &Problem) -> &'static str {
    match problem {
        Problem::Credentials => {
            "\nhint: configure AWS credentials (`aws configure`, `aws sso login`, AWS_ACCESS_KEY_ID \
             and AWS_SECRET_ACCESS_KEY, or --profile)"
        }
        Problem::Timeout => {
            "\nhint: check the network and --endpoint-url, or raise --read-timeout / \
             --max-attempts; then run the command again (it continues where this one stopped)"
        }
        Problem::Connect | Problem::Dropped => {
            "\nhint: check the network, --endpoint-url / AWS_ENDPOINT_URL, and --region; then run \
             the command again (it continues where this one stopped)"
        }
        Problem::NotAws { .. } => {
            "\nhint: --endpoint-url / AWS_ENDPOINT_URL must point at AWS or an AWS emulator"
        }
        Problem::Service { code, .. }
            if code.contains("AccessDenied") || code == "UnauthorizedOperation" =>
        {
            "\nhint: the credentials in use lack a permission named above (README \"Permissions\" \
             lists what each command needs)"
        }
        Problem::Service { code, .. }
            if matches!(
                code.as_str(),
                "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "ExpiredTokenException"
            ) =>
        {
            "\nhint: the AWS credentials are not valid (expired or mistyped): refresh them \
             (`aws sso login`, or new keys)"
        }
        _ => "",
    }
}
/// Service errors that can say "no such resource": Lambda's and CloudWatch Logs'
/// ResourceNotFoundException, IAM's NoSuchEntity. Read through [`is_not_found`].
pub trait MissingResource {
    fn says_not_found(&self) -> bool;
}

/// Whether an AWS call failed because what it names does not exist (a read then answers `None`,
/// a delete counts it as done).
pub fn is_not_found<E: MissingResource, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .is_some_and(MissingResource::says_not_found)
}

macro_rules! missing_resource {
    ($check:ident: $($error:ty),+ $(,)?) => {
        $(impl MissingResource for $error {
            fn says_not_found(&self) -> bool {
                self.$check()
            }
        })+
    };
}

missing_resource!(is_resource_not_found_exception:
    aws_sdk_lambda::operation::get_function::GetFunctionError,
    aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError,
    aws_sdk_lambda::operation::get_policy::GetPolicyError,
    aws_sdk_lambda::operation::get_layer_version_policy::GetLayerVersionPolicyError,
    aws_sdk_lambda::operation::delete_layer_version::DeleteLayerVersionError,
    aws_sdk_lambda::operation::get_alias::GetAliasError,
    aws_sdk_lambda::operation::invoke::InvokeError,
    aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError,
    aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError,
    aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceError,
    aws_sdk_lambda::operation::get_function_event_invoke_config::GetFunctionEventInvokeConfigError,
    aws_sdk_scheduler::operation::get_schedule::GetScheduleError,
    aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError,
);
missing_resource!(is_no_such_entity_exception:
    aws_sdk_iam::operation::get_role::GetRoleError,
    aws_sdk_iam::operation::get_policy::GetPolicyError,
    aws_sdk_iam::operation::get_role_policy::GetRolePolicyError,
    aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesError,
    aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError,
    aws_sdk_iam::operation::list_instance_profiles_for_role::ListInstanceProfilesForRoleError,
    aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyError,
    aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyError,
    aws_sdk_iam::operation::remove_role_from_instance_profile::RemoveRoleFromInstanceProfileError,
    aws_sdk_iam::operation::delete_role::DeleteRoleError,
);
