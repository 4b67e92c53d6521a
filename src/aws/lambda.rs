//! The Lambda function: read, wait, create, update code and configuration, invoke, delete.
//!
//! Lambda functions change state: Pending after CreateFunction and LastUpdateStatus=InProgress
//! after each update, and a write in either state fails with ResourceConflictException. So every
//! write waits for the function to be ready before and after, and conflicts are retried with a
//! bounded backoff. All waits are bounded polls (see [`Timing`]).

use std::collections::{BTreeMap, HashMap};

use anyhow::{anyhow, Result};
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, LogType, Runtime, State,
};
use aws_sdk_lambda::Client;
use base64::Engine;

use super::{retry, sdk_failure, Retried, Timing};
use crate::aws::s3::Upload;
use crate::invocation::InvokeOutcome;
use crate::output::{Action, ResourceReport, Ui};
use crate::package::Package;
use crate::settings::{Architecture, Settings};

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

/// What `update` has to change on an existing function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionDiff {
    /// The code (CodeSha256) or the architecture differs: both go through UpdateFunctionCode.
    pub code: bool,
    pub config: Vec<ConfigField>,
    /// Human-readable list of the differences, e.g. `memory 128 → 256`.
    pub descriptions: Vec<String>,
}

impl FunctionDiff {
    pub fn is_empty(&self) -> bool {
        !self.code && self.config.is_empty()
    }
}

