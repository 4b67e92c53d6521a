//! One module per subcommand: what `lambda-rt <command>` does, in terms of `aws/`, `package` and
//! `emulator/`, and what it prints. Steps shared by several commands live here: whose a function
//! is ([`ownership`]), and bringing an existing function in line with the project
//! ([`converge_function`]).

pub mod check;
pub mod completions;
pub mod create;
pub mod delete;
mod deploy;
pub mod init;
pub mod invoke;
pub mod logs;
pub mod publish_layer;
pub mod serve;
pub mod status;
pub mod update;
pub mod versions;

use anyhow::Result;
use aws_sdk_lambda::types::FunctionConfiguration;

use crate::aws::lambda::{
    diff, FunctionSpec, Lambda, Remote, RolePropagation, StaleRevision, Status,
};
use crate::aws::owner::{self, Ownership};
use crate::aws::s3::{self, Stager};
use crate::aws::{iam, layer, Clients};
use crate::output::{Action, ResourceReport, Ui};
use crate::package::FunctionCode;
use crate::settings::Settings;

/// lambda-rt refused to touch a function it did not create.
#[derive(Debug, thiserror::Error)]
#[error(
    "function `{function}` exists but was not created by lambda-rt (it has no \
     `managed-by=lambda-rt` tag), so lambda-rt will not {verb} it\nhint: if lambda-rt should \
     manage it from now on, run the same command with --adopt (lambda-rt tags the function, then \
     proceeds); otherwise pick another --function-name"
)]
pub struct NotOurs {
    pub function: String,
    pub verb: &'static str,
}

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

/// The name of the role in a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub fn role_name_of(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// Who the function belongs to: lambda-rt's tag says so, or (for functions made before lambda-rt
/// tagged them) its execution role is a lambda-rt role. Reads the role only for an untagged
/// function; `known_role` is used instead when the caller has read it already.
pub async fn ownership(
    clients: &Clients,
    remote: &Remote,
    known_role: Option<&iam::RemoteRole>,
) -> Result<Ownership> {
    let tags = remote.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if owner::has_owner_tag(tags) {
        return Ok(Ownership::Ours);
    }
    let role_name = role_name_of(remote.config.role().unwrap_or_default());
    let role = match known_role.filter(|r| r.name == role_name) {
        Some(role) => Some(role.clone()),
        None if role_name.is_empty() => None,
        None => iam::get_role(&clients.iam, role_name).await?,
    };
    Ok(match role {
        Some(role) if role.is_owned() => Ownership::Legacy,
        _ => Ownership::Foreign,
    })
}

/// Makes sure lambda-rt may write to the function: a foreign one is refused (nothing written)
/// unless `adopt`, which tags it; a legacy one is tagged on the way. Returns a note for the report
/// when something was (or, in a dry run, would be) tagged.
pub async fn claim(
    lambda: &Lambda<'_>,
    remote: &Remote,
    ownership: Ownership,
    adopt: bool,
    verb: &'static str,
    dry_run: bool,
) -> Result<Option<&'static str>> {
    let name = remote.config.function_name().unwrap_or_default();
    let note = match (ownership, adopt) {
        (Ownership::Ours, _) => return Ok(None),
        (Ownership::Foreign, false) => {
            return Err(NotOurs {
                function: name.to_string(),
                verb,
            }
            .into())
        }
        (Ownership::Foreign, true) => "adopted (--adopt): tagged managed-by=lambda-rt",
        (Ownership::Legacy, _) => {
            "tagged managed-by=lambda-rt (created by an earlier lambda-rt, before functions were \
             tagged)"
        }
    };
    if !dry_run {
        lambda
            .tag(name, remote.arn().unwrap_or_default(), &owner::owner_tags())
            .await?;
    }
    Ok(Some(note))
}

/// When the function takes its runtime from a version of the project's layer, checks that
/// `runtime/` still is what that version holds: `update` deploys only the function's code, so an
/// edited runtime would otherwise go unnoticed. Returns a note to show, or `None` when in step (or
/// when it cannot be told, e.g. a Deno binary missing here).
pub async fn stale_runtime_note(
    clients: &Clients,
    settings: &Settings,
    remote: &FunctionConfiguration,
) -> Result<Option<String>> {
    let Some(version_arn) = attached_runtime_layer(remote, &settings.layer_name) else {
        return Ok(None);
    };
    let local = match crate::package::layer_zip(settings) {
        Ok(zip) => zip.code_sha256,
        Err(error) => {
            tracing::debug!("not comparing runtime/ with the attached layer: {error:#}");
            return Ok(None);
        }
    };
    let layers = layer::Layers {
        client: &clients.lambda,
        max_attempts: clients.max_attempts,
    };
    // A layer version ARN is the layer's ARN, a colon and the version number. GetLayerVersion
    // takes the layer's ARN as its name; moto does not implement GetLayerVersionByArn.
    let Some((layer_arn, version)) = version_arn
        .rsplit_once(':')
        .and_then(|(arn, v)| Some((arn, v.parse::<i64>().ok()?)))
    else {
        return Ok(None);
    };
    let remote_sha = layers.code_sha256(layer_arn, version).await?;
    if remote_sha.as_deref() == Some(local.as_str()) {
        return Ok(None);
    }
    Ok(Some(format!(
        "runtime/ differs from layer version `{}:{version}`, which the function runs: run \
         `lambda-rt publish-layer` to deploy it",
        settings.layer_name
    )))
}

