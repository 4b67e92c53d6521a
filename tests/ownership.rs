//! Touch only what is lambda-rt's: functions it did not create are refused (and adopted only on
//! request), a shared role goes with its last function, and a project cannot smuggle files from
//! outside into a zip. The real binary against moto behind the counting proxy.

use std::io::Cursor;
use std::os::unix::fs::{symlink, PermissionsExt};

use crate::common::*;

const FUNCTION: &str = "bash-runtime";

const TRUST: &str = LAMBDA_TRUST;

/// Creates a function the way the console or a script would: no lambda-rt tag, its own role.
async fn create_by_hand(aws: &Aws, project: &Project, role_tags: &[(&str, &str)]) -> String {
    let iam = aws.moto.iam().await;
    let mut role = iam
        .create_role()
        .role_name("made-by-hand-role")
        .assume_role_policy_document(TRUST);
    for (k, v) in role_tags {
        role = role.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    let arn = role.send().await.unwrap().role.unwrap().arn;
    let zip =
        lambda_rt::package::function_zip(&settings_with(project.path(), |_| {}), true).unwrap();
    let lambda = aws.moto.lambda().await;
    create_function_directly(&lambda, FUNCTION, &arn, "function.handler", zip.bytes).await;
    arn
}

async fn tags(aws: &Aws) -> std::collections::HashMap<String, String> {
    aws.moto
        .lambda()
        .await
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_lambda_rt_did_not_create_is_refused_with_no_write_until_adopted() {
    let aws = Aws::start();
    let project = Project::new();
    create_by_hand(&aws, &project, &[]).await;
    let logs = aws.moto.logs().await;
    logs.create_log_group()
        .log_group_name("/aws/lambda/bash-runtime")
        .send()
        .await
        .unwrap();
    // Make the project differ from the function, so that only ownership stops the writes.
    project.write("function/function.sh", "handler () { echo mine; }\n");

    for command in ["update", "create", "publish-layer", "delete"] {
        aws.start_counting();
        let out = lambda_rt(project.path(), &aws.env(), &[command]);
        assert_exit(&out, 4);
        let err = stderr(&out);
        assert!(err.contains("function `bash-runtime`"), "{command}: {err}");
        assert!(err.contains("not created by lambda-rt"), "{command}: {err}");
        assert!(err.contains("--adopt"), "{command}: {err}");
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{command}");
    }
    // Still there, both of them.
    assert!(tags(&aws).await.is_empty());
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert_eq!(groups.log_groups().len(), 1);

    // --adopt: tagged, then updated.
    let out = lambda_rt(project.path(), &aws.env(), &["update", "--adopt"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "adopted");
    assert_eq!(
        tags(&aws).await.get("managed-by").map(String::as_str),
        Some("lambda-rt")
    );
    // From then on it is lambda-rt's: a plain run works and has nothing to do.
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["update"]), 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let out = lambda_rt(project.path(), &aws.env(), &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  function");
    assert_stderr_has(&out, "deleted  log group");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_of_an_earlier_lambda_rt_is_recognised_by_its_role_and_tagged() {
    let aws = Aws::start();
    let project = Project::new();
    // An earlier lambda-rt tagged its roles (with the functions using them) but not its
    // functions.
    create_by_hand(
        &aws,
        &project,
        &[
            ("managed-by", "lambda-rt"),
            ("lambda-rt:function:bash-runtime", ""),
        ],
    )
    .await;
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--role-name", "made-by-hand-role"],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "created by an earlier lambda-rt");
    assert_eq!(
        tags(&aws).await.get("managed-by").map(String::as_str),
        Some("lambda-rt")
    );
}

/// A hand-made function that happens to use the lambda-rt role of *another* function is not an
/// earlier lambda-rt's: `update` and `delete` refuse it (exit 4) and write nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_function_on_another_functions_lambda_rt_role_is_not_ours() {
    let aws = Aws::start();
    let project = Project::new();
    create_by_hand(
        &aws,
        &project,
        &[
            ("managed-by", "lambda-rt"),
            ("lambda-rt:function:another-function", ""),
        ],
    )
    .await;
    for command in ["update", "delete"] {
        aws.start_counting();
        let out = lambda_rt(
            project.path(),
            &aws.env(),
            &[command, "--role-name", "made-by-hand-role"],
        );
        assert_exit(&out, 4);
        assert_stderr_has(&out, "not created by lambda-rt");
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{command}");
    }
    assert!(tags(&aws).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_role_goes_with_its_last_function() {
    let aws = Aws::start();
    let project = Project::new();
    let run = |args: &[&str]| lambda_rt(project.path(), &aws.env(), args);
    for name in ["first", "second"] {
        assert_exit(
            &run(&["create", "--function-name", name, "--role-name", "shared"]),
            0,
        );
    }
    let iam = aws.moto.iam().await;
    let role = iam
        .get_role()
        .role_name("shared")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let users: Vec<&str> = role
        .tags()
        .iter()
        .filter_map(|t| t.key().strip_prefix("lambda-rt:function:"))
        .collect();
    assert_eq!(users, vec!["first", "second"]);

    let out = run(&[
        "delete",
        "--function-name",
        "first",
        "--role-name",
        "shared",
    ]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "kept  role `shared` - still used by function `second`",
    );
    let role = iam
        .get_role()
        .role_name("shared")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert!(
        role.tags()
            .iter()
            .all(|t| t.key() != "lambda-rt:function:first"),
        "{role:?}"
    );

    let out = run(&[
        "delete",
        "--function-name",
        "second",
        "--role-name",
        "shared",
    ]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  role `shared`");
    assert!(iam.get_role().role_name("shared").send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn links_out_of_the_project_are_refused_before_anything_is_zipped_or_sent() {
    let aws = Aws::start();
    let outside = tempfile::tempdir().unwrap();
    let secret = "TOP-SECRET-4f1c9e";
    std::fs::create_dir_all(outside.path().join("home/.ssh")).unwrap();
    std::fs::write(outside.path().join("home/.ssh/id_rsa"), secret).unwrap();
    std::fs::write(outside.path().join("token"), secret).unwrap();

    type Setup = fn(&Project, &std::path::Path);
    let cases: [(&str, Setup); 4] = [
        ("a directory outside", |p, outside| {
            symlink(outside.join("home"), p.path().join("function/vendor")).unwrap()
        }),
        ("a file outside", |p, outside| {
            symlink(outside.join("token"), p.path().join("function/token")).unwrap()
        }),
        ("a loop", |p, _| {
            symlink(p.path().join("function"), p.path().join("function/again")).unwrap()
        }),
        // `/tmp/x-secrets` starts with the text `/tmp/x` but is not inside it: containment is by
        // path components, not by string prefix.
        ("a sibling whose name extends the project's", |p, _| {
            let sibling = std::path::PathBuf::from(format!("{}-secrets", p.path().display()));
            std::fs::create_dir_all(&sibling).unwrap();
            std::fs::write(sibling.join("key"), "TOP-SECRET-4f1c9e").unwrap();
            symlink(sibling.join("key"), p.path().join("function/key")).unwrap()
        }),
    ];
    for (case, setup) in cases {
        let project = Project::new();
        setup(&project, outside.path());
        for args in [
            &["invoke", "--local"][..],
            &["create", "--dry-run"],
            &["create"],
        ] {
            aws.start_counting();
            let out = lambda_rt(project.path(), &aws.env(), args);
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(err.contains("function/"), "{case} {args:?}: {err}");
            assert!(
                err.contains("outside the project") || err.contains("loop"),
                "{case} {args:?}: {err}"
            );
            assert!(!err.contains(secret) && !stdout(&out).contains(secret));
            aws.assert_no_requests("a project with a link out of it is refused before any call");
        }
        let _ = std::fs::remove_dir_all(format!("{}-secrets", project.path().display()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crlf_bootstrap_is_refused_before_any_call() {
    let aws = Aws::start();
    let project = Project::new();
    let bootstrap = std::fs::read_to_string(project.path().join("runtime/bootstrap")).unwrap();
    project.write("runtime/bootstrap", &bootstrap.replace('\n', "\r\n"));
    aws.start_counting();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "runtime/bootstrap");
    assert_stderr_has(&out, "CRLF");
    aws.assert_no_requests("a CRLF bootstrap is refused before any call");
}

#[test]
fn setuid_bits_survive_neither_in_zips_nor_in_the_local_task_root() {
    require_runtime_tools();
    let project = Project::new();
    project.write(
        "function/test.sh",
        "modes () { stat -c '%a' \"$LAMBDA_TASK_ROOT/tool\" \"$LAMBDA_TASK_ROOT/data\"; }\n",
    );
    project.write("function/tool", "#!/bin/sh\n");
    project.write("function/data", "x");
    let set = |name: &str, mode: u32| {
        std::fs::set_permissions(
            project.path().join(name),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap()
    };
    set("function/tool", 0o4755);
    set("function/data", 0o2644);

    let zip =
        lambda_rt::package::function_zip(&settings_with(project.path(), |_| {}), true).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(&zip.bytes)).unwrap();
    for (name, mode) in [("tool", 0o755), ("data", 0o644)] {
        let entry = archive.by_name(name).unwrap();
        assert_eq!(entry.unix_mode().unwrap() & 0o7777, mode, "{name}");
    }

    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--handler", "test.modes"],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["755", "644"]
    );
}
