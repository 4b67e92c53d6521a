//! `lambda-rt publish-layer`: `runtime/` as a Lambda layer, attached to the function.
//!
//! The steps, each skipped when there is nothing to do, so a second run makes no write call:
//! 1. publish a version only if the local layer zip's CodeSha256 differs from the newest version's;
//! 2. share it (`--share-with`), reading the version's policy first;
//! 3. attach it in place of any older version of the same layer, keeping every other layer where it
//!    is, *then* upload the function code without `bootstrap` — in this order the function always
//!    has a bootstrap;
//! 4. prune (`--keep N`) versions beyond the newest N, never the attached one.
//!
//! `--detach` is the way back: code with `bootstrap` first, then the layer comes off.

use anyhow::{anyhow, Result};
use aws_sdk_lambda::types::FunctionConfiguration;

use super::context::{staged_reports, Context};
use super::ownership;
use crate::aws::function_spec::FunctionSpec;
use crate::aws::function_state::{StaleRevision, Status};
use crate::aws::lambda::Lambda;
use crate::aws::layer::{self, attached_runtime_layer, layer_arns, LayerVersion, Layers};
use crate::aws::s3;
use crate::cli::publish_layer::PublishLayerArgs;
use crate::error::UsageError;
use crate::output::{Action, Change, LayerSummary, Report, ResourceReport};
use crate::package::{self, FunctionCode, LazyPackage};
use crate::project;
use crate::settings::Settings;
use crate::share::SharePrincipal;

/// Lambda's limit on the number of layers of one function.
pub const MAX_LAYERS_PER_FUNCTION: usize = 5;

/// A layer is made public only when the user says so twice: `--share-with '*'` alone could be a
/// shell glob gone wrong or a copied example, and the grant lets every AWS account read the code.
fn require_public_choice(args: &PublishLayerArgs) -> Result<()> {
    if args.share_with.contains(&SharePrincipal::Everyone) && !args.public {
        return Err(UsageError(
            "--share-with '*' makes the layer public: every AWS account could use it and read its \
             contents. Add --public to confirm, or share with an account id (111122223333) or an \
             organization id (o-…) instead"
                .to_string(),
        )
        .into());
    }
    Ok(())
}

/// How often attaching is planned again after the function changed under it.
const MAX_REPLANS: u32 = 2;
pub async fn run(ctx: &Context, args: &PublishLayerArgs) -> Result<i32> {
    let settings = &ctx.settings;
    settings.require_named_function("publish-layer")?;
    require_public_choice(args)?;
    let attach = !args.no_attach;
    // Everything local is checked and zipped before the first AWS call.
    let code = if attach || args.detach {
        project::check_project_files(settings)?;
        Some(FunctionCode::build(settings)?)
    } else {
        project::check_runtime_files(settings)?;
        None
    };
    let runtime = crate::package::layer_entries(settings)?;
    // The function's files are beside the layer's on Lambda (/var/task): a library there counts.
    let beside: Vec<String> = if settings.function_dir().is_dir() {
        crate::package::collect_dir(&settings.function_dir(), &settings.project_dir)?
            .into_iter()
            .map(|entry| entry.name)
            .collect()
    } else {
        Vec::new()
    };
    super::deploy::preflight(ctx, &runtime, &beside)?;
    let report = match (args.detach, code) {
        (true, Some(code)) => {
            detach(
                ctx,
                &code,
                DetachOptions {
                    dry_run: args.dry_run,
                    adopt: args.adopt,
                },
            )
            .await?
        }
        (_, code) => {
            let layer = package::layer_package(runtime, settings);
            let options = PublishOptions {
                share_with: &args.share_with,
                keep: args.keep,
                dry_run: args.dry_run,
                adopt: args.adopt,
            };
            publish(ctx, &layer, code.as_ref(), &options).await?
        }
    };
    ctx.ui.finish(&report)?;
    Ok(crate::error::exit_code::SUCCESS)
}

/// What `publish` does besides publishing.
#[derive(Debug, Clone)]
pub struct PublishOptions<'a> {
    pub share_with: &'a [SharePrincipal],
    pub keep: Option<u32>,
    pub dry_run: bool,
    /// Take over a function lambda-rt did not create.
    pub adopt: bool,
}

