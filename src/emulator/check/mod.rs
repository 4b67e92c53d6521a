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
pub use report::{CaseResult, CheckOptions, CheckReport, Verdict};
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
}
