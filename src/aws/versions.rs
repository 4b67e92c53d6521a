//! Published versions and aliases of a function: publish only when `$LATEST` differs from the
//! newest version (so a repeated no-op publishes nothing), point an alias at a version, list them,
//! delete old ones. Writes carry the RevisionId they planned from, like every other write.

use anyhow::{anyhow, Result};
use aws_sdk_lambda::operation::create_alias::CreateAliasError;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::operation::publish_version::PublishVersionError;
use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
use aws_sdk_lambda::types::{AliasConfiguration, FunctionConfiguration};

use super::errors::{is_not_found, sdk_failure};
use super::function_state::{conflict_by_code, write_error, Status, WriteError, WriteFailure};
use super::lambda::Lambda;
use super::pages::every_item;
use crate::output::Action;

write_error!(PublishVersionError: conflict, stale_revision, not_found);
conflict_by_code!(taken: CreateAliasError);

/// An alias write waits out a Pending function or an update in progress like any other write;
/// its 412 is about the alias's own RevisionId (someone moved the alias), handled by
/// [`Lambda::point_alias`].
impl WriteError for UpdateAliasError {
    fn is_conflict(&self) -> bool {
        aws_sdk_lambda::error::ProvideErrorMetadata::code(self) == Some("ResourceConflictException")
    }
    fn is_stale_revision(&self) -> bool {
        self.is_precondition_failed_exception()
    }
}

/// A published version, with the aliases that point at it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    pub version: i64,
    pub code_sha256: String,
    pub last_modified: String,
    pub description: String,
    pub aliases: Vec<String>,
}

/// The version number of a published version's configuration (`None` for `$LATEST`).
fn number_of(config: &FunctionConfiguration) -> Option<i64> {
    config.version().and_then(|v| v.parse().ok())
}

/// Whether a published version has `$LATEST`'s code and configuration (what PublishVersion would
/// copy). The description is left out: a version may carry its own.
pub fn same_as_latest(latest: &FunctionConfiguration, version: &FunctionConfiguration) -> bool {
    let layers = |c: &FunctionConfiguration| -> Vec<String> {
        c.layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect()
    };
    let variables = |c: &FunctionConfiguration| {
        c.environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default()
    };
    latest.code_sha256() == version.code_sha256()
        && latest.handler() == version.handler()
        && latest.memory_size() == version.memory_size()
        && latest.timeout() == version.timeout()
        && latest.role() == version.role()
        && latest.runtime() == version.runtime()
        && latest.architectures() == version.architectures()
        && layers(latest) == layers(version)
        && variables(latest) == variables(version)
}

