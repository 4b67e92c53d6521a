//! `lambda-rt init DIR --from-function NAME`: a project from a function made by another tool
//! (`manage.sh`, the console, the AWS CLI). Its code is downloaded from the URL GetFunction
//! answers and checked against the function's CodeSha256; the `bootstrap` at its root goes to
//! `runtime/`, everything else to `function/`; every setting lambda-rt manages is written into
//! `lambda-rt.toml`, with the function's own role as `role-arn` (lambda-rt never changes a role it
//! did not make). `update --adopt` in the new project then changes nothing but the ownership tag:
//! the same files zipped by lambda-rt give other bytes than the original zip, so the pair of sums
//! is recorded ([`crate::package::imported`]).
//!
//! Nothing is written before every check has passed: the function exists, is a zip of a custom
//! runtime (provided.al2023 or provided.al2) with its bootstrap in the code, and the directory has
//! none of the files the project would get.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, Context as _, Result};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::context::Context;
use crate::aws::{download, function_tags, log_group};
use crate::cli::common::{ProjectArgs, SettingsInput};
use crate::cli::init::InitArgs;
use crate::error::UsageError;
use crate::output::Ui;
use crate::package::{imported, FunctionCode};
use crate::settings::{ConfigFile, Settings, CONFIG_FILE};

/// The most a deployed zip can hold unzipped (Lambda's limit), and so the most downloaded.
const MAX_CODE_BYTES: usize = 250 * 1024 * 1024;

pub async fn run(args: &InitArgs, function: &str, ui: Ui) -> Result<i32> {
    let dir = &args.dir;
    let input = SettingsInput {
        project: ProjectArgs {
            project_dir: Some(dir.clone()),
            function_name: Some(function.to_string()),
            only: Vec::new(),
        },
        aws: args.aws.clone(),
        ..Default::default()
    };
    let settings = Settings::merge(&input, &ConfigFile::default(), dir.clone())?;
    refuse_existing_files(dir)?;
    let ctx = Context::new(settings, ui);
    let clients = ctx.clients().await?;
    let lambda = ctx.lambda(clients);
    let (remote, group) = tokio::try_join!(
        lambda.get(function),
        log_group::read(&clients.logs, function)
    )?;
    let remote = remote.ok_or_else(|| {
        anyhow!("function `{function}` does not exist (check the name and --region)")
    })?;
    let config = &remote.config;
    if config.package_type().map(|p| p.as_str()) == Some("Image") {
        return Err(refused(
            function,
            "it is a container image, and lambda-rt deploys zips",
        ));
    }
    let runtime = config.runtime().map(|r| r.as_str()).unwrap_or("none");
    if !matches!(runtime, "provided.al2023" | "provided.al2") {
        return Err(refused(
            function,
            &format!(
                "it runs on `{runtime}`, and lambda-rt manages custom runtimes (provided.al2023, \
                 provided.al2)"
            ),
        ));
    }
    let location = remote
        .code_location
        .as_deref()
        .ok_or_else(|| anyhow!("Lambda gave no location to download function `{function}` from"))?;
    let zip = download::fetch(location, MAX_CODE_BYTES).await?;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    let deployed = config.code_sha256().unwrap_or_default();
    if sha != deployed {
        return Err(anyhow!(
            "the code downloaded for function `{function}` has CodeSha256 {sha}, not the \
             {deployed} Lambda reports: it changed meanwhile, or the download was altered; run \
             the command again"
        ));
    }
    let files = unpack_plan(&zip, function)?;

    // Every check passed: write the project.
    for (path, contents, mode) in &files {
        write_file(&dir.join(path), contents, *mode)?;
    }
    let toml = settings_file(&remote, group.as_ref());
    write_file(&dir.join(CONFIG_FILE), toml.as_bytes(), 0o644)?;
    let settings = Settings::resolve(&SettingsInput {
        project: ProjectArgs {
            project_dir: Some(dir.clone()),
            function_name: None,
            only: Vec::new(),
        },
        ..Default::default()
    })?;
    let package = FunctionCode::build(&settings)?.package(false)?.clone();
    imported::write(
        dir,
        &imported::Record {
            package_sha256: package.code_sha256,
            code_sha256: deployed.to_string(),
        },
    )?;
    let ui = &ctx.ui;
    ui.info(&format!(
        "{:>12}  {} files from function `{function}`, and {CONFIG_FILE}",
        "created",
        files.len()
    ));
    ui.info(&format!(
        "next: cd {} && lambda-rt update --adopt (it changes nothing but lambda-rt's ownership \
         tag), then deploy your edits with lambda-rt update",
        dir.display()
    ));
    Ok(crate::error::exit_code::SUCCESS)
}

fn refused(function: &str, why: &str) -> anyhow::Error {
    UsageError(format!(
        "lambda-rt cannot manage function `{function}`: {why}; nothing was written"
    ))
    .into()
}

