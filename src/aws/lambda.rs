//! The Lambda function: read, wait, create, update code and configuration, tag, invoke, delete.
//!
//! Real Lambda is not instant, and everything here is written for it:
//! - **States.** After CreateFunction a function is Pending, after each update its
//!   LastUpdateStatus is InProgress, and a write in either state fails with
//!   ResourceConflictException (409). Each write waits until the function is ready — reading its
//!   state only when the last answer said it was busy (the answer to a write says so) — and a 409
//!   makes it read the state, wait, and send again. Waits poll every few hundred milliseconds
//!   ([`super::poll`]) and say which state they wait on; a Failed state ends them with Lambda's
//!   reason.
//! - **Concurrent writers.** Every update carries the RevisionId lambda-rt last read; Lambda
//!   answers PreconditionFailedException (412) when someone else changed the function meanwhile,
//!   and the caller re-reads and re-plans ([`StaleRevision`]). The RevisionId also changes when a
//!   transition ends (aws/aws-sdk#377), which is why writes use the one from the latest read.
//! - **IAM propagation.** A role handed to Lambda (CreateFunction, or UpdateFunctionConfiguration
//!   with a new role) is refused with InvalidParameterValueException "cannot be assumed by Lambda"
//!   until IAM has propagated it; those calls are retried until the role's deadline
//!   ([`RolePropagation`]).
//! - **Invoke is not idempotent.** It is sent with the SDK's retries off and a read timeout of its
//!   own, and sent again only when Lambda refused it without running the function (see
//!   [`Lambda::invoke`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::operation::delete_function::DeleteFunctionError;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::operation::tag_resource::TagResourceError;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError;
use aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, LogType, Runtime, State,
};
use aws_sdk_lambda::Client;
use base64::Engine;
use tokio::time::Instant;

use super::errors::{problem, refused_before_sending, Problem};
use super::poll::{poll, Attempt, GaveUp};
use super::{sdk_failure, Timing, CONNECT_TIMEOUT};
use crate::aws::s3::Upload;
use crate::invocation::InvokeOutcome;
use crate::output::{Action, Change, Ui};
use crate::package::Package;
use crate::settings::{Architecture, Settings};

/// How long `invoke` waits for the function by default: Lambda's longest timeout (900 s) plus a
/// minute for a cold start and the transfer.
pub const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(960);

/// What the function should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    pub role_arn: String,
    pub handler: String,
    pub runtime: String,
    pub architecture: Architecture,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub environment: BTreeMap<String, String>,
    pub description: String,
}

impl FunctionSpec {
    pub fn new(settings: &Settings, role_arn: String) -> Self {
        FunctionSpec {
            name: settings.function_name.clone(),
            role_arn,
            handler: settings.handler.clone(),
            runtime: settings.runtime.clone(),
            architecture: settings.architecture,
            memory_mb: settings.memory_mb,
            timeout_seconds: settings.timeout_seconds,
            environment: settings.environment.clone(),
            description: settings.description.clone(),
        }
    }
}

/// A function as read with GetFunction: its configuration and its tags.
#[derive(Debug, Clone)]
pub struct Remote {
    pub config: FunctionConfiguration,
    pub tags: HashMap<String, String>,
}

impl Remote {
    pub fn arn(&self) -> Option<&str> {
        self.config.function_arn()
    }

    pub fn status(&self) -> Status {
        Status::of(&self.config)
    }
}

/// The parts of a function's configuration that say whether it can take a write now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub state: Option<State>,
    pub state_reason: Option<String>,
    pub state_reason_code: Option<String>,
    pub update: Option<LastUpdateStatus>,
    pub update_reason: Option<String>,
    pub update_reason_code: Option<String>,
    pub revision_id: Option<String>,
}

/// [`Status`] of any Lambda answer that describes a function (GetFunction's configuration, the
/// answers to CreateFunction and the updates).
macro_rules! status_of {
    ($answer:expr) => {
        Status {
            state: $answer.state().cloned(),
            state_reason: $answer.state_reason().map(str::to_string),
            state_reason_code: $answer.state_reason_code().map(|c| c.as_str().to_string()),
            update: $answer.last_update_status().cloned(),
            update_reason: $answer.last_update_status_reason().map(str::to_string),
            update_reason_code: $answer
                .last_update_status_reason_code()
                .map(|c| c.as_str().to_string()),
            revision_id: $answer.revision_id().map(str::to_string),
        }
    };
}

