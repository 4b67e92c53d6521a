//! Conformance of the bundled bash `runtime/bootstrap`, run for real (bash + curl) under the Runtime
//! API emulator, and `invoke --local` end to end: results, errors, timeouts, crashes and Ctrl-C
//! leave no process behind.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use axum::body::Bytes;
use lambda_rt::emulator::{Environment, Worker};
use lambda_rt::settings::Settings;

fn settings(project: &Path, handler: &str, timeout: i64) -> Settings {
    local_settings(project, handler, timeout)
}

/// A scratch project with an extra handler file `function/test.sh`.
fn project_with(handlers: &str) -> Project {
    require_runtime_tools();
    let project = Project::new();
    project.write("function/test.sh", handlers);
    project
}

const HANDLERS: &str = r#"
echo_exact () { printf '%s' "$1"; }
fail_on_demand () {
  if [[ $1 == *fail* ]]; then echo "asked to fail"; return 4; fi
  printf 'ok %s' "$BASHPID-$$"
}
trace () { printf '%s' "${_X_AMZN_TRACE_ID:-unset}"; }
env_dump () { printf '%s|%s|%s|%s|%s' "$AWS_LAMBDA_FUNCTION_NAME" "$AWS_REGION" "$TZ" "$AWS_LAMBDA_FUNCTION_MEMORY_SIZE" "$_HANDLER"; }
big () { head -c 7000000 /dev/zero | tr '\0' 'x'; }
sized () { head -c "$1" /dev/zero | tr '\0' 'x'; }
slow () { sleep 30 & echo $! > "$PIDFILE"; wait; }
crash () { echo "about to crash" >&2; kill -KILL $$; }
"#;

async fn start_worker(project: &Project, handler: &str, timeout: i64) -> (Environment, Worker) {
    let environment = Environment::prepare(&settings(project.path(), handler, timeout)).unwrap();
    let worker = Worker::start(&environment, false).await.unwrap();
    (environment, worker)
}

