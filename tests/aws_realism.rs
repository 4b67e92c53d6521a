//! lambda-rt on real-AWS behaviour: the real binary against moto behind the realism proxy
//! (`tests/common/proxy/`), which adds latency, Pending and InProgress states with their 409s, IAM
//! propagation refusals, one-item pages, RevisionIds, Failed and Inactive states, slow Invokes and
//! concurrent writers, and counts every request. Durations are a few hundred milliseconds.

use std::time::Duration;

use crate::common::proxy::{Realism, Reason};
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

fn run(aws: &Aws, project: &Project, args: &[&str]) -> std::process::Output {
    lambda_rt(project.path(), &aws.env(), args)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_cycle_converges_and_every_rerun_is_write_free() {
    let aws = Aws::realistic();
    let project = Project::new();
    let steps: [(&str, &[&str]); 6] = [
        ("create", &["create"]),
        ("update (code)", &["update"]),
        ("update (memory)", &["update", "--memory", "256"]),
        ("publish-layer", &["publish-layer"]),
        ("invoke", &["invoke", "--payload", r#"{"a":1}"#]),
        ("delete", &["delete"]),
    ];
    for (label, args) in steps {
        if label == "update (code)" {
            project.write(
                "function/function.sh",
                "handler () { printf 'v2: %s' \"$1\"; }\n",
            );
        }
        aws.start_counting();
        let out = run(&aws, &project, args);
        assert_exit(&out, 0);
        let first = aws.counted();
        if label == "invoke" {
            assert_eq!(stdout(&out), r#"{"a":1}"#);
            continue;
        }
        assert!(!first.writes().is_empty(), "{label}: {first:?}");
        // The same command again changes nothing.
        aws.start_counting();
        let again = run(&aws, &project, args);
        assert_exit(&again, 0);
        let counts = aws.counted();
        assert_eq!(
            counts.writes(),
            Vec::<String>::new(),
            "{label} again: {counts:?}"
        );
        if label != "delete" {
            // The function, lambda-rt's role with its two policy lists, and the log group, read
            // at once.
            assert!(counts.reads() <= 5, "{label} again: {counts:?}");
        }
    }
    // The realism really was in the way: the new role was refused until it propagated.
    let refusals = aws.proxy.refusals();
    assert!(
        refusals.get("400 role not assumable").copied() >= Some(1),
        "{refusals:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_role_is_retried_until_iam_has_propagated_it() {
    let aws = Aws::realistic();
    let project = Project::new();
    aws.start_counting();
    let out = run(&aws, &project, &["create"]);
    assert_exit(&out, 0);
    let counts = aws.counted();
    assert!(
        aws.proxy.refusals().get("400 role not assumable").copied() >= Some(1),
        "IAM propagation never refused the role: {:?}",
        aws.proxy.refusals()
    );
    assert!(counts.get("lambda:CreateFunction") >= 2, "{counts:?}");
    assert_stderr_has(&out, "waiting for IAM to propagate role");
    assert!(
        stderr(&out).contains("to become Active (Pending"),
        "the wait names the state it waits on: {}",
        stderr(&out)
    );
    // Created once, Active when lambda-rt returned.
    let config = aws
        .lambda()
        .await
        .get_function_configuration()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(config.state().map(|s| s.as_str()), Some("Active"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_invoke_is_sent_once_whatever_the_read_timeout() {
    let aws = Aws::with(Realism {
        invoke_delay: Duration::from_millis(700),
        ..Realism::default()
    });
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);

    // The control-plane read timeout (0.2 s) is far shorter than the function's run (0.7 s): the
    // Invoke has its own, so it waits, once.
    aws.start_counting();
    let out = run(
        &aws,
        &project,
        &["invoke", "--read-timeout", "0.2", "--payload", r#"{"n":1}"#],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), r#"{"n":1}"#);
    assert_eq!(aws.counted().get("lambda:Invoke"), 1);

    // Default settings: one request in all, no prior read.
    aws.start_counting();
    let out = run(&aws, &project, &["invoke", "--payload", r#"{"n":2}"#]);
    assert_exit(&out, 0);
    let counts = aws.counted();
    assert_eq!(counts.get("lambda:Invoke"), 1, "{counts:?}");
    assert_eq!(
        counts.total(),
        1,
        "invoke of an Active function is one request: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoke_whose_answer_is_lost_is_not_sent_again_and_says_so() {
    let aws = Aws::with(Realism {
        invoke_delay: Duration::from_millis(1500),
        ..Realism::default()
    });
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    aws.start_counting();
    let out = run(&aws, &project, &["invoke", "--invoke-timeout", "0.3"]);
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("the function may have run"), "{err}");
    assert!(err.contains("not sent again"), "{err}");
    assert_eq!(aws.counted().get("lambda:Invoke"), 1);

    // A connection dropped after the request reached Lambda: the same.
    aws.proxy
        .always(crate::common::proxy::Fault::ResetAfter, |r| {
            r.action == "Invoke"
        });
    aws.start_counting();
    let out = run(&aws, &project, &["invoke", "--max-attempts", "5"]);
    assert_exit(&out, 5);
    assert_eq!(aws.counted().get("lambda:Invoke"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inactive_function_is_woken_and_invoked_once() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    aws.proxy.make_inactive(FUNCTION);
    aws.start_counting();
    let out = run(&aws, &project, &["invoke", "--payload", r#"{"wake":true}"#]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), r#"{"wake":true}"#);
    let counts = aws.counted();
    // Refused once (Inactive, which starts waking it), then sent again once it was Active.
    assert_eq!(aws.proxy.refusals().get("409 Inactive"), Some(&1));
    assert_eq!(counts.get("lambda:Invoke"), 2, "{counts:?}");
    assert!(counts.get("lambda:GetFunction") >= 1, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoke_of_a_pending_function_waits_for_active() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    // Recreate it behind lambda-rt's back, so that it is Pending when the Invoke arrives.
    let lambda = aws.lambda().await;
    let code = lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let arn = code.configuration().unwrap().role().unwrap().to_string();
    lambda
        .delete_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let zip =
        lambda_rt::package::function_zip(&settings_with(project.path(), |_| {}), true).unwrap();
    create_function_directly(&lambda, FUNCTION, &arn, "function.handler", zip.bytes).await;
    aws.start_counting();
    let out = run(&aws, &project, &["invoke", "--payload", "[1]"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "[1]");
    assert_eq!(aws.proxy.refusals().get("409 Pending"), Some(&1));
    assert_eq!(aws.counted().get("lambda:Invoke"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_change_converges_while_the_new_role_propagates() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    let before = aws
        .proxy
        .refusals()
        .get("400 role not assumable")
        .copied()
        .unwrap_or(0);
    let out = run(&aws, &project, &["create", "--role-name", "other-role"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "created  role `other-role`");
    let after = aws
        .proxy
        .refusals()
        .get("400 role not assumable")
        .copied()
        .unwrap_or(0);
    assert!(
        after > before,
        "the new role was never refused: {:?}",
        aws.proxy.refusals()
    );
    let config = aws
        .lambda()
        .await
        .get_function_configuration()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert!(
        config.role().unwrap().ends_with("/other-role"),
        "{config:?}"
    );
    // And again: nothing to do.
    aws.start_counting();
    assert_exit(
        &run(&aws, &project, &["create", "--role-name", "other-role"]),
        0,
    );
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_interrupted_after_create_role_converges_while_the_role_propagates() {
    let aws = Aws::with(Realism {
        iam_propagation: Duration::from_millis(1500),
        ..Realism::short()
    });
    let project = Project::new();
    aws.proxy.hold(|r| r.action == "CreateFunction");
    let mut child = Spawned::new(
        lambda_rt_command(project.path(), &aws.env(), &["create"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        aws.proxy.wait_held(Duration::from_secs(30)),
        "CreateFunction never came"
    );
    child.signal(nix::sys::signal::Signal::SIGTERM);
    let status = child.wait_for_exit(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(130));
    aws.proxy.release();

    // The role exists and is young; the re-run finds it and waits out its propagation.
    let out = run(&aws, &project, &["create"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("unchanged  role") || stderr(&out).contains("updated  role"),
        "{}",
        stderr(&out)
    );
    assert_stderr_has(&out, "created  function");
    assert!(
        aws.proxy.refusals().get("400 role not assumable").copied() >= Some(1),
        "{:?}",
        aws.proxy.refusals()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_with_many_policies_and_an_instance_profile_is_deleted_through_one_item_pages() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    let iam = aws.iam().await;
    let role = "bash-runtime-role";
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn("arn:aws:iam::aws:policy/AWSLambdaExecute")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(role)
        .policy_name("inline")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.create_instance_profile()
        .instance_profile_name("profile")
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name("profile")
        .role_name(role)
        .send()
        .await
        .unwrap();

    aws.start_counting();
    let out = run(&aws, &project, &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  role `bash-runtime-role`");
    let counts = aws.counted();
    // Two managed policies take two pages (one item each).
    assert!(
        counts.get("iam:ListAttachedRolePolicies") >= 2,
        "{counts:?}"
    );
    assert_eq!(counts.get("iam:DetachRolePolicy"), 2, "{counts:?}");
    assert_eq!(counts.get("iam:DeleteRolePolicy"), 1, "{counts:?}");
    assert_eq!(
        counts.get("iam:RemoveRoleFromInstanceProfile"),
        1,
        "{counts:?}"
    );
    assert!(
        iam.get_role().role_name(role).send().await.is_err(),
        "the role is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_function_makes_even_a_no_op_update_fail_with_the_reason() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);

    aws.proxy.fail_last_update(
        FUNCTION,
        Reason::new(
            "EniLimitExceeded",
            "The ENI limit of the account was reached.",
        ),
    );
    aws.start_counting();
    let out = run(&aws, &project, &["update"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("the last update of function `bash-runtime` failed"),
        "{err}"
    );
    assert!(err.contains("EniLimitExceeded"), "{err}");
    assert!(
        err.contains("The ENI limit of the account was reached."),
        "{err}"
    );
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    // --force sends it again; once the cause is gone it goes through.
    let out = run(&aws, &project, &["update", "--force"]);
    assert_exit(&out, 0);

    aws.proxy.fail_function(
        FUNCTION,
        Reason::new("InvalidSubnet", "The subnet does not exist."),
    );
    let out = run(&aws, &project, &["update"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("is in state Failed (InvalidSubnet)"), "{err}");
    assert!(err.contains("The subnet does not exist."), "{err}");

    // An update whose own result is Failed is reported too.
    let aws = Aws::realistic();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    aws.proxy.fail_next_update(
        FUNCTION,
        Reason::new(
            "KMSAccessDeniedException",
            "Lambda could not use the KMS key.",
        ),
    );
    let out = run(&aws, &project, &["update", "--memory", "512"]);
    assert_exit(&out, 1);
    assert_stderr_has(&out, "KMSAccessDeniedException");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_changed_by_someone_else_meanwhile_is_re_read_and_re_planned() {
    let aws = Aws::with(Realism {
        // The other writer's update completes at once, so lambda-rt's stale write is refused
        // (412) rather than held back (409).
        in_progress: Duration::ZERO,
        ..Realism::short()
    });
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    aws.proxy.change_after_next_read(
        FUNCTION,
        r#"{"Description":"changed by someone else","Timeout":30}"#,
    );
    let out = run(&aws, &project, &["update", "--memory", "256"]);
    assert_exit(&out, 0);
    assert!(
        aws.proxy.changed_behind(),
        "the concurrent change never happened"
    );
    assert_eq!(aws.proxy.refusals().get("412 stale RevisionId"), Some(&1));
    let err = stderr(&out);
    assert!(err.contains("changed since lambda-rt read it"), "{err}");
    assert!(err.contains("re-planned"), "{err}");
    // The second plan saw the other writer's change and says what it undid.
    assert!(err.contains("timeout 30 → 3"), "{err}");
    let config = aws
        .lambda()
        .await
        .get_function_configuration()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(config.memory_size(), Some(256));
    assert_eq!(config.timeout(), Some(3));
    assert_eq!(config.description(), Some(""));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_waits_for_an_update_in_progress() {
    let aws = Aws::with(Realism {
        in_progress: Duration::from_millis(600),
        ..Realism::short()
    });
    let project = Project::new();
    assert_exit(&run(&aws, &project, &["create"]), 0);
    // Someone else starts an update; lambda-rt's delete arrives while it is in progress.
    aws.lambda()
        .await
        .update_function_configuration()
        .function_name(FUNCTION)
        .memory_size(1024)
        .send()
        .await
        .unwrap();
    let out = run(&aws, &project, &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  function");
    assert_stderr_has(&out, "to finish updating");
}
