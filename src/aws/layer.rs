//! The runtime layer: list, read, publish and delete its versions, share them, and work out where it
//! sits in a function's list of layers.
//!
//! Layer versions are immutable and PublishLayerVersion mints a new version even for identical
//! bytes, so callers compare CodeSha256 first. AddLayerVersionPermission fails on an existing
//! statement id, so [`Layers::ensure_shared`] reads the policy first.

use anyhow::{anyhow, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionConfiguration, LayerVersionContentInput, Runtime};
use aws_sdk_lambda::Client;
use futures_util::future::try_join_all;

use super::clients::Clients;
use super::errors::{is_not_found, sdk_failure};
use super::pages::every_item;
use super::poll::write_once;
use super::s3::Upload;
use crate::architecture::Architecture;
use crate::output::{Action, ResourceReport};
use crate::share::SharePrincipal;
use aws_sdk_lambda::config::retry::RetryConfig;

/// Every version lambda-rt publishes says so in its description; `delete` only deletes those.
pub const PUBLISHED_BY: &str = "published by lambda-rt";

/// Ends the description of a version lambda-rt publishes, before its CodeSha256: a hint, read from
/// ListLayerVersions at no extra cost, for finding versions of the same content.
const CODE_MARKER: &str = ", code ";

/// The description of a version lambda-rt publishes for `function` with content `code_sha256`
/// (at most 177 characters of Lambda's 256).
pub fn description_for(function: &str, code_sha256: &str) -> String {
    format!("Custom runtime (runtime/) of function {function}, {PUBLISHED_BY}{CODE_MARKER}{code_sha256}")
}

/// The runtimes a layer of custom runtime files works with.
pub const COMPATIBLE_RUNTIMES: [&str; 2] = ["provided.al2023", "provided.al2"];

/// One version of a layer, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersion {
    /// `arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>`.
    pub arn: String,
    pub version: i64,
    pub description: String,
    pub architectures: Vec<String>,
}

impl LayerVersion {
    pub fn published_by_lambda_rt(&self) -> bool {
        self.description.contains(PUBLISHED_BY)
    }

    /// The CodeSha256 its description states (versions lambda-rt published since it wrote it);
    /// a hint only: [`Layers::holding`] confirms it with GetLayerVersion.
    pub fn stated_sha256(&self) -> Option<&str> {
        self.published_by_lambda_rt()
            .then(|| self.description.rsplit_once(CODE_MARKER))
            .flatten()
            .map(|(_, sha)| sha.trim())
    }
}

/// The ARN of layer `layer_name` in the function's account and region, derived from the function's
/// ARN (`arn:<partition>:lambda:<region>:<account>:function:<name>`) without an API call.
pub fn layer_arn_for(function_arn: &str, layer_name: &str) -> Option<String> {
    let parts: Vec<&str> = function_arn.splitn(7, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2] != "lambda" {
        return None;
    }
    Some(format!("{}:layer:{layer_name}", parts[..5].join(":")))
}

/// The layer ARN of a layer version ARN (everything before the last `:`).
pub fn layer_of(version_arn: &str) -> &str {
    version_arn
        .rsplit_once(':')
        .map(|(layer, _)| layer)
        .unwrap_or(version_arn)
}

/// The version ARN in `layers` that belongs to `layer_arn`, if one is attached.
pub fn attached_version<'a>(layers: &'a [String], layer_arn: &str) -> Option<&'a str> {
    layers
        .iter()
        .map(String::as_str)
        .find(|arn| layer_of(arn) == layer_arn)
}

/// `layers` with `version_arn` in place of any version of the same layer (at the first one's
/// position), or appended (last, so its files win over earlier layers'); every other layer keeps
/// its place.
pub fn with_version(layers: &[String], version_arn: &str) -> Vec<String> {
    let layer_arn = layer_of(version_arn);
    let mut result = Vec::with_capacity(layers.len() + 1);
    let mut placed = false;
    for arn in layers {
        if layer_of(arn) == layer_arn {
            if !placed {
                result.push(version_arn.to_string());
                placed = true;
            }
        } else {
            result.push(arn.clone());
        }
    }
    if !placed {
        result.push(version_arn.to_string());
    }
    result
}

/// `layers` without any version of `layer_arn`.
pub fn without_layer(layers: &[String], layer_arn: &str) -> Vec<String> {
    layers
        .iter()
        .filter(|arn| layer_of(arn) != layer_arn)
        .cloned()
        .collect()
}

/// Layer operations.
pub struct Layers<'a> {
    pub client: &'a Client,
    /// Attempts for the writes lambda-rt retries itself ([`write_once`]).
    pub max_attempts: u32,
}

impl<'a> Layers<'a> {
    /// The handle on the clients' Lambda client, retrying as often as they do.
    pub fn new(clients: &'a Clients) -> Self {
        Layers {
            client: &clients.lambda,
            max_attempts: clients.max_attempts,
        }
    }
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
    let layer_arn = layer_arn_for(remote.function_arn()?, layer_name)?;
    attached_version(&layer_arns(remote), &layer_arn).map(str::to_string)
}

