//! Every configuration field round-trips through `update` (issue 33): changed alone, it is the
//! one thing `update` sends, and Lambda then reports the new value — so a field dropped from the
//! diff that decides what UpdateFunctionConfiguration carries (or from the request built from it)
//! fails here by name, instead of a changed setting silently never reaching Lambda.

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput as Config;

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

/// A role of someone else's that Lambda may assume.
async fn another_role(aws: &Aws) -> String {
    let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws.moto
        .iam()
        .await
        .create_role()
        .role_name("another-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn()
        .to_string()
}

type Check = Box<dyn Fn(&Config) -> bool>;

#[tokio::test(flavor = "multi_thread")]
async fn every_configuration_field_changed_alone_is_sent_alone_and_reaches_lambda() {
    let aws = Aws::with(Realism::short());
    let project = Project::new().with(
        "function/function.sh",
        "handler () { printf '%s' \"$1\"; }\nother () { printf other; }\n",
    );
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    let layer = publish_foreign_layer(&aws.lambda().await, "tools").await;
    let role = another_role(&aws).await;

    // Each case adds its flags to the previous ones', so that exactly its field differs.
    let cases: Vec<(&str, Vec<String>, Check)> = vec![
        (
            "memory",
            vec!["--memory".into(), "256".into()],
            Box::new(|c: &Config| c.memory_size() == Some(256)),
        ),
        (
            "timeout",
            vec!["--timeout".into(), "10".into()],
            Box::new(|c: &Config| c.timeout() == Some(10)),
        ),
        (
            "handler",
            vec!["--handler".into(), "function.other".into()],
            Box::new(|c: &Config| c.handler() == Some("function.other")),
        ),
        (
            "environment",
            vec!["--env".into(), "STAGE=nightly".into()],
            Box::new(|c: &Config| {
                c.environment()
                    .and_then(|e| e.variables())
                    .and_then(|v| v.get("STAGE"))
                    .map(String::as_str)
                    == Some("nightly")
            }),
        ),
        (
            "description",
            vec!["--description".into(), "the nightly job".into()],
            Box::new(|c: &Config| c.description() == Some("the nightly job")),
        ),
        (
            "ephemeral storage",
            vec!["--ephemeral-storage".into(), "1024".into()],
            Box::new(|c: &Config| c.ephemeral_storage().map(|e| e.size()) == Some(1024)),
        ),
        (
            "tracing",
            vec!["--tracing".into(), "active".into()],
            Box::new(|c: &Config| {
                c.tracing_config()
                    .and_then(|t| t.mode())
                    .map(|m| m.as_str())
                    == Some("Active")
            }),
        ),
        (
            "log format",
            vec!["--log-format".into(), "json".into()],
            Box::new(|c: &Config| {
                c.logging_config()
                    .and_then(|l| l.log_format())
                    .map(|f| f.as_str())
                    == Some("JSON")
            }),
        ),
        (
            "log level",
            vec!["--application-log-level".into(), "warn".into()],
            Box::new(|c: &Config| {
                c.logging_config()
                    .and_then(|l| l.application_log_level())
                    .map(|f| f.as_str())
                    == Some("WARN")
            }),
        ),
        (
            "runtime",
            vec!["--runtime".into(), "provided.al2".into()],
            Box::new(|c: &Config| c.runtime().map(|r| r.as_str()) == Some("provided.al2")),
        ),
        ("layers", vec!["--layer".into(), layer.clone()], {
            let layer = layer.clone();
            Box::new(move |c: &Config| c.layers().iter().any(|l| l.arn() == Some(layer.as_str())))
        }),
        ("role", vec!["--role-arn".into(), role.clone()], {
            let role = role.clone();
            Box::new(move |c: &Config| c.role() == Some(role.as_str()))
        }),
    ];
    let mut args: Vec<String> = vec!["update".into()];
    let mut checks: Vec<(&str, Check)> = Vec::new();
    for (field, flags, check) in cases {
        args.extend(flags);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let writes = aws.writes_of(project.path(), &refs);
        assert_eq!(writes, ["lambda:UpdateFunctionConfiguration"], "{field}");
        let config = aws.function_configuration(FUNCTION).await;
        assert!(check(&config), "{field}: Lambda reports {config:#?}");
        checks.push((field, check));
        // Sent once: the same flags again change nothing.
        assert_eq!(
            aws.writes_of(project.path(), &refs),
            Vec::<String>::new(),
            "{field}"
        );
    }
    // Every field kept its value through the later updates.
    let config = aws.function_configuration(FUNCTION).await;
    for (field, check) in &checks {
        assert!(check(&config), "{field} was lost: {config:#?}");
    }
}