impl Status {
    pub fn of(config: &FunctionConfiguration) -> Status {
        status_of!(config)
    }

    /// Pending (being created) or an update in progress: a write now gets 409.
    pub fn is_busy(&self) -> bool {
        self.state == Some(State::Pending) || self.update == Some(LastUpdateStatus::InProgress)
    }

    /// What a wait is waiting for, e.g. "to become Active (Pending: Creating)".
    fn waiting_for(&self) -> String {
        let reason = |code: &Option<String>| {
            code.as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        };
        if self.state == Some(State::Pending) {
            format!(
                "to become Active (Pending{})",
                reason(&self.state_reason_code)
            )
        } else {
            format!(
                "to finish updating (InProgress{})",
                reason(&self.update_reason_code)
            )
        }
    }

    /// The function cannot run at all.
    pub fn failed_error(&self, name: &str) -> Option<anyhow::Error> {
        (self.state == Some(State::Failed)).then(|| {
            anyhow!(
                "function `{name}` is in state Failed ({}): {}\nhint: Lambda could not set the \
                 function up; fix the cause named above, then run `lambda-rt update --force` (or \
                 `lambda-rt delete` and `lambda-rt create`)",
                self.state_reason_code
                    .as_deref()
                    .unwrap_or("no reason code"),
                self.state_reason.as_deref().unwrap_or("no reason given")
            )
        })
    }

    /// The last update did not take effect.
    pub fn update_failed_error(&self, name: &str) -> Option<anyhow::Error> {
        (self.update == Some(LastUpdateStatus::Failed)).then(|| {
            anyhow!(
                "the last update of function `{name}` failed ({}): {}\nhint: the function keeps \
                 running its previous code and configuration; fix the cause named above, then run \
                 `lambda-rt update --force` to send the update again",
                self.update_reason_code
                    .as_deref()
                    .unwrap_or("no reason code"),
                self.update_reason.as_deref().unwrap_or("no reason given")
            )
        })
    }
}

/// Someone else changed the function between lambda-rt's read and its write (Lambda refused the
/// write's RevisionId): the caller re-reads and plans again.
#[derive(Debug, thiserror::Error)]
#[error(
    "function `{0}` changed after lambda-rt read it (its RevisionId no longer matches): someone \
     else changed it, or an earlier attempt of this very write went through although its answer \
     was lost"
)]
pub struct StaleRevision(pub String);

/// Invoke failed in a way that leaves open whether the function ran: it is not sent again.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to invoke function `{function}`: {detail}; the function may have run, so the Invoke \
     was not sent again (Invoke is not idempotent)\nhint: check the function's logs (`aws logs \
     tail /aws/lambda/{function}`) before invoking again{timeout_hint}"
)]
pub struct InvokeOutcomeUnknown {
    pub function: String,
    pub detail: String,
    pub timeout_hint: String,
}

/// Until when a role handed to Lambda may be refused because IAM has not propagated it yet.
#[derive(Debug, Clone)]
pub struct RolePropagation {
    pub role_arn: String,
    /// Retry "cannot be assumed" refusals until then.
    pub deadline: Instant,
    /// Whether the role is young enough for propagation to explain a refusal.
    pub young: bool,
}

impl RolePropagation {
    /// A role created `age` ago: refusals are retried until it is `bound` old, and for at least
    /// `grace` in any case (a role that is older and still refused is more likely wrong than new).
    pub fn for_age(role_arn: String, age: Duration, bound: Duration, grace: Duration) -> Self {
        let left = bound.saturating_sub(age);
        RolePropagation {
            role_arn,
            deadline: Instant::now() + left.max(grace),
            young: left > grace,
        }
    }
}

/// One configuration field that differs between the function and the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigField {
    Role,
    Handler,
    Runtime,
    Memory,
    Timeout,
    Environment,
    Description,
}

impl ConfigField {
    pub const ALL: [ConfigField; 7] = [
        ConfigField::Role,
        ConfigField::Handler,
        ConfigField::Runtime,
        ConfigField::Memory,
        ConfigField::Timeout,
        ConfigField::Environment,
        ConfigField::Description,
    ];
}

