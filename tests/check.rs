//! `lambda-rt check` and any custom runtime: four real runtimes (the bundled bash runtime, the Deno
//! template, the official Python runtime interface client from PyPI, a compiled runtime) pass
//! `check` and run under `invoke --local` and `serve` with no dummy files; broken runtimes fail
//! `check` on the case that names their fault; bootstraps Lambda could not run are refused
//! before any AWS call.

use std::path::Path;

use crate::common::*;

/// `lambda-rt check ARGS --output json` in `project`: its exit code and report.
fn check(project: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["check", "--output", "json"];
    all.extend_from_slice(args);
    let out = lambda_rt(project, &[], &all);
    let report = json(&out);
    assert_fit_the_schema(std::slice::from_ref(&report));
    (out.status.code().unwrap_or(-1), report)
}

/// The verdict of the case whose name starts with `name`.
fn verdict<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no case `{name}`: {report:#}"))
}

fn failed_cases(report: &serde_json::Value) -> Vec<String> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A project with `runtime/bootstrap` (executable) and `function/` files.
fn project_with(bootstrap: &[u8], function_files: &[(&str, &str)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("runtime")).unwrap();
    std::fs::create_dir_all(dir.path().join("function")).unwrap();
    let path = dir.path().join("runtime/bootstrap");
    std::fs::write(&path, bootstrap).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text) in function_files {
        std::fs::write(dir.path().join("function").join(name), text).unwrap();
    }
    dir
}

/// Whether a response is `expected`: the same JSON value, or the same bytes when not JSON.
fn same_response(response: &[u8], expected: &str) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(response),
        serde_json::from_str::<serde_json::Value>(expected),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => response == expected.as_bytes(),
    }
}

/// Checks, then invokes with `{"a":1}` once with `invoke --local` and once through `serve`; the
/// response must be `expected`.
fn passes_check_and_runs(
    project: &Path,
    check_args: &[&str],
    run_args: &[&str],
    function: &str,
    expected: &str,
) {
    let (code, report) = check(project, check_args);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["passed"], true);
    assert!(failed_cases(&report).is_empty(), "{report:#}");

    let mut args = vec!["invoke", "--local", "--payload", r#"{"a":1}"#];
    args.extend_from_slice(run_args);
    let out = lambda_rt(project, &[], &args);
    assert_exit(&out, 0);
    assert!(same_response(&out.stdout, expected), "{}", stdout(&out));

    let (mut server, url) = serve(project, &[], run_args);
    let (status, headers, body) = invoke_api(&url, function, r#"{"a":1}"#, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "x-amz-function-error"), None, "{body}");
    assert!(same_response(body.as_bytes(), expected), "{body}");
    server.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(server
        .wait_for_exit(std::time::Duration::from_secs(20))
        .is_some());
}

#[test]
fn the_bundled_bash_runtime_passes_every_case() {
    require_runtime_tools();
    let project = Project::new();
    let (_, report) = check(project.path(), &[]);
    assert_eq!(report["runtime_kind"], "bash");
    // Every case ran: the bash convention gets them all.
    let verdicts: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert!(verdicts.iter().all(|v| *v == "pass"), "{report:#}");
    assert!(verdicts.len() >= 20, "{report:#}");
    passes_check_and_runs(
        project.path(),
        &[],
        &[],
        "bash-runtime",
        r#"Echoing request: '{"a":1}'"#,
    );
}

#[test]
fn the_deno_template_passes_every_case() {
    let project = deno_project();
    let deno = deno_path();
    let deno_args = ["--deno", deno.to_str().unwrap()];
    let (_, report) = check(project.path(), &deno_args);
    assert_eq!(report["runtime_kind"], "deno");
    assert!(
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] == "pass"),
        "{report:#}"
    );
    passes_check_and_runs(
        project.path(),
        &deno_args,
        &deno_args,
        "deno-fn",
        r#"{"message":"Hello from Deno","event":{"a":1}}"#,
    );
}

