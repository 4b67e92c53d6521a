//! The model check itself (tests/common/model_check.rs): requests AWS's published models refuse are
//! found, and valid ones are not. Every other test that talks to AWS runs it when it ends.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn requests_aws_would_refuse_are_found_and_valid_ones_pass() {
    let aws = Aws::start();
    let lambda = aws.lambda().await;
    let iam = aws.iam().await;
    // moto answers these (with "not found"); AWS would refuse them before looking.
    let _ = lambda
        .get_function()
        .function_name("not a valid name!")
        .send()
        .await;
    let _ = iam.get_role().role_name("r".repeat(65)).send().await;
    let scheduler = aws_sdk_scheduler::Client::new(&aws.sdk_config().await);
    let _ = scheduler
        .get_schedule()
        .name("not/a schedule name")
        .send()
        .await;
    let report = aws.model_report();
    let found: Vec<String> = report
        .violations
        .iter()
        .map(|v| format!("{} {} {}", v["operation"], v["path"], v["rule"]))
        .collect();
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("\"lambda:GetFunction\" \"FunctionName\" \"pattern")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("\"iam:GetRole\" \"RoleName\" \"length 65")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("\"scheduler:GetSchedule\" \"Name\" \"pattern")),
        "{found:?}"
    );

    // lambda-rt's own create sends nothing AWS would refuse.
    let project = Project::new();
    assert_exit(
        &lambda_rt(
            project.path(),
            &aws.env(),
            &["create", "--url", "--url-auth", "none"],
        ),
        0,
    );
    let report = aws.model_report();
    assert!(report.checked >= 5, "{report:?}");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}
