//! Living with a function: `logs` (real log events written through the CloudWatch Logs API),
//! `status` and drift, versions with aliases and rollback, and shell completions.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;

const GROUP: &str = "/aws/lambda/bash-runtime";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Writes log events (milliseconds ago, message) into one stream of the function's log group.
async fn write_events(logs: &aws_sdk_cloudwatchlogs::Client, stream: &str, events: &[(i64, &str)]) {
    let _ = logs.create_log_group().log_group_name(GROUP).send().await;
    let _ = logs
        .create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .send()
        .await;
    let now = now_ms();
    let mut request = logs
        .put_log_events()
        .log_group_name(GROUP)
        .log_stream_name(stream);
    for (ago, message) in events {
        request = request.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - ago)
                .message(*message)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
}

fn lines(out: &std::process::Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_since_filter_request_id_follow_and_a_missing_group() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    assert_exit(&run(&["create"]), 0);

    // `create` made the log group: empty, said so.
    let out = run(&["logs"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_stderr_has(
        &out,
        "no log events yet for function `bash-runtime` since 10m",
    );

    // Without it (deleted by hand), nothing to read: exit 1.
    let logs = aws.moto.logs().await;
    logs.delete_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    let out = run(&["logs"]);
    assert_exit(&out, 1);
    assert_stderr_has(&out, "no logs yet");
    assert_stderr_has(&out, "invoke the function first");

    let stream = "2026/12/01/[$LATEST]0123456789abcdef";
    write_events(
        &logs,
        stream,
        &[
            (
                2 * 3600 * 1000,
                "START RequestId: old-request Version: $LATEST",
            ),
            (
                5 * 60 * 1000,
                "START RequestId: 11111111-aaaa Version: $LATEST",
            ),
            (4 * 60 * 1000, "ERROR something broke for 11111111-aaaa"),
            (
                3 * 60 * 1000,
                "START RequestId: 22222222-bbbb Version: $LATEST",
            ),
            (2 * 60 * 1000, "all fine for 22222222-bbbb\n"),
        ],
    )
    .await;

    // --since 1h leaves the 2-hour-old line out; lines carry time and stream.
    let printed = lines(&run(&["logs", "--since", "1h"]));
    assert_eq!(printed.len(), 4, "{printed:#?}");
    assert!(printed[0].ends_with("START RequestId: 11111111-aaaa Version: $LATEST"));
    assert!(printed[0].contains(stream), "{}", printed[0]);
    assert!(
        printed[0].starts_with("20") && printed[0].contains('T'),
        "{}",
        printed[0]
    );
    assert!(
        printed[3].ends_with("all fine for 22222222-bbbb"),
        "no trailing newline kept"
    );
    assert_eq!(lines(&run(&["logs", "--since", "3h"])).len(), 5);

    let printed = lines(&run(&["logs", "--since", "1h", "--filter", "ERROR"]));
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(printed[0].contains("something broke"));

    let printed = lines(&run(&[
        "logs",
        "--since",
        "1h",
        "--request-id",
        "22222222-bbbb",
    ]));
    assert_eq!(printed.len(), 2, "{printed:#?}");
    assert!(printed.iter().all(|l| l.contains("22222222-bbbb")));

    let out = run(&["logs", "--since", "1h", "--output", "json"]);
    let documents: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| parse_json(l.as_bytes()))
        .collect();
    assert_eq!(documents.len(), 4);
    assert_eq!(
        documents[1]["message"],
        "ERROR something broke for 11111111-aaaa"
    );
    assert_fit_the_schema(&documents);

    let out = run(&["logs", "--since", "last tuesday"]);
    assert_exit(&out, 2);

    // --follow prints what exists, then a line written after it started, until Ctrl-C.
    let mut child = Spawned::new(
        lambda_rt_command(project.path(), &env, &["logs", "--since", "1h", "--follow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = child.child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let next = || {
        receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("logs --follow printed nothing for 20 s")
    };
    for _ in 0..4 {
        next();
    }
    write_events(&logs, stream, &[(0, "a line written while following")]).await;
    assert!(next().ends_with("a line written while following"));
    child.signal(nix::sys::signal::Signal::SIGINT);
    let status = child.wait_for_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_in_sync_after_create_and_names_exactly_what_drifted() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);

    let out = run(&["status"]);
    assert_exit(&out, 6);
    assert!(stdout(&out).contains("does not exist"), "{}", stdout(&out));

    assert_exit(&run(&["create"]), 0);
    aws.start_counting();
    let out = run(&["status"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("in sync with the project"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("owner         lambda-rt"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        aws.counted().writes(),
        Vec::<String>::new(),
        "status only reads"
    );

    project.write(
        "function/function.sh",
        "function handler () { printf changed; }\n",
    );
    project.write("lambda-rt.toml", "memory = 256\n");
    let out = run(&["status", "--output", "json"]);
    assert_exit(&out, 6);
    let report = json(&out);
    assert_fit_the_schema(std::slice::from_ref(&report));
    assert_eq!(report["in_sync"], false);
    let drift = report["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 2, "{report:#}");
    assert!(drift.iter().any(|c| c["field"] == "code"), "{report:#}");
    assert!(
        drift
            .iter()
            .any(|c| c["field"] == "memory" && c["from"] == "128" && c["to"] == "256"),
        "{report:#}"
    );
    assert_eq!(report["function"]["memory_mb"], 128);

    // After the update it is in sync again.
    assert_exit(&run(&["update"]), 0);
    assert_exit(&run(&["status", "-q"]), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_alias_rollback_and_prune() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    assert_exit(&run(&["create"]), 0);

    let out = run(&["update", "--publish", "--alias", "live", "--output", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_fit_the_schema(std::slice::from_ref(&report));
    let kinds: Vec<(&str, &str)> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("version", "created")), "{report:#}");
    assert!(kinds.contains(&("alias", "created")), "{report:#}");

    // A repeated no-op publishes nothing and moves nothing, and says the alias is unchanged.
    aws.start_counting();
    let again = run(&["update", "--publish", "--alias", "live", "--output", "json"]);
    assert_exit(&again, 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let report = json(&again);
    let alias = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "alias")
        .unwrap();
    assert_eq!(alias["action"], "unchanged", "{report:#}");
    let changes = alias["changes"].as_array().map_or(0, Vec::len);
    assert_eq!(changes, 0, "{report:#}");

    project.write(
        "function/function.sh",
        "function handler () { printf 'version two'; }\n",
    );
    aws.start_counting();
    assert_exit(&run(&["update", "--publish", "--alias", "live"]), 0);
    assert_eq!(
        aws.counted().writes(),
        vec![
            "lambda:PublishVersion",
            "lambda:UpdateAlias",
            "lambda:UpdateFunctionCode"
        ]
    );
    let out = run(&["versions", "--output", "json"]);
    assert_fit_the_schema(&[json(&out)]);
    let listed = listed_versions(&out);
    assert_eq!(listed, vec![(1, vec![]), (2, vec!["live".to_string()])]);
    // The table's columns line up under their headers.
    let table = stdout(&run(&["versions"]));
    let lines: Vec<&str> = table.lines().collect();
    let column = lines[0].find("MODIFIED").unwrap();
    assert_eq!(lines.len(), 3, "{table}");
    for row in &lines[1..] {
        assert!(
            row[..column].ends_with("  ") && row[column..].starts_with("20"),
            "{table}"
        );
    }

    // Roll back: live points at 1 again, and invoking the alias reaches it.
    let out = run(&["rollback", "--alias", "live"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "(version 2 → 1)");
    let lambda = aws.moto.lambda().await;
    let alias = lambda
        .get_alias()
        .function_name("bash-runtime")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some("1"));
    let out = run(&[
        "invoke",
        "--qualifier",
        "live",
        "--payload",
        r#"{"via":"alias"}"#,
    ]);
    assert_exit(&out, 0);
    let out = run(&["invoke", "--qualifier", "no-such-alias"]);
    assert_exit(&out, 1);
    assert_stderr_has(&out, "no version or alias `no-such-alias`");

    // Version 3 with --keep 1: 2 goes; 1 stays because `live` points at it.
    project.write(
        "function/function.sh",
        "function handler () { printf 'version three'; }\n",
    );
    assert_exit(&run(&["update", "--publish", "--keep", "1"]), 0);
    let versions = json(&run(&["versions", "--output", "json"]));
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 3]);

    // Bad input is refused before any call.
    for args in [
        &["update", "--keep", "2"][..],
        &["update", "--alias", "123"],
        &["update", "--publish", "--keep", "0"],
        &["rollback", "--alias", "bad name"],
    ] {
        aws.start_counting();
        assert_exit(&run(args), 2);
        aws.assert_no_requests(&format!("{args:?}"));
    }
    let out = run(&["rollback", "--alias", "live", "--to", "7"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "no version 7");

    // Deleting the function deletes its versions and aliases with it.
    assert_exit(&run(&["delete"]), 0);
    for qualifier in ["1", "3", "live"] {
        assert!(lambda
            .get_function()
            .function_name("bash-runtime")
            .qualifier(qualifier)
            .send()
            .await
            .is_err());
    }
}

#[test]
fn completions_are_valid_scripts_that_know_the_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = lambda_rt(dir.path(), &[], &["completions", "bash"]);
    assert_exit(&out, 0);
    let script = stdout(&out);
    for needle in ["status", "rollback", "--follow", "--echo-handler"] {
        assert!(script.contains(needle), "{needle}");
    }
    let file = dir.path().join("lambda-rt.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = lambda_rt(dir.path(), &[], &["completions", shell]);
        assert_exit(&out, 0);
        assert!(stdout(&out).contains("rollback"), "{shell}");
    }
}

/// A failed read is not an absence and a failed write is not a concurrent change: the URL that
/// cannot be read is not reported as "none", and an alias move that fails is said as it failed,
/// not as "someone else is moving it" (both found by the seed-33 mutation sample).
#[tokio::test(flavor = "multi_thread")]
async fn failed_reads_and_writes_are_said_as_they_failed() {
    let (aws, project, env) = published_with_alias_live();
    use crate::common::proxy::Fault;
    aws.proxy
        .always(Fault::ServerError, |r| r.action == "GetFunctionUrlConfig");
    let status = lambda_rt(project.path(), &env, &["status", "--max-attempts", "1"]);
    assert_exit(&status, 1);
    assert_stderr_has(&status, "failed to read the URL of `bash-runtime`");
    assert_stdout_lacks_url_none(&status);

    aws.proxy
        .always(Fault::ServerError, |r| r.action == "UpdateAlias");
    project.write("function/function.sh", "handler () { echo v2; }\n");
    let moved = lambda_rt(
        project.path(),
        &env,
        &[
            "update",
            "--publish",
            "--alias",
            "live",
            "--max-attempts",
            "1",
        ],
    );
    assert_exit(&moved, 1);
    assert_stderr_has(&moved, "move alias `live` of function");
    assert_stderr_has(&moved, "ServiceException");
    assert_stderr_lacks(&moved, "kept changing");
}

/// A function created with version 1 published and the alias `live` on it.
fn published_with_alias_live() -> (Aws, Project, Vec<(String, String)>) {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let created = lambda_rt(
        project.path(),
        &env,
        &["create", "--publish", "--alias", "live"],
    );
    assert_exit(&created, 0);
    (aws, project, env)
}

fn assert_stdout_lacks_url_none(output: &std::process::Output) {
    assert!(
        !stdout(output).contains("url           none"),
        "a URL that could not be read was reported as none:\n{}",
        stdout(output)
    );
}

/// Someone moves the alias right after lambda-rt read it: Lambda refuses lambda-rt's move (412,
/// a stale RevisionId); lambda-rt reads the alias again and moves it from there.
#[tokio::test(flavor = "multi_thread")]
async fn an_alias_moved_by_someone_else_meanwhile_is_read_again_and_moved() {
    let (aws, project, env) = published_with_alias_live();
    // The run reads the alias twice (what it points at, then the move's own read): the other
    // writer moves it right after the second.
    let proxy = aws.proxy.url.clone();
    aws.proxy.after_answer("GetAlias", || {});
    aws.proxy.after_answer("GetAlias", move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let lambda = aws_sdk_lambda::Client::new(&sdk_config_for(&proxy).await);
            lambda
                .update_alias()
                .function_name("bash-runtime")
                .name("live")
                .description("moved by someone else")
                .send()
                .await
                .unwrap();
        });
    });
    project.write("function/function.sh", "handler () { echo v2; }\n");
    let moved = lambda_rt(
        project.path(),
        &env,
        &["update", "--publish", "--alias", "live"],
    );
    assert_exit(&moved, 0);
    assert_eq!(
        aws.proxy.refusals().get("412 stale alias RevisionId"),
        Some(&1),
        "{:?}",
        aws.proxy.refusals()
    );
    let alias = aws
        .lambda()
        .await
        .get_alias()
        .function_name("bash-runtime")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some("2"));
}