/// A per-call override that turns the SDK's retries off, for [`write_once`].
fn no_retries() -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::default().retry_config(RetryConfig::disabled())
}

impl Layers<'_> {
    /// Every version of the layer, newest first; empty if the layer has none.
    pub async fn versions(&self, name: &str) -> Result<Vec<LayerVersion>> {
        let pages = self
            .client
            .list_layer_versions()
            .layer_name(name)
            .into_paginator()
            .items()
            .send();
        let items = every_item(pages, format_args!("list the versions of layer `{name}`")).await?;
        let mut versions: Vec<LayerVersion> = items
            .iter()
            .map(|item| LayerVersion {
                arn: item.layer_version_arn().unwrap_or_default().to_string(),
                version: item.version(),
                description: item.description().unwrap_or_default().to_string(),
                architectures: item
                    .compatible_architectures()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        Ok(versions)
    }

    /// Of `candidates`, the versions lambda-rt published that hold `code_sha256`: those whose
    /// description says so, confirmed by GetLayerVersion (all at once).
    pub async fn holding(
        &self,
        name: &str,
        candidates: &[LayerVersion],
        code_sha256: &str,
    ) -> Result<Vec<LayerVersion>> {
        let hinted: Vec<&LayerVersion> = candidates
            .iter()
            .filter(|v| v.stated_sha256() == Some(code_sha256))
            .collect();
        let read = try_join_all(hinted.iter().map(|v| self.code_sha256(name, v.version))).await?;
        Ok(hinted
            .into_iter()
            .zip(read)
            .filter(|(_, sha)| sha.as_deref() == Some(code_sha256))
            .map(|(version, _)| version.clone())
            .collect())
    }

    /// The CodeSha256 of one version (ListLayerVersions does not return it).
    pub async fn code_sha256(&self, name: &str, version: i64) -> Result<Option<String>> {
        let output = self
            .client
            .get_layer_version()
            .layer_name(name)
            .version_number(version)
            .send()
            .await
            .map_err(|e| sdk_failure(format_args!("read layer version `{name}:{version}`"), &e))?;
        Ok(output
            .content()
            .and_then(|c| c.code_sha256())
            .map(str::to_string))
    }

    /// Publishes a new version with the zip, exactly once: every PublishLayerVersion mints a
    /// version, so a request whose answer was lost is not simply sent again — first the layer's
    /// versions are checked for one newer than `newest_before` with the same CodeSha256.
    pub async fn publish(
        &self,
        name: &str,
        upload: &Upload<'_>,
        architecture: Architecture,
        description: &str,
        newest_before: Option<i64>,
    ) -> Result<LayerVersion> {
        let publish = || {
            let mut request = self
                .client
                .publish_layer_version()
                .layer_name(name)
                .description(description)
                .content(match &upload.s3 {
                    Some(object) => LayerVersionContentInput::builder()
                        .s3_bucket(&object.bucket)
                        .s3_key(&object.key)
                        .set_s3_object_version(object.version.clone())
                        .build(),
                    None => LayerVersionContentInput::builder()
                        .zip_file(Blob::new(upload.package.bytes.clone()))
                        .build(),
                })
                .compatible_architectures(architecture.as_str().into());
            for runtime in COMPATIBLE_RUNTIMES {
                request = request.compatible_runtimes(Runtime::from(runtime));
            }
            async move {
                let output = request
                    .customize()
                    .config_override(no_retries())
                    .send()
                    .await?;
                let deployed = output
                    .content()
                    .and_then(|c| c.code_sha256())
                    .map(str::to_string);
                let version = LayerVersion {
                    arn: output.layer_version_arn().unwrap_or_default().to_string(),
                    version: output.version(),
                    description: description.to_string(),
                    architectures: vec![architecture.as_str().to_string()],
                };
                Ok((version, deployed))
            }
        };
        let already_published = || async {
            for version in self.versions(name).await? {
                if newest_before.is_some_and(|before| version.version <= before) {
                    break;
                }
                let sha = self.code_sha256(name, version.version).await?;
                if sha.as_deref() == Some(upload.package.code_sha256.as_str()) {
                    return Ok(Some((version, sha)));
                }
            }
            Ok(None)
        };
        let (version, deployed) = write_once(
            self.max_attempts,
            format_args!("publish a version of layer `{name}`"),
            publish,
            already_published,
        )
        .await?;
        upload.verify(
            format_args!("layer version `{name}:{}`", version.version),
            deployed.as_deref(),
        )?;
        Ok(version)
    }

    /// Grants `principal` lambda:GetLayerVersion on the version unless our statement is already in
    /// the version's policy. Other statements are left alone.
    pub async fn ensure_shared(
        &self,
        name: &str,
        version: Option<i64>,
        principal: &SharePrincipal,
        dry_run: bool,
    ) -> Result<ResourceReport> {
        let statement_id = principal.statement_id();
        let report = |action| {
            ResourceReport::new("permission", &statement_id, action)
                .note(format!("lambda:GetLayerVersion for {principal}"))
        };
        // A version that a dry run would publish has no policy yet.
        let Some(version) = version else {
            return Ok(report(Action::Created));
        };
        if self
            .statement_ids(name, version)
            .await?
            .contains(&statement_id)
        {
            return Ok(report(Action::Unchanged));
        }
        if !dry_run {
            let (principal_field, organization) = match principal {
                SharePrincipal::Account(id) => (id.as_str(), None),
                SharePrincipal::Everyone => ("*", None),
                SharePrincipal::Organization(id) => ("*", Some(id.clone())),
            };
            // A second AddLayerVersionPermission with the same statement id fails (or, on some
            // emulators, adds a duplicate), so a lost answer is checked against the policy.
            let add = || {
                let request = self
                    .client
                    .add_layer_version_permission()
                    .layer_name(name)
                    .version_number(version)
                    .statement_id(&statement_id)
                    .action("lambda:GetLayerVersion")
                    .principal(principal_field)
                    .set_organization_id(organization.clone())
                    .customize()
                    .config_override(no_retries());
                async move { request.send().await.map(|_| ()) }
            };
            let present = || async {
                let ids = self.statement_ids(name, version).await?;
                Ok(ids.contains(&statement_id).then_some(()))
            };
            write_once(
                self.max_attempts,
                format_args!("share layer version `{name}:{version}` with {principal}"),
                add,
                present,
            )
            .await?;
        }
        Ok(report(Action::Created))
    }

    /// The statement ids in a version's policy; none when it has no policy.
    async fn statement_ids(&self, name: &str, version: i64) -> Result<Vec<String>> {
        let output = match self
            .client
            .get_layer_version_policy()
            .layer_name(name)
            .version_number(version)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => {
                return Err(sdk_failure(
                    format_args!("read the policy of layer version `{name}:{version}`"),
                    &e,
                ))
            }
        };
        let policy: serde_json::Value = serde_json::from_str(output.policy().unwrap_or("{}"))
            .map_err(|e| {
                anyhow!("the policy of layer version `{name}:{version}` is not JSON: {e}")
            })?;
        Ok(super::resource_policy::statement_ids(&policy))
    }

    /// Deletes every version lambda-rt published, all at once (others are reported as kept); a
    /// layer without versions is reported as absent.
    pub async fn delete_all(
        &self,
        name: &str,
        versions: Vec<LayerVersion>,
        dry_run: bool,
    ) -> Result<Vec<ResourceReport>> {
        if versions.is_empty() {
            return Ok(vec![ResourceReport::new("layer", name, Action::Absent)]);
        }
        let ours: Vec<&LayerVersion> = versions
            .iter()
            .filter(|v| v.published_by_lambda_rt())
            .collect();
        if !dry_run {
            try_join_all(ours.iter().map(|v| self.delete_version(name, v.version))).await?;
        }
        Ok(versions
            .iter()
            .map(|version| {
                let label = format!("{name}:{}", version.version);
                if version.published_by_lambda_rt() {
                    ResourceReport::new("layer version", label, Action::Deleted)
                        .arn(Some(&version.arn))
                } else {
                    ResourceReport::new("layer version", label, Action::Kept)
                        .arn(Some(&version.arn))
                        .note("not published by lambda-rt")
                }
            })
            .collect())
    }

    /// Deletes one version; one that is already gone counts as deleted.
    pub async fn delete_version(&self, name: &str, version: i64) -> Result<()> {
        match self
            .client
            .delete_layer_version()
            .layer_name(name)
            .version_number(version)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(sdk_failure(
                format_args!("delete layer version `{name}:{version}`"),
                &e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: &str = "arn:aws:lambda:us-east-1:123456789012:layer:rt";

    fn arns(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn layer_arn_comes_from_the_function_arn() {
        assert_eq!(
            layer_arn_for("arn:aws:lambda:us-east-1:123456789012:function:f", "rt").as_deref(),
            Some(LAYER)
        );
        assert_eq!(layer_arn_for("not-an-arn", "rt"), None);
    }

    #[test]
    fn a_new_version_replaces_the_old_one_in_place() {
        let other = "arn:aws:lambda:us-east-1:999999999999:layer:other:4";
        let layers = arns(&[
            other,
            &format!("{LAYER}:1"),
            "arn:aws:lambda:us-east-1:1:layer:z:2",
        ]);
        assert_eq!(
            with_version(&layers, &format!("{LAYER}:2")),
            arns(&[
                other,
                &format!("{LAYER}:2"),
                "arn:aws:lambda:us-east-1:1:layer:z:2"
            ])
        );
        assert_eq!(
            with_version(&arns(&[other]), &format!("{LAYER}:1")),
            arns(&[other, &format!("{LAYER}:1")])
        );
        assert_eq!(without_layer(&layers, LAYER).len(), 2);
        assert_eq!(
            attached_version(&layers, LAYER),
            Some(&*format!("{LAYER}:1"))
        );
    }

    #[test]
    fn a_same_named_layer_of_another_account_is_not_ours() {
        let foreign = arns(&["arn:aws:lambda:us-east-1:999999999999:layer:rt:7"]);
        assert_eq!(attached_version(&foreign, LAYER), None);
        assert_eq!(without_layer(&foreign, LAYER), foreign);
    }
}
