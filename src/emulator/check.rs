//! `lambda-rt check`: the Runtime API contract cases a bootstrap must pass before it ships, run
//! against the emulator with the project's real runtime.
//!
//! Cases that need a handler to behave in a given way (echo, fail, hang, print its trace id) use a
//! handler `check` supplies itself, through `_HANDLER` and a file it writes into the task root, for
//! every runtime that follows the bash handler convention (`function/<file>.sh`, the event as
//! `$1`) or the Deno template's (`<file>.ts` exports): the bundled runtimes, the tutorial's, and
//! any runtime written to either convention. Other runtimes get the cases that need no particular
//! handler, plus round trips and the error path through handlers they name themselves
//! (`--echo-handler`, `--error-handler`).

use std::time::Duration;

use anyhow::Result;
use axum::body::Bytes;
use serde::Serialize;

use super::api::{MAX_EVENT_BYTES, MAX_RESPONSE_BYTES};
use super::{Environment, LocalInvocation, Worker};
use crate::project::RuntimeKind;

/// The handler `check` supplies, as `_HANDLER` (file `lambda_rt_check`, function `check_handler`).
const CHECK_HANDLER: &str = "lambda_rt_check.check_handler";
/// A handler that does not exist, for the init-error case.
const MISSING_HANDLER: &str = "lambda_rt_check.no_such_handler";

/// The supplied handler for the bash convention: echoes its event byte for byte, unless the event
/// asks for something else.
const BASH_HANDLER_FILE: &str = r#"# Written by `lambda-rt check` into the task root; not part of your project.
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
const DENO_HANDLER_FILE: &str = r#"// Written by `lambda-rt check` into the task root; not part of your project.
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

/// How one case went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Works, but not as Lambda's own runtimes do; does not fail `check`.
    Warn,
    /// Not run, with the reason in `detail`.
    Skip,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
    /// How to fix a failure or warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `check` was told beyond the project.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// For a custom runtime: a handler that returns its event unchanged.
    pub echo_handler: Option<String>,
    /// For a custom runtime: a handler that always fails.
    pub error_handler: Option<String>,
    /// The function timeout for each case (the timeout case uses 1 s).
    pub timeout: Duration,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub runtime_kind: &'static str,
    pub cases: Vec<CaseResult>,
}

impl CheckReport {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cases.iter().filter(|c| c.verdict == verdict).count()
    }
}

/// A payload to send round trip through the echo handler.
struct RoundTrip {
    name: &'static str,
    payload: Vec<u8>,
}

fn round_trips() -> Vec<RoundTrip> {
    let string_of = |size: usize| {
        let mut payload = Vec::with_capacity(size);
        payload.push(b'"');
        payload.resize(size - 1, b'a');
        payload.push(b'"');
        payload
    };
    let cases: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty object", b"{}".to_vec()),
        (
            "inner newlines",
            b"{\n  \"text\": \"line 1\\nline 2\",\n  \"n\": 1\n}".to_vec(),
        ),
        ("trailing newlines", b"{\"a\":1}\n\n".to_vec()),
        (
            "quotes and backslashes",
            br#"{"q":"\"quoted\" 'single'","b":"back\\slash \\n \\\\","p":"%s %d %%"}"#.to_vec(),
        ),
        (
            "unicode",
            "{\"u\":\"zoë ☃ 𝄞 中文 \\u00e9\"}".as_bytes().to_vec(),
        ),
        ("-n look-alike", b"\"-n\"".to_vec()),
        ("-e look-alike", br#""-e \t \\n""#.to_vec()),
        ("1 MB", string_of(1024 * 1024)),
        ("near 6 MB", string_of(MAX_EVENT_BYTES - 64)),
    ];
    cases
        .into_iter()
        .map(|(name, payload)| RoundTrip { name, payload })
        .collect()
}

