//! Events and responses through the runtime byte for byte: round trips of awkward payloads up
//! to 6 MB, a response that starts like a file reference, and one over the 6 MB limit.

use anyhow::Result;

use super::checker::{compare, log_tail, preview, Checker};
use super::report::{case, Verdict};
use crate::emulator::api::{MAX_EVENT_BYTES, MAX_RESPONSE_BYTES};
use crate::emulator::Worker;

/// A payload to send round trip through the echo handler.
pub(super) struct RoundTrip {
    pub(super) name: &'static str,
    pub(super) payload: Vec<u8>,
}

pub(super) fn round_trips() -> Vec<RoundTrip> {
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

impl Checker<'_> {
    pub(super) async fn case_round_trip(
        &mut self,
        worker: &mut Worker,
        case: &RoundTrip,
    ) -> Result<()> {
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

    pub(super) async fn case_response_starting_with_at(
        &mut self,
        worker: &mut Worker,
    ) -> Result<()> {
        let name = case::AT_RESPONSE;
        let seen = self.invoke(worker, br#"{"lambda-rt-check":"at"}"#).await?;
        let (verdict, detail, hint) = self.expect_text(&seen, "@lambda-rt-check");
        let hint = hint.map(|h| {
            format!("{h} (curl -d @x reads the file x: post responses with --data-binary @file)")
        });
        self.record(name, verdict, detail, hint.as_deref());
        Ok(())
    }

    /// A response over 6 MB fails the invocation cleanly and the runtime goes on.
    pub(super) async fn case_oversized_response(&mut self, worker: &mut Worker) -> Result<()> {
        let name = case::OVERSIZED;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_payloads_are_json_and_fit_an_event() {
        for case in round_trips() {
            assert!(case.payload.len() <= MAX_EVENT_BYTES, "{}", case.name);
            serde_json::from_slice::<serde_json::Value>(&case.payload)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        }
    }
}
