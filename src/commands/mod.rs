//! One module per subcommand: what `lambda-rt <command>` does, in terms of `aws/`, `package` and
//! `emulator/`, and what it prints. Shared steps of create and update live here.

pub mod create;
pub mod delete;
pub mod invoke;
pub mod serve;
pub mod update;

use anyhow::Result;
use aws_sdk_lambda::types::FunctionConfiguration;

use crate::aws::lambda::{diff, FunctionSpec, Lambda};
use crate::output::{Action, ResourceReport};
use crate::package::Package;

/// Brings an existing function in line with the spec and package: code only if the CodeSha256
/// (or architecture) differs, configuration only for the fields that differ.
pub async fn converge_function(
    lambda: &Lambda<'_>,
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    package: &Package,
    dry_run: bool,
) -> Result<ResourceReport> {
    let diff = diff(remote, spec, package);
    let arn = remote.function_arn().map(str::to_string);
    if diff.is_empty() {
        return Ok(ResourceReport::new("function", &spec.name, Action::Unchanged).arn(arn));
    }
    if !dry_run {
        if diff.code {
            lambda.update_code(spec, package).await?;
        }
        if !diff.config.is_empty() {
            lambda.update_configuration(spec, &diff.config).await?;
        }
    }
    Ok(ResourceReport::new("function", &spec.name, Action::Updated)
        .arn(arn)
        .changes(diff.descriptions))
}
