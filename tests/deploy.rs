//! create / update / invoke / delete: the real binary against a real moto_server, counting the calls
//! moto received.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn full_lifecycle_is_idempotent_and_makes_only_needed_calls() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);

    // create from nothing
    let out = run(&["create", "--output", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["resources"][0]["kind"], "role");
    assert_eq!(report["resources"][0]["action"], "created");
    assert_eq!(report["resources"][1]["kind"], "function");
    assert_eq!(report["resources"][1]["action"], "created");
    let local_sha = report["code_sha256"].as_str().unwrap().to_string();

    let iam = moto.iam().await;
    let role = iam
        .get_role()
        .role_name("bash-runtime-role")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert!(role
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "lambda-rt"));
    // Trusted by Lambda and nothing else.
    let trust = urlencoding::decode(role.assume_role_policy_document().unwrap()).unwrap();
    let trust: serde_json::Value = serde_json::from_str(&trust).unwrap();
    assert_eq!(
        trust["Statement"],
        serde_json::json!([{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }])
    );
    let policies = iam
        .list_attached_role_policies()
        .role_name("bash-runtime-role")
        .send()
        .await
        .unwrap();
    let policy_names: Vec<_> = policies
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(policy_names, vec!["AWSLambdaBasicExecutionRole"]);

    let lambda = moto.lambda().await;
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert_eq!(config.code_sha256(), Some(local_sha.as_str()));
    assert_eq!(config.handler(), Some("function.handler"));
    assert_eq!(
        config.runtime().map(|r| r.as_str()),
        Some("provided.al2023")
    );
    assert_eq!(
        (config.memory_size(), config.timeout()),
        (Some(128), Some(3))
    );
    assert_eq!(config.role(), Some(role.arn()));

    // create again: reads only (the function, the role and its policies, the log group, at
    // once)
    aws.start_counting();
    let out = run(&["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "unchanged  function `bash-runtime`");
    assert_stderr_has(&out, "unchanged  log group `/aws/lambda/bash-runtime`");
    let counts = aws.counted();
    assert_eq!(counts.writes(), Vec::<String>::new());
    assert_eq!(counts.total(), 5, "{counts:?}");

    // update with nothing changed: zero writes; the function, lambda-rt's role (with its two
    // policy lists) and the log group read at once, since they are part of what update converges
    aws.start_counting();
    assert_exit(&run(&["update"]), 0);
    let counts = aws.counted();
    assert_eq!(counts.writes(), Vec::<String>::new());
    assert_eq!(counts.of_service("iam"), 3, "{counts:?}");
    assert_eq!(
        counts.total(),
        5,
        "five reads, at once, for a no-op update: {counts:?}"
    );

    // edit the handler: exactly one UpdateFunctionCode, no configuration call, no IAM write
    project.write(
        "function/function.sh",
        "function handler () {\n  printf 'changed: %s' \"$1\"\n}\n",
    );
    aws.start_counting();
    let out = run(&["update", "--output", "json"]);
    assert_exit(&out, 0);
    let counts = aws.counted();
    assert_eq!(counts.writes(), vec!["lambda:UpdateFunctionCode"]);
    let new_sha = json(&out)["code_sha256"].as_str().unwrap().to_string();
    assert_ne!(new_sha, local_sha);
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert_eq!(config.code_sha256(), Some(new_sha.as_str()));

    // --memory 256: only UpdateFunctionConfiguration
    aws.start_counting();
    let out = run(&["update", "--memory", "256"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "memory 128 → 256");
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionConfiguration"]
    );
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert_eq!(config.memory_size(), Some(256));

    // dry runs: a plan, zero writes, nothing changed
    aws.start_counting();
    let out = run(&["update", "--memory", "512", "--timeout", "10", "--dry-run"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "would update");
    assert_stderr_has(&out, "timeout 3 → 10");
    let out = run(&["create", "--env", "AA=1", "--dry-run"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "environment: added AA");
    let out = run(&["delete", "--dry-run", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["resources"][0]["action"], "would_delete");
    assert_eq!(json(&out)["dry_run"], true);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (config.memory_size(), config.timeout()),
        (Some(256), Some(3))
    );

    // create with a changed setting converges like update (memory back to the default 128)
    aws.start_counting();
    assert_exit(&run(&["create"]), 0);
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionConfiguration"]
    );

    // invoke: moto's echo backend returns the payload
    let out = run(&["invoke", "--payload", r#"{"text":"Hello"}"#]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), r#"{"text":"Hello"}"#);

    // delete: function, log group (made by create) and role are gone
    let logs = moto.logs().await;
    let out = run(&["delete"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("deleted  function `bash-runtime`"), "{err}");
    assert!(
        err.contains("deleted  log group `/aws/lambda/bash-runtime`"),
        "{err}"
    );
    assert!(err.contains("deleted  role `bash-runtime-role`"), "{err}");
    assert!(lambda
        .get_function()
        .function_name("bash-runtime")
        .send()
        .await
        .is_err());
    assert!(iam
        .get_role()
        .role_name("bash-runtime-role")
        .send()
        .await
        .is_err());
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "{groups:?}");

    // delete again: everything absent, exit 0, no writes beyond the idempotent deletes
    let out = run(&["delete"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    // function, log group, runtime layer, role
    assert_eq!(err.matches("absent").count(), 4, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn function_error_exits_with_the_function_error_code() {
    // moto's default invoke backend without Docker answers every invoke with a function error.
    let aws = Aws::over(Moto::start_with(false), proxy::Realism::default());
    let project = Project::new();
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let out = lambda_rt(project.path(), &env, &["invoke", "--payload", "{}"]);
    assert_exit(&out, 3);
    assert_stderr_has(&out, "function error (Handled)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_lambda_rt_did_not_create_is_used_but_never_changed_or_deleted() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let iam = aws.moto.iam().await;
    let trust = LAMBDA_TRUST;
    iam.create_role()
        .role_name("bash-runtime-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();

    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "kept  role `bash-runtime-role`");
    // It grants nothing beyond what a function needs: no warning.
    assert_stderr_lacks(&out, "is used as it is");
    let writes = aws.counted().writes();
    assert!(writes.iter().all(|w| !w.starts_with("iam:")), "{writes:?}");

    let out = lambda_rt(project.path(), &env, &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "not created by lambda-rt");
    assert!(iam
        .get_role()
        .role_name("bash-runtime-role")
        .send()
        .await
        .is_ok());
    let attached = iam
        .list_attached_role_policies()
        .role_name("bash-runtime-role")
        .send()
        .await
        .unwrap();
    assert!(
        attached.attached_policies().is_empty(),
        "lambda-rt attached a policy to a foreign role"
    );

    // A foreign role that does not trust Lambda is refused, and nothing is created.
    let other = trust.replace("lambda.amazonaws.com", "ec2.amazonaws.com");
    iam.create_role()
        .role_name("ec2-role")
        .assume_role_policy_document(other)
        .send()
        .await
        .unwrap();
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["create", "--role-name", "ec2-role"]);
    assert_exit(&out, 1);
    assert_stderr_has(&out, "does not trust lambda.amazonaws.com");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn role_arn_means_no_iam_calls_at_all() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    let env = aws.env();
    let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = moto
        .iam()
        .await
        .create_role()
        .role_name("someone-elses")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let arn = role.arn();
    aws.start_counting();
    assert_exit(
        &lambda_rt(project.path(), &env, &["create", "--role-arn", arn]),
        0,
    );
    assert_exit(
        &lambda_rt(project.path(), &env, &["update", "--role-arn", arn]),
        0,
    );
    assert_exit(
        &lambda_rt(project.path(), &env, &["delete", "--role-arn", arn]),
        0,
    );
    let counts = aws.counted();
    assert!(counts.of_service("lambda") > 0, "{counts:?}");
    assert_eq!(counts.of_service("iam"), 0, "{counts:?}");
    assert!(moto
        .iam()
        .await
        .get_role()
        .role_name("someone-elses")
        .send()
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_come_from_the_file_and_env_vars_with_flags_first() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let project = Project::new();
    project.write(
        "lambda-rt.toml",
        "function-name = \"from-file\"\nmemory = 512\ntimeout = 20\n[env]\nGREETING = \"hi\"\n",
    );
    let mut env = aws.env();
    env.push(("LAMBDA_RT_TIMEOUT".into(), "30".into()));
    let out = lambda_rt(project.path(), &env, &["create", "--memory", "1024"]);
    assert_exit(&out, 0);
    let lambda = moto.lambda().await;
    let config = lambda
        .get_function_configuration()
        .function_name("from-file")
        .send()
        .await
        .unwrap();
    assert_eq!(config.memory_size(), Some(1024));
    assert_eq!(config.timeout(), Some(30));
    let vars = config.environment().unwrap().variables().unwrap();
    assert_eq!(vars.get("GREETING").map(String::as_str), Some("hi"));
    assert!(moto
        .iam()
        .await
        .get_role()
        .role_name("from-file-role")
        .send()
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    let aws = Aws::start();
    let moto = &aws.moto;
    let env = aws.env();
    let project = Project::new();
    aws.start_counting();

    let big = format!("\"{}\"", "a".repeat(6 * 1024 * 1024));
    std::fs::write(project.path().join("big.json"), big).unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["invoke", "--payload-file", "big.json"],
            2,
            "over Lambda's 6291456-byte limit",
        ),
        (
            vec!["create", "--function-name", "bad name!"],
            2,
            "invalid function name",
        ),
        (vec!["create", "--memory", "64"], 2, "128 to 10240"),
        (vec!["create", "--timeout", "901"], 2, "1 to 900"),
        (vec!["create", "--env", "NOEQUALS"], 2, "expected KEY=VALUE"),
        (vec!["create", "--handler", "nodot"], 2, "invalid handler"),
        (
            vec!["create", "--handler", "missing.handler"],
            2,
            "function/missing.sh` does not exist",
        ),
        (
            vec!["invoke", "--payload", "{not json"],
            2,
            "is not valid JSON",
        ),
        (
            vec!["invoke", "--payload-file", "nope.json"],
            2,
            "failed to read payload file `nope.json`",
        ),
        (
            vec!["create", "--no-such-flag"],
            2,
            "unexpected argument '--no-such-flag'",
        ),
        (
            vec!["create", "--s3-key", "builds/"],
            2,
            "needs a staging bucket: give it with --s3-bucket",
        ),
        (vec!["update"], 1, "run `lambda-rt create` first"),
        (vec!["invoke"], 1, "run `lambda-rt create` first"),
    ];
    for (args, code, message) in cases {
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, code);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        let error = stderr(&out)
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default()
            .to_string();
        assert!(!error.contains("  "), "a run of spaces: {error}");
        if args.get(1) == Some(&"--memory") {
            assert_eq!(error.matches("--memory").count(), 1, "named once: {error}");
        }
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        record_bad_input(&args, &out);
    }

    // Project files: missing function/, bootstrap without a shebang.
    let no_function = Project::new();
    std::fs::remove_dir_all(no_function.path().join("function")).unwrap();
    let out = lambda_rt(no_function.path(), &env, &["create"]);
    record_bad_input(&["create (no function/ directory)"], &out);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "`function/` does not exist");

    let no_shebang = Project::new();
    no_shebang.write("runtime/bootstrap", "echo no shebang\n");
    let out = lambda_rt(no_shebang.path(), &env, &["create"]);
    record_bad_input(&["create (bootstrap without shebang)"], &out);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "has no shebang line");

    // `update` and `invoke` of the missing function read it; nothing was written.
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    let lambda = moto.lambda().await;
    assert!(lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions()
        .is_empty());
    let iam = moto.iam().await;
    let roles = iam.list_roles().send().await.unwrap();
    assert!(roles
        .roles()
        .iter()
        .all(|r| r.role_name() != "bash-runtime-role"));
}

#[test]
fn an_unreachable_endpoint_fails_with_a_clear_message() {
    let project = Project::new();
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = endpoint_env(&format!("http://127.0.0.1:{port}"));
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    // create reads the function and the role at once; either failure is reported.
    assert!(err.contains("failed to read"), "{err}");
    assert!(
        err.contains(&format!(
            "could not connect to the AWS endpoint http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.contains("after 5 attempts"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn missing_region_is_a_usage_error() {
    let project = Project::new();
    let env = vec![
        ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
        ("AWS_CONFIG_FILE".to_string(), "/dev/null".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".to_string(),
            "/dev/null".to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
    ];
    let out = lambda_rt(project.path(), &env, &["delete"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "no AWS region is configured");
}

#[test]
fn missing_credentials_get_a_hint_on_how_to_configure_them() {
    let aws = Aws::start();
    let project = Project::new();
    let env: Vec<(String, String)> = aws
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        // Never ask an instance metadata service: tests must not leave the machine.
        .chain([("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string())])
        .collect();
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("failed to read"), "{err}");
    assert!(err.contains("hint: configure AWS credentials"), "{err}");
    assert!(err.contains("no AWS credentials were found"), "{err}");
    assert!(
        !err.contains("connection"),
        "not a connection problem: {err}"
    );
    aws.assert_no_requests("nothing is sent without credentials");
}