/// How [`converge_function`] should go about it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvergeOptions<'a> {
    pub dry_run: bool,
    /// Send the code and the whole configuration even if nothing differs.
    pub force: bool,
    /// Until when a new role may be refused while IAM propagates it.
    pub role: Option<&'a RolePropagation>,
}

/// Brings an existing function in line with the spec and code: code only if the CodeSha256 (or
/// architecture) differs, configuration only for the fields that differ, each write with the
/// RevisionId read. When someone else changes the function meanwhile (a stale RevisionId), the
/// function is read again and the plan made again, once. Returns the report and the CodeSha256
/// of the zip that matches the function's layout (with or without bootstrap).
pub async fn converge_function(
    lambda: &Lambda<'_>,
    stager: Option<&Stager<'_>>,
    remote: &Remote,
    spec: &FunctionSpec,
    code: &FunctionCode,
    layer_name: &str,
    options: ConvergeOptions<'_>,
) -> Result<(ResourceReport, String)> {
    match converge_once(
        lambda,
        stager,
        &remote.config,
        spec,
        code,
        layer_name,
        options,
    )
    .await
    {
        Err(error) if error.is::<StaleRevision>() => {
            lambda.ui.info(&format!(
                "function `{}` changed since lambda-rt read it (someone else changed it \
                 meanwhile, or a lost answer hid a write of ours): reading it again and \
                 re-planning",
                spec.name
            ));
            let Some(fresh) = lambda.get(&spec.name).await? else {
                anyhow::bail!(
                    "function `{}` was deleted by someone else while lambda-rt was updating it; \
                     run `lambda-rt create` to make it again",
                    spec.name
                );
            };
            let (report, sha) = converge_once(
                lambda,
                stager,
                &fresh.config,
                spec,
                code,
                layer_name,
                options,
            )
            .await
            .map_err(|error| {
                if error.is::<StaleRevision>() {
                    error.context(
                        "it changed again right after lambda-rt re-read it: someone else \
                                 is updating it now; run the command again when they are done",
                    )
                } else {
                    error
                }
            })?;
            Ok((report.note("re-planned after a concurrent change"), sha))
        }
        result => result,
    }
}

async fn converge_once(
    lambda: &Lambda<'_>,
    stager: Option<&Stager<'_>>,
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    code: &FunctionCode,
    layer_name: &str,
    options: ConvergeOptions<'_>,
) -> Result<(ResourceReport, String)> {
    let runtime_layer = attached_runtime_layer(remote, layer_name);
    let package = code.package(runtime_layer.is_some())?;
    let diff = diff(remote, spec, package, options.force);
    let arn = remote.function_arn().map(str::to_string);
    let status = Status::of(remote);
    let mut report = if diff.is_empty() {
        // Nothing to send, but a function that cannot run is not "unchanged".
        if let Some(error) = status
            .update_failed_error(&spec.name)
            .or_else(|| status.failed_error(&spec.name))
        {
            return Err(error);
        }
        ResourceReport::new("function", &spec.name, Action::Unchanged).arn(arn)
    } else {
        if !options.dry_run {
            let mut status = status;
            if diff.code {
                let upload = s3::prepare(stager, |s| s.function_key(&spec.name), package).await?;
                status = lambda.update_code(spec, &upload, &status).await?;
            }
            if !diff.config.is_empty() {
                lambda
                    .update_configuration(spec, &diff.config, &status, options.role)
                    .await?;
            }
        }
        ResourceReport::new("function", &spec.name, Action::Updated)
            .arn(arn)
            .changes(diff.changes)
    };
    if let Some(version_arn) = runtime_layer {
        let version = version_arn.rsplit(':').next().unwrap_or_default();
        report = report.note(format!("bootstrap from layer `{layer_name}:{version}`"));
    }
    Ok((report, package.code_sha256.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_come_from_arns() {
        assert_eq!(role_name_of("arn:aws:iam::1:role/service/r"), "r");
        assert_eq!(role_name_of("arn:aws:iam::1:role/r"), "r");
    }
}