#[test]
fn the_python_runtime_interface_client_runs_with_no_dummy_files() {
    let python = venv_python();
    let bootstrap = format!(
        "#!/bin/sh\nexec {} -m awslambdaric \"$_HANDLER\"\n",
        python.display()
    );
    let app = "def handler(event, context):\n    return event\n\n\
               def fail(event, context):\n    raise ValueError('failing on purpose')\n";
    let project = project_with(bootstrap.as_bytes(), &[("app.py", app)]);
    let (_, report) = check(
        project.path(),
        &[
            "--handler",
            "app.handler",
            "--echo-handler",
            "app.handler",
            "--error-handler",
            "app.fail",
        ],
    );
    assert_eq!(report["runtime_kind"], "custom");
    assert_eq!(verdict(&report, "round trip: near 6 MB")["verdict"], "pass");
    assert_eq!(verdict(&report, "a failing handler")["verdict"], "pass");
    passes_check_and_runs(
        project.path(),
        &["--handler", "app.handler", "--echo-handler", "app.handler"],
        &["--handler", "app.handler"],
        "bash-runtime",
        r#"{"a":1}"#,
    );
}

#[test]
fn a_compiled_runtime_with_no_handler_file_runs() {
    // The benchmark's runtime client: a Rust binary that answers every event with the event.
    let binary = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_lambda-rt"))
            .parent()
            .unwrap()
            .join("examples/bench-runtime"),
    )
    .expect("target/debug/examples/bench-runtime is missing: run `cargo build --examples` (scripts/test.sh does)");
    let project = project_with(&binary, &[]);
    let (_, report) = check(
        project.path(),
        &["--handler", "main", "--echo-handler", "main"],
    );
    assert_eq!(report["runtime_kind"], "custom");
    assert_eq!(
        verdict(&report, "round trip: trailing newlines")["verdict"],
        "pass"
    );
    assert_eq!(verdict(&report, "a failing handler")["verdict"], "skip");
    passes_check_and_runs(
        project.path(),
        &["--handler", "main", "--echo-handler", "main"],
        &["--handler", "main"],
        "bash-runtime",
        r#"{"a":1}"#,
    );
}

#[test]
fn the_custom_template_passes_check() {
    require_runtime_tools();
    let dir = tempfile::tempdir().unwrap();
    assert_exit(
        &lambda_rt(
            dir.path(),
            &[],
            &["init", "custom-fn", "--template", "custom", "-q"],
        ),
        0,
    );
    let project = dir.path().join("custom-fn");
    passes_check_and_runs(
        &project,
        &["--echo-handler", "handler"],
        &[],
        "custom-fn",
        r#"{"a":1}"#,
    );
}

