//! `lambda-rt status`: the function as deployed (state, configuration, code, ownership, versions
//! and aliases) and its drift from the project — exactly the differences `update` would send,
//! computed the same way from the same settings, plus a runtime layer that `runtime/` no longer
//! matches. Exit 0 in sync, [`crate::error::exit_code::DRIFTED`] when not.

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::{deploy, jobs, ownership};
use crate::aws::async_invoke;
use crate::aws::clients::{partition, Clients};
use crate::aws::concurrency;
use crate::aws::execution_role;
use crate::aws::function_spec::{diff, FunctionSpec};
use crate::aws::function_tags;
use crate::aws::iam::managed_role_arn;
use crate::aws::layer::attached_runtime_layer;
use crate::aws::log_group;
use crate::aws::owner::Ownership;
use crate::cli::status::StatusArgs;
use crate::cli::OutputFormat;
use crate::output::{exact_size, Change, Ui};
use crate::package::FunctionCode;
use crate::project;
use crate::settings::RoleChoice;

pub async fn run(ctx: &Context, _args: &StatusArgs) -> Result<i32> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    settings.require_named_function("status")?;
    project::check_project_files(settings)?;
    let code = FunctionCode::build(settings)?;
    let clients = ctx.clients().await?;
    let lambda = ctx.lambda(clients);
    let name = &settings.function_name;
    let Some(remote) = lambda.get(name).await? else {
        if ui.format == OutputFormat::Json {
            let drift = [Change::new("function", None, Some(name.clone()))];
            print_status(ui, name, &drift, json!({ "exists": false }))?;
        } else {
            println!(
                "{}function `{name}` does not exist: `lambda-rt create` deploys the project",
                ui.prefix()
            );
        }
        return Ok(crate::error::exit_code::DRIFTED);
    };
    let config = &remote.config;
    // A function adopted with the role it had keeps it (its tag says so): no role to judge.
    let keeps_its_role = ownership::keeps_its_role(settings, &remote, Ownership::Ours, false);
    let role_arn = match &settings.role {
        RoleChoice::Existing(arn) => arn.clone(),
        _ if keeps_its_role => config.role().unwrap_or_default().to_string(),
        RoleChoice::Managed(role_name) => {
            managed_role_arn(config.role().unwrap_or_default(), role_name)
        }
    };
    let spec = FunctionSpec::new(settings, role_arn);
    let runtime_layer = attached_runtime_layer(config, &settings.layer_name);
    let identity = code.identity(runtime_layer.is_some())?;
    let managed_role = match &settings.role {
        RoleChoice::Managed(role_name) if !keeps_its_role => Some(role_name.as_str()),
        _ => None,
    };
    let (ownership, versions, stale, url, role_drift, log_group, jobs_state) = tokio::try_join!(
        ownership::ownership(clients, &remote, None),
        lambda.versions_with_aliases(name),
        deploy::stale_runtime_note(clients, settings, config),
        lambda.url(name),
        role_drift(
            clients,
            managed_role,
            &settings.policies,
            settings.function.vpc.is_some(),
            settings.policy_document.as_ref(),
        ),
        log_group::read(&clients.logs, name),
        jobs::read_early(clients, settings),
    )?;
    let mut drift = diff(config, &spec, &identity, false).changes;
    drift.extend(role_drift);
    drift.extend(function_tags::plan(&remote.tags, settings.tags.as_ref()).changes(&remote.tags));
    drift.extend(concurrency::plan(
        remote.reserved_concurrency,
        settings.reserved_concurrency,
    ));
    let group_name = crate::aws::logs::log_group_name(name);
    drift.extend(
        log_group::plan(log_group.as_ref(), settings.log_retention_days, false)
            .iter()
            .map(|fix| {
                let change = fix.change();
                Change::new(
                    format!("log group {group_name}: {}", change.field),
                    change.from,
                    change.to,
                )
            }),
    );
    let jobs_state = jobs::read_late(clients, settings, jobs_state, Some(&remote.tags)).await?;
    let function_arn = config.function_arn().unwrap_or_default();
    let marked = jobs::marked(&remote.tags);
    drift.extend(jobs::drift_changes(
        settings,
        &jobs_state,
        function_arn,
        marked,
    ));
    let schedules = jobs::views(&jobs_state, name, jiff::Timestamp::now());
    if stale.is_some() {
        drift.push(Change::new(
            "runtime layer",
            runtime_layer
                .as_deref()
                .and_then(|arn| arn.rsplit(':').next())
                .map(|v| format!("{}:{v}", settings.layer_name)),
            Some("runtime/ (not published: run `lambda-rt publish-layer`)".into()),
        ));
    }
    let owner = match ownership {
        Ownership::Ours => "lambda-rt",
        Ownership::Legacy => "lambda-rt (an earlier version, untagged)",
        Ownership::Foreign => "not lambda-rt (update and delete refuse it without --adopt)",
    };
    let layers: Vec<&str> = config.layers().iter().filter_map(|l| l.arn()).collect();
    let state = config.state().map(|s| s.as_str().to_string());
    let update = config.last_update_status().map(|s| s.as_str().to_string());
    let reason = config
        .last_update_status_reason()
        .or(config.state_reason())
        .map(str::to_string);

    if ui.format == OutputFormat::Json {
        print_status(
            ui,
            name,
            &drift,
            json!({
                "exists": true,
                "function": {
                    "arn": config.function_arn(),
                    "state": state,
                    "last_update_status": update,
                    "reason": reason,
                    "runtime": config.runtime().map(|r| r.as_str()),
                    "architecture": config.architectures().first().map(|a| a.as_str()),
                    "handler": config.handler(),
                    "memory_mb": config.memory_size(),
                    "timeout_seconds": config.timeout(),
                    "role": config.role(),
                    "reserved_concurrency": remote.reserved_concurrency,
                    "layers": layers,
                    "code_sha256": config.code_sha256(),
                    "code_size": config.code_size(),
                    "last_modified": config.last_modified(),
                    "owner": owner,
                },
                "versions": versions,
                "log_group": log_group.as_ref().map(|g| json!({
                    "name": g.name,
                    "retention_days": g.retention_days,
                })),
                "schedules": schedules,
                "async_invocation": jobs_state.async_invoke.as_ref().map(|a| json!({
                    "max_retry_attempts": a.max_retry_attempts,
                    "max_event_age_seconds": a.max_event_age_seconds,
                    "on_failure": a.on_failure,
                })),
                "url": url.as_ref().map(|u| json!({
                    "url": u.url,
                    "auth": u.auth,
                    "cors_origins": u.cors_origins,
                    "invoke_mode": u.invoke_mode,
                })),
            }),
        )?;
    } else {
        // `-q` (for CI): nothing when in sync, only the drift otherwise; the exit code says which.
        let quiet = ui.quiet;
        let prefix = ui.prefix();
        let row = |label: &str, value: String| {
            if !quiet {
                println!("{prefix}{label:<14}{value}")
            }
        };
        row(
            "function",
            config.function_arn().unwrap_or(name).to_string(),
        );
        row(
            "state",
            format!(
                "{}, last update {}{}",
                state.as_deref().unwrap_or("?"),
                update.as_deref().unwrap_or("?"),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        );
        row(
            "runtime",
            format!(
                "{} on {}, {} MB, {} s, handler {}",
                config.runtime().map(|r| r.as_str()).unwrap_or("?"),
                config
                    .architectures()
                    .first()
                    .map(|a| a.as_str())
                    .unwrap_or("x86_64"),
                config.memory_size().unwrap_or_default(),
                config.timeout().unwrap_or_default(),
                config.handler().unwrap_or("?")
            ),
        );
        row(
            "settings",
            format!(
                "/tmp {} MB, tracing {}, logs {}, reserved concurrency {}",
                config.ephemeral_storage().map_or(512, |e| e.size()),
                config
                    .tracing_config()
                    .and_then(|t| t.mode())
                    .map_or("PassThrough", |m| m.as_str()),
                config
                    .logging_config()
                    .and_then(|l| l.log_format())
                    .map_or("Text", |f| f.as_str()),
                remote
                    .reserved_concurrency
                    .map_or("none".to_string(), |n| n.to_string()),
            ),
        );
        let vpc = config
            .vpc_config()
            .filter(|v| !v.subnet_ids().is_empty())
            .map_or("none".to_string(), |v| {
                format!(
                    "subnets {}; security groups {}",
                    v.subnet_ids().join(", "),
                    v.security_group_ids().join(", ")
                )
            });
        row("vpc", vpc);
        let mut user_tags: Vec<String> = remote
            .tags
            .iter()
            .filter(|(key, _)| !function_tags::is_reserved(key))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        user_tags.sort();
        row(
            "tags",
            if user_tags.is_empty() {
                "none".into()
            } else {
                user_tags.join(", ")
            },
        );
        row("role", config.role().unwrap_or("?").to_string());
        row(
            "layers",
            if layers.is_empty() {
                "none".into()
            } else {
                layers.join(", ")
            },
        );
        row(
            "code",
            format!(
                "{}, CodeSha256 {}, modified {}",
                exact_size(config.code_size().max(0) as u64),
                config.code_sha256().unwrap_or("?"),
                config.last_modified().unwrap_or("?")
            ),
        );
        row("owner", owner.to_string());
        row(
            "log group",
            match &log_group {
                Some(g) => format!(
                    "{}, events kept {}",
                    g.name,
                    g.retention_days
                        .map_or("forever".into(), |d| format!("{d} days"))
                ),
                None => "none yet".into(),
            },
        );
        row(
            "url",
            match &url {
                Some(u) => format!("{} (auth {}, {})", u.url, u.auth, u.invoke_mode),
                None => "none (`lambda-rt update --url` gives it one)".into(),
            },
        );
        for schedule in &schedules {
            row(
                "schedule",
                format!(
                    "{} {} ({}){}, next run {}",
                    schedule.name,
                    schedule.expression,
                    schedule.timezone,
                    if schedule.managed {
                        ""
                    } else {
                        ", not lambda-rt's"
                    },
                    match (&schedule.next_run, schedule.enabled) {
                        (_, false) => "none (disabled)".to_string(),
                        (Some(next), true) => next.clone(),
                        (None, true) => "none ahead".to_string(),
                    }
                ),
            );
        }
        if let Some(settings) = &jobs_state.async_invoke {
            row(
                "on failure",
                format!(
                    "retries {}, events kept {} s, destination {}",
                    settings
                        .max_retry_attempts
                        .unwrap_or(async_invoke::DEFAULT_RETRIES),
                    settings
                        .max_event_age_seconds
                        .unwrap_or(async_invoke::DEFAULT_MAX_AGE_SECONDS),
                    settings.on_failure.as_deref().unwrap_or("none")
                ),
            );
        }
        row(
            "versions",
            if versions.is_empty() {
                "none published".into()
            } else {
                versions
                    .iter()
                    .map(|v| {
                        if v.aliases.is_empty() {
                            v.version.to_string()
                        } else {
                            format!("{} ({})", v.version, v.aliases.join(", "))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        if drift.is_empty() {
            if !quiet {
                println!("{prefix}in sync with the project");
            }
        } else {
            println!("{prefix}drifted from the project (`lambda-rt update` would change):");
            for change in &drift {
                println!("{prefix}  {change}");
            }
        }
    }
    Ok(if drift.is_empty() {
        crate::error::exit_code::SUCCESS
    } else {
        crate::error::exit_code::DRIFTED
    })
}

/// `status --output json`: the function, whether it is in sync and how it drifted, then `fields`.
fn print_status(ui: &Ui, name: &str, drift: &[Change], fields: serde_json::Value) -> Result<()> {
    let mut document = json!({
        "function_name": name,
        "in_sync": drift.is_empty(),
        "drift": drift,
    });
    crate::output::add_fields(&mut document, fields);
    ui.print_document(&crate::output::document("status", document))
}

/// How lambda-rt's role differs from what the project wants (see `aws/execution_role.rs`): each
/// difference as a change named after the role. A role someone else made is not judged.
async fn role_drift(
    clients: &Clients,
    role_name: Option<&str>,
    policies: &[String],
    in_vpc: bool,
    inline: Option<&serde_json::Value>,
) -> Result<Vec<Change>> {
    let Some(role_name) = role_name else {
        return Ok(Vec::new());
    };
    let Some(state) = execution_role::read(&clients.iam, role_name).await? else {
        return Ok(vec![Change::named(format!(
            "role {role_name}: missing (`lambda-rt update` makes it)"
        ))]);
    };
    if !state.role.is_owned() {
        return Ok(Vec::new());
    }
    let wanted = execution_role::wanted_policies(partition(&clients.region), policies, in_vpc);
    Ok(execution_role::plan(&state, &wanted, inline)
        .iter()
        .map(|fix| Change::named(format!("role {role_name}: {}", fix.change())))
        .collect())
}
