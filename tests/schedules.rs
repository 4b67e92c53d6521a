//! Nightly jobs (issue 28): `[schedules.<name>]` become EventBridge Scheduler schedules run through
//! a scheduler role lambda-rt makes (trusting the Scheduler service, allowed to invoke this
//! function only), converged like the rest (0 writes on a re-run, one UpdateSchedule for a changed
//! expression, drift in `status`), with the function's asynchronous-invocation settings; someone
//! else's schedules are never touched; bad expressions, time zones and payloads are exit 2 before
//! any request. The real binary against moto behind the realism proxy (Scheduler refusing a role
//! IAM has not propagated yet, one-item pages), every request checked against AWS's models.

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "job";
const PAYLOAD: &str = r#"{"job": "nightly", "day": "yesterday"}"#;

fn settings(expression: &str) -> String {
    format!(
        "function-name = \"{FUNCTION}\"\n\
         max-retry-attempts = 1\n\
         max-event-age = 3600\n\
         [schedules.nightly]\n\
         expression = \"{expression}\"\n\
         timezone = \"Europe/Berlin\"\n\
         payload = '{PAYLOAD}'\n"
    )
}

async fn function_arn(aws: &Aws) -> String {
    let config = aws.function_configuration(FUNCTION).await;
    config.function_arn().unwrap().to_string()
}

async fn scheduler(aws: &Aws) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(&aws.sdk_config().await)
}

/// The schedule's expression, time zone, target, role and input; `None` if it does not exist.
async fn schedule(aws: &Aws, name: &str) -> Option<(String, String, String, String, String)> {
    let found = scheduler(aws)
        .await
        .get_schedule()
        .name(name)
        .send()
        .await
        .ok()?;
    let target = found.target().unwrap();
    Some((
        found.schedule_expression().unwrap().to_string(),
        found.schedule_expression_timezone().unwrap().to_string(),
        target.arn().to_string(),
        target.role_arn().to_string(),
        target.input().unwrap_or_default().to_string(),
    ))
}

