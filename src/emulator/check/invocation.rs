//! What the runtime is told about each invocation: its request id, trace id and deadline.

use anyhow::Result;

use super::checker::{log_tail, Checker, Seen};
use super::report::{case, Verdict};
use crate::emulator::api::Delivery;
use crate::emulator::Worker;

impl Checker<'_> {
    /// Invokes once and returns what the handler answered with what the runtime was told; `None`
    /// (the case recorded as failed) when the event never reached the runtime.
    async fn invoke_delivered(
        &mut self,
        name: &str,
        worker: &mut Worker,
        payload: &[u8],
    ) -> Result<Option<(Seen, Delivery)>> {
        let seen = self.invoke(worker, payload).await?;
        let Some(delivery) = worker.api.delivery(&seen.invocation.request_id) else {
            self.record(
                name,
                Verdict::Fail,
                "the event was never delivered".into(),
                None,
            );
            return Ok(None);
        };
        Ok(Some((seen, delivery)))
    }

    /// Answers go to the request id the event came with.
    pub(super) async fn case_request_id(&mut self, worker: &mut Worker) -> Result<bool> {
        let name = case::REQUEST_ID;
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

    pub(super) async fn case_trace_id(&mut self, worker: &mut Worker) -> Result<()> {
        let name = case::TRACE_ID;
        for _ in 0..2 {
            let Some((seen, delivery)) = self
                .invoke_delivered(name, worker, br#"{"lambda-rt-check":"trace"}"#)
                .await?
            else {
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

    pub(super) async fn case_deadline(&mut self, worker: &mut Worker) -> Result<()> {
        let name = case::DEADLINE;
        let Some((seen, delivery)) = self
            .invoke_delivered(name, worker, br#"{"lambda-rt-check":"deadline"}"#)
            .await?
        else {
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
}
