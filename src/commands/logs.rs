//! `lambda-rt logs`: the function's CloudWatch log events since a time, optionally filtered or
//! limited to one invocation, and with `--follow` new ones as they arrive until Ctrl-C. Lines are
//! printed the way `invoke --log` prints its tail ([`crate::output::log_line`]).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};

use super::context::Context;
use crate::aws::logs::{filter_events, log_group_name};
use crate::cli::logs::LogsArgs;
use crate::cli::OutputFormat;
use crate::error::UsageError;
use crate::output::{log_line, Ui};

/// How often `--follow` asks for new events (CloudWatch Logs shows them within seconds).
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Context, args: &LogsArgs) -> Result<i32> {
    let (settings, ui) = (&ctx.settings, &ctx.ui);
    settings.require_named_function("logs")?;
    let start_ms = since(&args.since)?;
    let pattern = pattern(args)?;
    let clients = ctx.clients().await?;
    let name = &settings.function_name;
    let mut seen: HashSet<String> = HashSet::new();
    let mut from_ms = start_ms;
    let mut signals = crate::signals::Signals::install();
    loop {
        let mut next_token = None;
        loop {
            let page = filter_events(
                &clients.logs,
                name,
                from_ms,
                pattern.as_deref(),
                next_token.take(),
            )
            .await?;
            let Some(page) = page else {
                ctx.require_function_exists().await?;
                return Err(anyhow!(
                    "no logs yet for function `{name}`: its log group `{}` does not exist \
                     (`lambda-rt update` makes it; Lambda makes it at the first invocation): \
                     invoke the function first",
                    log_group_name(name)
                ));
            };
            for event in page.events {
                // Asking again from the last timestamp returns that millisecond's events again.
                let id = event.event_id().unwrap_or_default().to_string();
                if !seen.insert(id.clone()) {
                    continue;
                }
                let timestamp = event.timestamp().unwrap_or_default();
                from_ms = from_ms.max(timestamp);
                print_event(ui, timestamp, event.log_stream_name(), event.message(), &id);
            }
            match page.next_token {
                Some(token) => next_token = Some(token),
                None => break,
            }
        }
        if !args.follow {
            // The group exists (lambda-rt makes it with the function) but holds nothing to show.
            if seen.is_empty() {
                let what = if pattern.is_some() {
                    "no log events match"
                } else {
                    "no log events yet"
                };
                ui.notice(&format!(
                    "{what} for function `{name}` since {} (try an earlier --since, or invoke \
                     the function first)",
                    args.since
                ));
            }
            return Ok(crate::error::exit_code::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_INTERVAL) => {}
            _ = signals.recv() => return Ok(crate::error::exit_code::SUCCESS),
        }
    }
}

fn print_event(ui: &Ui, timestamp: i64, stream: Option<&str>, message: Option<&str>, id: &str) {
    let message = message.unwrap_or_default();
    if ui.format == OutputFormat::Json {
        let time = UNIX_EPOCH + Duration::from_millis(timestamp.max(0) as u64);
        println!(
            "{}",
            crate::output::document(
                "logs",
                serde_json::json!({
                    "time": humantime::format_rfc3339_millis(time).to_string(),
                    "timestamp": timestamp,
                    "stream": stream,
                    "message": message.trim_end_matches(['\n', '\r']),
                    "event_id": id,
                })
            )
        );
    } else {
        println!("{}", log_line(Some(timestamp), stream, message));
    }
}

/// `--since`: an age (`10m`, `1h`, `2d`) or an RFC 3339 time, as epoch milliseconds.
fn since(value: &str) -> Result<i64> {
    let time = match humantime::parse_duration(value) {
        Ok(age) => SystemTime::now()
            .checked_sub(age)
            .ok_or_else(|| UsageError(format!("--since {value} reaches before 1970")))?,
        Err(_) => humantime::parse_rfc3339_weak(value).map_err(|_| {
            UsageError(format!(
                "invalid --since `{value}`: give an age such as 10m, 1h or 2d, or a time such as \
                 2026-12-01T09:00:00Z"
            ))
        })?,
    };
    Ok(time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64)
}

/// The CloudWatch filter pattern: `--filter`, `--request-id` as a quoted term, or both (terms of
/// a pattern must all match).
/// The filter pattern FilterLogEvents gets: `--request-id` (quoted) and `--filter`, within
/// CloudWatch Logs' 1024 characters.
fn pattern(args: &LogsArgs) -> Result<Option<String>> {
    let pattern = combined_pattern(args)?;
    if let Some(pattern) = &pattern {
        let length = pattern.chars().count();
        if length > 1024 {
            return Err(UsageError(format!(
                "the filter pattern is {length} characters (--filter and --request-id together), \
                 over CloudWatch Logs' limit of 1024: shorten it"
            ))
            .into());
        }
    }
    Ok(pattern)
}

fn combined_pattern(args: &LogsArgs) -> Result<Option<String>> {
    let request = match &args.request_id {
        Some(id) if id.contains('"') || id.is_empty() => {
            return Err(UsageError(format!("invalid --request-id `{id}`")).into())
        }
        Some(id) => Some(format!("\"{id}\"")),
        None => None,
    };
    match (&args.filter, request) {
        (Some(filter), Some(request)) => {
            if filter.trim_start().starts_with(['{', '[']) {
                return Err(UsageError(
                    "--request-id cannot be combined with a JSON or space-delimited --filter \
                     pattern: use one of them"
                        .into(),
                )
                .into());
            }
            Ok(Some(format!("{request} {filter}")))
        }
        (Some(filter), None) => Ok(Some(filter.clone())),
        (None, request) => Ok(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_ages_and_times() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let ten_minutes = since("10m").unwrap();
        assert!((now - ten_minutes - 600_000).abs() < 5_000);
        assert_eq!(since("2026-12-01T09:00:00Z").unwrap(), 1_796_115_600_000);
        assert!(since("yesterday-ish").is_err());
    }
}