/// A schedule someone else made (no lambda-rt description) that runs `function_arn`.
async fn foreign_schedule(aws: &Aws, name: &str, function_arn: &str) {
    use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
    scheduler(aws)
        .await
        .create_schedule()
        .name(name)
        .description("made in the console")
        .schedule_expression("rate(1 day)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(function_arn)
                .role_arn("arn:aws:iam::123456789012:role/theirs")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn role_document(aws: &Aws, role: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let iam = aws.iam().await;
    let found = iam.get_role().role_name(role).send().await.ok()?;
    let trust = found.role().unwrap().assume_role_policy_document().unwrap();
    let trust = urlencoding::decode(trust).unwrap();
    let policy = iam
        .get_role_policy()
        .role_name(role)
        .policy_name("lambda-rt-invoke-function")
        .send()
        .await
        .unwrap();
    let policy = urlencoding::decode(policy.policy_document()).unwrap();
    Some((
        serde_json::from_str(&trust).unwrap(),
        serde_json::from_str(&policy).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nightly_schedule_in_berlin_is_made_kept_changed_and_torn_down() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Realism::short()
    });
    let env = aws.env();
    let project = Project::new().with("lambda-rt.toml", &settings("cron(0 3 * * ? *)"));
    // A dry run says what it would make and writes nothing.
    aws.start_counting();
    let dry = lambda_rt(project.path(), &env, &["create", "--dry-run"]);
    assert_exit(&dry, 0);
    assert_stderr_has(&dry, "job-nightly");
    assert_stderr_has(&dry, "job-scheduler");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);

    let function_arn = function_arn(&aws).await;
    let role_arn = "arn:aws:iam::123456789012:role/job-scheduler";
    assert_eq!(
        schedule(&aws, "job-nightly").await,
        Some((
            "cron(0 3 * * ? *)".into(),
            "Europe/Berlin".into(),
            function_arn.clone(),
            role_arn.into(),
            PAYLOAD.into()
        ))
    );
    // The function carries the mark that lambda-rt made schedules for it.
    let tags = aws
        .lambda()
        .await
        .list_tags()
        .resource(&function_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get("lambda-rt:schedules"))
            .map(String::as_str),
        Some("yes")
    );
    // Scheduler refused the new role until IAM had propagated it, and lambda-rt waited it out.
    assert!(
        aws.proxy
            .refusals()
            .contains_key("400 scheduler role not assumable"),
        "{:?}",
        aws.proxy.refusals()
    );
    // The role: the Scheduler service of this account may assume it; it may invoke this function
    // and nothing else.
    let (trust, invoke) = role_document(&aws, "job-scheduler").await.unwrap();
    let statement = &trust["Statement"][0];
    assert_eq!(
        statement["Principal"],
        serde_json::json!({"Service": "scheduler.amazonaws.com"})
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
    assert_eq!(
        invoke["Statement"],
        serde_json::json!([{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}])
    );
    // What Lambda does with a failed run.
    let config = aws
        .lambda()
        .await
        .get_function_event_invoke_config()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(config.maximum_retry_attempts(), Some(1));
    assert_eq!(config.maximum_event_age_in_seconds(), Some(3600));

    // Someone else's schedules for the same function, one of them under the function's prefix.
    foreign_schedule(&aws, "job-report", &function_arn).await;
    foreign_schedule(&aws, "weekly-for-job", &function_arn).await;

    // A second run writes nothing; a changed expression is one update.
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );
    project.write("lambda-rt.toml", &settings("cron(0 4 * * ? *)"));
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["scheduler:UpdateSchedule"]
    );
    assert_eq!(
        schedule(&aws, "job-nightly").await.unwrap().0,
        "cron(0 4 * * ? *)"
    );

    // `status` lists the schedules with their next run in their time zone.
    let status = lambda_rt(project.path(), &env, &["status"]);
    assert_exit(&status, 0);
    assert_stdout_has(
        &status,
        &[
            "job-nightly cron(0 4 * * ? *) (Europe/Berlin), next run ",
            " 04:00 CE",
            "job-report rate(1 day) (UTC), not lambda-rt's",
            "retries 1, events kept 3600 s, destination none",
        ],
    );
    let json_status = json(&lambda_rt(
        project.path(),
        &env,
        &["status", "--output", "json"],
    ));
    let listed = &json_status["schedules"][0];
    assert_eq!(listed["name"], "job-nightly");
    assert!(
        listed["next_run"].as_str().unwrap().ends_with(" 04:00 CET")
            || listed["next_run"]
                .as_str()
                .unwrap()
                .ends_with(" 04:00 CEST"),
        "{listed}"
    );

    // `invoke --schedule` sends the schedule's payload, once.
    aws.start_counting();
    let invoked = lambda_rt(project.path(), &env, &["invoke", "--schedule", "nightly"]);
    assert_exit(&invoked, 0);
    assert_eq!(aws.counted().get("lambda:Invoke"), 1);
    let sent = aws.proxy.bodies("lambda:Invoke");
    assert_eq!(
        sent.last(),
        Some(&serde_json::from_str::<serde_json::Value>(PAYLOAD).unwrap())
    );

    // The project changed: drift (exit 6) that `update` would write.
    project.write("lambda-rt.toml", &settings("cron(0 5 * * ? *)"));
    assert_drift(
        project.path(),
        &env,
        &["schedule job-nightly: expression cron(0 4 * * ? *) → cron(0 5 * * ? *)"],
    );

    // A schedule removed from the project is deleted, and its role with the last one; the
    // asynchronous settings stay as the project says.
    project.write(
        "lambda-rt.toml",
        &format!("function-name = \"{FUNCTION}\"\nmax-retry-attempts = 1\nmax-event-age = 3600\n"),
    );
    let mut writes = aws.writes_of(project.path(), &["update"]);
    writes.dedup();
    assert_eq!(
        writes,
        [
            "iam:DeleteRole",
            "iam:DeleteRolePolicy",
            "lambda:UntagResource",
            "scheduler:DeleteSchedule"
        ]
    );
    assert_eq!(schedule(&aws, "job-nightly").await, None);
    assert_eq!(role_document(&aws, "job-scheduler").await, None);
    // Without the mark, a project without schedules asks Scheduler nothing at all.
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    let counts = aws.counted();
    assert_eq!(counts.of_service("scheduler"), 0, "{counts:?}");
    assert_eq!(counts.writes(), Vec::<String>::new());

    // Back, then `delete`: nothing of lambda-rt's is left; someone else's schedules stay.
    project.write("lambda-rt.toml", &settings("cron(0 3 * * ? *)"));
    assert_exit(&lambda_rt(project.path(), &env, &["update"]), 0);
    assert!(schedule(&aws, "job-nightly").await.is_some());
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert_eq!(schedule(&aws, "job-nightly").await, None);
    assert_eq!(role_document(&aws, "job-scheduler").await, None);
    assert!(schedule(&aws, "job-report").await.is_some());
    assert!(schedule(&aws, "weekly-for-job").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_name_someone_else_holds_is_refused_before_any_write() {
    let aws = Aws::start();
    let env = aws.env();
    let project = Project::new().with(
        "lambda-rt.toml",
        &format!("function-name = \"{FUNCTION}\"\n"),
    );
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let function_arn = function_arn(&aws).await;
    foreign_schedule(&aws, "job-nightly", &function_arn).await;
    project.write("lambda-rt.toml", &settings("cron(0 3 * * ? *)"));
    aws.start_counting();
    for command in ["update", "create"] {
        let out = lambda_rt(project.path(), &env, &[command]);
        assert_exit(&out, 4);
        assert_stderr_has(
            &out,
            "schedule `job-nightly` exists but was not made by lambda-rt",
        );
    }
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    assert_eq!(
        schedule(&aws, "job-nightly").await.unwrap().0,
        "rate(1 day)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_expressions_time_zones_and_payloads_are_refused_before_any_request() {
    let aws = Aws::start();
    let env = aws.env();
    let table = |body: &str| format!("function-name = \"{FUNCTION}\"\n[schedules.nightly]\n{body}");
    let cases = [
        (
            table("expression = \"cron(0 3 * * *)\"\n"),
            "[schedules.nightly] (at lambda-rt.toml:3:14): `cron(0 3 * * *)` has 5 fields",
        ),
        (
            table("expression = \"cron(0 3 * * MON *)\"\n"),
            "one of day-of-month (`*`) and day-of-week (`MON`) must be `?`",
        ),
        (
            table("expression = \"rate(5 weeks)\"\n"),
            "`rate(5 weeks)` is not a rate",
        ),
        (
            table("expression = \"cron(0 3 * * ? *)\"\ntimezone = \"Europe/Berln\"\n"),
            "`Europe/Berln` is not an IANA time zone",
        ),
        (
            table("expression = \"cron(0 3 * * ? *)\"\npayload = '{\"day\": yesterday}'\n"),
            "the payload is not JSON",
        ),
        (
            format!("function-name = \"{FUNCTION}\"\nmax-retry-attempts = 3\n"),
            "max-retry-attempts is 3; Lambda retries a failed asynchronous run 0, 1 or 2 times",
        ),
        (
            format!("function-name = \"{FUNCTION}\"\non-failure = \"my-queue\"\n"),
            "on-failure `my-queue` is not a failure destination Lambda takes",
        ),
    ];
    let project = Project::new();
    aws.start_counting();
    for (file, message) in &cases {
        project.write("lambda-rt.toml", file);
        for command in ["create", "update", "status"] {
            let out = lambda_rt(project.path(), &env, &[command]);
            assert_exit(&out, 2);
            assert_stderr_has(&out, message);
        }
        record_bad_input(
            &["create", "(lambda-rt.toml)"],
            &lambda_rt(project.path(), &env, &["create"]),
        );
    }
    aws.assert_no_requests("bad schedules and asynchronous settings");
}

#[test]
fn the_job_template_runs_here_with_its_schedules_payload() {
    let dir = tempfile::tempdir().unwrap();
    let out = lambda_rt(dir.path(), &[], &["init", "nightly", "--template", "job"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "lambda-rt invoke --local --schedule nightly");
    let project = dir.path().join("nightly");
    let run = lambda_rt(
        &project,
        &[],
        &["invoke", "--local", "--schedule", "nightly"],
    );
    assert_exit(&run, 0);
    let result = json(&run);
    assert_eq!(result["job"], "nightly");
    assert_eq!(result["status"], "done");
    // The payload says "yesterday": the handler made a date of it.
    let yesterday = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .unwrap()
        .to_string();
    assert_eq!(result["processed"], yesterday.as_str());

    let unknown = lambda_rt(
        &project,
        &[],
        &["invoke", "--local", "--schedule", "weekly"],
    );
    assert_exit(&unknown, 2);
    assert_stderr_has(
        &unknown,
        "--schedule weekly: no [schedules.weekly] in lambda-rt.toml; the project's schedules are nightly",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_role_and_the_failure_settings_stay_as_the_project_says() {
    let aws = Aws::start();
    let env = aws.env();
    let project = Project::new().with("lambda-rt.toml", &settings("rate(1 hour)"));
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);

    // A wider permission put on the scheduler role by hand is drift, and `update` narrows it.
    let wider = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}"#;
    aws.iam()
        .await
        .put_role_policy()
        .role_name("job-scheduler")
        .policy_name("lambda-rt-invoke-function")
        .policy_document(wider)
        .send()
        .await
        .unwrap();
    assert_drift(
        project.path(),
        &env,
        &["scheduler role job-scheduler: inline policy lambda-rt-invoke-function"],
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["iam:PutRolePolicy"]
    );
    let (_, invoke) = role_document(&aws, "job-scheduler").await.unwrap();
    assert_eq!(invoke["Statement"][0]["Action"], "lambda:InvokeFunction");

    // A failure destination, then none: each a change of the whole configuration.
    let queue = "arn:aws:sqs:us-east-1:123456789012:nightly-failures";
    let with_queue = settings("rate(1 hour)").replacen(
        "[schedules.nightly]",
        &format!("on-failure = \"{queue}\"\n[schedules.nightly]"),
        1,
    );
    project.write("lambda-rt.toml", &with_queue);
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:PutFunctionEventInvokeConfig"]
    );
    let status = lambda_rt(project.path(), &env, &["status"]);
    assert_exit(&status, 0);
    assert_stdout_has(
        &status,
        &[&format!(
            "retries 1, events kept 3600 s, destination {queue}"
        )],
    );
    project.write("lambda-rt.toml", &settings("rate(1 hour)"));
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:PutFunctionEventInvokeConfig"]
    );
    let config = aws
        .lambda()
        .await
        .get_function_event_invoke_config()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(
        config.destination_config().and_then(|d| d.on_failure()),
        None
    );

    // A disabled schedule is kept, and runs no more.
    project.write(
        "lambda-rt.toml",
        &format!("{}enabled = false\n", settings("rate(1 hour)")),
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["scheduler:UpdateSchedule"]
    );
    let state = scheduler(&aws)
        .await
        .get_schedule()
        .name("job-nightly")
        .send()
        .await
        .unwrap();
    assert_eq!(
        state.state(),
        Some(&aws_sdk_scheduler::types::ScheduleState::Disabled)
    );
    let status = lambda_rt(project.path(), &env, &["status"]);
    assert_stdout_has(
        &status,
        &["job-nightly rate(1 hour) (Europe/Berlin), next run none (disabled)"],
    );
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
}