/// Runs every case against `environment` (whose task root `check` may write its handler into).
pub async fn run(
    environment: &mut Environment,
    kind: RuntimeKind,
    options: &CheckOptions,
    default_handler: &str,
) -> Result<CheckReport> {
    environment.timeout = options.timeout;
    environment.print_violations = false;
    let supplied = match kind {
        RuntimeKind::Bash => {
            std::fs::write(
                environment.task_root.join("lambda_rt_check.sh"),
                BASH_HANDLER_FILE,
            )?;
            true
        }
        RuntimeKind::Deno => {
            std::fs::write(
                environment.task_root.join("lambda_rt_check.ts"),
                DENO_HANDLER_FILE,
            )?;
            true
        }
        RuntimeKind::Custom => false,
    };
    let echo = if supplied {
        Some(CHECK_HANDLER.to_string())
    } else {
        options.echo_handler.clone()
    };
    let mut checker = Checker {
        environment,
        kind,
        supplied,
        cases: Vec::new(),
    };
    checker.run_all(echo, options, default_handler).await;
    Ok(CheckReport {
        runtime_kind: kind.as_str(),
        cases: checker.cases,
    })
}

struct Checker<'a> {
    environment: &'a Environment,
    kind: RuntimeKind,
    /// Whether `check` supplied its own handler (bash and Deno conventions).
    supplied: bool,
    cases: Vec<CaseResult>,
}

/// What a finished invocation said, and the new contract violations seen meanwhile.
struct Seen {
    invocation: LocalInvocation,
    violations: Vec<String>,
}