/// Compares the function's remote configuration with the spec and the local package.
pub fn diff(
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    package: &Package,
) -> FunctionDiff {
    let mut diff = FunctionDiff::default();
    if remote.code_sha256() != Some(package.code_sha256.as_str()) {
        diff.code = true;
        diff.descriptions.push("code".into());
    }
    let remote_arch: Vec<&str> = remote.architectures().iter().map(|a| a.as_str()).collect();
    // Lambda reports no architecture for old functions, which means x86_64.
    let remote_arch = remote_arch.first().copied().unwrap_or("x86_64");
    if remote_arch != spec.architecture.as_str() {
        diff.code = true;
        diff.descriptions.push(format!(
            "architecture {remote_arch} → {}",
            spec.architecture
        ));
    }
    let mut field = |field: ConfigField, label: &str, from: String, to: String, show: bool| {
        if from != to {
            diff.config.push(field);
            diff.descriptions.push(if show {
                format!("{label} {from} → {to}")
            } else {
                label.to_string()
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
    // Values may be secrets: say which keys changed, never the values.
    if remote_env != spec.environment {
        let mut keys: Vec<&String> = remote_env
            .keys()
            .chain(spec.environment.keys())
            .filter(|k| remote_env.get(*k) != spec.environment.get(*k))
            .collect();
        keys.sort();
        keys.dedup();
        let keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
        diff.config.push(ConfigField::Environment);
        diff.descriptions
            .push(format!("environment ({})", keys.join(", ")));
    }
    diff
}

/// Lambda operations with the waits and retries they need.
pub struct Lambda<'a> {
    pub client: &'a Client,
    pub timing: Timing,
    pub ui: &'a Ui,
}

fn is_role_not_assumable(error: &SdkError<CreateFunctionError>) -> bool {
    // The one case the API does not model: IAM has not yet propagated a new role to Lambda.
    matches!(
        error.as_service_error(),
        Some(CreateFunctionError::InvalidParameterValueException(e))
            if e.message().is_some_and(|m| m.contains("cannot be assumed"))
    )
}

fn is_already_created(error: &SdkError<CreateFunctionError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(CreateFunctionError::ResourceConflictException(e))
            if e.message().is_some_and(|m| m.contains("already exist"))
    )
}

fn gave_up_note<E>(retried: &Retried<E>) -> String {
    match retried.gave_up_after {
        Some(elapsed) => format!(
            " (still failing after retrying for {} s)",
            elapsed.as_secs()
        ),
        None => String::new(),
    }
}

impl Lambda<'_> {
    /// The function's configuration, `None` if it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<FunctionConfiguration>> {
        match self.client.get_function().function_name(name).send().await {
            Ok(output) => Ok(output.configuration),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_failure(format_args!("read function `{name}`"), &e)),
        }
    }

    /// Polls until the function is not Pending and no update is in progress. A Failed state is an
    /// error carrying Lambda's reason; a failed *previous* update only blocks when `after_write`.
    pub async fn wait_ready(&self, name: &str, after_write: bool) -> Result<FunctionConfiguration> {
        let backoff = self.timing.state_poll;
        let start = std::time::Instant::now();
        let mut delay = backoff.initial;
        let mut waiting = None;
        loop {
            let config = self
                .get(name)
                .await?
                .ok_or_else(|| anyhow!("function `{name}` disappeared while waiting for it"))?;
            let state = config.state().cloned();
            let update = config.last_update_status().cloned();
            if state == Some(State::Failed) {
                return Err(anyhow!(
                    "function `{name}` is in state Failed: {}",
                    config.state_reason().unwrap_or("no reason given")
                ));
            }
            if after_write && update == Some(LastUpdateStatus::Failed) {
                return Err(anyhow!(
                    "the update of function `{name}` failed: {}",
                    config
                        .last_update_status_reason()
                        .unwrap_or("no reason given")
                ));
            }
            let busy =
                state == Some(State::Pending) || update == Some(LastUpdateStatus::InProgress);
            if !busy {
                return Ok(config);
            }
            if start.elapsed() + delay > backoff.max_total {
                return Err(anyhow!(
                    "gave up waiting for function `{name}` after {} s (state {}, last update {}); \
                     run the command again later",
                    start.elapsed().as_secs(),
                    state.as_ref().map(|s| s.as_str()).unwrap_or("unknown"),
                    update.as_ref().map(|s| s.as_str()).unwrap_or("unknown"),
                ));
            }
            if waiting.is_none() {
                let what = if state == Some(State::Pending) {
                    "become Active"
                } else {
                    "finish updating"
                };
                waiting = Some(
                    self.ui
                        .waiting(format!("waiting for function `{name}` to {what}")),
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(backoff.max_delay);
        }
    }

    /// Creates the function; retries while IAM has not propagated the role. A role created just
    /// now gets the full propagation bound; an older one only a short one, since a role that still
    /// cannot be assumed after that is more likely wrong than new.
    pub async fn create(
        &self,
        spec: &FunctionSpec,
        upload: &Upload<'_>,
        role_just_created: bool,
    ) -> Result<String> {
        let name = spec.name.as_str();
        let waiting = std::cell::RefCell::new(None);
        let backoff = if role_just_created {
            self.timing.iam_propagation
        } else {
            self.timing.conflict_short()
        };
        let created = retry(
            backoff,
            "create function (role not yet assumable)",
            |e| {
                let retryable = is_role_not_assumable(e);
                if retryable && waiting.borrow().is_none() {
                    *waiting.borrow_mut() = Some(self.ui.waiting(format!(
                        "waiting for IAM to propagate role `{}` to Lambda",
                        spec.role_arn
                    )));
                }
                retryable
            },
            || {
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
            },
        )
        .await;
        drop(waiting.take());
        if let Err(retried) = &created {
            if is_already_created(&retried.error) {
                // The SDK retried a CreateFunction whose first answer was lost: the function is
                // there, made by our own first attempt (the caller read it as absent just before).
                let config = self.wait_ready(name, true).await?;
                return Ok(config.function_arn.unwrap_or_default());
            }
        }
        let created = created.map_err(|retried| {
            let note = gave_up_note(&retried);
            let error = sdk_failure(format_args!("create function `{name}`{note}"), &retried.error);
            if !is_role_not_assumable(&retried.error) {
                error
            } else if role_just_created {
                anyhow!(
                    "{error}\nhint: IAM can take a few minutes to make a new role usable by Lambda; \
                     run `lambda-rt create` again"
                )
            } else {
                anyhow!(
                    "{error}\nhint: check that role `{}` exists and trusts lambda.amazonaws.com",
                    spec.role_arn
                )
            }
        })?;
        self.wait_ready(name, true).await?;
        Ok(created.function_arn.unwrap_or_default())
    }

    /// Uploads new code (and the architecture, which Lambda sets together with the code).
    pub async fn update_code(&self, spec: &FunctionSpec, upload: &Upload<'_>) -> Result<()> {
        let name = spec.name.as_str();
        self.wait_ready(name, false).await?;
        retry(
            self.timing.conflict,
            "update function code (update in progress)",
            |e: &SdkError<_>| {
                e.as_service_error()
                    .is_some_and(|s: &aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError| {
                        s.is_resource_conflict_exception()
                    })
            },
            || {
                let request = self
                    .client
                    .update_function_code()
                    .function_name(name)
                    .architectures(spec.architecture.as_str().into());
                match &upload.s3 {
                    Some(object) => request.s3_bucket(&object.bucket).s3_key(&object.key),
                    None => request.zip_file(Blob::new(upload.package.bytes.clone())),
                }
                .send()
            },
        )
        .await
        .map_err(|r| {
            let note = gave_up_note(&r);
            sdk_failure(format_args!("update the code of function `{name}`{note}"), &r.error)
        })?;
        self.wait_ready(name, true).await?;
        Ok(())
    }

    /// Sends only the configuration fields that differ.
    pub async fn update_configuration(
        &self,
        spec: &FunctionSpec,
        fields: &[ConfigField],
    ) -> Result<()> {
        self.write_configuration(&spec.name, "configuration", |mut request| {
            for field in fields {
                request = match field {
                    ConfigField::Role => request.role(&spec.role_arn),
                    ConfigField::Handler => request.handler(&spec.handler),
                    ConfigField::Runtime => request.runtime(Runtime::from(spec.runtime.as_str())),
                    ConfigField::Memory => request.memory_size(spec.memory_mb),
                    ConfigField::Timeout => request.timeout(spec.timeout_seconds),
                    ConfigField::Environment => request.environment(environment(&spec.environment)),
                    ConfigField::Description => request.description(&spec.description),
                };
            }
            request
        })
        .await
    }

    /// Replaces the function's list of layers (version ARNs, in order).
    pub async fn set_layers(&self, name: &str, layers: &[String]) -> Result<()> {
        self.write_configuration(name, "layers", |request| {
            request.set_layers(Some(layers.to_vec()))
        })
        .await
    }

    /// One UpdateFunctionConfiguration call shaped by `fill`, with the waits before and after and
    /// conflicts retried.
    async fn write_configuration(
        &self,
        name: &str,
        what: &str,
        fill: impl Fn(
            UpdateFunctionConfigurationFluentBuilder,
        ) -> UpdateFunctionConfigurationFluentBuilder,
    ) -> Result<()> {
        self.wait_ready(name, false).await?;
        retry(
            self.timing.conflict,
            "update function configuration (update in progress)",
            |e: &SdkError<UpdateFunctionConfigurationError>| {
                e.as_service_error()
                    .is_some_and(|s| s.is_resource_conflict_exception())
            },
            || {
                fill(
                    self.client
                        .update_function_configuration()
                        .function_name(name),
                )
                .send()
            },
        )
        .await
        .map_err(|r| {
            let note = gave_up_note(&r);
            sdk_failure(
                format_args!("update the {what} of function `{name}`{note}"),
                &r.error,
            )
        })?;
        self.wait_ready(name, true).await?;
        Ok(())
    }

    /// Invokes the function synchronously, after checking it exists and waiting until it is ready
    /// (a Pending function answers ResourceConflictException; that is retried too).
    pub async fn invoke(&self, name: &str, payload: &[u8], tail: bool) -> Result<InvokeOutcome> {
        if self.get(name).await?.is_none() {
            return Err(not_found_for_invoke(name));
        }
        self.wait_ready(name, false).await?;
        let result = retry(
            self.timing.conflict,
            "invoke (function not ready)",
            |e: &SdkError<_>| {
                e.as_service_error().is_some_and(
                    |s: &aws_sdk_lambda::operation::invoke::InvokeError| {
                        s.is_resource_conflict_exception()
                    },
                )
            },
            || {
                let mut request = self
                    .client
                    .invoke()
                    .function_name(name)
                    .payload(Blob::new(payload.to_vec()));
                if tail {
                    request = request.log_type(LogType::Tail);
                }
                request.send()
            },
        )
        .await;
        let output = match result {
            Ok(output) => output,
            Err(r)
                if r.error
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(not_found_for_invoke(name));
            }
            Err(r) => {
                return Err(sdk_failure(
                    format_args!("invoke function `{name}`"),
                    &r.error,
                ))
            }
        };
        let log_tail = output.log_result().map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_else(|_| encoded.to_string())
        });
        Ok(InvokeOutcome {
            function_error: output.function_error().map(str::to_string),
            executed_version: output.executed_version().map(str::to_string),
            payload: output.payload.map(Blob::into_inner).unwrap_or_default(),
            log_tail,
        })
    }

    /// Deletes the function; a missing one is reported as absent.
    pub async fn delete(&self, name: &str, dry_run: bool) -> Result<ResourceReport> {
        if dry_run {
            let action = match self.get(name).await? {
                Some(_) => Action::Deleted,
                None => Action::Absent,
            };
            return Ok(ResourceReport::new("function", name, action));
        }
        match self
            .client
            .delete_function()
            .function_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(ResourceReport::new("function", name, Action::Deleted)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(ResourceReport::new("function", name, Action::Absent))
            }
            Err(e) => Err(sdk_failure(format_args!("delete function `{name}`"), &e)),
        }
    }
}

fn not_found_for_invoke(name: &str) -> anyhow::Error {
    anyhow!("failed to invoke function `{name}`: it does not exist; run `lambda-rt create` first")
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder()
        .set_variables(Some(variables))
        .build()
}
