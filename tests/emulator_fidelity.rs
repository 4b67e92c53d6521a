//! Where the local emulator must behave like Lambda, one test per point: init is a phase of its
//! own (not charged to the function timeout, with its own timeout); an init error fails the
//! invocation at once; a response over the limit fails the invocation and a later post for it gets
//! 403; `serve` replaces a warm runtime that exited; `--env` overrides Lambda's unreserved
//! variables and reserved names are refused; `serve` refuses a payload that is not JSON; contract
//! violations are said on stderr.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use axum::body::Bytes;
use lambda_rt::emulator::{Environment, Worker};

/// A project whose `runtime/bootstrap` is `bootstrap` (a bash script) and whose function code is
/// the repository's.
fn project_with_bootstrap(bootstrap: &str) -> Project {
    require_runtime_tools();
    let project = Project::new();
    project.write("runtime/bootstrap", bootstrap);
    std::fs::set_permissions(
        project.path().join("runtime/bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    project
}

async fn worker_for(project: &Path, handler: &str, timeout: i64) -> (Environment, Worker) {
    let environment = Environment::prepare(&local_settings(project, handler, timeout)).unwrap();
    let worker = Worker::start(&environment, false).await.unwrap();
    (environment, worker)
}

fn error_type(payload: &[u8]) -> String {
    parse_json(payload)["errorType"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_is_not_charged_to_the_function_timeout_and_has_its_own() {
    require_runtime_tools();
    let project = Project::new();
    // Loading the handler file takes longer than the 1 s function timeout.
    project.write(
        "function/slow.sh",
        "sleep 1.5\nhandler () { printf 'ready'; }\n",
    );
    let (_env, mut worker) = worker_for(project.path(), "slow.handler", 1).await;
    let invocation = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(invocation.outcome.function_error, None, "{invocation:?}");
    assert_eq!(invocation.outcome.payload, b"ready");
    worker.stop().await;

    // Init longer than the init timeout (shortened here from Lambda's 10 s) fails the invocation.
    project.write(
        "function/slower.sh",
        "sleep 30\nhandler () { printf 'ready'; }\n",
    );
    let mut environment =
        Environment::prepare(&local_settings(project.path(), "slower.handler", 1)).unwrap();
    environment.init_timeout = Duration::from_millis(300);
    let mut worker = Worker::start(&environment, false).await.unwrap();
    let invocation = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(error_type(&invocation.outcome.payload), "Sandbox.Timedout");
    assert!(
        String::from_utf8_lossy(&invocation.outcome.payload).contains("init phase"),
        "{invocation:?}"
    );
    assert!(!invocation.alive);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_error_fails_the_invocation_at_once_even_if_the_runtime_keeps_running() {
    let project = project_with_bootstrap(
        r#"#!/bin/bash
curl -sS -o /dev/null -X POST "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error" \
  -H 'Lambda-Runtime-Function-Error-Type: Custom.Broken' \
  --data-binary '{"errorType":"Custom.Broken","errorMessage":"cannot start"}'
sleep 600
"#,
    );
    let (_env, mut worker) = worker_for(project.path(), "function.handler", 3).await;
    let invocation = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    // Waiting for the exit would have ended in the init timeout instead.
    assert_eq!(error_type(&invocation.outcome.payload), "Custom.Broken");
    assert_eq!(invocation.error_type.as_deref(), Some("Custom.Broken"));
    assert!(!invocation.alive);
    assert!(!worker.is_running(), "the runtime is stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_over_the_limit_fails_the_invocation_and_a_later_post_gets_403() {
    let project = project_with_bootstrap(
        r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  id=$(curl -sS -D - -o /dev/null "$api/invocation/next" | grep -i '^lambda-runtime-aws-request-id:' | cut -d ' ' -f 2 | tr -d '\r')
  head -c 7000000 /dev/zero | tr '\0' x >"$TMPDIR/big"
  first=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$TMPDIR/big" "$api/invocation/$id/response")
  second=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary '{"errorType":"E","errorMessage":"m"}' "$api/invocation/$id/error")
  echo "statuses: $first $second" >&2
done
"#,
    );
    let (_env, mut worker) = worker_for(project.path(), "function.handler", 10).await;
    let invocation = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(
        error_type(&invocation.outcome.payload),
        "Function.ResponseSizeTooLarge"
    );
    assert!(invocation.alive);
    // The runtime's second post (after the 413) is refused with 403 and is a violation; the
    // oversized response itself is the function's error, not the runtime's (it posted what the
    // handler returned), so it is not one.
    let log = loop_until(|| {
        let log = worker.process.log.since(0);
        log.contains("statuses:").then_some(log)
    });
    assert!(log.contains("statuses: 413 403"), "{log}");
    let kinds: Vec<&str> = worker.api.violations().iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["post after refusal"]);
    // Lambda's own error document puts errorType first.
    assert!(
        invocation
            .outcome
            .payload
            .starts_with(br#"{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"#),
        "{}",
        String::from_utf8_lossy(&invocation.outcome.payload)
    );
    worker.stop().await;
}

/// Polls `probe` every 10 ms until it gives a value; at most 20 s.
fn loop_until<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "gave up waiting after 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A runtime that answers one event with `answered by PID` and exits.
const ONE_SHOT_RUNTIME: &str = r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
id=$(curl -sS -D - -o /dev/null "$api/invocation/next" | grep -i '^lambda-runtime-aws-request-id:' | cut -d ' ' -f 2 | tr -d '\r')
curl -sS -o /dev/null -X POST --data-binary "answered by $$" "$api/invocation/$id/response"
exit 0
"#;

#[test]
fn serve_replaces_a_warm_runtime_that_exited_with_a_cold_start() {
    let project = project_with_bootstrap(ONE_SHOT_RUNTIME);
    let (_server, url) = serve(project.path(), &[], &[]);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let (status, headers, body) = invoke_api(&url, "bash-runtime", "{}", &[]);
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&headers, "x-amz-function-error"), None, "{body}");
        assert!(body.starts_with("answered by "), "{body}");
        answers.push(body);
    }
    answers.dedup();
    assert_eq!(
        answers.len(),
        3,
        "each event got a new runtime: {answers:?}"
    );
}

#[test]
fn env_overrides_lambdas_unreserved_variables_and_reserved_names_are_refused() {
    require_runtime_tools();
    let project = Project::new();
    project.write(
        "function/env.sh",
        "handler () { printf '%s|%s|%s|%s' \"$PATH\" \"$LANG\" \"$LD_LIBRARY_PATH\" \"$TZ\"; }\n",
    );
    // Lambda's values, with the task root and the layer directory in LD_LIBRARY_PATH.
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--handler", "env.handler"],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    let fields: Vec<&str> = text.split('|').collect();
    assert!(
        fields[0].starts_with("/usr/local/bin:/usr/bin:/bin:"),
        "{text}"
    );
    assert_eq!(fields[1], "C.UTF-8");
    assert!(fields[2].starts_with("/lib64:/usr/lib64:"), "{text}");
    assert!(
        fields[2].contains("/task") && fields[2].contains("/opt"),
        "{text}"
    );
    assert_eq!(fields[3], "UTC");

    // The function's own values win for unreserved names.
    let out = lambda_rt(
        project.path(),
        &[],
        &[
            "invoke",
            "--local",
            "--handler",
            "env.handler",
            "--env",
            "PATH=/opt/custom/bin:/usr/bin:/bin",
            "--env",
            "LANG=en_US.UTF-8",
            "--env",
            "LD_LIBRARY_PATH=/opt/custom/lib",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "/opt/custom/bin:/usr/bin:/bin|en_US.UTF-8|/opt/custom/lib|UTC"
    );

    // Reserved names are refused before anything runs or any AWS call, as Lambda refuses them.
    let aws = Aws::start();
    for name in [
        "_HANDLER",
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_NAME",
        "LAMBDA_TASK_ROOT",
        "TZ",
    ] {
        let assignment = format!("{name}=x");
        let out = lambda_rt(
            project.path(),
            &[],
            &["invoke", "--local", "--env", &assignment],
        );
        assert_exit(&out, 2);
        assert_stderr_has(&out, name);
        aws.start_counting();
        let out = lambda_rt(
            project.path(),
            &aws.env(),
            &["create", "--env", &assignment],
        );
        assert_exit(&out, 2);
        aws.assert_no_requests(name);
    }
}

#[test]
fn serve_refuses_a_payload_that_is_not_json() {
    require_runtime_tools();
    let project = Project::new();
    let (_server, url) = serve(project.path(), &[], &[]);
    let (status, headers, body) = invoke_api(&url, "bash-runtime", "not json", &[]);
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("InvalidRequestContentException")
    );
    // JSON and an empty body are fine.
    let (status, _, _) = invoke_api(&url, "bash-runtime", "", &[]);
    assert_eq!(status, 200);
    let (status, _, _) = invoke_api(&url, "bash-runtime", r#""text""#, &[]);
    assert_eq!(status, 200);
}

#[test]
fn contract_violations_are_said_on_stderr() {
    let project = project_with_bootstrap(
        r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
curl -sS -o /dev/null "$api/invocation/next"
curl -sS -o /dev/null -X POST --data-binary 'hello' "$api/invocation/not-the-id/response"
sleep 600
"#,
    );
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--timeout", "1"],
    );
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("runtime contract violation: posted an answer for request id `not-the-id`"),
        "{err}"
    );
}

/// What a runtime posts to `/error`, as Lambda passes it: its spacing, key order, escaped unicode,
/// big numbers, trailing zeros and duplicate keys all kept (issue 29, point 3).
const ODD_ERROR: &str = r#"{ "errorMessage" : "caf\u00e9 is closed",
  "errorType":"Custom.Closed", "big": 12345678901234567890123456789, "price": 1.10,
  "dup": 1, "dup": 2 }"#;

#[test]
fn an_error_document_comes_back_byte_for_byte_from_invoke_local_and_serve() {
    let bootstrap = format!(
        r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
cat >"$TMPDIR/error.json" <<'ERROR'
{ODD_ERROR}
ERROR
while true; do
  id=$(curl -sS -D - -o /dev/null "$api/invocation/next" | grep -i '^lambda-runtime-aws-request-id:' | cut -d ' ' -f 2 | tr -d '\r')
  head -c -1 "$TMPDIR/error.json" | curl -sS -o /dev/null -X POST --data-binary @- "$api/invocation/$id/error"
done
"#
    );
    let project = project_with_bootstrap(&bootstrap);
    let out = lambda_rt(project.path(), &[], &["invoke", "--local"]);
    assert_eq!(stdout(&out), ODD_ERROR, "{}", stderr(&out));
    let (_server, url) = serve(project.path(), &[], &[]);
    let (status, headers, body) = invoke_api(&url, "bash-runtime", "{}", &[]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert_eq!(body, ODD_ERROR);
}
