//! Versions and aliases: `create`/`update --publish [--alias NAME] [--keep N]`, `lambda-rt
//! versions` (each version with its CodeSha256, date, description and aliases) and `lambda-rt
//! rollback` (an alias back to the previous or a given version).

use anyhow::{anyhow, Result};

use super::context::Context;
use crate::aws::lambda::Lambda;
use crate::aws::versions::{to_prune, Version};
use crate::cli::versions::{RollbackArgs, VersionsArgs};
use crate::cli::OutputFormat;
use crate::error::UsageError;
use crate::output::{Action, Change, ResourceReport, Ui};
use crate::settings::Settings;

/// What `--publish`, `--alias` and `--keep` asked for.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub publish: bool,
    pub alias: Option<String>,
    pub keep: Option<usize>,
}

impl PublishOptions {
    /// Checks the flags before anything is read or written.
    pub fn validate(&self) -> Result<()> {
        if let Some(alias) = &self.alias {
            alias_name(alias)?;
        }
        if self.keep.is_some() && !self.wanted() {
            return Err(UsageError(
                "--keep prunes versions after publishing one: add --publish (or --alias NAME)"
                    .into(),
            )
            .into());
        }
        if self.keep == Some(0) {
            return Err(UsageError(
                "--keep 0 would delete the version just published: keep at least 1".into(),
            )
            .into());
        }
        Ok(())
    }

    /// `--alias` implies `--publish`.
    pub fn wanted(&self) -> bool {
        self.publish || self.alias.is_some()
    }
}

/// Lambda's rule for alias names: 1 to 128 letters, digits, `-` or `_`, not only digits.
fn alias_name(alias: &str) -> Result<()> {
    let valid = !alias.is_empty()
        && alias.len() <= 128
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !alias.chars().all(|c| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(UsageError(format!(
            "invalid alias `{alias}`: use 1 to 128 letters, digits, `-` or `_`, not only digits \
             (--alias)"
        ))
        .into())
    }
}

/// After `create` or `update`: publishes `$LATEST` unless the newest version already is it,
/// points the alias at that version, and prunes with `--keep`. `built` is the CodeSha256 this run
/// deployed (see [`Lambda::publish`]); `function_changed` says whether the command changed (or, in
/// a dry run, would change) the function.
pub async fn publish_after(
    lambda: &Lambda<'_>,
    settings: &Settings,
    options: &PublishOptions,
    built: Option<&str>,
    function_changed: bool,
    dry_run: bool,
    ui: &Ui,
) -> Result<Vec<ResourceReport>> {
    let name = &settings.function_name;
    let latest = lambda
        .get(name)
        .await?
        .ok_or_else(|| anyhow!("function `{name}` disappeared before a version was published"))?;
    let mut reports = Vec::new();
    let version = if dry_run {
        let versions = lambda.versions(name).await?;
        let newest = versions.last();
        let unchanged = !function_changed
            && newest.is_some_and(|v| crate::aws::versions::same_as_latest(&latest.config, v));
        let newest_number = newest
            .and_then(|v| v.version())
            .and_then(|v| v.parse::<i64>().ok());
        if unchanged {
            let number = newest_number.unwrap_or_default();
            reports.push(ResourceReport::new(
                "version",
                format!("{name}:{number}"),
                Action::Unchanged,
            ));
            Some(number)
        } else {
            reports.push(ResourceReport::new(
                "version",
                format!("{name}:{}", newest_number.unwrap_or_default() + 1),
                Action::Created,
            ));
            None
        }
    } else {
        let (number, published) = lambda.publish(name, &latest.config, built).await?;
        let action = if published {
            Action::Created
        } else {
            Action::Unchanged
        };
        let mut report = ResourceReport::new("version", format!("{name}:{number}"), action)
            .arn(latest.arn().map(|arn| format!("{arn}:{number}")));
        if !published {
            report = report.note("$LATEST is already this version");
        }
        reports.push(report);
        Some(number)
    };
    if let Some(alias) = &options.alias {
        let current = lambda.alias_version(name, alias).await?;
        let report = match (version, dry_run) {
            (Some(version), false) => {
                let action = lambda.point_alias(name, alias, version).await?;
                ResourceReport::new("alias", format!("{name}:{alias}"), action)
                    .changes(alias_change(current, version, action))
            }
            (version, _) => {
                let action = match (current, version) {
                    (None, _) => Action::Created,
                    (Some(c), Some(v)) if c == v => Action::Unchanged,
                    _ => Action::Updated,
                };
                ResourceReport::new("alias", format!("{name}:{alias}"), action)
            }
        };
        reports.push(report);
    }
    if let (Some(keep), false) = (options.keep, dry_run) {
        let versions = lambda.versions_with_aliases(name).await?;
        for number in to_prune(&versions, keep) {
            lambda.delete_version(name, number).await?;
            reports.push(ResourceReport::new(
                "version",
                format!("{name}:{number}"),
                Action::Deleted,
            ));
        }
    }
    for report in &reports {
        ui.resource(report, dry_run);
    }
    Ok(reports)
}

fn alias_change(from: Option<i64>, to: i64, action: Action) -> Vec<Change> {
    match action {
        Action::Unchanged => Vec::new(),
        _ => vec![Change::new(
            "version",
            from.map(|v| v.to_string()),
            Some(to.to_string()),
        )],
    }
}

