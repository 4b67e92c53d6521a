//! The runtime's life: it starts and asks for an event, serves a hundred in a row without
//! leaking processes or files, is stopped at its timeout, and reports an init error.

use std::time::Duration;

use anyhow::Result;

use super::checker::{
    count_files, json_equal, log_head, log_tail, preview, settle, shown, Checker, MISSING_HANDLER,
};
use super::report::{case, Verdict};
use crate::emulator::Worker;

impl Checker<'_> {
    /// The runtime starts and asks for an event within the init phase.
    pub(super) async fn case_starts(&mut self, worker: &mut Worker) -> bool {
        let name = case::STARTS;
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
                // The bootstrap's own words come first: they name the cause ("Illegal option -o
                // pipefail", a missing library), which a generic hint would only guess at.
                let hint = match (error_type.as_str(), log_head(&log)) {
                    ("Sandbox.Timedout", _) => {
                        "call GET /2018-06-01/runtime/invocation/next once initialised, within \
                         Lambda's 10 s init phase"
                            .to_string()
                    }
                    ("Runtime.ExitError", Some(head)) => format!(
                        "the bootstrap exited before asking for an event; fix what it printed \
                         first: {head}"
                    ),
                    ("Runtime.ExitError", None) => "the bootstrap exited before asking for an \
                                                   event, printing nothing: it must loop forever \
                                                   (next, run the handler, post the answer, next \
                                                   again)"
                        .to_string(),
                    _ => "the runtime reported an init error: see its message".to_string(),
                };
                self.record(
                    name,
                    Verdict::Fail,
                    format!(
                        "{error_type}: {}{}",
                        String::from_utf8_lossy(&body),
                        log_tail(&log)
                    ),
                    Some(&hint),
                );
                false
            }
        }
    }

    /// 100 invocations in a row, answered, with no process, open file or temporary file left
    /// growing.
    pub(super) async fn case_hundred_invokes(
        &mut self,
        worker: &mut Worker,
        echo: bool,
    ) -> Result<()> {
        let name = case::HUNDRED;
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
    pub(super) async fn case_timeout(&mut self, handler: &str) -> Result<()> {
        let name = case::TIMEOUT;
        let mut worker = self.start(handler).await?;
        worker.set_timeout(Duration::from_secs(1));
        let seen = self
            .invoke(&mut worker, br#"{"lambda-rt-check":"sleep"}"#)
            .await?;
        // What the timeout killed may still be dying: wait (bounded) before counting.
        let left = worker
            .process
            .group_size_after_exit(Duration::from_secs(5))
            .await
            .unwrap_or(0);
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
    pub(super) async fn case_init_error(&mut self) -> Result<()> {
        let name = case::INIT_ERROR;
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
}