/// What `detach` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct DetachOptions {
    pub dry_run: bool,
    pub adopt: bool,
}

/// After publishing `version`: an older version of the same content that another run published
/// since this one read the versions (`planned_from`, the newest then). Versions are numbered in
/// order, so when `version` directly follows `planned_from` nobody published in between and
/// nothing is read.
async fn concurrent_twin(
    layers: &Layers<'_>,
    name: &str,
    planned_from: Option<i64>,
    version: &LayerVersion,
    code_sha256: &str,
) -> Result<Option<LayerVersion>> {
    let planned_from = planned_from.unwrap_or(0);
    if version.version == planned_from + 1 {
        return Ok(None);
    }
    let between: Vec<LayerVersion> = layers
        .versions(name)
        .await?
        .into_iter()
        .filter(|v| v.version > planned_from && v.version < version.version)
        .collect();
    let twins = layers.holding(name, &between, code_sha256).await?;
    Ok(twins.into_iter().min_by_key(|v| v.version))
}

/// Publishes (or reuses) the layer version; attaches it when `code` is given.
pub async fn publish(
    ctx: &Context,
    layer: &LazyPackage,
    code: Option<&FunctionCode>,
    options: &PublishOptions<'_>,
) -> Result<Report> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    let clients = ctx.clients().await?;
    let dry_run = options.dry_run;
    let lambda = ctx.lambda(clients);
    let layers = ctx.layers(clients);
    let stager = ctx.stager(clients);
    let name = settings.layer_name.as_str();
    let function_name = settings.function_name.as_str();
    let mut resources = Vec::new();

    // The function and the layer's versions, read at once. Attaching to a function that does not
    // exist, is someone else's, or is at Lambda's layer limit must fail before anything is
    // published; and pruning must know the attached version.
    let (function, versions) = tokio::try_join!(lambda.get(function_name), layers.versions(name))?;
    let function_remote = function.clone();
    let function = function.map(|remote| remote.config);
    let mut claimed = None;
    if let (Some(remote), true) = (&function_remote, code.is_some()) {
        claimed = ownership::claim_for_change(ctx, &lambda, remote, None, options.adopt, dry_run)
            .await?
            .note;
    }
    if code.is_some() {
        let Some(remote) = &function else {
            return Err(anyhow!(
                "failed to attach layer `{name}`: function `{function_name}` does not exist; run \
                 `lambda-rt create` first, or pass --no-attach to only publish the layer"
            ));
        };
        let current = layer_arns(remote);
        if attached_runtime_layer(remote, name).is_none()
            && current.len() >= MAX_LAYERS_PER_FUNCTION
        {
            return Err(anyhow!(
                "failed to attach layer `{name}`: function `{function_name}` already has {} layers, \
                 Lambda's limit; remove one, or pass --no-attach to only publish the layer",
                current.len()
            ));
        }
    }

    // 1. Publish only when the bytes changed. Two runs at once can each publish the same
    // content; both converge on the lowest-numbered version of it, and the others lambda-rt made
    // are deleted once the function is attached (`duplicates`).
    let identity = layer.identity()?;
    let ours = identity.code_sha256.as_str();
    let reusable = match versions.first() {
        Some(newest) if fits_architecture(newest, settings) => {
            let sha = layers.code_sha256(name, newest.version).await?;
            (sha.as_deref() == Some(ours)).then(|| newest.clone())
        }
        _ => None,
    };
    let mut duplicates: Vec<LayerVersion> = Vec::new();
    let published = reusable.is_none();
    let current: Option<LayerVersion> = match reusable {
        Some(newest) => {
            // Versions right below the newest holding the same content: a race published it
            // more than once, and an earlier run was interrupted before it cleaned up.
            let below: Vec<LayerVersion> = versions
                .iter()
                .skip(1)
                .take_while(|v| v.stated_sha256() == Some(ours))
                .cloned()
                .collect();
            let twins = if below.is_empty() {
                Vec::new()
            } else {
                layers.holding(name, &below, ours).await?
            };
            let survivor = twins
                .iter()
                .min_by_key(|v| v.version)
                .cloned()
                .unwrap_or_else(|| newest.clone());
            duplicates = std::iter::once(newest)
                .chain(twins)
                .filter(|v| v.version != survivor.version)
                .collect();
            let report = ResourceReport::new(
                "layer version",
                version_label(name, &survivor),
                Action::Unchanged,
            )
            .arn(Some(&survivor.arn))
            .note("same CodeSha256 as the newest version; reused");
            ui.resource(&report, dry_run);
            resources.push(report);
            Some(survivor)
        }
        None if dry_run => {
            let report =
                ResourceReport::new("layer version", format!("{name}:(next)"), Action::Created);
            ui.resource(&report, dry_run);
            resources.push(report);
            None
        }
        None => {
            // The zip itself now (`ours` may come from the local record of the inputs).
            let package = layer.package()?;
            let ours = package.code_sha256.as_str();
            let description = layer::description_for(function_name, ours);
            let upload = s3::prepare(stager.as_ref(), |s| s.layer_key(name), package).await?;
            let _uploading = upload.progress(ui);
            let planned_from = versions.first().map(|v| v.version);
            let version = layers
                .publish(
                    name,
                    &upload,
                    settings.function.architecture,
                    &description,
                    planned_from,
                )
                .await?;
            let report = ResourceReport::new(
                "layer version",
                version_label(name, &version),
                Action::Created,
            )
            .arn(Some(&version.arn));
            ui.resource(&report, dry_run);
            resources.push(report);
            match concurrent_twin(&layers, name, planned_from, &version, ours).await? {
                Some(older) => {
                    ui.info(&format!(
                        "another publish-layer published the same content as version {} \
                         meanwhile: using it, and deleting version {}",
                        older.version, version.version
                    ));
                    duplicates.push(version);
                    Some(older)
                }
                None => Some(version),
            }
        }
    };

    // 2. Share.
    for principal in options.share_with {
        let report = layers
            .ensure_shared(
                name,
                current.as_ref().map(|v| v.version),
                principal,
                dry_run,
            )
            .await?;
        ui.resource(&report, dry_run);
        if *principal == crate::share::SharePrincipal::Everyone
            && !dry_run
            && report.action != crate::output::Action::Unchanged
        {
            ui.warn(&format!(
                "layer `{name}` version {} is public: every AWS account can use it, and read \
                 its contents (--share-with '*')",
                current.as_ref().map(|v| v.version).unwrap_or_default()
            ));
        }
        resources.push(report);
    }

    // 3. Attach: layers first, then code without bootstrap.
    let mut attached_arn = function
        .as_ref()
        .and_then(|remote| attached_runtime_layer(remote, name));
    if let (Some(code), Some(remote)) = (code, &function) {
        let attach = Attach {
            lambda: &lambda,
            stager: stager.as_ref(),
            settings,
            code,
            version: current.as_ref(),
            dry_run,
        };
        // Changed since it was read (by someone else, or by an attempt of ours whose answer was
        // lost): read it again and attach from what is there now. Another run attaching at the
        // same time makes two writes (layers, then code), so two re-plans see it through.
        let mut result = attach.apply(remote).await;
        let mut replans = 0;
        while replans < MAX_REPLANS && result.as_ref().is_err_and(|e| e.is::<StaleRevision>()) {
            replans += 1;
            ui.info(&format!(
                "function `{function_name}` changed since lambda-rt read it: reading it again \
                 and re-planning"
            ));
            let fresh = lambda.get(function_name).await?.ok_or_else(|| {
                anyhow!("function `{function_name}` was deleted while lambda-rt was attaching")
            })?;
            result = attach.apply(&fresh.config).await;
        }
        let changes = result?;
        let mut report = function_report(function_name, remote.function_arn(), &changes);
        if let Some(note) = claimed {
            report = report.note(note);
        }
        ui.resource(&report, dry_run);
        resources.push(report);
        attached_arn = current.as_ref().map(|v| v.arn.clone());
    }

    // 3b. The other versions of the current content, now that the function has the survivor
    // (one still attached, with --no-attach, stays).
    for duplicate in &duplicates {
        let label = version_label(name, duplicate);
        let report = if Some(&duplicate.arn) == attached_arn.as_ref() {
            ResourceReport::new("layer version", label, Action::Kept)
                .note(format!("attached to function `{function_name}`"))
        } else {
            if !dry_run {
                layers.delete_version(name, duplicate.version).await?;
            }
            ResourceReport::new("layer version", label, Action::Deleted).note(format!(
                "same content as version {}, published twice by runs at the same time",
                current.as_ref().map(|v| v.version).unwrap_or_default()
            ))
        };
        ui.resource(&report, dry_run);
        resources.push(report);
    }

    // 4. Prune: the newest `keep` versions stay (counting a version a dry run would publish).
    let mut pruned_versions = Vec::new();
    if let Some(keep) = options.keep {
        let mut newest_first: Vec<LayerVersion> = versions
            .into_iter()
            .filter(|v| !duplicates.iter().any(|d| d.version == v.version))
            .collect();
        if published {
            if let Some(version) = &current {
                newest_first.insert(0, version.clone());
            }
        }
        let keep = if published && current.is_none() {
            keep as usize - 1
        } else {
            keep as usize
        };
        for version in newest_first.iter().skip(keep) {
            let label = version_label(name, version);
            let report = if Some(&version.arn) == attached_arn.as_ref() {
                ResourceReport::new("layer version", label, Action::Kept)
                    .note(format!("attached to function `{function_name}`"))
            } else if !version.published_by_lambda_rt() {
                ResourceReport::new("layer version", label, Action::Kept)
                    .note("not published by lambda-rt")
            } else {
                if !dry_run {
                    layers.delete_version(name, version.version).await?;
                }
                pruned_versions.push(version.version);
                ResourceReport::new("layer version", label, Action::Deleted)
                    .note(format!("--keep {}", options.keep.unwrap_or_default()))
            };
            ui.resource(&report, dry_run);
            resources.push(report);
        }
    }

    let attached = match &current {
        Some(version) => attached_arn.as_deref() == Some(version.arn.as_str()),
        // A dry run that would publish a new version and attach it.
        None => code.is_some(),
    };
    resources.extend(staged_reports(stager.as_ref()));
    Ok(Report {
        command: "publish-layer",
        dry_run,
        resources,
        code_sha256: None,
        layer: Some(LayerSummary {
            name: name.to_string(),
            layer_version_arn: current.as_ref().map(|v| v.arn.clone()),
            version: current.as_ref().map(|v| v.version),
            code_sha256: identity.code_sha256.clone(),
            // Not when its version turned out to duplicate another run's and was deleted.
            published: published && duplicates.is_empty(),
            attached,
            pruned_versions,
        }),
        warnings: Vec::new(),
    })
}