/// What `update` has to change on an existing function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionDiff {
    /// The code (CodeSha256) or the architecture differs: both go through UpdateFunctionCode.
    pub code: bool,
    pub config: Vec<ConfigField>,
    /// Each difference, for the report.
    pub changes: Vec<Change>,
}

impl FunctionDiff {
    pub fn is_empty(&self) -> bool {
        !self.code && self.config.is_empty()
    }
}

/// Compares the function's remote configuration with the spec and the local package. With
/// `force`, the code and every configuration field are sent even where nothing differs.
pub fn diff(
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    package: &Package,
    force: bool,
) -> FunctionDiff {
    let mut diff = FunctionDiff::default();
    if remote.code_sha256() != Some(package.code_sha256.as_str()) {
        diff.code = true;
        diff.changes.push(Change::named("code"));
    }
    let remote_arch: Vec<&str> = remote.architectures().iter().map(|a| a.as_str()).collect();
    // Lambda reports no architecture for old functions, which means x86_64.
    let remote_arch = remote_arch.first().copied().unwrap_or("x86_64");
    if remote_arch != spec.architecture.as_str() {
        diff.code = true;
        diff.changes.push(Change::new(
            "architecture",
            Some(remote_arch.into()),
            Some(spec.architecture.to_string()),
        ));
    }
    let mut field = |field: ConfigField, label: &str, from: String, to: String, show: bool| {
        if from != to {
            diff.config.push(field);
            diff.changes.push(if show {
                Change::new(label, Some(from), Some(to))
            } else {
                Change::named(label)
            });
        }
    };
    field(
        ConfigField::Role,
        "role",
        remote.role().unwrap_or_default().into(),
        spec.role_arn.clone(),
        true,
    );
    field(
        ConfigField::Handler,
        "handler",
        remote.handler().unwrap_or_default().into(),
        spec.handler.clone(),
        true,
    );
    field(
        ConfigField::Runtime,
        "runtime",
        remote
            .runtime()
            .map(|r| r.as_str())
            .unwrap_or_default()
            .into(),
        spec.runtime.clone(),
        true,
    );
    field(
        ConfigField::Memory,
        "memory",
        remote.memory_size().unwrap_or_default().to_string(),
        spec.memory_mb.to_string(),
        true,
    );
    field(
        ConfigField::Timeout,
        "timeout",
        remote.timeout().unwrap_or_default().to_string(),
        spec.timeout_seconds.to_string(),
        true,
    );
    field(
        ConfigField::Description,
        "description",
        remote.description().unwrap_or_default().into(),
        spec.description.clone(),
        false,
    );
    let remote_env: BTreeMap<String, String> = remote
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if remote_env != spec.environment {
        diff.config.push(ConfigField::Environment);
        let keys: std::collections::BTreeSet<&String> =
            remote_env.keys().chain(spec.environment.keys()).collect();
        for key in keys {
            let (from, to) = (remote_env.get(key), spec.environment.get(key));
            if from != to {
                // Values may be secrets: they never appear in a report.
                let hidden = |v: Option<&String>| v.map(|_| "(hidden)".to_string());
                diff.changes.push(Change::new(
                    format!("environment.{key}"),
                    hidden(from),
                    hidden(to),
                ));
            }
        }
    }
    if force {
        if !diff.code {
            diff.code = true;
            diff.changes.push(Change::named("code (--force)"));
        }
        for field in ConfigField::ALL {
            if !diff.config.contains(&field) {
                diff.config.push(field);
            }
        }
        if diff
            .changes
            .iter()
            .all(|c| !c.field.starts_with("configuration"))
        {
            diff.changes.push(Change::named("configuration (--force)"));
        }
    }
    diff
}

/// The Lambda errors a write can meet, by their modeled variants.
pub(crate) trait WriteError:
    ProvideErrorMetadata + StdError + Send + Sync + 'static
{
    /// 409: the function is Pending or an update is in progress.
    fn is_conflict(&self) -> bool;
    /// 412: the RevisionId sent is not the function's.
    fn is_stale_revision(&self) -> bool {
        false
    }
    /// 400 because IAM has not propagated the role yet.
    fn is_role_refused(&self) -> bool {
        false
    }
    /// 404: no such function.
    fn is_not_found(&self) -> bool {
        false
    }
}

