//! A function's URL (a dedicated HTTPS endpoint): its configuration (auth type, CORS origins,
//! invoke mode) and, for public URLs, the two resource-policy statements Lambda requires.
//!
//! Since October 2025 a function URL with auth type NONE needs both `lambda:InvokeFunctionUrl`
//! (with the `lambda:FunctionUrlAuthType` condition) and `lambda:InvokeFunction` (with the
//! `lambda:InvokedViaFunctionUrl` condition) granted to principal `*` (Lambda developer guide,
//! "Control access to Lambda function URLs"); without the second, every request gets 403.

use anyhow::Result;
use aws_sdk_lambda::types::{Cors, FunctionUrlAuthType, InvokeMode};

use aws_sdk_lambda::operation::add_permission::AddPermissionError;
use aws_sdk_lambda::operation::create_function_url_config::CreateFunctionUrlConfigError;
use aws_sdk_lambda::operation::delete_function_url_config::DeleteFunctionUrlConfigError;
use aws_sdk_lambda::operation::remove_permission::RemovePermissionError;
use aws_sdk_lambda::operation::update_function_url_config::UpdateFunctionUrlConfigError;

use super::errors::{is_not_found, sdk_failure};
use super::function_state::conflict_by_code;
use super::lambda::Lambda;
use crate::function_url::{UrlAuth, UrlInvokeMode, UrlSpec};
use crate::output::{Action, Change, ResourceReport};

// Each of these writes waits out a Pending function or an update in progress (409) like a code or
// configuration write: a re-run right after an interrupted `create --url` meets a Pending
// function.
conflict_by_code!(
    UpdateFunctionUrlConfigError,
    DeleteFunctionUrlConfigError,
    RemovePermissionError
);
conflict_by_code!(taken: CreateFunctionUrlConfigError, AddPermissionError);

/// The statement ids of lambda-rt's public-access statements.
pub const PUBLIC_URL_STATEMENT: &str = "lambda-rt-url-public";
pub const PUBLIC_INVOKE_STATEMENT: &str = "lambda-rt-url-invoke";

fn auth_type(auth: UrlAuth) -> FunctionUrlAuthType {
    match auth {
        UrlAuth::None => FunctionUrlAuthType::None,
        UrlAuth::Iam => FunctionUrlAuthType::AwsIam,
    }
}

fn invoke_mode(mode: UrlInvokeMode) -> InvokeMode {
    match mode {
        UrlInvokeMode::Buffered => InvokeMode::Buffered,
        UrlInvokeMode::ResponseStream => InvokeMode::ResponseStream,
    }
}

/// A function URL as Lambda has it.
#[derive(Debug, Clone)]
pub struct RemoteUrl {
    pub url: String,
    pub auth: String,
    pub cors_origins: Vec<String>,
    pub invoke_mode: String,
}

