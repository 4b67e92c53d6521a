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
//!
//! The cases are grouped by what they look at: [`lifecycle`], [`invocation`], [`round_trip`],
//! [`error_path`]; [`checker`] holds what they share; this file runs them in order.

pub mod checker;
pub mod error_path;
pub mod invocation;
pub mod lifecycle;
pub mod report;
pub mod round_trip;

use anyhow::Result;

use crate::emulator::Environment;
use crate::project::RuntimeKind;
use checker::{Checker, BASH_HANDLER_FILE, CHECK_HANDLER, DENO_HANDLER_FILE};
pub use report::{case, CaseResult, CheckOptions, CheckReport, Verdict};
use round_trip::round_trips;

/// Runs every case against `environment` (whose task root `check` may write its handler into).
pub async fn run(
    environment: &mut Environment,
    kind: RuntimeKind,
    options: &CheckOptions,
    default_handler: &str,
) -> Result<CheckReport> {
    environment.timeout = options.timeout;
    environment.print_violations = false;
    // The runtimes lambda-rt knows get its own handler; a custom one is checked with the user's.
    let handler_file = match kind {
        RuntimeKind::Bash => Some(("lambda_rt_check.sh", BASH_HANDLER_FILE)),
        RuntimeKind::Deno => Some(("lambda_rt_check.ts", DENO_HANDLER_FILE)),
        RuntimeKind::Custom => None,
    };
    if let Some((file, contents)) = handler_file {
        std::fs::write(environment.task_root.join(file), contents)?;
    }
    let supplied = handler_file.is_some();
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

impl Checker<'_> {
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
            let why = "skipped: the runtime never asked for an event";
            self.skip_all(&after_start(), why);
            return Ok(());
        }
        if !self.case_request_id(&mut worker).await? {
            worker.stop().await;
            let why = "skipped: needs the runtime to answer the request id it is given";
            let mut rest = after_start();
            rest.retain(|name| name != case::REQUEST_ID);
            self.skip_all(&rest, why);
            return Ok(());
        }
        match &echo {
            Some(echo) => {
                for round_trip in round_trips() {
                    self.revive(&mut worker, echo).await?;
                    self.case_round_trip(&mut worker, &round_trip).await?;
                }
            }
            None => self.skip_all(
                &round_trip_names(),
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
            // Each of these needs a handler that does one particular thing (answer with text
            // starting with @, print the trace id or the deadline it was given, answer with more
            // than 6 MB): an echo handler cannot, since Lambda's events are JSON of at most 6 MB.
            let why = "skipped: needs a handler that check supplies itself (bash and Deno \
                       conventions only); an echo handler cannot do it";
            self.skip_all(
                &[case::AT_RESPONSE, case::TRACE_ID, case::DEADLINE].map(String::from),
                why,
            );
            match &options.error_handler {
                Some(error_handler) => {
                    // One runtime at a time, as in a Lambda execution environment: two sharing
                    // one /tmp would trip runtimes that use fixed file names there.
                    worker.process.kill().await;
                    let mut failing = self.start(error_handler).await?;
                    failing.wait_init("error handler").await;
                    self.case_error_path(&mut failing, false).await?;
                    failing.stop().await;
                }
                None => self.skip_all(
                    &[case::ERROR_PATH, case::AFTER_ERROR].map(String::from),
                    "skipped: name a handler that always fails with --error-handler",
                ),
            }
            self.skip(case::OVERSIZED, why);
        }
        self.revive(&mut worker, &handler).await?;
        self.case_hundred_invokes(&mut worker, echo.is_some())
            .await?;
        worker.stop().await;
        if self.supplied {
            self.case_timeout(&handler).await?;
            self.case_init_error().await?;
        } else {
            let why = "skipped: needs a handler that hangs or does not exist (bash and Deno \
                       conventions only)";
            self.skip_all(&[case::TIMEOUT, case::INIT_ERROR].map(String::from), why);
        }
        Ok(())
    }

    fn skip_all(&mut self, names: &[String], why: &str) {
        for name in names {
            self.skip(name, why);
        }
    }
}

fn round_trip_names() -> Vec<String> {
    round_trips()
        .iter()
        .map(|round_trip| format!("round trip: {}", round_trip.name))
        .collect()
}

/// The name of every case `check` has, in the order they run.
pub fn every_case_name() -> Vec<String> {
    let mut names = vec![case::STARTS.to_string(), case::REQUEST_ID.to_string()];
    names.extend(round_trip_names());
    names.extend(
        [
            case::AT_RESPONSE,
            case::TRACE_ID,
            case::DEADLINE,
            case::ERROR_PATH,
            case::AFTER_ERROR,
            case::OVERSIZED,
            case::HUNDRED,
            case::TIMEOUT,
            case::INIT_ERROR,
        ]
        .map(String::from),
    );
    names
}

/// Every case after the start, less the init error (run when the start fails), for when none of
/// them can run.
fn after_start() -> Vec<String> {
    let mut names = every_case_name();
    names.retain(|name| name != case::STARTS && name != case::INIT_ERROR);
    names
}
