//! Conformance of the Deno template (`lambda-rt init --template deno`), run for real with Deno under
//! the Runtime API emulator: results and context, thrown errors, import failures, byte-exact
//! unicode events, the remaining time from the deadline header; and `invoke --local` and `serve`
//! end to end.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::*;
use axum::body::Bytes;
use lambda_rt::emulator::{Environment, Worker};
use lambda_rt::settings::Settings;

/// Test handlers, in `function/test.ts` next to the template's own `function/function.ts`.
const HANDLERS: &str = r#"
export function echo(event: unknown) {
  return event;
}

export async function context(event: unknown, ctx: any) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    event,
    awsRequestId: ctx.awsRequestId,
    invokedFunctionArn: ctx.invokedFunctionArn,
    functionName: ctx.functionName,
    memoryLimitInMB: ctx.memoryLimitInMB,
    home: Deno.env.get("HOME"),
    denoDir: Deno.env.get("DENO_DIR"),
    tmpdir: Deno.env.get("TMPDIR"),
    taskRoot: Deno.env.get("LAMBDA_TASK_ROOT"),
    trace: Deno.env.get("_X_AMZN_TRACE_ID"),
  };
}

export function measure(event: { text: string }) {
  return {
    utf8Bytes: new TextEncoder().encode(event.text).length,
    codePoints: [...event.text].length,
  };
}

export async function remaining(_event: unknown, ctx: any) {
  const firstFrom = Date.now();
  const first = ctx.getRemainingTimeInMillis();
  const firstTo = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const secondFrom = Date.now();
  const second = ctx.getRemainingTimeInMillis();
  const secondTo = Date.now();
  return { first, firstFrom, firstTo, second, secondFrom, secondTo, deadlineMs: ctx.deadlineMs };
}

export function fail(event: { kind?: string }) {
  if (event.kind === "string") throw "plain string";
  if (event.kind === "none") return undefined;
  throw new TypeError("the event was not to my liking");
}

export const notAFunction = 42;
"#;

fn settings(project: &Path, handler: &str, timeout: i64) -> Settings {
    let mut settings = local_settings(project, handler, timeout);
    settings.deno = Some(deno_path());
    settings
}

