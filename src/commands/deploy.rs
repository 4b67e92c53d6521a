//! The flow `create` and `update` share: the project checked and its package built before any
//! call ([`prepare`]); an existing function brought in line with the project
//! ([`converge_function`]); then its URL and the version to publish ([`finish`]). `status` and
//! `update` also share the check that the attached runtime layer is still `runtime/`.

use anyhow::Result;
use aws_sdk_lambda::types::FunctionConfiguration;

use super::context::Context;
use super::versions::{self, PublishOptions};
use crate::aws::clients::Clients;
use crate::aws::function_spec::{diff, FunctionSpec};
use crate::aws::function_state::{Remote, RolePropagation, StaleRevision, Status};
use crate::aws::lambda::Lambda;
use crate::aws::layer::{self, attached_runtime_layer};
use crate::aws::s3::{self, Stager};
use crate::cli::deploy::DeployArgs;
use crate::cli::OutputFormat;
use crate::output::{Action, Report, ResourceReport};
use crate::package::FunctionCode;
use crate::project;
use crate::settings::{Settings, MAX_LAYERS};

/// The flags of `create` and `update` that change what they do.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployOptions {
    pub dry_run: bool,
    /// Send code and configuration even if nothing differs.
    pub force: bool,
    /// Take over a function lambda-rt did not create.
    pub adopt: bool,
}

/// A project ready to deploy: every local check passed and the package is built.
pub struct Prepared {
    pub code: FunctionCode,
    pub options: DeployOptions,
    publish: PublishOptions,
}

/// Flags and project files are checked, and the package built, before any AWS call, so that a
/// mistake changes nothing.
pub fn prepare(ctx: &Context, args: &DeployArgs, command: &str) -> Result<Prepared> {
    let settings = &ctx.settings;
    settings.require_named_function(command)?;
    let publish = PublishOptions {
        publish: args.publish,
        alias: args.alias.clone(),
        keep: args.keep,
    };
    publish.validate()?;
    // Function URLs take at most 100 CORS origins (each 1 to 253 characters, checked by clap).
    if let Some(Some(url)) = args.url.wanted() {
        if url.cors_origins.len() > 100 {
            return Err(crate::error::UsageError(format!(
                "{} --cors-origin values, over the 100 a Function URL takes: use fewer (or `*`)",
                url.cors_origins.len()
            ))
            .into());
        }
    }
    let kind = project::check_project_files(settings)?;
    crate::handler_check::check_handler_loads(settings, kind)?;
    let code = FunctionCode::build(settings)?;
    preflight(ctx, &code.entries()?, &[])?;
    let options = DeployOptions {
        dry_run: args.dry_run,
        force: args.force,
        adopt: args.adopt,
    };
    Ok(Prepared {
        code,
        options,
        publish,
    })
}

/// The binary pre-flight ([`crate::binaries::preflight`]) of `entries` for the project's runtime and
/// architecture; its warnings are shown, its errors end the command before any request.
pub fn preflight(
    ctx: &Context,
    entries: &[crate::package::Entry],
    beside: &[String],
) -> Result<()> {
    let settings = &ctx.settings;
    let target = crate::binaries::preflight::Target {
        runtime: &settings.function.runtime,
        architecture: settings.function.architecture,
        other_layers: settings
            .function
            .extra_layers
            .as_ref()
            .is_some_and(|layers| !layers.is_empty()),
    };
    for warning in
        crate::binaries::preflight::check(entries, beside, &settings.project_dir, target)?
    {
        ctx.ui.warn(&warning);
    }
    Ok(())
}

/// After the function: the Function URL when asked for, then the version and alias; prints the
/// report.
pub async fn finish(
    ctx: &Context,
    prepared: &Prepared,
    mut report: Report,
    args: &DeployArgs,
) -> Result<i32> {
    let ui = &ctx.ui;
    let lambda = ctx.lambda(ctx.clients().await?);
    let name = &ctx.settings.function_name;
    if let Some(url) = args.url.wanted() {
        let reports = lambda
            .converge_url(name, url.as_ref(), args.dry_run)
            .await?;
        for report in &reports {
            ui.resource(report, args.dry_run);
        }
        // Made or kept public by this run: one line saying who can now call what.
        let public = !args.dry_run
            && url
                .as_ref()
                .is_some_and(|u| u.auth == crate::function_url::UrlAuth::None);
        let url_report = reports.iter().find(|r| r.kind == "function url");
        if let Some(url_report) = url_report.filter(|r| public && r.action != Action::Unchanged) {
            ui.warn(&format!(
                "function URL {} is public: anyone on the internet can invoke function `{name}` \
                 through it (--url-auth none; --url-auth iam allows signed requests only)",
                url_report.name
            ));
        }
        report.resources.extend(reports);
    }
    if prepared.publish.wanted() {
        let function_changed = report
            .resources
            .iter()
            .any(|r| r.kind == "function" && matches!(r.action, Action::Created | Action::Updated));
        let versions = versions::publish_after(
            &lambda,
            &ctx.settings,
            &prepared.publish,
            report.code_sha256.as_deref(),
            function_changed,
            args.dry_run,
            ui,
        )
        .await?;
        report.resources.extend(versions);
    }
    ui.finish(&report)?;
    // The URL is the result a script wants (`url=$(lambda-rt create --url --url-auth iam -q)`): stdout, alone,
    // in text output; the JSON document carries it as the resource's name.
    let url = report
        .resources
        .iter()
        .find(|r| r.kind == "function url" && r.action != Action::Deleted);
    if let Some(url) = url.filter(|_| !args.dry_run && ui.format == OutputFormat::Text) {
        println!("{}", url.name);
    }
    Ok(crate::error::exit_code::SUCCESS)
}