impl WriteError for UpdateFunctionCodeError {
    fn is_conflict(&self) -> bool {
        self.is_resource_conflict_exception()
    }
    fn is_stale_revision(&self) -> bool {
        self.is_precondition_failed_exception()
    }
    fn is_not_found(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

impl WriteError for UpdateFunctionConfigurationError {
    fn is_conflict(&self) -> bool {
        self.is_resource_conflict_exception()
    }
    fn is_stale_revision(&self) -> bool {
        self.is_precondition_failed_exception()
    }
    fn is_role_refused(&self) -> bool {
        matches!(self, UpdateFunctionConfigurationError::InvalidParameterValueException(e)
            if is_role_refused(e.message()))
    }
    fn is_not_found(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

impl WriteError for CreateFunctionError {
    /// A conflict on create means the function exists (created by an earlier attempt whose
    /// answer was lost); see [`Lambda::create`].
    fn is_conflict(&self) -> bool {
        false
    }
    fn is_role_refused(&self) -> bool {
        matches!(self, CreateFunctionError::InvalidParameterValueException(e)
            if is_role_refused(e.message()))
    }
}

impl WriteError for DeleteFunctionError {
    fn is_conflict(&self) -> bool {
        self.is_resource_conflict_exception()
    }
    fn is_not_found(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

impl WriteError for TagResourceError {
    fn is_conflict(&self) -> bool {
        self.is_resource_conflict_exception()
    }
    fn is_not_found(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

/// The one case the API does not model: IAM has not yet propagated a new role to Lambda, which
/// Lambda reports as InvalidParameterValueException "The role defined for the function cannot be
/// assumed by Lambda." (the same exception covers unrelated bad parameters).
fn is_role_refused(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("cannot be assumed"))
}

/// Why a write did not go through.
pub(crate) enum WriteFailure<E> {
    Sdk(Box<SdkError<E, HttpResponse>>),
    Stale,
    Other(anyhow::Error),
}

/// Lambda operations with the waits and retries they need.
pub struct Lambda<'a> {
    pub client: &'a Client,
    pub timing: Timing,
    pub ui: &'a Ui,
}

impl Lambda<'_> {
    /// The function's configuration and tags, `None` if it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Remote>> {
        match self.client.get_function().function_name(name).send().await {
            Ok(output) => Ok(output.configuration.map(|config| Remote {
                config,
                tags: output.tags.unwrap_or_default(),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_failure(format_args!("read function `{name}`"), &e)),
        }
    }

    async fn read_status(&self, name: &str) -> Result<Status> {
        self.get(name)
            .await?
            .map(|remote| remote.status())
            .ok_or_else(|| {
                anyhow!("function `{name}` disappeared while lambda-rt was working on it")
            })
    }

    /// Waits until the function can take a write: returns `last` at once when it already says so
    /// (no read), else polls GetFunction. A Failed state is an error with Lambda's reason; a failed
    /// update is one only `after_write` (it is the write's own).
    pub async fn wait_ready(&self, name: &str, last: &Status, after_write: bool) -> Result<Status> {
        let check = |status: &Status| -> Option<anyhow::Error> {
            status.failed_error(name).or_else(|| {
                after_write
                    .then(|| status.update_failed_error(name))
                    .flatten()
            })
        };
        if let Some(error) = check(last) {
            return Err(error);
        }
        if !last.is_busy() {
            return Ok(last.clone());
        }
        let _waiting = self.ui.waiting(format!(
            "waiting for function `{name}` {}",
            last.waiting_for()
        ));
        let policy = self.timing.state;
        let result = poll(policy, policy.deadline(), true, |_| async {
            match self.read_status(name).await {
                Ok(status) => match check(&status) {
                    Some(error) => Attempt::Fail(error),
                    None if status.is_busy() => Attempt::Again(anyhow!(
                        "function `{name}` is still {}",
                        status.waiting_for().trim_start_matches("to ")
                    )),
                    None => Attempt::Done(status),
                },
                Err(error) => Attempt::Fail(error),
            }
        })
        .await;
        result.map_err(|gave_up| match gave_up.after {
            Some(after) => anyhow!(
                "gave up waiting for function `{name}` after {} s: {}; run the command again later",
                after.as_secs(),
                gave_up.error
            ),
            None => gave_up.error,
        })
    }

    /// Sends a write when the function can take it: waits for it to be ready first, sends with the
    /// latest RevisionId, and on 409 reads the state, waits and sends again; while `role` may not
    /// have propagated, "cannot be assumed" refusals are retried until its deadline. Returns the
    /// write's answer, or why it failed (see [`Lambda::write_error`]).
    pub(crate) async fn write<T, E, Fut>(
        &self,
        name: &str,
        what: &str,
        current: &Status,
        role: Option<&RolePropagation>,
        send: impl Fn(Option<String>) -> Fut,
    ) -> Result<T, GaveUp<WriteFailure<E>>>
    where
        E: WriteError,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let latest = RefCell::new(current.clone());
        let waiting = RefCell::new(None);
        let deadline = role.map(|r| r.deadline).unwrap_or_else(Instant::now);
        let result = poll(self.timing.iam_propagation, deadline, false, |_| async {
            let mut conflicts = 0;
            loop {
                let last = latest.borrow().clone();
                let ready = match self.wait_ready(name, &last, false).await {
                    Ok(status) => status,
                    Err(error) => return Attempt::Fail(WriteFailure::Other(error)),
                };
                *latest.borrow_mut() = ready.clone();
                let error = match send(ready.revision_id.clone()).await {
                    Ok(value) => return Attempt::Done(value),
                    Err(error) => error,
                };
                let Some(service) = error.as_service_error() else {
                    return Attempt::Fail(WriteFailure::Sdk(Box::new(error)));
                };
                if service.is_stale_revision() {
                    return Attempt::Fail(WriteFailure::Stale);
                }
                if let (true, Some(role)) = (service.is_role_refused(), role) {
                    if waiting.borrow().is_none() {
                        *waiting.borrow_mut() = Some(self.ui.waiting(format!(
                            "waiting for IAM to propagate role `{}` to Lambda",
                            role.role_arn
                        )));
                    }
                    return Attempt::Again(WriteFailure::Sdk(Box::new(error)));
                }
                if service.is_conflict() && conflicts < self.timing.conflict_attempts {
                    // Someone else's write is in progress (or ours, not yet visible): read
                    // the state, wait for it, and send again.
                    conflicts += 1;
                    tracing::debug!("{what} `{name}`: conflict, waiting");
                    match self.read_status(name).await {
                        Ok(status) if status.is_busy() => *latest.borrow_mut() = status,
                        // Ready again already (the conflicting update ended in between).
                        Ok(status) => {
                            *latest.borrow_mut() = status;
                            tokio::time::sleep(self.timing.state.interval).await;
                        }
                        Err(error) => return Attempt::Fail(WriteFailure::Other(error)),
                    }
                    continue;
                }
                return Attempt::Fail(WriteFailure::Sdk(Box::new(error)));
            }
        })
        .await;
        drop(waiting.take());
        result
    }

    /// The message for a failed write; [`StaleRevision`] when someone else changed the function.
    pub(crate) fn write_error<E: WriteError>(
        &self,
        name: &str,
        what: &str,
        role: Option<&RolePropagation>,
        gave_up: GaveUp<WriteFailure<E>>,
    ) -> anyhow::Error {
        let error = match gave_up.error {
            WriteFailure::Stale => return StaleRevision(name.to_string()).into(),
            WriteFailure::Other(error) => return error,
            WriteFailure::Sdk(error) => error,
        };
        let note = match gave_up.after {
            Some(after) => format!(" (still refused after {} s)", after.as_secs()),
            None => String::new(),
        };
        let failure = sdk_failure(format_args!("{what} `{name}`{note}"), &error);
        match (role, error.as_service_error()) {
            (Some(role), Some(service)) if service.is_role_refused() => {
                if role.young {
                    anyhow!(
                        "{failure}\nhint: IAM had not made the new role `{}` usable by Lambda yet \
                         (it usually takes seconds, rarely minutes); run the command again",
                        role.role_arn
                    )
                } else {
                    anyhow!(
                        "{failure}\nhint: check that role `{}` exists and trusts \
                         lambda.amazonaws.com",
                        role.role_arn
                    )
                }
            }
            _ => failure,
        }
    }

    /// Creates the function (tagged `tags`) and waits until it is Active. Returns its ARN.
    pub async fn create(
        &self,
        spec: &FunctionSpec,
        upload: &Upload<'_>,
        role: &RolePropagation,
        tags: &HashMap<String, String>,
    ) -> Result<String> {
        let name = spec.name.as_str();
        let _uploading = upload.progress(self.ui);
        let created = self
            .write(name, "create", &Status::default(), Some(role), |_| {
                self.client
                    .create_function()
                    .function_name(name)
                    .role(&spec.role_arn)
                    .handler(&spec.handler)
                    .runtime(Runtime::from(spec.runtime.as_str()))
                    .architectures(spec.architecture.as_str().into())
                    .memory_size(spec.memory_mb)
                    .timeout(spec.timeout_seconds)
                    .description(&spec.description)
                    .environment(environment(&spec.environment))
                    .set_tags(Some(tags.clone()))
                    .code(match &upload.s3 {
                        Some(object) => FunctionCode::builder()
                            .s3_bucket(&object.bucket)
                            .s3_key(&object.key)
                            .build(),
                        None => FunctionCode::builder()
                            .zip_file(Blob::new(upload.package.bytes.clone()))
                            .build(),
                    })
                    .send()
            })
            .await;
        let (arn, status) = match created {
            Ok(output) => (
                output.function_arn().unwrap_or_default().to_string(),
                status_of!(output),
            ),
            Err(GaveUp {
                error: WriteFailure::Sdk(error),
                ..
            }) if error
                .as_service_error()
                .is_some_and(|s| s.is_resource_conflict_exception()) =>
            {
                // The SDK retried a CreateFunction whose first answer was lost: the function is
                // there, made by our own first attempt (the caller read it as absent just before).
                let remote = self
                    .get(name)
                    .await?
                    .ok_or_else(|| anyhow!("function `{name}` disappeared after its creation"))?;
                (
                    remote.arn().unwrap_or_default().to_string(),
                    remote.status(),
                )
            }
            Err(gave_up) => {
                return Err(self.write_error(name, "create function", Some(role), gave_up))
            }
        };
        self.wait_ready(name, &status, true).await?;
        Ok(arn)
    }

    /// Uploads new code (and the architecture, which Lambda sets together with the code), then
    /// waits for the update to finish.
    pub async fn update_code(
        &self,
        spec: &FunctionSpec,
        upload: &Upload<'_>,
        current: &Status,
    ) -> Result<Status> {
        let name = spec.name.as_str();
        let uploading = upload.progress(self.ui);
        let output = self
            .write(
                name,
                "update the code of function",
                current,
                None,
                |revision| {
                    let request = self
                        .client
                        .update_function_code()
                        .function_name(name)
                        .architectures(spec.architecture.as_str().into())
                        .set_revision_id(revision);
                    match &upload.s3 {
                        Some(object) => request.s3_bucket(&object.bucket).s3_key(&object.key),
                        None => request.zip_file(Blob::new(upload.package.bytes.clone())),
                    }
                    .send()
                },
            )
            .await
            .map_err(|gave_up| {
                self.write_error(name, "update the code of function", None, gave_up)
            })?;
        drop(uploading);
        self.wait_ready(name, &status_of!(output), true).await
    }

    /// Sends only the configuration fields that differ, then waits for the update to finish. A new
    /// role may be refused while IAM propagates it: `role` says until when to retry.
    pub async fn update_configuration(
        &self,
        spec: &FunctionSpec,
        fields: &[ConfigField],
        current: &Status,
        role: Option<&RolePropagation>,
    ) -> Result<Status> {
        let role = role.filter(|_| fields.contains(&ConfigField::Role));
        self.write_configuration(
            &spec.name,
            "update the configuration of function",
            current,
            role,
            |mut request| {
                for field in fields {
                    request = match field {
                        ConfigField::Role => request.role(&spec.role_arn),
                        ConfigField::Handler => request.handler(&spec.handler),
                        ConfigField::Runtime => {
                            request.runtime(Runtime::from(spec.runtime.as_str()))
                        }
                        ConfigField::Memory => request.memory_size(spec.memory_mb),
                        ConfigField::Timeout => request.timeout(spec.timeout_seconds),
                        ConfigField::Environment => {
                            request.environment(environment(&spec.environment))
                        }
                        ConfigField::Description => request.description(&spec.description),
                    };
                }
                request
            },
        )
        .await
    }

    /// Replaces the function's list of layers (version ARNs, in order), then waits.
    pub async fn set_layers(
        &self,
        name: &str,
        layers: &[String],
        current: &Status,
    ) -> Result<Status> {
        self.write_configuration(
            name,
            "update the layers of function",
            current,
            None,
            |request| request.set_layers(Some(layers.to_vec())),
        )
        .await
    }

    /// One UpdateFunctionConfiguration shaped by `fill`, sent when the function is ready, with
    /// the RevisionId; waits for the update to finish.
    async fn write_configuration(
        &self,
        name: &str,
        what: &str,
        current: &Status,
        role: Option<&RolePropagation>,
        fill: impl Fn(
            UpdateFunctionConfigurationFluentBuilder,
        ) -> UpdateFunctionConfigurationFluentBuilder,
    ) -> Result<Status> {
        let output = self
            .write(name, what, current, role, |revision| {
                fill(
                    self.client
                        .update_function_configuration()
                        .function_name(name)
                        .set_revision_id(revision),
                )
                .send()
            })
            .await
            .map_err(|gave_up| self.write_error(name, what, role, gave_up))?;
        self.wait_ready(name, &status_of!(output), true).await
    }

    /// Adds tags to the function (TagResource takes no RevisionId and starts no update).
    pub async fn tag(&self, name: &str, arn: &str, tags: &HashMap<String, String>) -> Result<()> {
        self.write(name, "tag function", &Status::default(), None, |_| {
            self.client
                .tag_resource()
                .resource(arn)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await
        .map_err(|gave_up| self.write_error(name, "tag function", None, gave_up))?;
        Ok(())
    }

    /// Deletes the function (waiting out an update in progress); a missing one is Absent.
    pub async fn delete(&self, name: &str, current: &Status) -> Result<Action> {
        let result = self
            .write(name, "delete function", current, None, |_| {
                self.client.delete_function().function_name(name).send()
            })
            .await;
        match result {
            Ok(_) => Ok(Action::Deleted),
            Err(GaveUp {
                error: WriteFailure::Sdk(error),
                ..
            }) if error
                .as_service_error()
                .is_some_and(WriteError::is_not_found) =>
            {
                Ok(Action::Absent)
            }
            Err(gave_up) => Err(self.write_error(name, "delete function", None, gave_up)),
        }
    }

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
            if service.is_some_and(|s| s.is_resource_not_found_exception()) {
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
                detail: super::describe(&error),
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

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder()
        .set_variables(Some(variables))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_deadlines_follow_the_roles_age() {
        let bound = Duration::from_secs(120);
        let grace = Duration::from_secs(10);
        let young = RolePropagation::for_age("r".into(), Duration::from_secs(5), bound, grace);
        assert!(young.young);
        let left = young.deadline - Instant::now();
        assert!(
            left > Duration::from_secs(110) && left <= Duration::from_secs(115),
            "{left:?}"
        );
        let old = RolePropagation::for_age("r".into(), Duration::from_secs(3600), bound, grace);
        assert!(!old.young);
        assert!(old.deadline - Instant::now() <= grace);
    }

    #[test]
    fn environment_changes_name_keys_never_values() {
        let remote = FunctionConfiguration::builder()
            .environment(
                aws_sdk_lambda::types::EnvironmentResponse::builder()
                    .variables("OLD", "secret-1")
                    .variables("SAME", "x")
                    .variables("CHANGED", "a")
                    .build(),
            )
            .build();
        let spec = FunctionSpec {
            name: "f".into(),
            role_arn: String::new(),
            handler: String::new(),
            runtime: String::new(),
            architecture: Architecture::X86_64,
            memory_mb: 0,
            timeout_seconds: 0,
            environment: BTreeMap::from([
                ("NEW".to_string(), "secret-2".to_string()),
                ("SAME".to_string(), "x".to_string()),
                ("CHANGED".to_string(), "b".to_string()),
            ]),
            description: String::new(),
        };
        let package = crate::package::Package {
            bytes: vec![],
            code_sha256: String::new(),
            unzipped_size: 0,
            entry_names: vec![],
        };
        let diff = diff(&remote, &spec, &package, false);
        let text: Vec<String> = diff.changes.iter().map(|c| c.to_string()).collect();
        assert!(
            text.contains(&"environment: removed OLD".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"environment: added NEW".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"environment: changed CHANGED".to_string()),
            "{text:?}"
        );
        assert!(
            !text
                .iter()
                .any(|t| t.contains("SAME") || t.contains("secret")),
            "{text:?}"
        );
        let json = serde_json::to_string(&diff.changes).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }
}