/// `lambda-rt versions`: every published version, oldest first, with its aliases.
pub async fn run_versions(ctx: &Context, _args: &VersionsArgs) -> Result<i32> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    settings.require_named_function("versions")?;
    let lambda = ctx.lambda(ctx.clients().await?);
    let name = &settings.function_name;
    ctx.require_function_exists().await?;
    let versions = lambda.versions_with_aliases(name).await?;
    if ui.format == OutputFormat::Json {
        ui.print_document(&crate::output::document(
            "versions",
            serde_json::json!({
                "function_name": name,
                "versions": versions,
            }),
        ))?;
        return Ok(crate::error::exit_code::SUCCESS);
    }
    if versions.is_empty() {
        ui.info(&format!(
            "function `{name}` has no published version: `lambda-rt update --publish` publishes one"
        ));
        return Ok(crate::error::exit_code::SUCCESS);
    }
    let rows: Vec<[String; 5]> = versions
        .iter()
        .map(|version| {
            [
                version.version.to_string(),
                short_sha(&version.code_sha256),
                version.last_modified.clone(),
                if version.aliases.is_empty() {
                    "-".to_string()
                } else {
                    version.aliases.join(",")
                },
                version.description.clone(),
            ]
        })
        .collect();
    print_table(
        ["VERSION", "CODE", "MODIFIED", "ALIASES", "DESCRIPTION"],
        &rows,
        &ui.prefix(),
    );
    Ok(crate::error::exit_code::SUCCESS)
}

/// Columns as wide as their widest cell (aliases and timestamps vary in length), two spaces
/// apart; the first right-aligned (numbers), the last not padded; each line after `prefix`.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]], prefix: &str) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            let width = widths[column];
            match column {
                0 => text.push_str(&format!("{cell:>width$}")),
                _ if column == N - 1 => text.push_str(cell),
                _ => text.push_str(&format!("{cell:<width$}")),
            }
            if column < N - 1 {
                text.push_str("  ");
            }
        }
        println!("{prefix}{}", text.trim_end());
    };
    line(header);
    for row in rows {
        line(std::array::from_fn(|i| row[i].as_str()));
    }
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// `lambda-rt rollback`: points an alias at the version before the one it points at (or `--to`).
pub async fn run_rollback(ctx: &Context, args: &RollbackArgs) -> Result<i32> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    settings.require_named_function("rollback")?;
    if let Some(alias) = &args.alias {
        alias_name(alias)?;
    }
    let lambda = ctx.lambda(ctx.clients().await?);
    let name = &settings.function_name;
    // Both at once; a function that does not exist is the error to show first.
    let (exists, versions) = tokio::join!(
        ctx.require_function_exists(),
        lambda.versions_with_aliases(name)
    );
    exists?;
    let versions = versions?;
    let alias = match &args.alias {
        Some(alias) => alias.clone(),
        None => only_alias(name, &versions)?,
    };
    let current = lambda.alias_version(name, &alias).await?.ok_or_else(|| {
        UsageError(format!(
            "function `{name}` has no alias `{alias}`: `lambda-rt update --publish --alias \
             {alias}` makes one"
        ))
    })?;
    let target = match args.to {
        Some(to) => {
            if !versions.iter().any(|v| v.version == to) {
                return Err(UsageError(format!(
                    "function `{name}` has no version {to} (it has {}): see `lambda-rt versions`",
                    listed(&versions)
                ))
                .into());
            }
            to
        }
        None => versions
            .iter()
            .map(|v| v.version)
            .filter(|v| *v < current)
            .max()
            .ok_or_else(|| {
                anyhow!(
                    "alias `{alias}` points at version {current}, and there is no earlier version \
                     to roll back to"
                )
            })?,
    };
    let report = if args.dry_run {
        ResourceReport::new(
            "alias",
            format!("{name}:{alias}"),
            if target == current {
                Action::Unchanged
            } else {
                Action::Updated
            },
        )
        .changes(vec![Change::new(
            "version",
            Some(current.to_string()),
            Some(target.to_string()),
        )])
    } else {
        let action = lambda.point_alias(name, &alias, target).await?;
        ResourceReport::new("alias", format!("{name}:{alias}"), action).changes(alias_change(
            Some(current),
            target,
            action,
        ))
    };
    ui.resource(&report, args.dry_run);
    ui.finish(&crate::output::Report {
        command: "rollback",
        dry_run: args.dry_run,
        resources: vec![report],
        code_sha256: None,
        layer: None,
        warnings: Vec::new(),
    })?;
    Ok(crate::error::exit_code::SUCCESS)
}

/// The function's one alias, when `--alias` is not given.
fn only_alias(name: &str, versions: &[Version]) -> Result<String> {
    let mut aliases: Vec<&String> = versions.iter().flat_map(|v| &v.aliases).collect();
    aliases.sort();
    aliases.dedup();
    match aliases.as_slice() {
        [only] => Ok(only.to_string()),
        [] => Err(UsageError(format!(
            "function `{name}` has no alias to roll back: `lambda-rt update --publish --alias live` \
             makes one"
        ))
        .into()),
        many => Err(UsageError(format!(
            "function `{name}` has several aliases ({}): name one with --alias",
            many.iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

fn listed(versions: &[Version]) -> String {
    if versions.is_empty() {
        return "none".into();
    }
    versions
        .iter()
        .map(|v| v.version.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