/// How [`stale_runtime_note`]'s note begins (`update --watch` publishes the layer on it).
pub const STALE_RUNTIME: &str = "runtime/ differs from layer version";

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
    let local = match crate::package::layer_entries(settings)
        .and_then(|entries| crate::package::layer_package(entries, settings).identity())
    {
        Ok(identity) => identity.code_sha256,
        Err(error) => {
            tracing::debug!("not comparing runtime/ with the attached layer: {error:#}");
            return Ok(None);
        }
    };
    let layers = layer::Layers::new(clients);
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
        "{STALE_RUNTIME} `{}:{version}`, which the function runs: run `lambda-rt publish-layer` \
         to deploy it",
        settings.layer_name
    )))
}

/// How [`converge_function`] should go about it.
#[derive(Clone, Copy)]
pub struct ConvergeOptions<'a> {
    pub dry_run: bool,
    /// Send the code and the whole configuration even if nothing differs.
    pub force: bool,
    /// Until when a new role may be refused while IAM propagates it.
    pub role: Option<&'a RolePropagation>,
    /// Where to stage the code in S3, if it goes through S3.
    pub stager: Option<&'a Stager<'a>>,
    /// The project's runtime layer: when the function has it, its code leaves bootstrap out.
    pub layer_name: &'a str,
}

/// Brings an existing function in line with the spec and code: code only if the CodeSha256 (or
/// architecture) differs, configuration only for the fields that differ, each write with the
/// RevisionId read. When someone else changes the function meanwhile (a stale RevisionId), the
/// function is read again and the plan made again, once. Returns the report and the CodeSha256
/// of the zip that matches the function's layout (with or without bootstrap).
pub async fn converge_function(
    lambda: &Lambda<'_>,
    remote: &Remote,
    spec: &FunctionSpec,
    code: &FunctionCode,
    options: ConvergeOptions<'_>,
) -> Result<(ResourceReport, String)> {
    let attempt = |config: FunctionConfiguration| async move {
        converge_once(&config, lambda, spec, code, options).await
    };
    match attempt(remote.config.clone()).await {
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
            let (report, sha) = attempt(fresh.config).await.map_err(|error| {
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
    remote: &FunctionConfiguration,
    lambda: &Lambda<'_>,
    spec: &FunctionSpec,
    code: &FunctionCode,
    options: ConvergeOptions<'_>,
) -> Result<(ResourceReport, String)> {
    let (stager, layer_name) = (options.stager, options.layer_name);
    let runtime_layer = attached_runtime_layer(remote, layer_name);
    let in_layer = runtime_layer.is_some();
    let identity = code.identity(in_layer)?;
    let mut diff = diff(remote, spec, &identity, options.force);
    if diff.code && code.package(in_layer)?.identity() != identity {
        // The record was wrong (it is only a shortcut): plan again from the zip itself.
        diff = self::diff(
            remote,
            spec,
            &code.package(in_layer)?.identity(),
            options.force,
        );
    }
    if diff.layers.len() > MAX_LAYERS {
        return Err(crate::error::UsageError(format!(
            "{} layers with the runtime layer `{layer_name}`: Lambda attaches at most {MAX_LAYERS} \
             to a function; list fewer in `layers`",
            diff.layers.len()
        ))
        .into());
    }
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
                let package = code.package(in_layer)?;
                let upload = s3::prepare(stager, |s| s.function_key(&spec.name), package).await?;
                status = lambda.update_code(spec, &upload, &status).await?;
            }
            if !diff.config.is_empty() {
                lambda
                    .update_configuration(spec, &diff.config, &diff.layers, &status, options.role)
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
    // Code left as it is may be the same files zipped by another tool (an imported function): what
    // is deployed is then Lambda's CodeSha256, which a version published next must carry.
    let code_sha256 = match (diff.code, remote.code_sha256()) {
        (false, Some(remote_sha)) => remote_sha.to_string(),
        (true, _) => code.package(in_layer)?.code_sha256.clone(),
        (false, None) => identity.code_sha256,
    };
    Ok((report, code_sha256))
}
