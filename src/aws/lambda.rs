//! The Lambda function: read, wait, create, update code and configuration, tag, delete (and
//! invoke, in `invoke.rs`).
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
//!   and the caller re-reads and re-plans ([`super::function_state::StaleRevision`]). The RevisionId also changes when a
//!   transition ends (aws/aws-sdk#377), which is why writes use the one from the latest read.
//! - **IAM propagation.** A role handed to Lambda (CreateFunction, or UpdateFunctionConfiguration
//!   with a new role) is refused with InvalidParameterValueException "cannot be assumed by Lambda"
//!   until IAM has propagated it; those calls are retried until the role's deadline
//!   ([`super::function_state::RolePropagation`]).
//! - **Invoke is not idempotent.** It is sent with the SDK's retries off and a read timeout of its
//!   own, and sent again only when Lambda refused it without running the function (see
//!   `invoke.rs`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;

use anyhow::{anyhow, Result};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_lambda::Client;
use tokio::time::Instant;

use super::clients::Clients;
use super::errors::{is_not_found, sdk_failure};
use super::function_spec::{
    environment, ephemeral_storage, logging, tracing, vpc_config, ConfigField, FunctionSpec,
};
use super::function_state::{
    status_of, Remote, RolePropagation, RoleVanished, StaleRevision, Status, WriteError,
    WriteFailure,
};
use super::iam;
use super::poll::{poll, Attempt, GaveUp, Timing};
use super::s3::Upload;
use crate::output::{Action, Ui};

/// Lambda operations with the waits and retries they need.
pub struct Lambda<'a> {
    pub client: &'a Client,
    /// Only to look up a managed role Lambda refuses (see [`RoleVanished`]).
    iam: &'a aws_sdk_iam::Client,
    pub timing: Timing,
    pub ui: &'a Ui,
}

impl<'a> Lambda<'a> {
    /// The handle on the clients' Lambda client.
    pub fn new(clients: &'a Clients, timing: Timing, ui: &'a Ui) -> Self {
        Lambda {
            client: &clients.lambda,
            iam: &clients.iam,
            timing,
            ui,
        }
    }
}

