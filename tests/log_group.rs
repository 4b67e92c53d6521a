//! The function's log group: made by lambda-rt itself, tagged, with the retention the project
//! sets, converged like the rest (0 writes on a re-run, drift in `status`), and deleted after the
//! function is gone when the tag proves it was lambda-rt's (issues 27 and 32). The real binary
//! against moto behind the realism proxy (one-item pages for every list).

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";
const GROUP: &str = "/aws/lambda/bash-runtime";

/// The group's retention (`None`: forever) and tags, or `None` when it does not exist.
/// CloudWatch Logs through the proxy (which makes a deleted group's tags go with it, as AWS does).
async fn logs(aws: &Aws) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&aws.sdk_config().await)
}

async fn group(aws: &Aws) -> Option<(Option<i32>, Vec<(String, String)>)> {
    let logs = logs(aws).await;
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(GROUP)
        .send()
        .await
        .unwrap();
    let group = groups
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(GROUP))?;
    let arn = group.arn().unwrap().trim_end_matches(":*");
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    Some((group.retention_in_days(), sorted_tags(tags.tags())))
}

fn owner_tag() -> Vec<(String, String)> {
    vec![("managed-by".to_string(), "lambda-rt".to_string())]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_group_is_made_tagged_with_its_retention_and_converged() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Default::default()
    });
    let project = Project::new().with("lambda-rt.toml", "log-retention-days = 14\n");
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(group(&aws).await, Some((Some(14), owner_tag())));

    // A second run writes nothing.
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );

    // Changed by hand: drift, and `update` puts it back with one write.
    logs(&aws)
        .await
        .put_retention_policy()
        .log_group_name(GROUP)
        .retention_in_days(90)
        .send()
        .await
        .unwrap();
    assert_drift(
        project.path(),
        &env,
        &["log group /aws/lambda/bash-runtime: retention 90 days → 14 days"],
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["logs:PutRetentionPolicy"]
    );
    assert_eq!(group(&aws).await, Some((Some(14), owner_tag())));
    assert_exit(&lambda_rt(project.path(), &env, &["status"]), 0);

    // 0 means forever; a project without the setting leaves the retention as it is.
    project.write("lambda-rt.toml", "log-retention-days = 0\n");
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["logs:DeleteRetentionPolicy"]
    );
    assert_eq!(group(&aws).await, Some((None, owner_tag())));
    project.write("lambda-rt.toml", "");
    let settings_gone = lambda_rt(project.path(), &env, &["status"]);
    assert_exit(&settings_gone, 0);

    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert_eq!(group(&aws).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retention_cloudwatch_logs_refuses_is_a_usage_error_before_any_request() {
    let aws = Aws::start();
    let project = Project::new().with("lambda-rt.toml", "log-retention-days = 13\n");
    aws.start_counting();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "invalid log retention 13 days (from lambda-rt.toml:1:22): CloudWatch Logs accepts only",
    );
    assert_stderr_has(&out, "(the nearest is 14)");
    record_bad_input(&["create (log-retention-days = 13)"], &out);
    let flag = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--log-retention-days", "5000"],
    );
    assert_exit(&flag, 2);
    assert_stderr_has(
        &flag,
        "invalid log retention 5000 days (from --log-retention-days)",
    );
    aws.assert_no_requests("a refused retention");
}

/// A `delete` stopped after the function went and before its log group did: the re-run finds no
/// function, and the tag proves the group was lambda-rt's (issue 32, point 7). A group without
/// the tag is kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_tagged_group_goes_even_after_its_function_an_untagged_one_stays() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let lambda = aws.moto.lambda().await;
    lambda
        .delete_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let out = lambda_rt(project.path(), &env, &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "deleted  log group `/aws/lambda/bash-runtime`");
    assert_eq!(group(&aws).await, None);

    // Someone else's group of that name, no function: kept, said so.
    let logs = logs(&aws).await;
    logs.create_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    let out = lambda_rt(project.path(), &env, &["delete"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "carries no lambda-rt tag");
    assert_eq!(group(&aws).await, Some((None, Vec::new())));
}

/// A group of that name that was there without the tag (Lambda's, for a function an earlier
/// lambda-rt deployed) is left as it is by `update` — no write, no extra read — and still goes
/// with the function.
#[tokio::test(flavor = "multi_thread")]
async fn an_untagged_group_beside_a_function_of_lambda_rt_goes_with_it() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let logs = logs(&aws).await;
    logs.delete_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    logs.create_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    let counts = aws.counted();
    assert_eq!(counts.writes(), Vec::<String>::new());
    assert_eq!(counts.get("logs:ListTagsForResource"), 0, "{counts:?}");
    assert_eq!(group(&aws).await, Some((None, Vec::new())));
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert_eq!(group(&aws).await, None);
}