/// A project directory must not already have what the import writes.
fn refuse_existing_files(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(UsageError(format!(
            "`{}` exists and is not a directory: pick another place for the project",
            dir.display()
        ))
        .into());
    }
    let existing: Vec<&str> = ["runtime", "function", CONFIG_FILE]
        .into_iter()
        .filter(|path| dir.join(path).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return Err(UsageError(format!(
            "`{}` already has {}: init --from-function writes a whole project, so pick an empty \
             directory",
            dir.display(),
            existing
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    Ok(())
}

/// Where each file of the zip goes (`runtime/bootstrap`, else `function/<path>`), its bytes and
/// mode. Refuses a zip without a bootstrap (it would come from a layer this project lacks) and
/// entries that would land outside the project.
fn unpack_plan(zip: &[u8], function: &str) -> Result<Vec<(PathBuf, Vec<u8>, u32)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .context("the function's code is not a zip")?;
    let mut files = Vec::new();
    let mut has_bootstrap = false;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let relative = Path::new(&name);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(anyhow!(
                "the code of function `{function}` has an entry `{name}` outside its root; \
                 nothing was written"
            ));
        }
        let mode = entry.unix_mode().map_or(0o644, |m| m & 0o777);
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        let target = if name == "bootstrap" {
            has_bootstrap = true;
            Path::new("runtime").join(relative)
        } else {
            Path::new("function").join(relative)
        };
        files.push((target, bytes, mode));
    }
    if !has_bootstrap {
        return Err(refused(
            function,
            "its code has no `bootstrap` (it comes from a layer); put the runtime in the \
             function's code first, or start from `lambda-rt init` and publish-layer",
        ));
    }
    Ok(files)
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    std::fs::write(path, contents)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("failed to set the mode of `{}`", path.display()))
}

/// `lambda-rt.toml` for the function as it is: every setting lambda-rt manages that differs from
/// its default, and the function's role as `role-arn`.
fn settings_file(
    remote: &crate::aws::function_state::Remote,
    group: Option<&log_group::LogGroup>,
) -> String {
    use toml::Value;
    let config = &remote.config;
    let mut table = toml::Table::new();
    let mut set = |key: &str, value: Value| {
        table.insert(key.to_string(), value);
    };
    set(
        "function-name",
        config.function_name().unwrap_or_default().into(),
    );
    set("handler", config.handler().unwrap_or_default().into());
    set(
        "runtime",
        config.runtime().map_or("", |r| r.as_str()).into(),
    );
    if let Some(arch) = config
        .architectures()
        .first()
        .filter(|a| a.as_str() != "x86_64")
    {
        set("architecture", arch.as_str().into());
    }
    set(
        "memory",
        i64::from(config.memory_size().unwrap_or(128)).into(),
    );
    set("timeout", i64::from(config.timeout().unwrap_or(3)).into());
    if let Some(description) = config.description().filter(|d| !d.is_empty()) {
        set("description", description.into());
    }
    set("role-arn", config.role().unwrap_or_default().into());
    if let Some(size) = config
        .ephemeral_storage()
        .map(|e| e.size())
        .filter(|s| *s != 512)
    {
        set("ephemeral-storage", i64::from(size).into());
    }
    if config
        .tracing_config()
        .and_then(|t| t.mode())
        .map(|m| m.as_str())
        == Some("Active")
    {
        set("tracing", "active".into());
    }
    if let Some(logging) = config
        .logging_config()
        .filter(|l| l.log_format().map(|f| f.as_str()) == Some("JSON"))
    {
        set("log-format", "json".into());
        if let Some(level) = logging.application_log_level() {
            set(
                "application-log-level",
                level.as_str().to_ascii_lowercase().into(),
            );
        }
        if let Some(level) = logging.system_log_level() {
            set(
                "system-log-level",
                level.as_str().to_ascii_lowercase().into(),
            );
        }
    }
    if let Some(count) = remote.reserved_concurrency {
        set("reserved-concurrency", i64::from(count).into());
    }
    let layers: Vec<Value> = config
        .layers()
        .iter()
        .filter_map(|l| l.arn())
        .map(Value::from)
        .collect();
    if !layers.is_empty() {
        set("layers", Value::Array(layers));
    }
    if let Some(vpc) = config.vpc_config().filter(|v| !v.subnet_ids().is_empty()) {
        let list =
            |ids: &[String]| Value::Array(ids.iter().map(|i| Value::from(i.as_str())).collect());
        set("vpc-subnets", list(vpc.subnet_ids()));
        set("vpc-security-groups", list(vpc.security_group_ids()));
    }
    if let Some(days) = group.and_then(|g| g.retention_days) {
        set("log-retention-days", i64::from(days).into());
    }
    let environment: BTreeMap<String, String> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if !environment.is_empty() {
        set(
            "env",
            Value::Table(
                environment
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect(),
            ),
        );
    }
    let tags: BTreeMap<&String, &String> = remote
        .tags
        .iter()
        .filter(|(key, _)| !function_tags::is_reserved(key))
        .collect();
    if !tags.is_empty() {
        set(
            "tags",
            Value::Table(
                tags.into_iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect(),
            ),
        );
    }
    format!(
        "# Made by `lambda-rt init --from-function` from the deployed function.\n{}",
        toml::to_string(&table).unwrap_or_default()
    )
}
