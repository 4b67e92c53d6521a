//! The case runner's tools: the handlers `check` supplies, starting and invoking a runtime,
//! recording a verdict, and comparing what came back with what was sent.

use std::time::Duration;

use anyhow::Result;
use axum::body::Bytes;

use super::report::{CaseResult, Verdict};
use crate::emulator::{Environment, LocalInvocation, Worker};
use crate::project::RuntimeKind;

/// The handler `check` supplies, as `_HANDLER` (file `lambda_rt_check`, function `check_handler`).
pub(super) const CHECK_HANDLER: &str = "lambda_rt_check.check_handler";
/// A handler that does not exist, for the init-error case.
pub(super) const MISSING_HANDLER: &str = "lambda_rt_check.no_such_handler";

/// The supplied handler for the bash convention: echoes its event byte for byte, unless the event
/// asks for something else.
pub(super) const BASH_HANDLER_FILE: &str = r#"# Written by `lambda-rt check` into the task root; not part of your project.
check_handler () {
  case $1 in
    '{"lambda-rt-check":"fail"}') echo "lambda-rt check: failing on purpose" >&2; return 3 ;;
    '{"lambda-rt-check":"trace"}') printf '%s' "${_X_AMZN_TRACE_ID-}" ;;
    '{"lambda-rt-check":"deadline"}') printf '%s' "${LAMBDA_DEADLINE_MS-}" ;;
    '{"lambda-rt-check":"sleep"}') sleep 600 ;;
    '{"lambda-rt-check":"big"}') head -c 6500000 /dev/zero | tr '\0' x ;;
    '{"lambda-rt-check":"at"}') printf '@lambda-rt-check' ;;
    *) printf '%s' "$1" ;;
  esac
}
"#;

/// The same handler for the Deno template (the event arrives parsed, the result is serialised).
pub(super) const DENO_HANDLER_FILE: &str = r#"// Written by `lambda-rt check` into the task root; not part of your project.
export async function check_handler(event: unknown, context: { deadlineMs?: number }) {
  const command = event !== null && typeof event === "object"
    ? (event as Record<string, unknown>)["lambda-rt-check"]
    : undefined;
  switch (command) {
    case "fail": throw new Error("lambda-rt check: failing on purpose");
    case "trace": return Deno.env.get("_X_AMZN_TRACE_ID") ?? "";
    case "deadline": return String(context.deadlineMs ?? "");
    case "sleep": await new Promise((resolve) => setTimeout(resolve, 600_000)); return null;
    case "big": return "x".repeat(6_500_000);
    case "at": return "@lambda-rt-check";
    default: return event;
  }
}
"#;

pub(super) struct Checker<'a> {
    pub(super) environment: &'a Environment,
    pub(super) kind: RuntimeKind,
    /// Whether `check` supplied its own handler (bash and Deno conventions).
    pub(super) supplied: bool,
    pub(super) cases: Vec<CaseResult>,
}

/// What a finished invocation said, and the new contract violations seen meanwhile.
pub(super) struct Seen {
    pub(super) invocation: LocalInvocation,
    pub(super) violations: Vec<String>,
}

impl Checker<'_> {
    pub(super) fn record(
        &mut self,
        name: &str,
        verdict: Verdict,
        detail: String,
        hint: Option<&str>,
    ) {
        self.cases.push(CaseResult {
            name: name.to_string(),
            verdict,
            detail,
            hint: hint.map(str::to_string),
        });
    }

    pub(super) fn skip(&mut self, name: &str, why: &str) {
        self.record(name, Verdict::Skip, why.to_string(), None);
    }

    pub(super) async fn start(&self, handler: &str) -> Result<Worker> {
        Worker::start_with(
            self.environment,
            &[("_HANDLER".to_string(), handler.to_string())],
            false,
        )
        .await
    }

    /// Invokes once, collecting the contract violations the invocation caused.
    pub(super) async fn invoke(&self, worker: &mut Worker, payload: &[u8]) -> Result<Seen> {
        let before = worker.api.violations().len();
        let invocation = worker.invoke(Bytes::copy_from_slice(payload)).await?;
        let violations = worker.api.violations()[before..]
            .iter()
            .map(|v| v.message.clone())
            .collect();
        Ok(Seen {
            invocation,
            violations,
        })
    }

    /// A fresh worker when the last one died (a failed case must not fail the ones after it).
    pub(super) async fn revive(&self, worker: &mut Worker, handler: &str) -> Result<()> {
        if !worker.is_running() {
            *worker = self.start(handler).await?;
            worker.wait_init("revive").await;
        }
        Ok(())
    }

    /// Compares a response from the supplied handler with the text it was to return.
    pub(super) fn expect_text(&self, seen: &Seen, text: &str) -> (Verdict, String, Option<String>) {
        if let Some(error_type) = &seen.invocation.error_type {
            return (
                Verdict::Fail,
                format!(
                    "{error_type}: {}",
                    preview(&seen.invocation.outcome.payload, 200)
                ),
                Some("see the runtime's log".into()),
            );
        }
        let expected = match self.kind {
            RuntimeKind::Deno => serde_json::Value::String(text.into()).to_string(),
            _ => text.to_string(),
        };
        compare(
            RuntimeKind::Bash,
            expected.as_bytes(),
            &seen.invocation.outcome.payload,
        )
    }
}

