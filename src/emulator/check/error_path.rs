//! The error path: a failing handler's error reaches the caller as Lambda reports it, and the
//! runtime takes the next event.

use anyhow::Result;

use super::checker::{preview, Checker};
use super::report::{case, Verdict};
use crate::emulator::Worker;

impl Checker<'_> {
    /// A failing handler is reported to `/error` as a JSON error document, and the runtime goes on
    /// with the next event.
    pub(super) async fn case_error_path(
        &mut self,
        worker: &mut Worker,
        supplied: bool,
    ) -> Result<()> {
        let name = case::ERROR_PATH;
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
        let name = case::AFTER_ERROR;
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
}