/// The way back from a layer: code with `bootstrap` first, then the layer comes off.
pub async fn detach(ctx: &Context, code: &FunctionCode, options: DetachOptions) -> Result<Report> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    let clients = ctx.clients().await?;
    let dry_run = options.dry_run;
    let lambda = ctx.lambda(clients);
    let name = settings.layer_name.as_str();
    let function_name = settings.function_name.as_str();
    let Some(found) = lambda.get(function_name).await? else {
        return Err(anyhow!(
            "failed to detach layer `{name}`: function `{function_name}` does not exist"
        ));
    };
    let claimed = ownership::claim_for_change(ctx, &lambda, &found, None, options.adopt, dry_run)
        .await?
        .note;
    let remote = found.config;
    let before = layer_arns(&remote);
    let attached = attached_runtime_layer(&remote, name);
    let package = code.package(false)?;
    let code_changes = remote.code_sha256() != Some(package.code_sha256.as_str());
    let mut changes = Vec::new();
    if code_changes {
        changes.push(Change::named("code with bootstrap"));
    }
    if let Some(arn) = &attached {
        changes.push(Change::new("layers", Some(short_version(name, arn)), None));
    }
    let stager = ctx.stager(clients);
    if !dry_run {
        let mut status = Status::of(&remote);
        if code_changes {
            let role = remote.role().unwrap_or_default().to_string();
            let upload =
                s3::prepare(stager.as_ref(), |s| s.function_key(function_name), package).await?;
            status = lambda
                .update_code(&FunctionSpec::new(settings, role), &upload, &status)
                .await?;
        }
        if let Some(arn) = &attached {
            let after = layer::without_layer(&before, layer::layer_of(arn));
            lambda.set_layers(function_name, &after, &status).await?;
        }
    }
    let mut report = function_report(function_name, remote.function_arn(), &changes);
    if let Some(note) = claimed {
        report = report.note(note);
    }
    ui.resource(&report, dry_run);
    let mut resources = vec![report];
    resources.extend(staged_reports(stager.as_ref()));
    Ok(Report {
        command: "publish-layer",
        dry_run,
        resources,
        code_sha256: Some(package.code_sha256.clone()),
        layer: None,
        warnings: Vec::new(),
    })
}