impl Lambda<'_> {
    /// The function's URL configuration, `None` without one.
    pub async fn url(&self, name: &str) -> Result<Option<RemoteUrl>> {
        match self
            .client
            .get_function_url_config()
            .function_name(name)
            .send()
            .await
        {
            Ok(config) => Ok(Some(RemoteUrl {
                url: config.function_url().to_string(),
                auth: config.auth_type().as_str().to_string(),
                cors_origins: config
                    .cors()
                    .map(|c| c.allow_origins().to_vec())
                    .unwrap_or_default(),
                invoke_mode: config
                    .invoke_mode()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "BUFFERED".into()),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_failure(format_args!("read the URL of `{name}`"), &e)),
        }
    }

    /// The statement ids in the function's resource policy.
    async fn policy_statements(&self, name: &str) -> Result<Vec<String>> {
        match self.client.get_policy().function_name(name).send().await {
            Ok(output) => {
                let policy: serde_json::Value =
                    serde_json::from_str(output.policy().unwrap_or("{}")).unwrap_or_default();
                Ok(super::resource_policy::statement_ids(&policy))
            }
            Err(e) if is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(sdk_failure(format_args!("read the policy of `{name}`"), &e)),
        }
    }

    /// Brings the function's URL in line with `spec` (`None`: no URL), with the public-access
    /// statements a NONE URL needs and no others of lambda-rt's. Writes only what differs.
    pub async fn converge_url(
        &self,
        name: &str,
        spec: Option<&UrlSpec>,
        dry_run: bool,
    ) -> Result<Vec<ResourceReport>> {
        let (remote, statements) = tokio::try_join!(self.url(name), self.policy_statements(name))?;
        let mut reports = Vec::new();
        let label = format!("{name} URL");
        match (spec, &remote) {
            (None, None) => {}
            (None, Some(remote)) => {
                if !dry_run {
                    self.write_when_ready(name, "delete the URL of function", |_| {
                        self.client
                            .delete_function_url_config()
                            .function_name(name)
                            .send()
                    })
                    .await?;
                }
                reports.push(ResourceReport::new(
                    "function url",
                    remote.url.clone(),
                    Action::Deleted,
                ));
            }
            (Some(_), None) if dry_run => {
                reports.push(ResourceReport::new("function url", label, Action::Created));
            }
            (Some(spec), None) => {
                let created = self
                    .write_when_ready(name, "create the URL of function", |_| {
                        self.client
                            .create_function_url_config()
                            .function_name(name)
                            .auth_type(auth_type(spec.auth))
                            .set_cors(cors(spec))
                            .invoke_mode(invoke_mode(spec.invoke_mode))
                            .send()
                    })
                    .await;
                match created {
                    // The URL itself names it (it is only known once made).
                    Ok(created) => reports.push(ResourceReport::new(
                        "function url",
                        created.function_url(),
                        Action::Created,
                    )),
                    // Another run made it since the read (Lambda answers 409): carry on from
                    // what is there.
                    Err(error) => {
                        let Some(found) = self.url(name).await? else {
                            return Err(error);
                        };
                        let report = self.converge_found_url(name, spec, &found, dry_run).await?;
                        reports.push(report.note("made meanwhile by another run"));
                    }
                }
            }
            (Some(spec), Some(remote)) => {
                reports.push(self.converge_found_url(name, spec, remote, dry_run).await?);
            }
        }
        let public = spec.is_some_and(|s| s.auth == UrlAuth::None);
        for statement in [PUBLIC_URL_STATEMENT, PUBLIC_INVOKE_STATEMENT] {
            let present = statements.iter().any(|s| s == statement);
            let action = match (public, present) {
                (true, false) => {
                    if !dry_run {
                        self.add_public_statement(name, statement).await?;
                    }
                    Action::Created
                }
                (false, true) => {
                    if !dry_run {
                        let what = format!("remove permission `{statement}` of function");
                        self.write_when_ready(name, &what, |_| {
                            self.client
                                .remove_permission()
                                .function_name(name)
                                .statement_id(statement)
                                .send()
                        })
                        .await?;
                    }
                    Action::Deleted
                }
                (true, true) => Action::Unchanged,
                (false, false) => continue,
            };
            reports.push(ResourceReport::new(
                "permission",
                format!("{name}:{statement}"),
                action,
            ));
        }
        Ok(reports)
    }

    /// An existing URL brought in line with `spec`: updated only where it differs.
    async fn converge_found_url(
        &self,
        name: &str,
        spec: &UrlSpec,
        remote: &RemoteUrl,
        dry_run: bool,
    ) -> Result<ResourceReport> {
        let changes = url_changes(remote, spec);
        if changes.is_empty() {
            return Ok(ResourceReport::new(
                "function url",
                remote.url.clone(),
                Action::Unchanged,
            ));
        }
        if !dry_run {
            self.write_when_ready(name, "update the URL of function", |_| {
                self.client
                    .update_function_url_config()
                    .function_name(name)
                    .auth_type(auth_type(spec.auth))
                    .cors(cors(spec).unwrap_or_else(|| Cors::builder().build()))
                    .invoke_mode(invoke_mode(spec.invoke_mode))
                    .send()
            })
            .await?;
        }
        Ok(
            ResourceReport::new("function url", remote.url.clone(), Action::Updated)
                .changes(changes),
        )
    }

    /// Adds one of the public statements. One another run added since the policy was read
    /// (Lambda answers 409 for a taken statement id) is found and counted as there.
    async fn add_public_statement(&self, name: &str, statement: &str) -> Result<()> {
        match self.add_statement(name, statement).await {
            Ok(()) => Ok(()),
            Err(error) => {
                let present = self.policy_statements(name).await?;
                if present.iter().any(|s| s == statement) {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn add_statement(&self, name: &str, statement: &str) -> Result<()> {
        let what = format!("add permission `{statement}` to function");
        self.write_when_ready(name, &what, |_| {
            let request = self
                .client
                .add_permission()
                .function_name(name)
                .statement_id(statement)
                .principal("*");
            let request = if statement == PUBLIC_URL_STATEMENT {
                request
                    .action("lambda:InvokeFunctionUrl")
                    .function_url_auth_type(FunctionUrlAuthType::None)
            } else {
                request
                    .action("lambda:InvokeFunction")
                    .invoked_via_function_url(true)
            };
            request.send()
        })
        .await?;
        Ok(())
    }
}

fn cors(spec: &UrlSpec) -> Option<Cors> {
    (!spec.cors_origins.is_empty()).then(|| {
        Cors::builder()
            .set_allow_origins(Some(spec.cors_origins.clone()))
            .allow_methods("*")
            .allow_headers("*")
            .build()
    })
}

fn url_changes(remote: &RemoteUrl, spec: &UrlSpec) -> Vec<Change> {
    let mut changes = Vec::new();
    let auth = auth_type(spec.auth).as_str().to_string();
    if remote.auth != auth {
        changes.push(Change::new("auth", Some(remote.auth.clone()), Some(auth)));
    }
    let mut have = remote.cors_origins.clone();
    let mut want = spec.cors_origins.clone();
    have.sort();
    want.sort();
    if have != want {
        changes.push(Change::new(
            "cors origins",
            Some(have.join(",")).filter(|s| !s.is_empty()),
            Some(want.join(",")).filter(|s| !s.is_empty()),
        ));
    }
    let mode = invoke_mode(spec.invoke_mode).as_str().to_string();
    if remote.invoke_mode != mode {
        changes.push(Change::new(
            "invoke mode",
            Some(remote.invoke_mode.clone()),
            Some(mode),
        ));
    }
    changes
}
