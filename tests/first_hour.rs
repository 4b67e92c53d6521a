//! The first hour of a newcomer: safe defaults outside a project, output that says what really
//! changed, quiet and honest messages, and one JSON contract for every `--output json` document
//! (checked against docs/output.schema.json).

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn outside_a_project_nothing_happens_unless_the_function_is_named() {
    let aws = Aws::start();
    let empty = tempfile::tempdir().unwrap();
    // A function that a guess of the default name would hit.
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);

    for command in [
        "delete",
        "update",
        "create",
        "invoke",
        "publish-layer",
        "status",
        "logs",
        "versions",
        "rollback",
    ] {
        aws.start_counting();
        let out = lambda_rt(empty.path(), &aws.env(), &[command]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("not a lambda-rt project"), "{command}: {err}");
        assert!(err.contains("lambda-rt init"), "{command}: {err}");
        assert!(err.contains("--function-name"), "{command}: {err}");
        assert!(
            !err.contains("  "),
            "one line of prose, no runs of spaces: {err}"
        );
        aws.assert_no_requests("nothing is read or written outside a project");
    }
    // Named explicitly, they go ahead: delete works from anywhere, create and update get as far as
    // the missing project files.
    let out = lambda_rt(
        empty.path(),
        &aws.env(),
        &["update", "--function-name", "bash-runtime"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "`function/` does not exist");
    assert_stderr_has(&out, "lambda-rt init");
    let out = lambda_rt(
        empty.path(),
        &aws.env(),
        &["delete", "--function-name", "bash-runtime"],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  function `bash-runtime`");
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_environment_variables_are_reported_as_removals() {
    let aws = Aws::start();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--env", "API_KEY=secret-value"],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "environment: added API_KEY");
    let out = lambda_rt(project.path(), &aws.env(), &["update", "--output", "json"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("secret-value"));
    let report = json(&out);
    let change = &report["resources"][0]["changes"][0];
    assert_eq!(change["field"], "environment.API_KEY", "{report}");
    assert_eq!(change["to"], serde_json::Value::Null, "a removal: {report}");
    assert!(!report.to_string().contains("secret-value"), "{report}");
    let out = lambda_rt(project.path(), &aws.env(), &["update", "--env", "AA=1"]);
    assert_exit(&out, 0);
    let out = lambda_rt(project.path(), &aws.env(), &["update"]);
    assert_stderr_has(&out, "environment: removed AA");
}

#[test]
fn no_region_or_credentials_give_a_short_plain_message() {
    let project = Project::new();
    let metadata = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // An instance metadata service that refuses, as on a laptop behind a proxy, and none at all.
    let refusing = format!("http://{}", metadata.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in metadata.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        }
    });
    for imds in [
        vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", refusing.as_str())],
        vec![("AWS_EC2_METADATA_DISABLED", "true")],
    ] {
        let mut env: Vec<(String, String)> = vec![
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ];
        env.extend(imds.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let out = lambda_rt(project.path(), &env, &["update"]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("no AWS region"), "{err}");
        assert!(err.lines().count() <= 3, "{err}");
        assert!(!err.contains('\u{1b}'), "colour codes in a file: {err}");

        env.push(("AWS_REGION".into(), "us-east-1".into()));
        env.push(("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:1".into()));
        let out = lambda_rt(project.path(), &env, &["update"]);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("no AWS credentials"), "{err}");
        assert!(err.lines().count() <= 3, "{err}");
        assert!(!err.contains('\u{1b}'), "{err}");
        assert!(!err.contains("IMDS"), "the SDK's own log lines: {err}");
    }
}

#[test]
fn an_unreachable_endpoint_fails_fast_and_names_the_url() {
    let project = Project::new();
    let env = endpoint_env("http://127.0.0.1:1");
    let mut child = Spawned::new(
        lambda_rt_command(project.path(), &env, &["update", "--max-attempts", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let status = child
        .wait_for_exit(Duration::from_secs(5))
        .expect("an unreachable endpoint took more than 5 s to report");
    assert_eq!(status.code(), Some(1));
    let mut err = String::new();
    child
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("http://127.0.0.1:1"), "{err}");
    assert!(err.contains("after 2 attempts"), "{err}");
}

#[test]
fn an_endpoint_that_is_not_aws_is_called_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let page = "<html><body>It works!</body></html>";
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
                    page.len()
                )
                .as_bytes(),
            );
        }
    });
    let project = Project::new();
    let out = lambda_rt(project.path(), &endpoint_env(&url), &["update"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("did not answer like AWS"), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(!err.contains("unhandled error"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_output_shows_every_aws_call_once() {
    let aws = Aws::start();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    aws.start_counting();
    let out = lambda_rt(project.path(), &aws.env(), &["create", "-v"]);
    assert_exit(&out, 0);
    let counts = aws.counted();
    let err = stderr(&out);
    let call_lines: Vec<&str> = err.lines().filter(|l| l.contains(" ms")).collect();
    assert_eq!(call_lines.len() as u64, counts.total(), "{err}");
    for operation in ["GetFunction", "GetRole", "ListAttachedRolePolicies"] {
        assert!(
            call_lines
                .iter()
                .any(|l| l.contains(operation) && l.contains(": ok in ")),
            "{operation}: {err}"
        );
    }
    // Without -v: none of that.
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_stderr_lacks(&out, " ms");

    // An upload is announced (a spinner on a terminal; a line at -v when stderr is a file).
    project.write(
        "function/function.sh",
        "function handler () { echo edited; }\n",
    );
    let out = lambda_rt(project.path(), &aws.env(), &["update", "-v"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    let upload = err
        .lines()
        .position(|l| l.contains("uploading ") && l.ends_with(" to Lambda"));
    let call = err.lines().position(|l| l.contains("UpdateFunctionCode"));
    assert!(upload.is_some() && upload < call, "{err}");
}

#[test]
fn local_checks_come_before_anything_runs() {
    require_runtime_tools();
    let project = Project::new();
    project.write(
        "function/marker.sh",
        "mark () { touch \"$LAMBDA_TASK_ROOT/../../ran\"; printf ok; }\n",
    );
    let out = lambda_rt(
        project.path(),
        &[],
        &[
            "invoke",
            "--local",
            "--handler",
            "marker.mark",
            "--out",
            "/nonexistent/response.json",
        ],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "/nonexistent");
    // The function did not run: nothing was extracted, let alone executed.
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--log", "--handler", "marker.mark"],
    );
    assert_exit(&out, 0);
}

#[test]
fn a_function_over_the_upload_limit_still_runs_locally() {
    require_runtime_tools();
    let project = Project::new();
    let mut rng = fastrand::Rng::with_seed(3);
    let mut data = vec![0u8; 52 * 1024 * 1024];
    rng.fill(&mut data);
    std::fs::write(project.path().join("function/data.bin"), data).unwrap();
    let out = lambda_rt(project.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("Echoing request"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_quotes_its_hint_and_keeps_the_settings_on_force() {
    let parent = tempfile::tempdir().unwrap();
    let out = lambda_rt(
        parent.path(),
        &[],
        &["init", "my project", "--function-name", "my-project"],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "cd 'my project' &&");
    let toml = parent.path().join("my project/lambda-rt.toml");
    std::fs::write(&toml, "function-name = \"kept-name\"\nmemory = 512\n").unwrap();
    let out = lambda_rt(
        parent.path(),
        &[],
        &[
            "init",
            "my project",
            "--function-name",
            "my-project",
            "--force",
            "--output",
            "json",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read_to_string(&toml).unwrap(),
        "function-name = \"kept-name\"\nmemory = 512\n"
    );
    let report = json(&out);
    let kept = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "lambda-rt.toml")
        .unwrap();
    assert_eq!(kept["action"], "kept");
    assert_fit_the_schema(&[report]);
}

#[test]
fn a_port_in_use_gets_a_hint() {
    require_runtime_tools();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let project = Project::new();
    let out = lambda_rt(project.path(), &[], &["serve", "--port", &port]);
    assert_exit(&out, 1);
    assert_stderr_has(&out, "--port 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_json_document_fits_the_schema_and_failures_print_one_too() {
    require_runtime_tools();
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        lambda_rt(project.path(), &env, &args)
    };
    let mut documents = Vec::new();
    let mut keep = |out: std::process::Output, code: i32| {
        assert_exit(&out, code);
        documents.push(json(&out));
        documents.last().unwrap().clone()
    };

    let plan = keep(run(&["create", "--dry-run"]), 0);
    assert_eq!(plan["resources"][0]["action"], "would_create", "{plan}");
    keep(run(&["create"]), 0);
    keep(run(&["update", "--memory", "256", "--dry-run"]), 0);
    let update = keep(run(&["update", "--memory", "256"]), 0);
    let change = &update["resources"][0]["changes"][0];
    assert_eq!(
        (
            change["field"].as_str(),
            change["from"].as_str(),
            change["to"].as_str()
        ),
        (Some("memory"), Some("128"), Some("256")),
        "{update}"
    );
    keep(run(&["publish-layer", "--dry-run"]), 0);
    keep(run(&["publish-layer"]), 0);
    let invoke = keep(run(&["invoke", "--payload", r#""abc""#]), 0);
    assert_eq!(invoke["payload"], "abc");
    assert_eq!(invoke["payload_is_json"], true);
    let local = keep(run(&["invoke", "--local", "--payload", r#""abc""#]), 0);
    // The echo handler answers text that is not JSON: null, with the bytes in base64.
    assert_eq!(local["payload_is_json"], false, "{local}");
    assert_eq!(local["payload"], serde_json::Value::Null);
    assert!(local["payload_base64"]
        .as_str()
        .is_some_and(|b| !b.is_empty()));
    keep(run(&["delete", "--dry-run"]), 0);
    keep(run(&["delete"]), 0);

    // Failures: still one document, with the same exit code.
    let usage = keep(run(&["update", "--memory", "1"]), 2);
    assert_eq!(usage["error"]["code"], "usage", "{usage}");
    assert_eq!(usage["error"]["exit_code"], 2);
    let missing = keep(run(&["update"]), 1);
    assert_eq!(missing["error"]["code"], "failure");
    assert!(missing["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    let bad_flag = keep(run(&["update", "--no-such-flag"]), 2);
    assert_eq!(bad_flag["error"]["code"], "usage");
    assert!(bad_flag["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("lambda-rt update --help"));

    // init and serve have their documents too.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("made");
    documents.push(json(&lambda_rt(
        dir.path(),
        &[],
        &["init", target.to_str().unwrap(), "--output", "json"],
    )));
    let mut serve = Spawned::new(
        lambda_rt_command(
            project.path(),
            &[],
            &["serve", "--port", "0", "--output", "json"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap(),
    );
    let line = first_line(&mut serve.child, "serve printed no line within 30 s");
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(listening["event"], "listening");
    documents.push(listening);
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(
        serve
            .wait_for_exit(Duration::from_secs(20))
            .and_then(|s| s.code()),
        Some(130)
    );

    assert_fit_the_schema(&documents);
}
