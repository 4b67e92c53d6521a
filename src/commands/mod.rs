//! One module per subcommand: what `lambda-rt <command>` does, in terms of `aws/`, `package` and
//! `emulator/`, and what it prints. Shared steps of create and update live here.

pub mod create;
pub mod delete;
pub mod init;
pub mod invoke;
pub mod publish_layer;
pub mod serve;
pub mod update;

use anyhow::Result;
use aws_sdk_lambda::types::FunctionConfiguration;

use crate::aws::lambda::{diff, FunctionSpec, Lambda};
use crate::aws::s3::{self, Stager};
use crate::aws::{layer, Clients};
use crate::output::{Action, ResourceReport, Ui};
use crate::package::FunctionCode;
use crate::settings::Settings;

/// The stager for `--s3-bucket`, if the project stages its zips in S3.
pub fn stager<'a>(clients: &'a Clients, settings: &'a Settings, ui: &'a Ui) -> Option<Stager<'a>> {
    settings
        .s3
        .as_ref()
        .map(|staging| Stager::new(&clients.s3, staging, ui))
}

/// The `staged zip` lines for the command's JSON report (text output printed them already).
pub fn staged_reports(stager: Option<&Stager<'_>>) -> Vec<ResourceReport> {
    stager.map(Stager::take_reports).unwrap_or_default()
}

/// The function's layers as version ARNs, in order.
pub fn layer_arns(remote: &FunctionConfiguration) -> Vec<String> {
    remote
        .layers()
        .iter()
        .filter_map(|l| l.arn().map(str::to_string))
        .collect()
}

/// The attached version of the function's runtime layer, read from the function's remote
/// configuration (never from local state): while there is one, the function zip has no bootstrap.
pub fn attached_runtime_layer(remote: &FunctionConfiguration, layer_name: &str) -> Option<String> {
    let layer_arn = layer::layer_arn_for(remote.function_arn()?, layer_name)?;
    layer::attached_version(&layer_arns(remote), &layer_arn).map(str::to_string)
}

/// Brings an existing function in line with the spec and code: code only if the CodeSha256 (or
/// architecture) differs, configuration only for the fields that differ. Returns the report and
/// the CodeSha256 of the zip that matches the function's layout (with or without bootstrap).
pub async fn converge_function(
    lambda: &Lambda<'_>,
    stager: Option<&Stager<'_>>,
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    code: &FunctionCode,
    layer_name: &str,
    dry_run: bool,
) -> Result<(ResourceReport, String)> {
    let runtime_layer = attached_runtime_layer(remote, layer_name);
    let package = code.package(runtime_layer.is_some())?;
    let diff = diff(remote, spec, package);
    let arn = remote.function_arn().map(str::to_string);
    let mut report = if diff.is_empty() {
        ResourceReport::new("function", &spec.name, Action::Unchanged).arn(arn)
    } else {
        if !dry_run {
            if diff.code {
                let upload = s3::prepare(stager, |s| s.function_key(&spec.name), package).await?;
                lambda.update_code(spec, &upload).await?;
            }
            if !diff.config.is_empty() {
                lambda.update_configuration(spec, &diff.config).await?;
            }
        }
        ResourceReport::new("function", &spec.name, Action::Updated)
            .arn(arn)
            .changes(diff.descriptions)
    };
    if let Some(version_arn) = runtime_layer {
        let version = version_arn.rsplit(':').next().unwrap_or_default();
        report = report.note(format!("bootstrap from layer `{layer_name}:{version}`"));
    }
    Ok((report, package.code_sha256.clone()))
}