impl Lambda<'_> {
    /// The function's configuration and tags, `None` if it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Remote>> {
        match self.client.get_function().function_name(name).send().await {
            Ok(output) => {
                let reserved_concurrency = output
                    .concurrency()
                    .and_then(|c| c.reserved_concurrent_executions());
                let code_location = output.code().and_then(|c| c.location()).map(str::to_string);
                Ok(output.configuration.map(|config| Remote {
                    config,
                    tags: output.tags.unwrap_or_default(),
                    reserved_concurrency,
                    code_location,
                }))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_failure(format_args!("read function `{name}`"), &e)),
        }
    }

    pub(crate) async fn read_status(&self, name: &str) -> Result<Status> {
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
        let refusals = Cell::new(0u32);
        let deadline = role.map(|r| r.deadline).unwrap_or_else(Instant::now);
        let result = poll(self.timing.iam_propagation, deadline, false, |_| async {
            let mut conflicts = 0;
            let mut sent_again_ready = false;
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
                    // Every third refusal, a role lambda-rt manages is looked up: one deleted
                    // under this run will never propagate.
                    refusals.set(refusals.get() + 1);
                    if role.managed && refusals.get() % 3 == 0 {
                        let role_name = iam::role_name_of(&role.role_arn);
                        if let Ok(None) = iam::get_role(self.iam, role_name).await {
                            let vanished = RoleVanished(role_name.to_string());
                            return Attempt::Fail(WriteFailure::Other(vanished.into()));
                        }
                    }
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
                    let taken = service.conflict_means_taken();
                    match self.read_status(name).await {
                        Ok(status) if status.is_busy() => *latest.borrow_mut() = status,
                        // Ready, so the conflict is with what exists (the caller reads it) —
                        // unless the transition that caused it ended between the answer and
                        // this read: sent once more to tell the two apart.
                        Ok(status) if taken && !sent_again_ready => {
                            sent_again_ready = true;
                            *latest.borrow_mut() = status;
                        }
                        Ok(_) if taken => return Attempt::Fail(WriteFailure::Sdk(Box::new(error))),
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

    /// A write to what hangs off the function (its URL, a permission, an alias) under the same
    /// rules as [`Lambda::write`]: the function is taken to be ready (no read first), and a 409
    /// because it is Pending or being updated is waited out and the write sent again.
    pub(crate) async fn write_when_ready<T, E, Fut>(
        &self,
        name: &str,
        what: &str,
        send: impl Fn(Option<String>) -> Fut,
    ) -> Result<T>
    where
        E: WriteError,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        self.write(name, what, &Status::default(), None, send)
            .await
            .map_err(|gave_up| self.write_error(name, what, None, gave_up))
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
                    .handler(&spec.config.handler)
                    .runtime(Runtime::from(spec.config.runtime.as_str()))
                    .architectures(spec.config.architecture.as_str().into())
                    .memory_size(spec.config.memory_mb)
                    .timeout(spec.config.timeout_seconds)
                    .description(&spec.config.description)
                    .environment(environment(&spec.config.environment))
                    .ephemeral_storage(ephemeral_storage(&spec.config))
                    .tracing_config(tracing(&spec.config))
                    .logging_config(logging(&spec.config))
                    .set_layers(spec.config.extra_layers.clone())
                    .set_vpc_config(spec.config.vpc.as_ref().map(|_| vpc_config(&spec.config)))
                    .set_tags(Some(tags.clone()))
                    .code(match &upload.s3 {
                        Some(object) => FunctionCode::builder()
                            .s3_bucket(&object.bucket)
                            .s3_key(&object.key)
                            .set_s3_object_version(object.version.clone())
                            .build(),
                        None => FunctionCode::builder()
                            .zip_file(Blob::new(upload.package.bytes.clone()))
                            .build(),
                    })
                    .send()
            })
            .await;
        let (arn, status) = match created {
            Ok(output) => {
                upload.verify(format_args!("function `{name}`"), output.code_sha256())?;
                (
                    output.function_arn().unwrap_or_default().to_string(),
                    status_of!(output),
                )
            }
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
                        .architectures(spec.config.architecture.as_str().into())
                        .set_revision_id(revision);
                    match &upload.s3 {
                        Some(object) => request
                            .s3_bucket(&object.bucket)
                            .s3_key(&object.key)
                            .set_s3_object_version(object.version.clone()),
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
        upload.verify(format_args!("function `{name}`"), output.code_sha256())?;
        self.wait_ready(name, &status_of!(output), true).await
    }

    /// Sends only the configuration fields that differ, then waits for the update to finish. A new
    /// role may be refused while IAM propagates it: `role` says until when to retry.
    pub async fn update_configuration(
        &self,
        spec: &FunctionSpec,
        fields: &[ConfigField],
        layers: &[String],
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
                        ConfigField::Handler => request.handler(&spec.config.handler),
                        ConfigField::Runtime => {
                            request.runtime(Runtime::from(spec.config.runtime.as_str()))
                        }
                        ConfigField::Memory => request.memory_size(spec.config.memory_mb),
                        ConfigField::Timeout => request.timeout(spec.config.timeout_seconds),
                        ConfigField::Environment => {
                            request.environment(environment(&spec.config.environment))
                        }
                        ConfigField::Description => request.description(&spec.config.description),
                        ConfigField::EphemeralStorage => {
                            request.ephemeral_storage(ephemeral_storage(&spec.config))
                        }
                        ConfigField::Tracing => request.tracing_config(tracing(&spec.config)),
                        ConfigField::Logging => request.logging_config(logging(&spec.config)),
                        ConfigField::Layers => request.set_layers(Some(layers.to_vec())),
                        ConfigField::Vpc => request.vpc_config(vpc_config(&spec.config)),
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
}
