//! The rest of the function's configuration (issue 27): /tmp size, X-Ray tracing, and the log
//! format with its levels — sent at creation, converged with only the fields that differ, drift
//! reported, bad values refused before any request. moto forgets these in
//! UpdateFunctionConfiguration (and LoggingConfig altogether); the realism proxy keeps them as
//! Lambda does, so every read here goes through it.

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

/// `(ephemeral storage, tracing mode, log format, application level, system level)` as Lambda
/// reports them.
async fn configuration(aws: &Aws) -> (i32, String, String, String, String) {
    let config = aws.function_configuration(FUNCTION).await;
    let logging = config
        .logging_config()
        .cloned()
        .unwrap_or_else(|| aws_sdk_lambda::types::LoggingConfig::builder().build());
    (
        config.ephemeral_storage().map_or(0, |e| e.size()),
        config
            .tracing_config()
            .and_then(|t| t.mode())
            .map_or("", |m| m.as_str())
            .to_string(),
        logging.log_format().map_or("", |f| f.as_str()).to_string(),
        logging
            .application_log_level()
            .map_or("", |l| l.as_str())
            .to_string(),
        logging
            .system_log_level()
            .map_or("", |l| l.as_str())
            .to_string(),
    )
}

fn expected(storage: i32, tracing: &str, app: &str) -> (i32, String, String, String, String) {
    (
        storage,
        tracing.into(),
        "JSON".into(),
        app.into(),
        "INFO".into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_tracing_and_log_format_are_sent_converged_and_drift_is_reported() {
    let aws = Aws::with(Realism::short());
    let project = Project::new().with(
        "lambda-rt.toml",
        "ephemeral-storage = 2048\ntracing = \"active\"\nlog-format = \"json\"\n\
         application-log-level = \"debug\"\n",
    );
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(configuration(&aws).await, expected(2048, "Active", "DEBUG"));

    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // One setting changed: one UpdateFunctionConfiguration carrying only it.
    project.write(
        "lambda-rt.toml",
        "ephemeral-storage = 4096\ntracing = \"active\"\nlog-format = \"json\"\n\
         application-log-level = \"debug\"\n",
    );
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["update"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "ephemeral storage 2048 → 4096");
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionConfiguration"]
    );
    let sent = aws.proxy.bodies("lambda:UpdateFunctionConfiguration");
    let last = sent.last().unwrap().as_object().unwrap();
    let keys: Vec<&str> = last.keys().map(String::as_str).collect();
    assert_eq!(keys, ["EphemeralStorage", "RevisionId"], "{last:?}");
    assert_eq!(configuration(&aws).await, expected(4096, "Active", "DEBUG"));

    // Changed by hand: drift, and `update` puts it back.
    // (after the proxy's InProgress of 200 ms, which would refuse this write with a 409)
    std::thread::sleep(std::time::Duration::from_millis(600));
    aws.lambda()
        .await
        .update_function_configuration()
        .function_name(FUNCTION)
        .tracing_config(
            aws_sdk_lambda::types::TracingConfig::builder()
                .mode(aws_sdk_lambda::types::TracingMode::PassThrough)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_drift(project.path(), &env, &["tracing PassThrough → Active"]);
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    assert_eq!(configuration(&aws).await, expected(4096, "Active", "DEBUG"));

    // Back to the defaults when the settings go: /tmp 512, PassThrough, Text.
    project.write("lambda-rt.toml", "");
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    let (storage, tracing, format, ..) = configuration(&aws).await;
    assert_eq!(
        (storage, tracing.as_str(), format.as_str()),
        (512, "PassThrough", "Text")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn values_lambda_refuses_are_usage_errors_before_any_request() {
    let aws = Aws::start();
    let project = Project::new();
    aws.start_counting();
    assert_usage_errors(project.path(), &aws.env(), &[
        (
            &["create", "--ephemeral-storage", "100"][..],
            "invalid ephemeral storage 100 MB (from --ephemeral-storage): Lambda gives /tmp 512 to 10240 MB",
        ),
        (
            &["create", "--tracing", "loud"][..],
            "invalid tracing `loud` (from --tracing): use active, passthrough",
        ),
        (
            &["create", "--log-format", "xml"][..],
            "invalid log format `xml` (from --log-format): use text, json",
        ),
        (
            &["create", "--application-log-level", "debug"][..],
            "log levels (from --application-log-level) need JSON logs",
        ),
        (
            &["create", "--log-format", "json", "--system-log-level", "trace"][..],
            "invalid system log level `trace` (from --system-log-level): use debug, info, warn",
        ),
    ]);
    aws.assert_no_requests("refused configuration values");
}

/// The function's reserved concurrency as GetFunction reports it (through the proxy).
async fn reserved(aws: &Aws) -> Option<i32> {
    let function = aws
        .lambda()
        .await
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    function
        .concurrency()
        .and_then(|c| c.reserved_concurrent_executions())
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_concurrency_is_set_converged_and_removed() {
    let aws = Aws::with(Realism::short());
    let project = Project::new().with("lambda-rt.toml", "reserved-concurrency = 5\n");
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(reserved(&aws).await, Some(5));
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // Changed by hand: drift, then restored.
    aws.lambda()
        .await
        .put_function_concurrency()
        .function_name(FUNCTION)
        .reserved_concurrent_executions(7)
        .send()
        .await
        .unwrap();
    assert_drift(project.path(), &env, &["reserved concurrency 7 → 5"]);
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:PutFunctionConcurrency"]
    );
    assert_eq!(reserved(&aws).await, Some(5));

    // 0 stops the function, and a re-run still writes nothing.
    for (setting, wanted, write) in [
        ("0", Some(0), "lambda:PutFunctionConcurrency"),
        ("\"none\"", None, "lambda:DeleteFunctionConcurrency"),
    ] {
        project.write(
            "lambda-rt.toml",
            &format!("reserved-concurrency = {setting}\n"),
        );
        assert_eq!(aws.writes_of(project.path(), &["update"]), [write]);
        assert_eq!(reserved(&aws).await, wanted);
        assert_eq!(
            aws.writes_of(project.path(), &["update"]),
            Vec::<String>::new()
        );
    }

    // Not in the project: left as it is.
    aws.lambda()
        .await
        .put_function_concurrency()
        .function_name(FUNCTION)
        .reserved_concurrent_executions(3)
        .send()
        .await
        .unwrap();
    project.write("lambda-rt.toml", "");
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    for bad in ["-1", "lots"] {
        let args = ["update", "--reserved-concurrency", bad];
        aws.start_counting();
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, 2);
        assert_stderr_has(
            &out,
            &format!("invalid reserved concurrency `{bad}` (from --reserved-concurrency)"),
        );
        record_bad_input(&args, &out);
        aws.assert_no_requests("a refused reserved concurrency");
    }
}

/// The function's tags (through the proxy), sorted.
async fn tags(aws: &Aws) -> Vec<(String, String)> {
    let function = aws
        .lambda()
        .await
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    sorted_tags(function.tags())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_projects_tags_are_exactly_the_functions_user_tags() {
    let aws = Aws::with(Realism::short());
    let project = Project::new().with("lambda-rt.toml", "[tags]\nteam = \"data\"\ncost = \"1\"\n");
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let owner = ("managed-by", "lambda-rt");
    assert_eq!(
        tags(&aws).await,
        pairs(&[("cost", "1"), owner, ("team", "data")])
    );
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // One changed, one gone, one added by hand: drift, then exactly the project's.
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}");
    aws.lambda()
        .await
        .tag_resource()
        .resource(&arn)
        .tags("extra", "x")
        .send()
        .await
        .unwrap();
    project.write("lambda-rt.toml", "[tags]\ncost = \"2\"\n");
    assert_drift(
        project.path(),
        &env,
        &[
            "tag cost 1 → 2",
            "tag extra: removed x",
            "tag team: removed data",
        ],
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:TagResource", "lambda:UntagResource"]
    );
    assert_eq!(tags(&aws).await, pairs(&[("cost", "2"), owner]));

    // Without a [tags] table, tags are left as they are.
    project.write("lambda-rt.toml", "");
    aws.lambda()
        .await
        .tag_resource()
        .resource(&arn)
        .tags("extra", "x")
        .send()
        .await
        .unwrap();
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    aws.start_counting();
    for (tag, message) in [
        ("managed-by=me", "tag `managed-by` (from --tag) is reserved"),
        (
            "lambda-rt:x=1",
            "tag `lambda-rt:x` (from --tag) is reserved",
        ),
        (
            "noequals",
            "invalid tag `noequals` (from --tag): expected KEY=VALUE",
        ),
    ] {
        let args = ["update", "--tag", tag];
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, message);
        record_bad_input(&args, &out);
    }
    aws.assert_no_requests("refused tags");
}

/// Publishes layer `name` straight through the Lambda API (someone else's tool layer); the version
/// ARN.
async fn tool_layer(aws: &Aws, name: &str) -> String {
    publish_foreign_layer(&aws.lambda().await, name).await
}

/// The layer versions attached to the function (through the proxy), by `name:version`.
async fn attached(aws: &Aws) -> Vec<String> {
    attached_layers(&aws.lambda().await, FUNCTION)
        .await
        .iter()
        .map(|arn| arn.splitn(7, ':').nth(6).unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn extra_layers_come_first_and_the_runtime_layer_stays_last() {
    let aws = Aws::with(Realism::short());
    let jq = tool_layer(&aws, "jq").await;
    let tools = tool_layer(&aws, "tools").await;
    let project = Project::new().with("lambda-rt.toml", &format!("layers = [\"{jq}\"]\n"));
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(attached(&aws).await, ["jq:1"]);
    assert_exit(&lambda_rt(project.path(), &env, &["publish-layer"]), 0);
    assert_eq!(attached(&aws).await, ["jq:1", "bash-runtime-layer:1"]);
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );

    // Another layer first: one configuration write; the runtime layer keeps its place, last.
    project.write(
        "lambda-rt.toml",
        &format!("layers = [\"{tools}\", \"{jq}\"]\n"),
    );
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["update"]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "layers jq:1, bash-runtime-layer:1 → tools:1, jq:1, bash-runtime-layer:1",
    );
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionConfiguration"]
    );
    assert_eq!(
        attached(&aws).await,
        ["tools:1", "jq:1", "bash-runtime-layer:1"]
    );

    // Five listed plus the runtime layer is one too many: refused before any write.
    let five: Vec<String> = (1..=5)
        .map(|i| format!("\"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1\""))
        .collect();
    project.write(
        "lambda-rt.toml",
        &format!("layers = [{}]\n", five.join(", ")),
    );
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["update"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "6 layers with the runtime layer `bash-runtime-layer`");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());

    // `delete` takes the runtime layer's versions and leaves the others' layers.
    project.write("lambda-rt.toml", "");
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    let lambda = aws.lambda().await;
    assert_eq!(layer_versions(&lambda, "jq").await, [1]);
    assert_eq!(layer_versions(&lambda, "tools").await, [1]);
    assert!(layer_versions(&lambda, "bash-runtime-layer")
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn layers_that_are_not_layer_versions_are_refused() {
    let aws = Aws::start();
    let project = Project::new();
    aws.start_counting();
    let six: Vec<String> = (1..=6)
        .map(|i| format!("arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1"))
        .collect();
    let mut six_args = vec!["create"];
    for arn in &six {
        six_args.extend(["--layer", arn.as_str()]);
    }
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[
            (
                &["create", "--layer", "jq"][..],
                "invalid layer `jq` (from --layer): give a layer version's ARN",
            ),
            (
                &[
                    "create",
                    "--layer",
                    "arn:aws:lambda:us-east-1:123456789012:layer:jq",
                ][..],
                "invalid layer `arn:aws:lambda:us-east-1:123456789012:layer:jq` (from --layer)",
            ),
            (
                &six_args[..],
                "6 layers (from --layer): Lambda attaches at most 5",
            ),
        ],
    );
    aws.assert_no_requests("refused layers");
}

const VPC_ACCESS: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";

/// `(subnets, security groups)` of the function (through the proxy); empty lists: no VPC.
async fn vpc(aws: &Aws) -> (Vec<String>, Vec<String>) {
    let config = aws.function_configuration(FUNCTION).await;
    config.vpc_config().map_or((Vec::new(), Vec::new()), |v| {
        (v.subnet_ids().to_vec(), v.security_group_ids().to_vec())
    })
}

async fn role_policies(aws: &Aws) -> Vec<String> {
    let listed = aws
        .moto
        .iam()
        .await
        .list_attached_role_policies()
        .role_name("bash-runtime-role")
        .send()
        .await
        .unwrap();
    listed
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_in_a_vpc_gets_its_role_the_vpc_access_policy() {
    let aws = Aws::with(Realism::short());
    let project = Project::new().with(
        "lambda-rt.toml",
        "vpc-subnets = [\"subnet-0abc1234\", \"subnet-0def5678\"]\n\
         vpc-security-groups = [\"sg-0abc1234\"]\n",
    );
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let (subnets, groups) = vpc(&aws).await;
    let mut subnets = subnets;
    subnets.sort();
    assert_eq!(subnets, ["subnet-0abc1234", "subnet-0def5678"]);
    assert_eq!(groups, ["sg-0abc1234"]);
    assert!(role_policies(&aws).await.contains(&VPC_ACCESS.to_string()));
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // Out of the VPC: the configuration and the policy both go.
    project.write("lambda-rt.toml", "");
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["update"]);
    assert_exit(&out, 0);
    let mut writes = aws.counted().writes();
    writes.sort();
    assert_eq!(
        writes,
        ["iam:DetachRolePolicy", "lambda:UpdateFunctionConfiguration"]
    );
    assert_eq!(vpc(&aws).await, (Vec::new(), Vec::new()));
    assert!(!role_policies(&aws).await.contains(&VPC_ACCESS.to_string()));
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );

    aws.start_counting();
    assert_usage_errors(
        project.path(),
        &env,
        &[
            (
                &["update", "--vpc-subnet", "subnet-0abc1234"][..],
                "a VPC needs both subnets and security groups (only one given, from --vpc-subnet)",
            ),
            (
                &[
                    "update",
                    "--vpc-subnet",
                    "subnet-xyz",
                    "--vpc-security-group",
                    "sg-0abc1234",
                ][..],
                "invalid subnet `subnet-xyz` (from --vpc-subnet)",
            ),
        ],
    );
    aws.assert_no_requests("refused VPC settings");
}
