//! One `invoke` under every failure class (issue 33), with the number of Invoke requests Lambda
//! received asserted: sent again only when Lambda refused it without running the function (429
//! throttling, 409 not ready), never when the function may have run (5xx, a connection dropped
//! after the request went out) — a widened retry would run a job twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::proxy::Fault;
use crate::common::*;

/// `invoke` once with `fault` on the first `times` Invoke requests: (exit code, Invokes received).
fn invoke_with(aws: &Aws, project: &Project, fault: Fault, times: usize) -> (i32, u64) {
    let seen = Arc::new(AtomicUsize::new(0));
    aws.proxy.always(fault, move |r| {
        r.action == "Invoke" && seen.fetch_add(1, Ordering::SeqCst) < times
    });
    aws.start_counting();
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &[
            "invoke",
            "--max-attempts",
            "5",
            "--payload",
            r#"{"job":"nightly"}"#,
        ],
    );
    let code = out.status.code().unwrap_or(-1);
    if code == 0 {
        assert_eq!(stdout(&out), r#"{"job":"nightly"}"#);
    }
    (code, aws.counted().get("lambda:Invoke"))
}

#[test]
fn an_invoke_is_sent_again_only_when_lambda_refused_it_without_running_it() {
    let aws = Aws::start();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);

    // The function may have run: the outcome is unknown (exit 5), and it is not sent again.
    for fault in [Fault::ServerError, Fault::Unavailable, Fault::ResetAfter] {
        assert_eq!(
            invoke_with(&aws, &project, fault, 1),
            (5, 1),
            "{}",
            fault.label()
        );
    }
    // Throttled twice, then run: three requests, one run.
    assert_eq!(invoke_with(&aws, &project, Fault::Throttle, 2), (0, 3));
}