#[test]
fn invoke_local_prints_the_echo_response() {
    require_runtime_tools();
    let project = Project::new();
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload", r#"{"text":"Hello"}"#],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), r#"Echoing request: '{"text":"Hello"}'"#);

    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--log", "--payload", r#"{"n":1}"#],
    );
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("START RequestId:") && err.contains("REPORT RequestId:"),
        "{err}"
    );
    assert!(
        err.contains(r#"{"n":1}"#),
        "the handler's stderr is in the log: {err}"
    );

    // The payload can come from stdin, and the response can go to a file.
    let out = lambda_rt_with_stdin(
        project.path(),
        &[],
        &[
            "invoke",
            "--local",
            "--payload-file",
            "-",
            "--out",
            "response.txt",
        ],
        Some(b"[1, 2]"),
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    let written = std::fs::read_to_string(project.path().join("response.txt")).unwrap();
    assert_eq!(written, "Echoing request: '[1, 2]'");
}

#[tokio::test(flavor = "multi_thread")]
async fn handler_failure_posts_an_error_and_the_same_process_serves_the_next_event() {
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.fail_on_demand", 10).await;
    let failed = worker
        .invoke(Bytes::from_static(b"\"please fail\""))
        .await
        .unwrap();
    assert_eq!(failed.outcome.function_error.as_deref(), Some("Unhandled"));
    let doc: serde_json::Value =
        serde_json::from_slice(&failed.outcome.payload).expect("error is valid JSON");
    assert_eq!(doc["errorType"], "HandlerError");
    let message = doc["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("exited with status 4") && message.contains("asked to fail"),
        "{message}"
    );
    assert!(failed.alive);

    let first = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let second = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(first.outcome.function_error, None);
    // `$$` is the runtime's PID: the same process answered both.
    let pid = |payload: &[u8]| {
        String::from_utf8_lossy(payload)
            .rsplit('-')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(pid(&first.outcome.payload), pid(&second.outcome.payload));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_handler_file_or_function_is_an_init_error_and_the_runtime_exits() {
    let project = project_with(HANDLERS);
    for (handler, expected) in [
        ("nofile.handler", "handler file"),
        (
            "test.no_such_function",
            "does not define a function 'no_such_function'",
        ),
    ] {
        let (_env, mut worker) = start_worker(&project, handler, 10).await;
        let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
        assert!(!result.alive, "{handler}: the runtime should have exited");
        assert_eq!(result.outcome.function_error.as_deref(), Some("Unhandled"));
        let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
        assert_eq!(
            doc["errorType"], "Runtime.HandlerNotFound",
            "{handler}: {doc}"
        );
        assert!(
            doc["errorMessage"].as_str().unwrap().contains(expected),
            "{handler}: {doc}"
        );
        assert!(
            worker.api.init_error().is_some(),
            "{handler}: init/error was posted"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_events_leave_no_file_and_no_process_behind() {
    let project = project_with(HANDLERS);
    let tmp = tempfile::tempdir().unwrap();
    let mut environment =
        Environment::prepare(&settings(project.path(), "test.fail_on_demand", 10)).unwrap();
    environment.variables.retain(|(k, _)| k != "TMPDIR");
    environment
        .variables
        .push(("TMPDIR".into(), tmp.path().display().to_string()));
    let mut worker = Worker::start(&environment, false).await.unwrap();
    let group = worker.process.id() as i32;
    let mut pids = std::collections::HashSet::new();
    for i in 0..1000 {
        let event = if i % 50 == 49 { "\"fail\"" } else { "{}" };
        let result = worker.invoke(Bytes::from(event)).await.unwrap();
        assert!(result.alive);
        if result.outcome.function_error.is_none() {
            pids.insert(
                String::from_utf8_lossy(&result.outcome.payload)
                    .rsplit('-')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        if i % 100 == 0 || i == 999 {
            // The runtime keeps one file for the handler's output, whatever the number of events.
            let files: Vec<_> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                files.len() <= 1 && files.iter().all(|f| f.starts_with(".lambda-rt-runtime.")),
                "after event {i}: {files:?}"
            );
            // Nothing but the runtime itself is left running in its process group.
            assert_eq!(processes_in_group(group), vec![group], "after event {i}");
        }
    }
    assert_eq!(pids.len(), 1, "one warm process served every event");
    // Killed (as Lambda and lambda-rt stop a runtime), it leaves its one file; the next runtime
    // in the same environment removes it.
    worker.stop().await;
    let mut worker = Worker::start(&environment, false).await.unwrap();
    worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn five_megabyte_events_and_responses_and_trailing_newlines_round_trip() {
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.echo_exact", 20).await;
    // Not only ASCII: the runtime counts bytes, not characters.
    let big = format!("\"{}ü\"\n\n\n", "日本語 -n -e \\\\ ".repeat(5_200_000 / 19));
    assert!(big.len() > 5_000_000);
    let result = worker.invoke(Bytes::from(big.clone())).await.unwrap();
    assert_eq!(result.outcome.function_error, None);
    assert!(
        result.outcome.payload == big.as_bytes(),
        "5 MB did not round-trip byte-exact"
    );
    for event in ["\"three\"\n\n\n", "\"-n\"", "\"-e \\\\n\"", "\"@x\"", "{}"] {
        let result = worker.invoke(Bytes::from(event)).await.unwrap();
        assert_eq!(String::from_utf8(result.outcome.payload).unwrap(), event);
    }
    worker.stop().await;
}

const UNRULY: &str = r#"
exits () { echo partial; exit 3; }
strict () { set -euo pipefail; false; echo never; }
nul () { printf 'a\0b\n\n'; }
controls () { printf 'bad\001\037\t"quoted"\\'; return 2; }
clobber () { __lrt_fn=other; RUNTIME=gone; printf fine; }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn whatever_a_handler_does_the_next_event_is_served() {
    let project = project_with(UNRULY);
    for handler in ["test.exits", "test.strict", "test.clobber"] {
        let (_env, mut worker) = start_worker(&project, handler, 10).await;
        for round in 0..2 {
            let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
            assert!(result.alive, "{handler} round {round}: the runtime died");
            // The runtime's own variables are read-only: the handler's subshell fails trying.
            assert_eq!(result.outcome.function_error.as_deref(), Some("Unhandled"));
            let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
            assert_eq!(doc["errorType"], "HandlerError", "{doc}");
        }
        worker.stop().await;
    }
    let (_env, mut worker) = start_worker(&project, "test.exits", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
    assert_eq!(
        doc["errorMessage"],
        "test.exits exited with status 3: partial\n"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_bytes_take_the_slow_path_and_control_characters_are_escaped() {
    let project = project_with(UNRULY);
    let (_env, mut worker) = start_worker(&project, "test.nul", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(result.outcome.payload, b"a\0b\n\n");
    worker.stop().await;

    let (_env, mut worker) = start_worker(&project, "test.controls", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
    assert_eq!(
        doc["errorMessage"],
        "test.controls exited with status 2: bad\u{1}\u{1f}\t\"quoted\"\\"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_file_that_exits_or_takes_over_a_builtin_is_an_init_error() {
    for (file, expected) in [
        ("handler () { :; }\nexit 7\n", "called exit 7 while loading"),
        (
            "handler () { :; }\nread () { :; }\n",
            "defines a function 'read'",
        ),
        ("helper () { :; }\n", "it defines: helper"),
    ] {
        let project = project_with(file);
        let (_env, mut worker) = start_worker(&project, "test.handler", 10).await;
        let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
        assert!(!result.alive);
        let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
        let message = doc["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("test.sh"), "{message}");
        assert!(!message.contains("/tmp"), "project-relative: {message}");
        worker.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_the_handler_byte_exact() {
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.echo_exact", 10).await;
    let tricky = "{\n  \"text\": \"line1\\nline2 'single' \\\"double\\\" \\\\ back $(touch /tmp/lambda-rt-pwned) `id` $HOME * ü 日本語 🎉\"\n}\n\n";
    let result = worker.invoke(Bytes::from(tricky)).await.unwrap();
    assert_eq!(result.outcome.function_error, None);
    assert_eq!(String::from_utf8(result.outcome.payload).unwrap(), tricky);
    assert!(
        !Path::new("/tmp/lambda-rt-pwned").exists(),
        "the event was evaluated by the shell"
    );

    // A 1 MB event.
    let big = format!("\"{}\"", "a".repeat(1024 * 1024));
    let result = worker.invoke(Bytes::from(big.clone())).await.unwrap();
    assert_eq!(result.outcome.payload.len(), big.len());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_over_6mb_is_refused_and_the_runtime_carries_on() {
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.big", 20).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert!(result.alive, "the runtime died on a 413");
    assert_eq!(result.outcome.function_error.as_deref(), Some("Unhandled"));
    let doc: serde_json::Value = serde_json::from_slice(&result.outcome.payload).unwrap();
    assert_eq!(doc["errorType"], "Function.ResponseSizeTooLarge", "{doc}");
    // And it still answers the next event.
    let again = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(again.outcome.function_error.as_deref(), Some("Unhandled"));
    assert!(again.alive);
    worker.stop().await;
}

/// The limit is inclusive, as Lambda's: a response of exactly 6,291,556 bytes is answered, one
/// byte more is Function.ResponseSizeTooLarge ("Response payload size (6291557 bytes) exceeded
/// maximum allowed payload size (6291556 bytes)", Lambda's message).
#[tokio::test(flavor = "multi_thread")]
async fn a_response_of_exactly_6mb_is_answered_and_one_byte_more_is_refused() {
    let limit = lambda_rt::emulator::api::MAX_RESPONSE_BYTES;
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.sized", 20).await;
    let at = worker.invoke(Bytes::from(limit.to_string())).await.unwrap();
    assert_eq!(at.outcome.function_error, None);
    assert_eq!(at.outcome.payload.len(), limit);
    let over = worker
        .invoke(Bytes::from((limit + 1).to_string()))
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&over.outcome.payload).unwrap();
    assert_eq!(doc["errorType"], "Function.ResponseSizeTooLarge", "{doc}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trace_id_and_lambda_environment_reach_the_handler() {
    let project = project_with(HANDLERS);
    let (_env, mut worker) = start_worker(&project, "test.trace", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let trace = String::from_utf8(result.outcome.payload).unwrap();
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Parent="),
        "{trace}"
    );
    worker.stop().await;

    let (_env, mut worker) = start_worker(&project, "test.env_dump", 10).await;
    let result = worker.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert_eq!(
        String::from_utf8(result.outcome.payload).unwrap(),
        "bash-runtime|eu-west-1|UTC|128|test.env_dump"
    );
    worker.stop().await;
}

#[test]
fn headers_are_matched_in_any_letter_case() {
    // A hand-written Runtime API that sends header names in odd case, to the real bootstrap.
    use std::io::{BufRead, BufReader, Read, Write};
    require_runtime_tools();
    let project = Project::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let task_root = project.path().join("function");
    let mut child = std::process::Command::new(project.path().join("runtime/bootstrap"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("_HANDLER", "function.handler")
        .env("LAMBDA_TASK_ROOT", &task_root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    listener.set_nonblocking(false).unwrap();
    let accept = || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (request_line, body, reader.into_inner())
    };
    let (line, _, mut stream) = accept();
    assert!(
        line.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{line}"
    );
    let event = br#"{"case":"mixed"}"#;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nLAMBDA-RUNTIME-AWS-REQUEST-ID: abc-123\r\nlambda-runtime-trace-id: Root=1-x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        event.len()
    )
    .unwrap();
    stream.write_all(event).unwrap();
    drop(stream);
    let (line, body, mut stream) = accept();
    assert!(
        line.starts_with("POST /2018-06-01/runtime/invocation/abc-123/response"),
        "{line}"
    );
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"Echoing request: '{"case":"mixed"}'"#
    );
    stream.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"OK\"}").unwrap();
    drop(stream);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn timeouts_kill_the_whole_process_group() {
    let project = project_with(HANDLERS);
    let pidfile = project.path().join("sleep.pid");
    let env = vec![(
        "LAMBDA_RT_ENV".to_string(),
        format!("PIDFILE={}", pidfile.display()),
    )];
    let out = lambda_rt(
        project.path(),
        &env,
        &[
            "invoke",
            "--local",
            "--handler",
            "test.slow",
            "--timeout",
            "1",
        ],
    );
    assert_exit(&out, 3);
    assert_stderr_has(&out, "Task timed out after 1.00 seconds");
    let pid: i32 = wait_for_file(&pidfile).trim().parse().unwrap();
    wait_until_gone(pid);
}

#[test]
fn a_crashing_runtime_reports_exit_error_with_its_log() {
    let project = project_with(HANDLERS);
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--handler", "test.crash", "--log"],
    );
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("Runtime.ExitError"), "{err}");
    assert!(err.contains("Runtime exited with error: signal 9"), "{err}");
    assert!(
        err.contains("about to crash"),
        "the log tail is shown: {err}"
    );
}

#[test]
fn init_errors_are_reported_as_function_errors() {
    let project = project_with("# defines nothing\n");
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--handler", "test.nothing"],
    );
    assert_exit(&out, 3);
    assert_stderr_has(&out, "Runtime.HandlerNotFound");
}

#[test]
fn ctrl_c_during_invoke_local_leaves_no_process_behind() {
    let project = project_with(HANDLERS);
    let pidfile = project.path().join("sleep.pid");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-rt"));
    command
        .current_dir(project.path())
        .args([
            "invoke",
            "--local",
            "--handler",
            "test.slow",
            "--timeout",
            "60",
        ])
        .env("LAMBDA_RT_ENV", format!("PIDFILE={}", pidfile.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let sleeper: i32 = wait_for_file(&pidfile).trim().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted by SIGINT"));
    wait_until_gone(sleeper);
}

#[test]
fn a_bootstrap_that_cannot_be_found_or_run_is_an_invalid_entrypoint() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (task, opt) = (dir.path().join("task"), dir.path().join("opt"));
    std::fs::create_dir_all(&task).unwrap();
    std::fs::create_dir_all(&opt).unwrap();
    let err = lambda_rt::emulator::find_bootstrap(&task, &opt).unwrap_err();
    assert!(
        format!("{err:#}").contains("Couldn't find valid bootstrap"),
        "{err:#}"
    );

    std::fs::write(opt.join("bootstrap"), "#!/bin/bash\n").unwrap();
    std::fs::set_permissions(
        opt.join("bootstrap"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = lambda_rt::emulator::find_bootstrap(&task, &opt).unwrap_err();
    assert!(
        format!("{err:#}").contains("Runtime.InvalidEntrypoint"),
        "{err:#}"
    );
    assert!(
        format!("{err:#}").contains("opt/bootstrap"),
        "names the file: {err:#}"
    );

    // The task root wins over the layer, as in Lambda.
    std::fs::set_permissions(
        opt.join("bootstrap"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(task.join("bootstrap"), "#!/bin/bash\n").unwrap();
    std::fs::set_permissions(
        task.join("bootstrap"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(
        lambda_rt::emulator::find_bootstrap(&task, &opt).unwrap(),
        task.join("bootstrap")
    );
}

#[test]
fn oversized_payloads_are_refused_before_anything_runs() {
    let project = Project::new();
    let big = format!("\"{}\"", "a".repeat(6 * 1024 * 1024 + 1));
    std::fs::write(project.path().join("big.json"), big).unwrap();
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload-file", "big.json"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "over Lambda's 6291456-byte limit");
}

/// The AWS tutorial's bootstrap as the tutorial writes it: `#!/bin/sh` with `set -euo pipefail`
/// and `[[ ]]`. `/bin/sh` is bash on provided.al2023, so it works on Lambda; where this machine's
/// `/bin/sh` is dash, `invoke --local` must still run it under bash, as Lambda would (issue 29,
/// point 4).
#[test]
fn a_bin_sh_bootstrap_runs_as_it_does_on_lambda() {
    require_runtime_tools();
    let tutorial = std::fs::read_to_string(repo_root().join("bench/tutorial-bootstrap")).unwrap();
    let bootstrap = tutorial.replacen("#!/bin/bash", "#!/bin/sh", 1);
    assert!(bootstrap.starts_with("#!/bin/sh\n") && bootstrap.contains("set -euo pipefail"));
    let project = Project::new()
        .with("runtime/bootstrap", &bootstrap)
        .with(
            "function/function.sh",
            "handler () { if [[ $1 == *x* ]]; then printf 'has x: %s' \"$1\"; else printf 'none'; fi; }\n",
        );
    std::fs::set_permissions(
        project.path().join("runtime/bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload", "\"x\""],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "has x: \"x\"", "{}", stderr(&out));
    assert_stderr_lacks(&out, "Illegal option");
}