/// Attaching a layer version to the function: its layers first, then its code without bootstrap.
struct Attach<'a> {
    lambda: &'a Lambda<'a>,
    stager: Option<&'a s3::Stager<'a>>,
    settings: &'a Settings,
    code: &'a FunctionCode,
    /// The version to attach (`None`: the one a dry run would publish).
    version: Option<&'a LayerVersion>,
    dry_run: bool,
}

impl Attach<'_> {
    /// Plans from `remote` and applies; returns the changes (made, or that a dry run would make).
    async fn apply(&self, remote: &FunctionConfiguration) -> Result<Vec<Change>> {
        let name = self.settings.layer_name.as_str();
        let function_name = self.settings.function_name.as_str();
        let before = layer_arns(remote);
        let layer_arn = remote
            .function_arn()
            .and_then(|arn| layer::layer_arn_for(arn, name))
            .unwrap_or_default();
        let after = self
            .version
            .map(|version| layer::with_version(&before, &version.arn));
        let layers_change = after.as_ref() != Some(&before);
        let package = self.code.package(true)?;
        let code_changes = remote.code_sha256() != Some(package.code_sha256.as_str());
        let mut changes = Vec::new();
        if layers_change {
            let new = self
                .version
                .map(|v| version_label(name, v))
                .unwrap_or_else(|| format!("{name}:(next)"));
            changes.push(Change::new(
                "layers",
                layer::attached_version(&before, &layer_arn).map(|arn| short_version(name, arn)),
                Some(new),
            ));
        }
        if code_changes {
            changes.push(Change::named("code without bootstrap"));
        }
        if !self.dry_run {
            let mut status = Status::of(remote);
            if let Some(after) = after.as_ref().filter(|_| layers_change) {
                status = self
                    .lambda
                    .set_layers(function_name, after, &status)
                    .await?;
            }
            if code_changes {
                let role = remote.role().unwrap_or_default().to_string();
                let spec = FunctionSpec::new(self.settings, role);
                let upload =
                    s3::prepare(self.stager, |s| s.function_key(function_name), package).await?;
                self.lambda.update_code(&spec, &upload, &status).await?;
            }
        }
        Ok(changes)
    }
}

/// The function's line: updated with these changes, or unchanged when there are none.
fn function_report(name: &str, arn: Option<&str>, changes: &[Change]) -> ResourceReport {
    let action = if changes.is_empty() {
        Action::Unchanged
    } else {
        Action::Updated
    };
    ResourceReport::new("function", name, action)
        .arn(arn)
        .changes(changes.to_vec())
}

/// A version can be reused for the configured architecture if it lists it, or lists none.
fn fits_architecture(version: &LayerVersion, settings: &Settings) -> bool {
    version.architectures.is_empty()
        || version
            .architectures
            .iter()
            .any(|a| a == settings.function.architecture.as_str())
}

fn version_label(name: &str, version: &LayerVersion) -> String {
    format!("{name}:{}", version.version)
}

fn short_version(name: &str, version_arn: &str) -> String {
    format!(
        "{name}:{}",
        version_arn.rsplit(':').next().unwrap_or_default()
    )
}
