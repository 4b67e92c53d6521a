//! What a newcomer's second look found (issue 25): profiles that do not exist, AWS options before
//! the subcommand, and a reader that goes away mid-output.

use std::io::Read;
use std::time::Duration;

use crate::common::*;

/// `env` with the AWS config file replaced by one holding `config`.
fn with_config(
    env: &[(String, String)],
    dir: &std::path::Path,
    config: &str,
) -> Vec<(String, String)> {
    let file = dir.join("aws-config");
    std::fs::write(&file, config).unwrap();
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(key, _)| key != "AWS_CONFIG_FILE")
        .cloned()
        .collect();
    env.push(("AWS_CONFIG_FILE".into(), file.display().to_string()));
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_that_does_not_exist_is_refused_before_any_call() {
    let aws = Aws::start();
    let project = Project::new();
    let dir = tempfile::tempdir().unwrap();
    let config = "[profile dev]\naws_access_key_id = testing\naws_secret_access_key = testing\n\
                  [profile region-only]\nregion = us-east-1\n";
    let env = with_config(&aws.env(), dir.path(), config);

    let mut typo_in_env = env.clone();
    typo_in_env.push(("AWS_PROFILE".into(), "dve".into()));
    let mut typo_in_setting = env.clone();
    typo_in_setting.push(("LAMBDA_RT_PROFILE".into(), "dve".into()));
    for (env, args) in [
        (&env, vec!["status", "--profile", "dve"]),
        (&env, vec!["create", "--profile", "dve"]),
        (&typo_in_env, vec!["status"]),
        (&typo_in_setting, vec!["delete"]),
    ] {
        aws.start_counting();
        let out = lambda_rt(project.path(), env, &args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, "AWS profile `dve` is not in");
        assert_stderr_has(&out, "known profiles: dev, region-only");
        aws.assert_no_requests("a mistyped profile sends nothing, with keys in the environment");
    }

    // A named profile is used alone: the test's keys in the environment do not stand in for a
    // profile that has none.
    let out = lambda_rt(
        project.path(),
        &env,
        &["status", "--profile", "region-only"],
    );
    assert_exit(&out, 1);
    assert_stderr_has(&out, "AWS profile `region-only` gives no credentials");
    // One that exists and has keys works.
    let out = lambda_rt(project.path(), &env, &["create", "--profile", "dev"]);
    assert_exit(&out, 0);
    // AWS_PROFILE naming a real profile is fine too.
    let mut real_in_env = env.clone();
    real_in_env.push(("AWS_PROFILE".into(), "dev".into()));
    assert_exit(&lambda_rt(project.path(), &real_in_env, &["status"]), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_and_output_options_work_before_the_subcommand() {
    let aws = Aws::start();
    let project = Project::new();
    let env: Vec<(String, String)> = aws
        .env()
        .into_iter()
        .filter(|(key, _)| key != "AWS_REGION" && key != "AWS_ENDPOINT_URL")
        .collect();
    let endpoint = aws
        .env()
        .into_iter()
        .find(|(key, _)| key == "AWS_ENDPOINT_URL")
        .unwrap()
        .1;
    let out = lambda_rt(
        project.path(),
        &env,
        &[
            "--region",
            "us-east-1",
            "--endpoint-url",
            &endpoint,
            "-q",
            "create",
        ],
    );
    assert_exit(&out, 0);
    let out = lambda_rt(
        project.path(),
        &env,
        &[
            "--region=us-east-1",
            "--endpoint-url",
            &endpoint,
            "--output",
            "json",
            "-v",
            "status",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(json(&out)["command"], "status", "{}", stdout(&out));
    assert_stderr_has(&out, "GetFunction");

    // A command that takes no AWS options still refuses them, wherever they are written.
    let out = lambda_rt(project.path(), &env, &["--region", "us-east-1", "check"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "unexpected argument '--region'");
    // A subcommand's name given as an option's value is that value, not the subcommand.
    let out = lambda_rt(project.path(), &env, &["--profile", "status"]);
    assert_exit(&out, 2);
}

/// `lambda-rt completions zsh | head -1`: when the reader goes away, the command ends quietly
/// (exit 0, nothing on stderr), whatever it was printing.
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let project = Project::new();
    let commands: [&[&str]; 4] = [
        &["completions", "zsh"],
        &["completions", "bash"],
        &["invoke", "--local", "--payload", r#"{"a":1}"#],
        &["invoke", "--local", "--output", "json"],
    ];
    for args in commands {
        let child = lambda_rt_command(project.path(), &[], args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = Spawned::new(child);
        // The only read end closes before anything is written: the first write meets EPIPE.
        drop(child.child.stdout.take());
        let status = child
            .wait_for_exit(Duration::from_secs(30))
            .expect("it ended");
        let mut stderr = String::new();
        child
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_is_found_from_a_subdirectory_and_named() {
    let aws = Aws::start();
    let project = Project::new();
    let nested = project.path().join("function/lib");
    std::fs::create_dir_all(&nested).unwrap();
    let out = lambda_rt(&nested, &aws.env(), &["create"]);
    assert_exit(&out, 0);
    let root = project.path().canonicalize().unwrap();
    assert_stderr_has(&out, &format!("project: {}", root.display()));
    assert_stderr_has(&out, "created  function `bash-runtime`");
    let out = lambda_rt(&project.path().join("runtime"), &aws.env(), &["update"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "unchanged  function `bash-runtime`");
    // In the project itself, nothing more is said.
    let out = lambda_rt(project.path(), &aws.env(), &["status"]);
    assert_stderr_lacks(&out, "project:");

    // A project directory that is a file, or is not there: exit 2 before anything runs.
    aws.start_counting();
    for dir in ["/etc/passwd", "/no/such/project"] {
        let out = lambda_rt(
            project.path(),
            &aws.env(),
            &["status", "--project-dir", dir],
        );
        assert_exit(&out, 2);
        assert_stderr_has(&out, &format!("--project-dir `{dir}`"));
    }
    aws.assert_no_requests("a bad --project-dir sends nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_cannot_load_is_not_deployed() {
    let aws = Aws::start();
    let broken = Project::new().with("function/function.sh", "handler() {\n  if true; then\n}\n");
    let fine = Project::new();
    aws.start_counting();
    let cases: [(&Project, &[&str], &str); 4] = [
        (
            &broken,
            &["create"],
            "`function/function.sh` does not parse",
        ),
        (&broken, &["update"], "function/function.sh:3: syntax error"),
        (
            &fine,
            &["create", "--handler", "function.nope"],
            "does not define a function `nope`",
        ),
        (
            &fine,
            &["update", "--dry-run", "--handler", "function.nope"],
            "Runtime.HandlerNotFound",
        ),
    ];
    for (project, args, message) in cases {
        let out = lambda_rt(project.path(), &aws.env(), args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, message);
    }
    aws.assert_no_requests("a handler that cannot load is refused before AWS is asked");
    // The handler as written by `init` passes, also named with `function` and no parentheses.
    let renamed = Project::new().with(
        "function/function.sh",
        "function main {\n  echo \"$1\"\n}\n",
    );
    let out = lambda_rt(
        renamed.path(),
        &aws.env(),
        &["create", "--handler", "function.main"],
    );
    assert_exit(&out, 0);
}

#[test]
fn local_mistakes_get_messages_that_say_how_to_fix_them() {
    let here = tempfile::tempdir().unwrap();
    let out = lambda_rt(here.path(), &[], &["init", ".", "--function-name", "here"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "next: `lambda-rt invoke --local`");
    assert_stderr_lacks(&out, "cd .");

    let project = Project::new();
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload", "@ev.json"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "use --payload-file ev.json");

    let env = [("LAMBDA_RT_MEMORY".to_string(), "abc".to_string())];
    let out = lambda_rt(project.path(), &env, &["invoke", "--local"]);
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "for LAMBDA_RT_MEMORY (the environment variable of --memory)",
    );
    let out = lambda_rt(
        project.path(),
        &env,
        &["invoke", "--local", "--memory", "x"],
    );
    assert_stderr_has(&out, "for '--memory <MB>'");

    let typo = Project::new().with("lambda-rt.toml", "memroy = 256\n");
    let out = lambda_rt(typo.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "unknown key `memroy`: did you mean `memory`?");
    let wrong_type = Project::new().with("lambda-rt.toml", "memory = \"abc\"\n");
    let out = lambda_rt(wrong_type.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "expected a whole number");
    assert_stderr_lacks(&out, "i64");

    let broken = Project::new().with("function/function.sh", "handler() {\n  if true; then\n}\n");
    let out = lambda_rt(broken.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 3);
    assert_stderr_has(&out, "hint: run it again with --log");
    let out = lambda_rt(broken.path(), &[], &["invoke", "--local", "--log"]);
    assert_exit(&out, 3);
    assert_stderr_has(&out, "function/function.sh: line 3: syntax error");
    assert_stderr_lacks(&out, "lambda-rt-local.");
    assert_stderr_lacks(&out, "hint: run it again with --log");
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_commands_say_what_to_do_and_print_results_where_scripts_read_them() {
    let aws = Aws::start();
    let project = Project::new();
    for command in ["logs", "rollback", "versions"] {
        let out = lambda_rt(project.path(), &aws.env(), &[command]);
        assert_exit(&out, 1);
        assert_stderr_has(&out, "does not exist: run `lambda-rt create` first");
    }

    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["create", "--url", "--url-auth", "none"],
    );
    assert_exit(&out, 0);
    let url = stdout(&out);
    assert!(
        url.trim().starts_with("http") && url.lines().count() == 1,
        "the URL alone on stdout: {url:?}"
    );

    let out = lambda_rt(project.path(), &aws.env(), &["status", "-q"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "", "in sync: -q prints nothing");
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["status", "-q", "--memory", "256"],
    );
    assert_exit(&out, 6);
    assert!(stdout(&out).contains("memory"), "{}", stdout(&out));
    assert!(
        !stdout(&out).contains("CodeSha256"),
        "only the drift: {}",
        stdout(&out)
    );

    for alias in ["live", "a-much-longer-alias"] {
        let out = lambda_rt(
            project.path(),
            &aws.env(),
            &[
                "update",
                "--publish",
                "--alias",
                alias,
                "--description",
                alias,
            ],
        );
        assert_exit(&out, 0);
    }
    let out = lambda_rt(project.path(), &aws.env(), &["versions"]);
    assert_exit(&out, 0);
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    let description = lines[0].find("DESCRIPTION").expect("a header");
    let aliases = lines[0].find("ALIASES").expect("a header");
    assert!(lines.len() >= 2, "{table}");
    for row in &lines[1..] {
        assert!(row.len() > description, "misaligned:\n{table}");
        assert_eq!(
            row.as_bytes()[description - 1],
            b' ',
            "misaligned:\n{table}"
        );
        assert_ne!(row.as_bytes()[description], b' ', "misaligned:\n{table}");
        assert_ne!(row.as_bytes()[aliases], b' ', "misaligned:\n{table}");
    }
    assert!(table.contains("a-much-longer-alias"), "{table}");
}

/// A failed AttachRolePolicy while CreateFunction runs: the error says the function was made,
/// `status` calls the missing policy drift, and a re-run (the cause gone) finishes the job.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_half_happens_says_so_and_a_re_run_finishes_it() {
    let aws = Aws::start();
    let project = Project::new();
    aws.proxy
        .always(crate::common::proxy::Fault::ServerError, |r| {
            r.service == "iam" && r.action == "AttachRolePolicy"
        });
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["create", "--max-attempts", "1"],
    );
    assert_exit(&out, 1);
    assert_stderr_has(
        &out,
        "function `bash-runtime` was created, but its new role lacks its policy",
    );
    assert_stderr_has(&out, "run `lambda-rt create` again");
    aws.proxy.pass_through();

    let out = lambda_rt(project.path(), &aws.env(), &["status"]);
    assert_exit(&out, 6);
    assert!(
        stdout(&out).contains("role bash-runtime-role: attach AWSLambdaBasicExecutionRole"),
        "{}",
        stdout(&out)
    );
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "attach AWSLambdaBasicExecutionRole");
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["status"]), 0);
}

/// A policy attached by hand, an inline policy and a widened trust policy on lambda-rt's role are
/// drift; `update` puts the role back and a second run writes nothing. Through the realism proxy:
/// the role's policy lists come one item per page, functions are Pending and InProgress.
#[tokio::test(flavor = "multi_thread")]
async fn the_role_lambda_rt_manages_is_part_of_the_desired_state() {
    let aws = Aws::realistic();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    let iam = aws.iam().await;
    let role = "bash-runtime-role";
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn("arn:aws:iam::aws:policy/AmazonS3FullAccess")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(role)
        .policy_name("by-hand")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.update_assume_role_policy()
        .role_name(role)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com","AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();

    let out = lambda_rt(project.path(), &aws.env(), &["status"]);
    assert_exit(&out, 6);
    let report = stdout(&out);
    for drift in [
        "detach AmazonS3FullAccess",
        "delete inline policy by-hand",
        "trust policy",
    ] {
        assert!(report.contains(drift), "{drift}: {report}");
    }
    // A role write that fails does not cut the function's update short, and says so.
    aws.proxy
        .always(crate::common::proxy::Fault::ServerError, |r| {
            r.action == "DetachRolePolicy"
        });
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--max-attempts", "1", "--memory", "256"],
    );
    assert_exit(&out, 1);
    assert_stderr_has(
        &out,
        "is up to date, but its role could not be brought in line",
    );
    aws.proxy.pass_through();
    let memory = aws
        .lambda()
        .await
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap()
        .memory_size();
    assert_eq!(memory, Some(256));

    let out = lambda_rt(project.path(), &aws.env(), &["update"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "detach AmazonS3FullAccess");
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(names, ["AWSLambdaBasicExecutionRole"]);
    assert!(iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names()
        .is_empty());
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["update"]), 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["status"]), 0);
}

/// `update --adopt` of a function made with its own role keeps that role (the project names none)
/// and never points it at a role that does not exist; later runs keep it too. Through the realism
/// proxy, so the named role made by `update` is refused by Lambda until IAM has propagated it.
#[tokio::test(flavor = "multi_thread")]
async fn an_adopted_function_keeps_its_own_role() {
    let aws = Aws::realistic();
    let project = Project::new();
    let iam = aws.iam().await;
    let manual = iam
        .create_role()
        .role_name("manual-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    // Made by someone else, with their own role.
    let made = lambda_rt(
        project.path(),
        &aws.env(),
        &["create", "--role-arn", &manual],
    );
    assert_exit(&made, 0);
    let lambda = aws.lambda().await;
    let arn = lambda
        .get_function()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap()
        .configuration
        .unwrap()
        .function_arn
        .unwrap();
    lambda
        .untag_resource()
        .resource(&arn)
        .tag_keys("managed-by")
        .send()
        .await
        .unwrap();

    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--adopt", "--memory", "256"],
    );
    assert_exit(&out, 0);
    assert_stderr_lacks(&out, "bash-runtime-role");
    let role_of = || async {
        lambda
            .get_function()
            .function_name("bash-runtime")
            .send()
            .await
            .unwrap()
            .configuration
            .unwrap()
            .role
            .unwrap()
    };
    assert_eq!(role_of().await, manual);
    assert!(
        iam.get_role()
            .role_name("bash-runtime-role")
            .send()
            .await
            .is_err(),
        "no role made"
    );
    // Later runs, without --adopt, keep it as well and see no drift.
    assert_exit(
        &lambda_rt(project.path(), &aws.env(), &["update", "--memory", "256"]),
        0,
    );
    assert_eq!(role_of().await, manual);
    assert_exit(
        &lambda_rt(project.path(), &aws.env(), &["status", "--memory", "256"]),
        0,
    );

    // A project that names a role of lambda-rt's gets it made first, then used.
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--memory", "256", "--role-name", "named-role"],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "created  role `named-role`");
    assert!(role_of().await.ends_with(":role/named-role"));
}

/// Values over the limits AWS documents are refused before anything is sent (exit 2), including
/// the names lambda-rt derives from others.
#[tokio::test(flavor = "multi_thread")]
async fn values_aws_would_refuse_are_refused_before_sending() {
    let aws = Aws::start();
    let project = Project::new();
    let long_prefix = "p".repeat(1020);
    let long_name = "f".repeat(60);
    let long_filter = "x".repeat(1025);
    let long_origin = format!("https://{}.example", "o".repeat(250));
    let many_origins: Vec<String> = (0..101)
        .flat_map(|i| ["--cors-origin".to_string(), format!("https://{i}.example")])
        .collect();
    let mut too_many: Vec<String> = ["create", "--url", "--url-auth", "iam"]
        .map(String::from)
        .to_vec();
    too_many.extend(many_origins);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["invoke", "--qualifier", "live/1"], "1 to 128 letters"),
        (
            vec!["invoke", "--qualifier", &long_filter[..129]],
            "1 to 128 letters",
        ),
        (
            vec!["logs", "--filter", &long_filter],
            "over CloudWatch Logs' limit of 1024",
        ),
        (
            vec!["create", "--url", "--url-auth", "iam", "--cors-origin", ""],
            "1 to 253 characters",
        ),
        (
            vec![
                "create",
                "--url",
                "--url-auth",
                "iam",
                "--cors-origin",
                &long_origin,
            ],
            "1 to 253 characters",
        ),
        (
            too_many.iter().map(String::as_str).collect(),
            "over the 100",
        ),
        (
            vec!["create", "--s3-bucket", "bucket", "--s3-key", &long_prefix],
            "over S3's limit of 1024",
        ),
        (
            vec!["create", "--function-name", &long_name],
            "over IAM's limit of 64",
        ),
        (vec!["delete", "--function-name", &long_name], "--role-name"),
        (vec!["create", "--env", "A=1"], "two characters"),
    ];
    aws.start_counting();
    for (args, message) in cases {
        let out = lambda_rt(project.path(), &aws.env(), &args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, message);
    }
    aws.assert_no_requests("nothing AWS would refuse is sent");
}
