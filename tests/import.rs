//! `init DIR --from-function NAME` (issue 27): the way in for a function another tool made. Its
//! code comes down from GetFunction's Code.Location (which the realism proxy serves, as moto's
//! points nowhere), every setting goes into lambda-rt.toml, and `update --adopt` right after
//! changes nothing but ownership. The real binary against moto behind the proxy.

use std::io::Write;

use crate::common::proxy::Realism;
use crate::common::*;

const NAME: &str = "made-by-hand";
const HANDLER: &str = "handler () { printf 'imported: %s' \"$1\"; }\n";

/// A lookup table the job reads: stored, its zip is larger than 256 KB, so a download cut short
/// (a limit of kilobytes where megabytes were meant) would show.
fn lookup_table() -> String {
    (0..20_000)
        .map(|n| format!("{n:05},region-{}\n", n % 17))
        .collect()
}

/// A zip as `zip(1)` would make it for the AWS CLI: timestamps of now, stored entries, so its
/// bytes differ from lambda-rt's zip of the same files.
fn zip_by_another_tool(bootstrap: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = |mode| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(mode)
            .last_modified_time(zip::DateTime::from_date_and_time(2026, 11, 30, 21, 4, 2).unwrap())
    };
    zip.start_file("bootstrap", options(0o755)).unwrap();
    zip.write_all(bootstrap.as_bytes()).unwrap();
    zip.start_file("function.sh", options(0o644)).unwrap();
    zip.write_all(HANDLER.as_bytes()).unwrap();
    zip.start_file("data/lookup.csv", options(0o644)).unwrap();
    zip.write_all(lookup_table().as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The function as the AWS CLI makes it: its own role, a hand-made zip, settings of its own.
async fn make_by_hand(aws: &Aws, runtime: aws_sdk_lambda::types::Runtime) {
    let role = aws
        .moto
        .iam()
        .await
        .create_role()
        .role_name("hand-made-role")
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .unwrap();
    let bootstrap = std::fs::read_to_string(repo_root().join("runtime/bootstrap")).unwrap();
    aws.lambda()
        .await
        .create_function()
        .function_name(NAME)
        .role(role.role().unwrap().arn())
        .runtime(runtime)
        .handler("function.handler")
        .memory_size(256)
        .timeout(10)
        .description("nightly import")
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("GREETING", "hi")
                .build(),
        )
        .tags("team", "data")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip_by_another_tool(
                    &bootstrap,
                )))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// `lambda-rt init imported --from-function function`, run in `parent`.
fn import(
    parent: &std::path::Path,
    env: &[(String, String)],
    function: &str,
) -> std::process::Output {
    lambda_rt(
        parent,
        env,
        &["init", "imported", "--from-function", function],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_made_by_hand_becomes_a_project_that_update_leaves_alone() {
    let aws = Aws::with(Realism::short());
    make_by_hand(&aws, aws_sdk_lambda::types::Runtime::Providedal2023).await;
    let parent = tempfile::tempdir().unwrap();
    let env = aws.env();
    // Where to look may come from flags as well as from the environment.
    let no_region: Vec<(String, String)> = env
        .iter()
        .filter(|(key, _)| key != "AWS_REGION")
        .cloned()
        .collect();
    let out = lambda_rt(
        parent.path(),
        &no_region,
        &[
            "init",
            "imported",
            "--from-function",
            NAME,
            "--region",
            REGION,
        ],
    );
    assert_exit(&out, 0);
    let project = parent.path().join("imported");
    let mode = |path: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(project.join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("runtime/bootstrap"), 0o755);
    assert_eq!(
        std::fs::read_to_string(project.join("function/function.sh")).unwrap(),
        HANDLER
    );
    let lookup = std::fs::read_to_string(project.join("function/data/lookup.csv")).unwrap();
    assert!(lookup.len() > 256 * 1024 && lookup == lookup_table());
    let toml = std::fs::read_to_string(project.join("lambda-rt.toml")).unwrap();
    for line in [
        "function-name = \"made-by-hand\"",
        "memory = 256",
        "timeout = 10",
        "description = \"nightly import\"",
        "role-arn = \"arn:aws:iam::123456789012:role/hand-made-role\"",
        "GREETING = \"hi\"",
        "team = \"data\"",
    ] {
        assert!(toml.contains(line), "{line}:\n{toml}");
    }

    // Adopted: no code or configuration write, only lambda-rt's ownership tag.
    assert_eq!(
        aws.writes_of(&project, &["update", "--adopt"]),
        ["lambda:TagResource"]
    );
    assert_exit(&lambda_rt(&project, &env, &["status"]), 0);
    let local = lambda_rt(
        &project,
        &env,
        &["invoke", "--local", "--payload", "{\"a\":1}"],
    );
    assert_exit(&local, 0);
    assert_eq!(stdout(&local), "imported: {\"a\":1}");

    // An edit deploys: the record of the imported zip no longer applies.
    std::fs::write(
        project.join("function/function.sh"),
        "handler () { printf 'edited: %s' \"$1\"; }\n",
    )
    .unwrap();
    assert_eq!(
        aws.writes_of(&project, &["update"]),
        ["lambda:UpdateFunctionCode"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_lambda_rt_cannot_manage_is_refused_and_nothing_is_written() {
    let aws = Aws::start();
    make_by_hand(&aws, aws_sdk_lambda::types::Runtime::Python312).await;
    let parent = tempfile::tempdir().unwrap();
    let env = aws.env();
    let out = import(parent.path(), &env, NAME);
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "lambda-rt cannot manage function `made-by-hand`: it runs on `python3.12`",
    );
    record_bad_input(
        &["init imported --from-function (a python3.12 function)"],
        &out,
    );
    assert!(!parent.path().join("imported").exists());

    let out = import(parent.path(), &env, "no-such-function");
    assert_exit(&out, 1);
    assert_stderr_has(&out, "function `no-such-function` does not exist");

    std::fs::create_dir_all(parent.path().join("taken/function")).unwrap();
    aws.start_counting();
    let out = lambda_rt(
        parent.path(),
        &env,
        &["init", "taken", "--from-function", NAME],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "`taken` already has `function`");
    aws.assert_no_requests("init into a directory that already has a project");
}