/// A runtime written for these tests, in bash with curl, following the bash handler convention;
/// `DEFECT` (from `--env`) breaks it in one way.
const TEST_RUNTIME: &str = r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
file=${_HANDLER%%.*} fn=${_HANDLER#*.}
if ! source "$LAMBDA_TASK_ROOT/$file.sh" 2>/dev/null || ! declare -F "$fn" >/dev/null; then
  curl -sS -o /dev/null -X POST "$api/init/error" \
    --data-binary '{"errorType":"Runtime.HandlerNotFound","errorMessage":"no such handler"}'
  exit 1
fi
header() { grep -i "^$1:" "$TMPDIR/headers" | cut -d ' ' -f 2- | tr -d '\r\n'; }
while true; do
  curl -sS -D "$TMPDIR/headers" -o "$TMPDIR/event" "$api/invocation/next" || exit 1
  id=$(header lambda-runtime-aws-request-id)
  export _X_AMZN_TRACE_ID=$(header lambda-runtime-trace-id)
  export LAMBDA_DEADLINE_MS=$(header lambda-runtime-deadline-ms)
  [ "$DEFECT" = wrong-id ] && id="not-$id"
  [ "$DEFECT" = never-answers ] && continue
  IFS= read -r -d '' event <"$TMPDIR/event"
  if ("$fn" "$event") >"$TMPDIR/out"; then
    if [ "$DEFECT" = drops-newlines ]; then
      response=$(cat "$TMPDIR/out")
      printf '%s' "$response" >"$TMPDIR/out"
    fi
    curl -sS -o /dev/null -X POST --data-binary @"$TMPDIR/out" "$api/invocation/$id/response"
  elif [ "$DEFECT" = plain-text-errors ]; then
    curl -sS -o /dev/null -X POST --data-binary 'the handler failed' "$api/invocation/$id/error"
  else
    curl -sS -o /dev/null -X POST --data-binary \
      '{"errorType":"HandlerError","errorMessage":"the handler failed"}' "$api/invocation/$id/error"
  fi
  [ "$DEFECT" = exits-after-first ] && exit 0
done
"#;

#[test]
fn broken_runtimes_fail_on_the_case_that_names_their_fault() {
    require_runtime_tools();
    let project = project_with(
        TEST_RUNTIME.as_bytes(),
        &[("function.sh", "handler () { printf '%s' \"$1\"; }\n")],
    );
    let path = project.path();
    // Unbroken, the test runtime passes: each defect below is what makes it fail.
    let (code, report) = check(path, &["--env", "DEFECT=none"]);
    assert_eq!(code, 0, "{report:#}");

    let cases: [(&str, &str, &str); 5] = [
        ("drops-newlines", "round trip: trailing newlines", "$(...)"),
        (
            "wrong-id",
            "answers the request id",
            "Lambda-Runtime-Aws-Request-Id",
        ),
        ("never-answers", "answers the request id", "after each next"),
        (
            "exits-after-first",
            "the next event after an error",
            "go back to next",
        ),
        (
            "plain-text-errors",
            "a failing handler",
            "errorType and errorMessage",
        ),
    ];
    for (defect, case, hint) in cases {
        // A short timeout for the runtimes that never answer; the others answer at once.
        let (code, report) = check(
            path,
            &["--env", &format!("DEFECT={defect}"), "--case-timeout", "3"],
        );
        assert_eq!(code, 1, "{defect}: {report:#}");
        let found = verdict(&report, case);
        assert_eq!(found["verdict"], "fail", "{defect}: {report:#}");
        assert!(
            found["hint"].as_str().unwrap_or_default().contains(hint),
            "{defect}: {found:#}"
        );
    }
}

#[test]
fn the_tutorial_runtime_is_checkable_and_its_faults_are_named() {
    require_runtime_tools();
    let tutorial = std::fs::read(repo_root().join("bench/tutorial-bootstrap")).unwrap();
    let handler = std::fs::read_to_string(repo_root().join("function/function.sh")).unwrap();
    let project = project_with(&tutorial, &[("function.sh", &handler)]);
    let (code, report) = check(project.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["runtime_kind"], "bash");
    for case in [
        "round trip: trailing newlines",
        "a response starting with @",
        "_X_AMZN_TRACE_ID",
        "a failing handler",
    ] {
        assert_eq!(
            verdict(&report, case)["verdict"],
            "fail",
            "{case}: {report:#}"
        );
    }
    assert_eq!(
        verdict(&report, "round trip: empty object")["verdict"],
        "pass"
    );
}

#[test]
fn check_bootstrap_runs_another_executable_and_text_output_has_a_summary() {
    require_runtime_tools();
    let project = Project::new();
    let broken = project.path().join("other-bootstrap");
    std::fs::write(&broken, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = lambda_rt(
        project.path(),
        &[],
        &["check", "--bootstrap", broken.to_str().unwrap()],
    );
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  starts and asks for an event"),
        "{text}"
    );
    assert!(
        text.contains("printing nothing: it must loop forever"),
        "{text}"
    );
    let summary = text.lines().last().unwrap();
    assert!(
        summary.contains("0 passed") && summary.contains(" failed"),
        "{text}"
    );
    // The project's own runtime was not touched.
    assert_exit(&lambda_rt(project.path(), &[], &["check", "-q"]), 0);
}

/// A 64-bit little-endian ELF header for `machine` (62: x86_64, 183: aarch64).
fn elf(machine: u16) -> Vec<u8> {
    let mut head = vec![0u8; 64];
    head[..4].copy_from_slice(b"\x7fELF");
    head[4] = 2; // 64-bit
    head[5] = 1; // little-endian
    head[6] = 1;
    head[16] = 2; // ET_EXEC
    head[18..20].copy_from_slice(&machine.to_le_bytes());
    head
}

#[test]
fn bootstraps_lambda_could_not_run_are_refused_before_any_aws_call() {
    let aws = Aws::start();
    let cases: [(Vec<u8>, &str, &str); 5] = [
        (elf(183), "x86_64", "arm64"),
        (elf(62), "arm64", "x86_64"),
        (b"#!/bin/bash\r\necho\r\n".to_vec(), "x86_64", "CRLF"),
        (b"#!bash\necho\n".to_vec(), "x86_64", "absolute"),
        (b"#!../bin/sh\necho\n".to_vec(), "x86_64", "absolute"),
    ];
    for (bootstrap, architecture, needle) in cases {
        let project = project_with(&bootstrap, &[("function.sh", "handler () { :; }\n")]);
        aws.start_counting();
        let out = lambda_rt(
            project.path(),
            &aws.env(),
            &["create", "--architecture", architecture],
        );
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(needle), "{needle}: {}", stderr(&out));
        aws.assert_no_requests(needle);
    }
}

