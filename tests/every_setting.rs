//! Issue 27's whole acceptance on one project: every setting of a function that does real work at
//! once — made by one `create`, written nothing by a second, a policy removed from the project
//! detached alone, a concurrency changed by hand reported and restored — and `delete` leaving
//! nothing lambda-rt made while someone else's layer, log group and policy stay. The real binary
//! against moto behind the realism proxy, every request checked against AWS's models.

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "nightly";

#[tokio::test(flavor = "multi_thread")]
async fn a_project_with_every_setting_is_made_kept_and_torn_down() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Realism::short()
    });
    let (lambda, iam) = (aws.lambda().await, aws.moto.iam().await);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.sdk_config().await);
    // Someone else's: a tool layer, a policy, a log group.
    let tool = publish_foreign_layer(&lambda, "tools").await;
    let table_writer = iam
        .create_policy()
        .policy_name("table-writer")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let table_writer = table_writer.policy().unwrap().arn().unwrap().to_string();
    logs.create_log_group()
        .log_group_name("/aws/lambda/someone-else")
        .send()
        .await
        .unwrap();

    let settings = |policies: &str| {
        format!(
            "function-name = \"{FUNCTION}\"\n\
             policies = [{policies}]\n\
             policy-file = \"policy.json\"\n\
             layers = [\"{tool}\"]\n\
             log-retention-days = 14\n\
             ephemeral-storage = 1024\n\
             reserved-concurrency = 2\n\
             tracing = \"active\"\n\
             log-format = \"json\"\n\
             application-log-level = \"warn\"\n\
             system-log-level = \"warn\"\n\
             vpc-subnets = [\"subnet-0abc1234\"]\n\
             vpc-security-groups = [\"sg-0abc1234\"]\n\
             [tags]\nteam = \"data\"\n"
        )
    };
    let both = format!("\"AmazonS3ReadOnlyAccess\", \"{table_writer}\"");
    let project = Project::new()
        .with("lambda-rt.toml", &settings(&both))
        .with(
            "policy.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::nightly/*"}]}"#,
        );
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    // Removing a policy from the project detaches only it.
    project.write("lambda-rt.toml", &settings(&format!("\"{table_writer}\"")));
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["iam:DetachRolePolicy"]
    );

    // A concurrency changed by hand: drift (exit 6), restored by `update`.
    lambda
        .put_function_concurrency()
        .function_name(FUNCTION)
        .reserved_concurrent_executions(9)
        .send()
        .await
        .unwrap();
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 6);
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:PutFunctionConcurrency"]
    );
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    // `delete`: nothing of lambda-rt's left; the others' layer, policy and log group untouched.
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert!(lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .is_err());
    assert!(iam
        .get_role()
        .role_name("nightly-role")
        .send()
        .await
        .is_err());
    let groups = logs.describe_log_groups().send().await.unwrap();
    let names: Vec<&str> = groups
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    assert_eq!(names, ["/aws/lambda/someone-else"]);
    assert_eq!(layer_versions(&lambda, "tools").await, [1]);
    assert!(iam
        .get_policy()
        .policy_arn(&table_writer)
        .send()
        .await
        .is_ok());
}