/// Waits (at most 2 s) until the runtime is back in `next`, so that what it runs between events
/// (a helper process, a file it is about to remove) is not counted against it.
pub(super) async fn settle(worker: &Worker) {
    for _ in 0..400 {
        if worker.api.waiting_for_event() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(super) fn shown(count: Option<usize>) -> String {
    count.map_or_else(|| "?".into(), |n| n.to_string())
}

/// Files below `dir`, recursively.
pub(super) fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(t) if t.is_dir() => 1 + count_files(&entry.path()),
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether `response` is `payload` as the runtime kind promises: byte for byte for the bash
/// convention, the same JSON value otherwise (Deno and most runtime interface clients parse the
/// event and serialise the result).
pub(super) fn json_equal(kind: RuntimeKind, payload: &[u8], response: &[u8]) -> bool {
    if payload == response {
        return true;
    }
    if kind == RuntimeKind::Bash {
        return false;
    }
    match (
        serde_json::from_slice::<serde_json::Value>(payload),
        serde_json::from_slice::<serde_json::Value>(response),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Compares an echoed response with its payload, saying how they differ.
pub(super) fn compare(
    kind: RuntimeKind,
    payload: &[u8],
    response: &[u8],
) -> (Verdict, String, Option<String>) {
    if payload == response {
        return (
            Verdict::Pass,
            format!("{} bytes, byte for byte", payload.len()),
            None,
        );
    }
    if json_equal(kind, payload, response) {
        return (
            Verdict::Pass,
            format!("{} bytes, the same JSON value", payload.len()),
            None,
        );
    }
    let trimmed = trim_newlines(payload);
    let (detail, hint) = if response == trimmed && trimmed.len() < payload.len() {
        (
            format!(
                "the trailing newlines were dropped ({} bytes, expected {})",
                response.len(),
                payload.len()
            ),
            "command substitution `$(...)` strips trailing newlines: write the handler's output to \
             a file and post the file (curl --data-binary @file)",
        )
    } else if response.strip_suffix(b"\n") == Some(payload) {
        (
            "a newline was added at the end".to_string(),
            "echo adds a newline: print with printf '%s'",
        )
    } else if response.is_empty() {
        (
            "the response is empty".to_string(),
            "post the handler's output as the response body",
        )
    } else {
        let at = payload
            .iter()
            .zip(response)
            .position(|(a, b)| a != b)
            .unwrap_or(payload.len().min(response.len()));
        (
            format!(
                "{} bytes, expected {}; they differ from byte {at}: got {}, expected {}",
                response.len(),
                payload.len(),
                preview(&response[at.min(response.len())..], 40),
                preview(&payload[at.min(payload.len())..], 40)
            ),
            "pass the event to the handler and its output back unchanged: no echo -e, no \
             unquoted expansions, no re-encoding",
        )
    };
    (Verdict::Fail, detail, Some(hint.to_string()))
}

pub(super) fn trim_newlines(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    &bytes[..end]
}

/// The start of some bytes, for a message.
pub(super) fn preview(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(limit)]);
    let text = text.replace('\n', "\\n");
    if bytes.len() > limit {
        format!("`{text}...` ({} bytes)", bytes.len())
    } else {
        format!("`{text}`")
    }
}

/// The first lines of the runtime's output (up to 3, on one line), where a failing start says
/// why; `None` when it printed nothing.
pub(super) fn log_head(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    (!lines.is_empty()).then(|| format!("`{}`", lines.join(" / ")))
}

/// The last lines of the runtime's output, for a failure's detail.
pub(super) fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!("\n      runtime output: {}", tail.join("\n      "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_named() {
        let (verdict, detail, hint) = compare(RuntimeKind::Bash, b"{}\n\n", b"{}");
        assert_eq!(verdict, Verdict::Fail);
        assert!(
            detail.contains("trailing newlines were dropped"),
            "{detail}"
        );
        assert!(hint.unwrap().contains("$(...)"));
        let (_, detail, _) = compare(RuntimeKind::Bash, b"{}", b"{}\n");
        assert!(detail.contains("newline was added"), "{detail}");
        let (_, detail, _) = compare(RuntimeKind::Bash, br#"{"a":"b"}"#, br#"{"a":"c"}"#);
        assert!(detail.contains("differ from byte 6"), "{detail}");
    }

    #[test]
    fn bash_needs_bytes_and_others_the_same_json() {
        assert!(!json_equal(RuntimeKind::Bash, b"{\"a\": 1}", b"{\"a\":1}"));
        assert!(json_equal(RuntimeKind::Deno, b"{\"a\": 1}", b"{\"a\":1}"));
        assert!(json_equal(
            RuntimeKind::Custom,
            b"{\"a\": 1}\n",
            b"{\"a\":1}"
        ));
        assert!(!json_equal(
            RuntimeKind::Custom,
            b"{\"a\": 1}",
            b"{\"a\":2}"
        ));
    }
}