/// On a machine busy with other work (here: a busy loop per core and one more), `check` still
/// passes the bundled runtime: what a timeout killed is counted only once it is gone.
#[test]
fn the_bundled_bash_runtime_passes_on_a_loaded_machine() {
    require_runtime_tools();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let _hogs: Vec<Spawned> = (0..=cores)
        .map(|_| {
            Spawned::new(
                std::process::Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let project = Project::new();
    for _ in 0..2 {
        let (_, report) = check(project.path(), &[]);
        let failed: Vec<&serde_json::Value> = report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] != "pass")
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
}

/// A process the timeout kills can take a while to die: here the handler's `sleep` is a program
/// holding 1 GiB (and no pipe of the runtime's, so reading the output to its end does not wait for
/// it), whose memory the kernel frees after SIGKILL (tens of milliseconds, more on a busy
/// machine). `check` counts what is left only once the killed processes are gone, so the bundled
/// runtime still passes; counting at once saw "1 processes of the runtime left".
#[test]
fn the_timeout_case_waits_for_a_slow_to_die_process() {
    require_runtime_tools();
    let project = Project::new().with(
        "runtime/bin/sleep",
        "#!/bin/sh\nexec python3 -c 'import time; held = b\"1\" * (1 << 30); time.sleep(600)' \
         >/dev/null 2>&1\n",
    );
    let shim = project.path().join("runtime/bin/sleep");
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bootstrap = project.path().join("runtime/bootstrap");
    let text = std::fs::read_to_string(&bootstrap).unwrap();
    let (shebang, rest) = text.split_once('\n').unwrap();
    std::fs::write(
        &bootstrap,
        format!("{shebang}\nPATH=\"$(dirname \"$0\")/bin:$PATH\"\n{rest}"),
    )
    .unwrap();
    let (_, report) = check(project.path(), &[]);
    let case = verdict(&report, "a hanging handler is stopped at the timeout");
    assert_eq!(case["verdict"], "pass", "{case:#}");
}

/// A custom runtime in bash, not written to the bash convention: `_HANDLER` is `echo` (answers
/// with the event) or `fail` (posts `error.json` of the task root, as it is, to /error).
const CUSTOM_RUNTIME: &str = r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  curl -sS -D "$TMPDIR/headers" -o "$TMPDIR/event" "$api/invocation/next" || exit 1
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$TMPDIR/headers" | cut -d ' ' -f 2- | tr -d '\r\n')
  if [ "$_HANDLER" = fail ]; then
    curl -sS -o /dev/null -X POST --data-binary @"$LAMBDA_TASK_ROOT/error.json" \
      "$api/invocation/$id/error"
  else
    curl -sS -o /dev/null -X POST --data-binary @"$TMPDIR/event" "$api/invocation/$id/response"
  fi
done
"#;

/// An error document as a runtime may write it: spacing, escaped unicode, a number no float
/// holds, trailing zeros, a duplicate key.
const ODD_ERROR: &str = r#"{ "errorType" : "Odd",  "errorMessage":"caf\u00e9 1.10", "n": 12345678901234567890123456789, "x": 1.10, "errorType":"Odd" }"#;

/// Every case `check` has, by name.
fn every_case() -> Vec<String> {
    let mut names = lambda_rt::emulator::check::every_case_name();
    names.sort();
    names
}

fn case_names(report: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `check` on a custom runtime lists every case — passed, failed or skipped with the reason —
/// and its error-path line quotes the document the runtime sent, byte for byte.
#[test]
fn check_lists_every_case_for_a_custom_runtime_and_quotes_its_error_document() {
    require_runtime_tools();
    let project = project_with(CUSTOM_RUNTIME.as_bytes(), &[("error.json", ODD_ERROR)]);
    let (code, report) = check(
        project.path(),
        &["--echo-handler", "echo", "--error-handler", "fail"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["runtime_kind"], "custom");
    assert_eq!(case_names(&report), every_case(), "{report:#}");
    let error_path = verdict(&report, "a failing handler is reported to /error");
    assert_eq!(error_path["verdict"], "pass", "{error_path:#}");
    assert!(
        error_path["detail"].as_str().unwrap().contains(ODD_ERROR),
        "{error_path:#}"
    );
    for case in [
        "a response starting with @",
        "_X_AMZN_TRACE_ID",
        "the deadline",
        "a response over 6 MB",
        "a hanging handler",
        "a missing handler",
    ] {
        let found = verdict(&report, case);
        assert_eq!(found["verdict"], "skip", "{found:#}");
        assert!(
            found["detail"]
                .as_str()
                .unwrap()
                .starts_with("skipped: needs a handler"),
            "{found:#}"
        );
    }

    // Without the two handlers, the cases that need them are listed as skipped too.
    let (code, report) = check(project.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(case_names(&report), every_case(), "{report:#}");
    for case in [
        "round trip: empty object",
        "a failing handler",
        "the next event after",
    ] {
        assert_eq!(verdict(&report, case)["verdict"], "skip", "{case}");
    }
}

/// A bootstrap that fails at start: `check` shows what it printed as the cause (not a generic
/// "must loop forever"), and lists every case it could not run.
#[test]
fn a_runtime_that_fails_to_start_is_shown_in_its_own_words() {
    let project = project_with(
        b"#!/bin/bash\necho 'bootstrap: error while loading shared libraries: libfoo.so.1' >&2\nexit 127\n",
        &[],
    );
    let (code, report) = check(project.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let starts = verdict(&report, "starts and asks for an event");
    assert_eq!(starts["verdict"], "fail");
    let hint = starts["hint"].as_str().unwrap();
    assert!(hint.contains("libfoo.so.1"), "{hint}");
    assert!(!hint.contains("loop forever"), "{hint}");
    assert_eq!(case_names(&report), every_case(), "{report:#}");
    assert!(report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "skip")
        .all(|c| c["detail"] == "skipped: the runtime never asked for an event"));
}