impl Lambda<'_> {
    /// The published versions of function `name`, oldest first (`$LATEST` left out).
    pub async fn versions(&self, name: &str) -> Result<Vec<FunctionConfiguration>> {
        let pages = self
            .client
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .items()
            .send();
        let mut versions = every_item(pages, format_args!("list the versions of `{name}`")).await?;
        versions.retain(|config| number_of(config).is_some());
        versions.sort_by_key(number_of);
        Ok(versions)
    }

    /// The aliases of function `name`.
    pub async fn aliases(&self, name: &str) -> Result<Vec<AliasConfiguration>> {
        let pages = self
            .client
            .list_aliases()
            .function_name(name)
            .into_paginator()
            .items()
            .send();
        every_item(pages, format_args!("list the aliases of `{name}`")).await
    }

    /// Versions with the aliases pointing at them, oldest first.
    pub async fn versions_with_aliases(&self, name: &str) -> Result<Vec<Version>> {
        let (versions, aliases) = tokio::try_join!(self.versions(name), self.aliases(name))?;
        Ok(versions
            .iter()
            .map(|config| {
                let number = number_of(config).unwrap_or_default();
                Version {
                    version: number,
                    code_sha256: config.code_sha256().unwrap_or_default().to_string(),
                    last_modified: config.last_modified().unwrap_or_default().to_string(),
                    description: config.description().unwrap_or_default().to_string(),
                    aliases: aliases
                        .iter()
                        .filter(|a| a.function_version() == Some(number.to_string().as_str()))
                        .filter_map(|a| a.name().map(str::to_string))
                        .collect(),
                }
            })
            .collect())
    }

    /// Publishes `$LATEST` as a version unless the newest version already is it. Returns the
    /// version and whether it is new. `built` is the CodeSha256 of the code this run deployed:
    /// when `$LATEST` holds other code (another run deployed in between), nothing is published,
    /// since the version would hold that run's code while this one reported its own.
    pub async fn publish(
        &self,
        name: &str,
        latest: &FunctionConfiguration,
        built: Option<&str>,
    ) -> Result<(i64, bool)> {
        let deployed = latest.code_sha256().unwrap_or_default();
        if let Some(built) = built.filter(|built| *built != deployed) {
            return Err(anyhow!(
                "function `{name}` changed under this run: its code is now {deployed}, not {built} \
                 that this run deployed — another run (or someone) deployed meanwhile — so no \
                 version was published. Run the command again to deploy and publish this \
                 project's code"
            ));
        }
        let versions = self.versions(name).await?;
        if let Some(newest) = versions.last() {
            if same_as_latest(latest, newest) {
                return Ok((number_of(newest).unwrap_or_default(), false));
            }
        }
        let sha = built.unwrap_or(deployed).to_string();
        let published = self
            .write(
                name,
                "publish a version of function",
                &Status::of(latest),
                None,
                |revision| {
                    self.client
                        .publish_version()
                        .function_name(name)
                        // Lambda publishes only if the code is still this: nothing slips in.
                        .code_sha256(&sha)
                        .set_revision_id(revision)
                        .send()
                },
            )
            .await
            .map_err(|gave_up| {
                self.write_error(name, "publish a version of function", None, gave_up)
            })?;
        let version = published
            .version()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("Lambda published a version of `{name}` with no number"))?;
        Ok((version, true))
    }

    /// Points alias `alias` at `version`, creating it if needed. The update carries the alias's
    /// RevisionId; a 412 (someone moved it meanwhile) re-reads it and tries once more.
    pub async fn point_alias(&self, name: &str, alias: &str, version: i64) -> Result<Action> {
        let target = version.to_string();
        for _attempt in 0..2 {
            let Some(current) = self.alias(name, alias).await? else {
                let what = format!("create alias `{alias}` of function");
                let created = self
                    .write_when_ready(name, &what, |_| {
                        self.client
                            .create_alias()
                            .function_name(name)
                            .name(alias)
                            .function_version(&target)
                            .send()
                    })
                    .await;
                match created {
                    Ok(_) => return Ok(Action::Created),
                    // Another run made it since the read (409): read it and move it if needed.
                    Err(error) => {
                        if self.alias(name, alias).await?.is_none() {
                            return Err(error);
                        }
                        continue;
                    }
                }
            };
            if current.function_version() == Some(target.as_str()) {
                return Ok(Action::Unchanged);
            }
            let what = format!("move alias `{alias}` of function");
            let moved = self
                .write(name, &what, &Status::default(), None, |_| {
                    self.client
                        .update_alias()
                        .function_name(name)
                        .name(alias)
                        .function_version(&target)
                        .set_revision_id(current.revision_id().map(str::to_string))
                        .send()
                })
                .await;
            match moved {
                Ok(_) => return Ok(Action::Updated),
                Err(gave_up) if matches!(gave_up.error, WriteFailure::Stale) => {
                    tracing::info!("alias `{alias}` changed meanwhile: reading it again");
                    continue;
                }
                Err(gave_up) => return Err(self.write_error(name, &what, None, gave_up)),
            }
        }
        Err(anyhow!(
            "alias `{alias}` of `{name}` kept changing while lambda-rt moved it: someone else is \
             moving it; run the command again"
        ))
    }

    /// The version alias `alias` points at, `None` if there is no such alias.
    pub async fn alias_version(&self, name: &str, alias: &str) -> Result<Option<i64>> {
        let current = self.alias(name, alias).await?;
        Ok(current.and_then(|current| current.function_version()?.parse().ok()))
    }

    /// Alias `alias` of function `name`, `None` if there is no such alias.
    async fn alias(&self, name: &str, alias: &str) -> Result<Option<GetAliasOutput>> {
        match self
            .client
            .get_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await
        {
            Ok(current) => Ok(Some(current)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sdk_failure(format_args!("read alias `{alias}`"), &e)),
        }
    }

    /// Deletes one published version (never `$LATEST`).
    pub async fn delete_version(&self, name: &str, version: i64) -> Result<()> {
        self.client
            .delete_function()
            .function_name(name)
            .qualifier(version.to_string())
            .send()
            .await
            .map_err(|e| sdk_failure(format_args!("delete version {version} of `{name}`"), &e))?;
        Ok(())
    }
}

/// Which versions `--keep N` deletes: all but the newest `keep`, sparing any an alias points at.
pub fn to_prune(versions: &[Version], keep: usize) -> Vec<i64> {
    let newest_first: Vec<&Version> = versions.iter().rev().collect();
    newest_first
        .iter()
        .skip(keep)
        .filter(|v| v.aliases.is_empty())
        .map(|v| v.version)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(number: i64, aliases: &[&str]) -> Version {
        Version {
            version: number,
            code_sha256: String::new(),
            last_modified: String::new(),
            description: String::new(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn pruning_keeps_the_newest_and_every_aliased_version() {
        let versions = [
            version(1, &["stable"]),
            version(2, &[]),
            version(3, &[]),
            version(4, &["live"]),
            version(5, &[]),
        ];
        assert_eq!(to_prune(&versions, 2), vec![3, 2]);
        assert_eq!(to_prune(&versions, 10), Vec::<i64>::new());
        assert_eq!(to_prune(&versions, 0), vec![5, 3, 2]);
    }
}