impl Checker<'_> {
    fn record(&mut self, name: &str, verdict: Verdict, detail: String, hint: Option<&str>) {
        self.cases.push(CaseResult {
            name: name.to_string(),
            verdict,
            detail,
            hint: hint.map(str::to_string),
        });
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.record(name, Verdict::Skip, why.to_string(), None);
    }

    async fn start(&self, handler: &str) -> Result<Worker> {
        Worker::start_with(
            self.environment,
            &[("_HANDLER".to_string(), handler.to_string())],
            false,
        )
        .await
    }

    /// Invokes once, collecting the contract violations the invocation caused.
    async fn invoke(&self, worker: &mut Worker, payload: &[u8]) -> Result<Seen> {
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
    async fn revive(&self, worker: &mut Worker, handler: &str) -> Result<()> {
        if !worker.is_running() {
            *worker = self.start(handler).await?;
            worker.wait_init("revive").await;
        }
        Ok(())
    }

    async fn run_all(&mut self, echo: Option<String>, options: &CheckOptions, default: &str) {
        if let Err(error) = self.try_run_all(echo, options, default).await {
            self.record(
                "check itself",
                Verdict::Fail,
                format!("the emulator failed: {error:#}"),
                None,
            );
        }
    }

    async fn try_run_all(
        &mut self,
        echo: Option<String>,
        options: &CheckOptions,
        default: &str,
    ) -> Result<()> {
        let handler = echo.clone().unwrap_or_else(|| default.to_string());
        let mut worker = self.start(&handler).await?;
        if !self.case_starts(&mut worker).await {
            worker.stop().await;
            self.case_init_error().await?;
            return Ok(());
        }
        if !self.case_request_id(&mut worker).await? {
            worker.stop().await;
            self.skip(
                "the remaining cases",
                "skipped: they all need the runtime to answer the request id it is given",
            );
            return Ok(());
        }
        match &echo {
            Some(echo) => {
                for round_trip in round_trips() {
                    self.revive(&mut worker, echo).await?;
                    self.case_round_trip(&mut worker, &round_trip).await?;
                }
            }
            None => self.skip(
                "round trips",
                "skipped: name a handler that returns its event unchanged with --echo-handler",
            ),
        }
        if self.supplied {
            self.revive(&mut worker, &handler).await?;
            self.case_response_starting_with_at(&mut worker).await?;
            self.revive(&mut worker, &handler).await?;
            self.case_trace_id(&mut worker).await?;
            self.revive(&mut worker, &handler).await?;
            self.case_deadline(&mut worker).await?;
            self.revive(&mut worker, &handler).await?;
            self.case_error_path(&mut worker, true).await?;
            self.revive(&mut worker, &handler).await?;
            self.case_oversized_response(&mut worker).await?;
        } else {
            match &options.error_handler {
                Some(error_handler) => {
                    let mut failing = self.start(error_handler).await?;
                    failing.wait_init("error handler").await;
                    self.case_error_path(&mut failing, false).await?;
                    failing.stop().await;
                }
                None => self.skip(
                    "error path",
                    "skipped: name a handler that always fails with --error-handler",
                ),
            }
        }
        self.revive(&mut worker, &handler).await?;
        self.case_hundred_invokes(&mut worker, echo.is_some())
            .await?;
        worker.stop().await;
        if self.supplied {
            self.case_timeout(&handler).await?;
            self.case_init_error().await?;
        } else {
            self.skip(
                "timeout",
                "skipped: needs a handler that hangs (bash and Deno conventions only)",
            );
            self.skip(
                "init error",
                "skipped: needs a handler that does not exist (bash and Deno conventions only)",
            );
        }
        Ok(())
    }

    /// The runtime starts and asks for an event within the init phase.
    async fn case_starts(&mut self, worker: &mut Worker) -> bool {
        let name = "starts and asks for an event";
        match worker.wait_init("init").await {
            None => {
                self.record(
                    name,
                    Verdict::Pass,
                    "GET /runtime/invocation/next within the init phase".into(),
                    None,
                );
                true
            }
            Some((body, error_type)) => {
                worker.process.kill().await;
                let log = worker.process.log.since(0);
                let hint = match error_type.as_str() {
                    "Sandbox.Timedout" => {
                        "call GET /2018-06-01/runtime/invocation/next once initialised, within \
                         Lambda's 10 s init phase"
                    }
                    "Runtime.ExitError" => {
                        "the bootstrap must loop forever: next, run the handler, post the \
                         answer, next again"
                    }
                    _ => "the runtime reported an init error: see its message",
                };
                self.record(
                    name,
                    Verdict::Fail,
                    format!(
                        "{error_type}: {}{}",
                        String::from_utf8_lossy(&body),
                        log_tail(&log)
                    ),
                    Some(hint),
                );
                false
            }
        }
    }

    /// Answers go to the request id the event came with.
    async fn case_request_id(&mut self, worker: &mut Worker) -> Result<bool> {
        let name = "answers the request id it is given";
        let seen = self.invoke(worker, b"{}").await?;
        let invocation = &seen.invocation;
        let emulator_error = matches!(
            invocation.error_type.as_deref(),
            Some("Sandbox.Timedout" | "Runtime.ExitError" | "Runtime.Unknown")
        );
        if !emulator_error {
            self.record(
                name,
                Verdict::Pass,
                format!("answered invocation {}", invocation.request_id),
                None,
            );
            return Ok(true);
        }
        let wrong_id = seen
            .violations
            .iter()
            .find(|v| v.contains("is not the invocation in flight"));
        let (detail, hint) = match (wrong_id, invocation.error_type.as_deref()) {
            (Some(violation), _) => (
                violation.clone(),
                "post to /runtime/invocation/<id>/response with the Lambda-Runtime-Aws-Request-Id \
                 header of the event being answered",
            ),
            (None, Some("Sandbox.Timedout")) => (
                format!(
                    "no answer within the {} s timeout",
                    self.environment.timeout.as_secs()
                ),
                "after each next, post the handler's result to \
                 /runtime/invocation/<request id>/response (or its error to .../error)",
            ),
            _ => (
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&invocation.outcome.payload),
                    log_tail(&worker.process.log.since(0))
                ),
                "the runtime exited instead of answering: keep the loop running",
            ),
        };
        self.record(name, Verdict::Fail, detail, Some(hint));
        Ok(false)
    }

    async fn case_round_trip(&mut self, worker: &mut Worker, case: &RoundTrip) -> Result<()> {
        let name = format!("round trip: {}", case.name);
        let seen = self.invoke(worker, &case.payload).await?;
        let outcome = &seen.invocation.outcome;
        if let Some(error_type) = &seen.invocation.error_type {
            let log = worker.process.log.since(0);
            self.record(
                &name,
                Verdict::Fail,
                format!(
                    "{error_type}: {}{}",
                    preview(&outcome.payload, 300),
                    log_tail(&log)
                ),
                Some(if log.contains("Argument list too long") {
                    "the event or the response goes through a command-line argument (e.g. curl \
                     -d \"$RESPONSE\"), which Linux limits to 128 KB: pass it through a file \
                     (curl --data-binary @file)"
                } else {
                    "the echo handler must return its event; see the runtime's log (--log with \
                     invoke --local)"
                }),
            );
            return Ok(());
        }
        let (verdict, detail, hint) = compare(self.kind, &case.payload, &outcome.payload);
        self.record(&name, verdict, detail, hint.as_deref());
        Ok(())
    }

    async fn case_response_starting_with_at(&mut self, worker: &mut Worker) -> Result<()> {
        let name = "a response starting with @";
        let seen = self.invoke(worker, br#"{"lambda-rt-check":"at"}"#).await?;
        let (verdict, detail, hint) = self.expect_text(&seen, "@lambda-rt-check");
        let hint = hint.map(|h| {
            format!("{h} (curl -d @x reads the file x: post responses with --data-binary @file)")
        });
        self.record(name, verdict, detail, hint.as_deref());
        Ok(())
    }

    async fn case_trace_id(&mut self, worker: &mut Worker) -> Result<()> {
        let name = "_X_AMZN_TRACE_ID is set for each event";
        for _ in 0..2 {
            let seen = self
                .invoke(worker, br#"{"lambda-rt-check":"trace"}"#)
                .await?;
            let Some(delivery) = worker.api.delivery(&seen.invocation.request_id) else {
                self.record(
                    name,
                    Verdict::Fail,
                    "the event was never delivered".into(),
                    None,
                );
                return Ok(());
            };
            let (verdict, detail, _) = self.expect_text(&seen, &delivery.trace_id);
            if verdict != Verdict::Pass {
                self.record(
                    name,
                    Verdict::Fail,
                    detail,
                    Some(
                        "set the environment variable _X_AMZN_TRACE_ID to the event's \
                         Lambda-Runtime-Trace-Id header before running the handler",
                    ),
                );
                return Ok(());
            }
        }
        self.record(
            name,
            Verdict::Pass,
            "the handler saw each event's Lambda-Runtime-Trace-Id".into(),
            None,
        );
        Ok(())
    }

    async fn case_deadline(&mut self, worker: &mut Worker) -> Result<()> {
        let name = "the deadline reaches the handler";
        let seen = self
            .invoke(worker, br#"{"lambda-rt-check":"deadline"}"#)
            .await?;
        let Some(delivery) = worker.api.delivery(&seen.invocation.request_id) else {
            self.record(
                name,
                Verdict::Fail,
                "the event was never delivered".into(),
                None,
            );
            return Ok(());
        };
        let (verdict, detail, _) = self.expect_text(&seen, &delivery.deadline_ms.to_string());
        if verdict == Verdict::Pass {
            self.record(
                name,
                Verdict::Pass,
                "the handler saw Lambda-Runtime-Deadline-Ms".into(),
                None,
            );
        } else {
            self.record(
                name,
                Verdict::Warn,
                detail,
                Some(
                    "handlers cannot tell how much time they have left: pass the \
                     Lambda-Runtime-Deadline-Ms header on (the bundled bash runtime exports it \
                     as LAMBDA_DEADLINE_MS, the Deno template as context.deadlineMs)",
                ),
            );
        }
        Ok(())
    }

    /// A failing handler is reported to `/error` as a JSON error document, and the runtime goes on
    /// with the next event.
    async fn case_error_path(&mut self, worker: &mut Worker, supplied: bool) -> Result<()> {
        let name = "a failing handler is reported to /error";
        let event: &[u8] = if supplied {
            br#"{"lambda-rt-check":"fail"}"#
        } else {
            b"{}"
        };
        let seen = self.invoke(worker, event).await?;
        let invocation = &seen.invocation;
        let payload = preview(&invocation.outcome.payload, 300);
        match (invocation.error_type.as_deref(), invocation.well_formed_error) {
            (None, _) => self.record(
                name,
                Verdict::Fail,
                format!("the failing handler's invocation succeeded with: {payload}"),
                Some("when the handler fails, post to /runtime/invocation/<id>/error instead of /response"),
            ),
            (Some(_), Some(true)) => self.record(
                name,
                Verdict::Pass,
                format!("error document: {payload}"),
                None,
            ),
            (Some(_), Some(false)) => self.record(
                name,
                Verdict::Fail,
                seen.violations.join("; "),
                Some(
                    "post a JSON object with string errorType and errorMessage, e.g. \
                     {\"errorType\":\"HandlerError\",\"errorMessage\":\"...\"}",
                ),
            ),
            (Some(error_type), None) => self.record(
                name,
                Verdict::Fail,
                format!("{error_type}: {payload}"),
                Some("report the handler's failure to /error and keep the loop running"),
            ),
        }
        let name = "the next event after an error is served";
        if !worker.is_running() {
            self.record(
                name,
                Verdict::Fail,
                "the runtime exited after the error".into(),
                Some("an error ends one invocation, not the runtime: go back to next"),
            );
            return Ok(());
        }
        let after: &[u8] = if supplied {
            br#"{"after":"error"}"#
        } else {
            b"{}"
        };
        let seen = self.invoke(worker, after).await?;
        let answered = !matches!(
            seen.invocation.error_type.as_deref(),
            Some("Sandbox.Timedout" | "Runtime.ExitError" | "Runtime.Unknown")
        );
        let correct = !supplied || seen.invocation.outcome.payload == after;
        if answered && correct {
            self.record(name, Verdict::Pass, "answered".into(), None);
        } else {
            self.record(
                name,
                Verdict::Fail,
                format!(
                    "{}: {}",
                    seen.invocation.error_type.as_deref().unwrap_or("response"),
                    preview(&seen.invocation.outcome.payload, 300)
                ),
                Some("after posting an error, go back to next as after a response"),
            );
        }
        Ok(())
    }

    /// A response over 6 MB fails the invocation cleanly and the runtime goes on.
    async fn case_oversized_response(&mut self, worker: &mut Worker) -> Result<()> {
        let name = "a response over 6 MB is refused cleanly";
        let seen = self.invoke(worker, br#"{"lambda-rt-check":"big"}"#).await?;
        let error_type = seen.invocation.error_type.clone();
        if error_type.as_deref() != Some("Function.ResponseSizeTooLarge") {
            self.record(
                name,
                Verdict::Fail,
                format!(
                    "{}: {}",
                    error_type.as_deref().unwrap_or("a response"),
                    preview(&seen.invocation.outcome.payload, 200)
                ),
                Some(&format!(
                    "post the response (Lambda refuses one over {MAX_RESPONSE_BYTES} bytes with \
                     413 and fails the invocation) or report Function.ResponseSizeTooLarge"
                )),
            );
            return Ok(());
        }
        let follow_up = if worker.is_running() {
            Some(self.invoke(worker, br#"{"after":"big"}"#).await?)
        } else {
            None
        };
        match follow_up {
            Some(seen) if seen.invocation.outcome.payload == br#"{"after":"big"}"# => {
                let mut detail =
                    "Function.ResponseSizeTooLarge, and the next event was served".to_string();
                if !seen.violations.is_empty() {
                    detail.push_str(&format!(" ({})", seen.violations.join("; ")));
                }
                self.record(name, Verdict::Pass, detail, None);
            }
            _ => self.record(
                name,
                Verdict::Fail,
                "the runtime did not serve the next event after a 413".into(),
                Some("a 413 answer ends that invocation: log it and go back to next"),
            ),
        }
        Ok(())
    }

    /// 100 invocations in a row, answered, with no process, open file or temporary file left
    /// growing.
    async fn case_hundred_invokes(&mut self, worker: &mut Worker, echo: bool) -> Result<()> {
        let name = "100 invocations leak no process or file";
        let tmp = self
            .environment
            .variables
            .iter()
            .find(|(k, _)| k == "TMPDIR")
            .map(|(_, v)| std::path::PathBuf::from(v));
        let count_tmp = || tmp.as_ref().map(|dir| count_files(dir));
        // A few first, so that lazily opened files and helpers count as the baseline.
        for n in 0..3 {
            self.invoke(worker, format!("{{\"warm\":{n}}}").as_bytes())
                .await?;
        }
        settle(worker).await;
        let before = (
            worker.process.group_size(),
            worker.process.open_files(),
            count_tmp(),
        );
        for n in 0..100 {
            let payload = format!("{{\"n\":{n}}}");
            let seen = self.invoke(worker, payload.as_bytes()).await?;
            let invocation = &seen.invocation;
            let failed = match invocation.error_type.as_deref() {
                Some("Sandbox.Timedout" | "Runtime.ExitError" | "Runtime.Unknown") => true,
                Some(_) => echo,
                None => {
                    echo && !json_equal(self.kind, payload.as_bytes(), &invocation.outcome.payload)
                }
            };
            if failed {
                self.record(
                    name,
                    Verdict::Fail,
                    format!(
                        "invocation {} of 100: {}: {}",
                        n + 1,
                        invocation.error_type.as_deref().unwrap_or("wrong response"),
                        preview(&invocation.outcome.payload, 200)
                    ),
                    Some("the runtime must serve event after event without exiting"),
                );
                return Ok(());
            }
        }
        settle(worker).await;
        let after = (
            worker.process.group_size(),
            worker.process.open_files(),
            count_tmp(),
        );
        // A few more than before can be a pool or a cache filling up (Deno's HTTP client opens a
        // connection now and then); a leak grows with every event.
        const SLACK: usize = 5;
        let mut leaks = Vec::new();
        let mut compare = |what: &str, before: Option<usize>, after: Option<usize>| {
            if let (Some(before), Some(after)) = (before, after) {
                if after > before + SLACK {
                    leaks.push(format!("{what}: {before} → {after}"));
                }
            }
        };
        compare("processes", before.0, after.0);
        compare("open files", before.1, after.1);
        compare("files in $TMPDIR", before.2, after.2);
        if leaks.is_empty() {
            self.record(
                name,
                Verdict::Pass,
                format!(
                    "processes {} → {}, open files {} → {}, files in $TMPDIR {} → {}",
                    shown(before.0),
                    shown(after.0),
                    shown(before.1),
                    shown(after.1),
                    shown(before.2),
                    shown(after.2)
                ),
                None,
            );
        } else {
            self.record(
                name,
                Verdict::Fail,
                leaks.join(", "),
                Some(
                    "wait for the processes the loop starts, close what it opens, and remove \
                     its temporary files: a warm runtime serves thousands of events",
                ),
            );
        }
        Ok(())
    }

    /// A hanging handler is stopped at the function timeout, with everything it started.
    async fn case_timeout(&mut self, handler: &str) -> Result<()> {
        let name = "a hanging handler is stopped at the timeout";
        let mut worker = self.start(handler).await?;
        worker.set_timeout(Duration::from_secs(1));
        let seen = self
            .invoke(&mut worker, br#"{"lambda-rt-check":"sleep"}"#)
            .await?;
        let left = worker.process.group_size().unwrap_or(0);
        let timed_out = seen.invocation.error_type.as_deref() == Some("Sandbox.Timedout");
        if timed_out && left == 0 {
            self.record(
                name,
                Verdict::Pass,
                "Sandbox.Timedout after 1 s; no process of the runtime left".into(),
                None,
            );
        } else {
            self.record(
                name,
                Verdict::Fail,
                format!(
                    "{}; {left} processes of the runtime left",
                    seen.invocation.error_type.as_deref().unwrap_or("answered")
                ),
                Some("the runtime must not answer for a handler that is still running"),
            );
        }
        worker.stop().await;
        Ok(())
    }

    /// A handler that does not exist is reported to `/init/error`, and the runtime exits.
    async fn case_init_error(&mut self) -> Result<()> {
        let name = "a missing handler is an init error and the runtime exits";
        let mut worker = self.start(MISSING_HANDLER).await?;
        let ended = worker.wait_init("init").await;
        let posted = worker.api.init_error();
        let verdict = match (&posted, worker.api.initialized()) {
            (Some(init), _) => {
                // Lambda expects the runtime to exit after reporting an init error.
                let exited = tokio::time::timeout(Duration::from_secs(5), worker.process.wait())
                    .await
                    .is_ok();
                let document = preview(&init.body, 300);
                if exited {
                    (Verdict::Pass, format!("init error: {document}"), None)
                } else {
                    (
                        Verdict::Fail,
                        format!("init error posted ({document}), but the runtime kept running"),
                        Some("exit after posting to /runtime/init/error"),
                    )
                }
            }
            (None, true) => (
                Verdict::Fail,
                format!("with _HANDLER={MISSING_HANDLER} the runtime asked for events"),
                Some("when the handler cannot be loaded, post to /runtime/init/error and exit"),
            ),
            (None, false) => (
                Verdict::Fail,
                match ended {
                    Some((body, error_type)) => {
                        format!("{error_type}: {}", preview(&body, 300))
                    }
                    None => "nothing reported".into(),
                },
                Some("post the reason to /runtime/init/error before exiting"),
            ),
        };
        self.record(name, verdict.0, verdict.1, verdict.2);
        worker.stop().await;
        Ok(())
    }

    /// Compares a response from the supplied handler with the text it was to return.
    fn expect_text(&self, seen: &Seen, text: &str) -> (Verdict, String, Option<String>) {
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
async fn settle(worker: &Worker) {
    for _ in 0..400 {
        if worker.api.waiting_for_event() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn shown(count: Option<usize>) -> String {
    count.map_or_else(|| "?".into(), |n| n.to_string())
}

/// Files below `dir`, recursively.
fn count_files(dir: &std::path::Path) -> usize {
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
fn json_equal(kind: RuntimeKind, payload: &[u8], response: &[u8]) -> bool {
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
fn compare(
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

fn trim_newlines(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    &bytes[..end]
}

/// The start of some bytes, for a message.
fn preview(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(limit)]);
    let text = text.replace('\n', "\\n");
    if bytes.len() > limit {
        format!("`{text}...` ({} bytes)", bytes.len())
    } else {
        format!("`{text}`")
    }
}

/// The last lines of the runtime's output, for a failure's detail.
fn log_tail(log: &str) -> String {
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

    #[test]
    fn round_trip_payloads_are_json_and_fit_an_event() {
        for case in round_trips() {
            assert!(case.payload.len() <= MAX_EVENT_BYTES, "{}", case.name);
            serde_json::from_slice::<serde_json::Value>(&case.payload)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        }
    }
}