async fn start_worker(project: &Project, handler: &str, timeout: i64) -> (Environment, Worker) {
    let environment = Environment::prepare(&settings(project.path(), handler, timeout)).unwrap();
    let worker = Worker::start(&environment, false).await.unwrap();
    (environment, worker)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn the_handler_gets_the_event_and_a_context_and_its_result_is_the_response() {
    let project = deno_project().with("function/test.ts", HANDLERS);
    let (env, mut worker) = start_worker(&project, "test.context", 10).await;
    for n in 0..3 {
        let result = worker
            .invoke(Bytes::from(format!(r#"{{"n":{n}}}"#)))
            .await
            .unwrap();
        assert_eq!(result.outcome.function_error, None);
        assert!(result.alive);
        let doc = parse_json(&result.outcome.payload);
        assert_eq!(doc["event"], serde_json::json!({ "n": n }));
        let request_id = doc["awsRequestId"].as_str().unwrap();
        assert_eq!(request_id.len(), 36, "{doc}");
        assert_eq!(
            doc["invokedFunctionArn"],
            "arn:aws:lambda:eu-west-1:000000000000:function:deno-fn"
        );
        assert_eq!(doc["functionName"], "deno-fn");
        assert_eq!(doc["memoryLimitInMB"], "128");
        assert!(
            doc["trace"].as_str().unwrap().starts_with("Root=1-"),
            "{doc}"
        );
        // Deno's cache and HOME are in the writable temp dir, not the (read-only on Lambda)
        // task root.
        let tmpdir = doc["tmpdir"].as_str().unwrap();
        assert_eq!(doc["home"], tmpdir);
        assert_eq!(doc["denoDir"], format!("{tmpdir}/.deno"));
        assert_eq!(doc["taskRoot"], env.task_root.display().to_string());
        assert!(!tmpdir.starts_with(doc["taskRoot"].as_str().unwrap()));
    }
    worker.stop().await;

    // `undefined` is sent as JSON null.
    let (_env, mut worker) = start_worker(&project, "test.fail", 10).await;
    let result = worker
        .invoke(Bytes::from_static(br#"{"kind":"none"}"#))
        .await
        .unwrap();
    assert_eq!(result.outcome.function_error, None);
    assert_eq!(&result.outcome.payload[..], b"null");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thrown_error_is_reported_with_type_message_and_stack_and_the_runtime_goes_on() {
    let project = deno_project().with("function/test.ts", HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.fail", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert!(result.alive, "a thrown error must not end the runtime");
    assert_eq!(result.outcome.function_error.as_deref(), Some("Unhandled"));
    let doc = parse_json(&result.outcome.payload);
    assert_eq!(doc["errorType"], "TypeError", "{doc}");
    assert_eq!(doc["errorMessage"], "the event was not to my liking");
    let stack = doc["stackTrace"].as_array().unwrap();
    assert!(
        stack
            .iter()
            .any(|line| line.as_str().unwrap().contains("test.ts")),
        "{doc}"
    );
    assert!(stack
        .iter()
        .all(|line| line.as_str().unwrap().starts_with("at ")));

    // A thrown non-Error value.
    let result = worker
        .invoke(Bytes::from_static(br#"{"kind":"string"}"#))
        .await
        .unwrap();
    let doc = parse_json(&result.outcome.payload);
    assert_eq!(
        (doc["errorType"].as_str(), doc["errorMessage"].as_str()),
        (Some("Error"), Some("plain string"))
    );

    // And the same process still answers.
    let result = worker
        .invoke(Bytes::from_static(br#"{"kind":"none"}"#))
        .await
        .unwrap();
    assert_eq!(result.outcome.function_error, None);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn import_failures_go_to_init_error_and_the_runtime_exits() {
    let project = deno_project().with("function/test.ts", HANDLERS);
    project.write("function/syntax.ts", "export function handler( {\n");
    project.write(
        "function/throws.ts",
        "throw new RangeError(\"top-level failure\");\nexport function handler() {}\n",
    );
    // Remote modules are never downloaded at run time: this fails at once, with no network.
    project.write(
        "function/remote.ts",
        "import \"https://example.invalid/mod.ts\";\nexport function handler() {}\n",
    );
    let cases = [
        ("syntax.handler", "Runtime.ImportModuleError", "syntax.ts"),
        (
            "throws.handler",
            "Runtime.ImportModuleError",
            "top-level failure",
        ),
        (
            "remote.handler",
            "Runtime.ImportModuleError",
            "example.invalid",
        ),
        (
            "nofile.handler",
            "Runtime.HandlerNotFound",
            "does not exist",
        ),
        (
            "test.missing",
            "Runtime.HandlerNotFound",
            "does not export a function 'missing'",
        ),
        (
            "test.notAFunction",
            "Runtime.HandlerNotFound",
            "'notAFunction'",
        ),
    ];
    for (handler, error_type, message) in cases {
        let (_env, mut worker) = start_worker(&project, handler, 10).await;
        let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
        assert!(!result.alive, "{handler}: the runtime should have exited");
        assert_eq!(result.outcome.function_error.as_deref(), Some("Unhandled"));
        let doc = parse_json(&result.outcome.payload);
        assert_eq!(doc["errorType"], error_type, "{handler}: {doc}");
        assert!(
            doc["errorMessage"].as_str().unwrap().contains(message),
            "{handler}: {doc}"
        );
        assert!(
            worker.api.init_error().is_some(),
            "{handler}: init/error was posted"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unicode_events_reach_the_handler_byte_exact() {
    let project = deno_project().with("function/test.ts", HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.echo", 10).await;
    let text =
        "line1\nline2 'single' \"double\" \\ back $(id) ü 日本語 🎉 \u{1F468}\u{200D}\u{1F469}";
    let event =
        serde_json::to_string(&serde_json::json!({ "text": text, "n": [1, 2.5, null, true] }))
            .unwrap();
    let result = worker.invoke(Bytes::from(event.clone())).await.unwrap();
    assert_eq!(result.outcome.function_error, None);
    assert_eq!(
        String::from_utf8(result.outcome.payload.to_vec()).unwrap(),
        event
    );
    worker.stop().await;

    // The handler sees the same characters: UTF-8 length and code points as Rust counts them.
    let (_env, mut worker) = start_worker(&project, "test.measure", 10).await;
    let event = serde_json::to_string(&serde_json::json!({ "text": text })).unwrap();
    let result = worker.invoke(Bytes::from(event)).await.unwrap();
    let doc = parse_json(&result.outcome.payload);
    assert_eq!(doc["utf8Bytes"], text.len());
    assert_eq!(doc["codePoints"], text.chars().count());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_remaining_time_counts_down_to_the_deadline_header() {
    let project = deno_project().with("function/test.ts", HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.remaining", 10).await;
    let before = now_ms();
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let after = now_ms();
    assert_eq!(result.outcome.function_error, None);
    let doc = parse_json(&result.outcome.payload);
    let (first, second) = (
        doc["first"].as_i64().unwrap(),
        doc["second"].as_i64().unwrap(),
    );
    let deadline = doc["deadlineMs"].as_i64().unwrap();
    // The deadline is the invocation's start plus the 10 s timeout.
    assert!(
        deadline >= before + 10_000 - 50 && deadline <= after + 10_000,
        "deadline {deadline} not ~10 s after {before}..{after}"
    );
    assert!(first <= 10_000, "{doc}");
    // Remaining time is the deadline minus the moment it was asked for, which lies between the
    // two clock readings around the call (no tolerance needed, however slow the machine).
    let at = |key: &str| doc[key].as_i64().unwrap();
    assert!(
        deadline - at("firstTo") <= first && first <= deadline - at("firstFrom"),
        "remaining time is deadline - now: {doc}"
    );
    assert!(
        deadline - at("secondTo") <= second && second <= deadline - at("secondFrom"),
        "remaining time is deadline - now: {doc}"
    );
    assert!(second < first, "it counts down: {doc}");
    worker.stop().await;
}

#[test]
fn invoke_local_and_serve_run_the_template_as_created_by_init() {
    let project = deno_project();
    let deno = deno_path();
    let deno = deno.to_str().unwrap();
    let out = lambda_rt(
        project.path(),
        &[],
        &[
            "invoke",
            "--local",
            "--deno",
            deno,
            "--payload",
            r#"{"hello":"wörld"}"#,
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        r#"{"message":"Hello from Deno","event":{"hello":"wörld"}}"#
    );

    // Without --deno and with no deno on PATH, the error says how to get one; nothing runs.
    let empty = tempfile::tempdir().unwrap();
    let path = vec![("PATH".to_string(), empty.path().display().to_string())];
    let out = lambda_rt(project.path(), &path, &["invoke", "--local"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "pip install deno");

    // serve: the same template behind the Invoke API, warm across requests.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .current_dir(project.path())
        .args(["serve", "--port", "0", "--deno", deno])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    for n in 0..3 {
        let mut response = ureq::post(format!("{url}/2015-03-31/functions/deno-fn/invocations"))
            .send(format!(r#"{{"n":{n}}}"#))
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.body_mut().read_to_string().unwrap();
        assert_eq!(
            body,
            format!(r#"{{"message":"Hello from Deno","event":{{"n":{n}}}}}"#)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
