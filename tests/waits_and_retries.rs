//! States no local AWS emulator can produce (Pending, InProgress, Failed, IAM propagation,
//! update conflicts), covered with `aws-smithy-mocks` rules against lambda-rt's own Lambda and IAM
//! code. Every wait uses millisecond bounds here.

use std::time::Duration;

use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::update_function_code::{
    UpdateFunctionCodeError, UpdateFunctionCodeOutput,
};
use aws_sdk_lambda::types::error::{InvalidParameterValueException, ResourceConflictException};
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use lambda_rt::aws::lambda::{FunctionSpec, Lambda};
use lambda_rt::aws::s3::Upload;
use lambda_rt::aws::{Backoff, Timing};
use lambda_rt::cli::OutputFormat;
use lambda_rt::output::Ui;
use lambda_rt::package::{build_zip, Entry, FunctionCode, Limits, Package};
use lambda_rt::settings::Architecture;

fn fast() -> Timing {
    let backoff = Backoff {
        initial: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total: Duration::from_millis(200),
    };
    Timing {
        iam_propagation: backoff,
        conflict: backoff,
        state_poll: backoff,
    }
}

fn ui() -> Ui {
    Ui::new(OutputFormat::Text, true)
}

fn spec() -> FunctionSpec {
    FunctionSpec {
        name: "f".into(),
        role_arn: "arn:aws:iam::123456789012:role/f-role".into(),
        handler: "function.handler".into(),
        runtime: "provided.al2023".into(),
        architecture: Architecture::X86_64,
        memory_mb: 128,
        timeout_seconds: 3,
        environment: Default::default(),
        description: String::new(),
    }
}

fn package() -> Package {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bootstrap");
    std::fs::write(&path, "#!/bin/bash\n").unwrap();
    build_zip(
        vec![Entry {
            name: "bootstrap".into(),
            source: path,
            mode: 0o755,
        }],
        Limits::default(),
    )
    .unwrap()
}

fn function(state: State, update: LastUpdateStatus) -> GetFunctionOutput {
    GetFunctionOutput::builder()
        .configuration(
            FunctionConfiguration::builder()
                .function_name("f")
                .function_arn("arn:aws:lambda:us-east-1:123456789012:function:f")
                .state(state)
                .state_reason("the reason Lambda gave")
                .last_update_status(update)
                .last_update_status_reason("the update reason Lambda gave")
                .build(),
        )
        .build()
}

fn role_not_assumable() -> CreateFunctionError {
    let message = "The role defined for the function cannot be assumed by Lambda.";
    CreateFunctionError::InvalidParameterValueException(
        InvalidParameterValueException::builder()
            .message(message)
            .meta(
                aws_sdk_lambda::error::ErrorMetadata::builder()
                    .code("InvalidParameterValueException")
                    .message(message)
                    .build(),
            )
            .build(),
    )
}

fn conflict() -> UpdateFunctionCodeError {
    let message =
        "The operation cannot be performed at this time. An update is in progress for resource";
    UpdateFunctionCodeError::ResourceConflictException(
        ResourceConflictException::builder()
            .message(message)
            .meta(
                aws_sdk_lambda::error::ErrorMetadata::builder()
                    .code("ResourceConflictException")
                    .message(message)
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn create_function_is_retried_while_the_role_cannot_be_assumed() {
    let create = mock!(aws_sdk_lambda::Client::create_function)
        .sequence()
        .error(role_not_assumable)
        .times(2)
        .output(|| {
            CreateFunctionOutput::builder()
                .function_arn("arn:f")
                .build()
        })
        .build();
    let get = mock!(aws_sdk_lambda::Client::get_function)
        .sequence()
        .output(|| function(State::Pending, LastUpdateStatus::InProgress))
        .output(|| function(State::Active, LastUpdateStatus::Successful))
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &get]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    let arn = lambda
        .create(&spec(), &Upload::inline(&package()), true)
        .await
        .unwrap();
    assert_eq!(arn, "arn:f");
    assert_eq!(create.num_calls(), 3);
    assert_eq!(get.num_calls(), 2, "waited for Pending to become Active");
}

#[tokio::test]
async fn role_propagation_retries_give_up_after_the_bound_with_a_hint() {
    let create = mock!(aws_sdk_lambda::Client::create_function)
        .sequence()
        .error(role_not_assumable)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    let err = lambda
        .create(&spec(), &Upload::inline(&package()), true)
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("failed to create function `f`"), "{text}");
    assert!(text.contains("still failing after retrying"), "{text}");
    assert!(text.contains("run `lambda-rt create` again"), "{text}");
    assert!(create.num_calls() > 2);
}

#[tokio::test]
async fn a_conflicting_update_waits_and_is_retried() {
    let update = mock!(aws_sdk_lambda::Client::update_function_code)
        .sequence()
        .error(conflict)
        .output(|| UpdateFunctionCodeOutput::builder().build())
        .build();
    let get = mock!(aws_sdk_lambda::Client::get_function)
        .sequence()
        .output(|| function(State::Active, LastUpdateStatus::InProgress))
        .output(|| function(State::Active, LastUpdateStatus::Successful))
        .output(|| function(State::Active, LastUpdateStatus::InProgress))
        .output(|| function(State::Active, LastUpdateStatus::Successful))
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &get]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    lambda
        .update_code(&spec(), &Upload::inline(&package()))
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 2, "the conflict was retried once");
    assert_eq!(
        get.num_calls(),
        4,
        "waited for the update in progress before and after"
    );
}

#[tokio::test]
async fn attaching_a_layer_right_after_a_code_update_waits_and_retries_the_conflict() {
    // The hand-written tutorial's failure: UpdateFunctionConfiguration(Layers) while the code
    // update is still InProgress answers "An update is in progress".
    let configure = mock!(aws_sdk_lambda::Client::update_function_configuration)
        .sequence()
        .error(|| {
            aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message("An update is in progress for resource: f")
                    .build(),
            )
        })
        .output(|| {
            aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput::builder()
                .build()
        })
        .build();
    let get = mock!(aws_sdk_lambda::Client::get_function)
        .sequence()
        .output(|| function(State::Active, LastUpdateStatus::InProgress))
        .output(|| function(State::Active, LastUpdateStatus::Successful))
        .output(|| function(State::Active, LastUpdateStatus::InProgress))
        .output(|| function(State::Active, LastUpdateStatus::Successful))
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&configure, &get]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    let layers = vec!["arn:aws:lambda:us-east-1:123456789012:layer:f-layer:1".to_string()];
    lambda.set_layers("f", &layers).await.unwrap();
    assert_eq!(configure.num_calls(), 2, "the conflict was retried once");
    assert_eq!(get.num_calls(), 4, "waited before and after the write");
}

#[tokio::test]
async fn waiting_for_active_gives_up_after_the_bound() {
    let get = mock!(aws_sdk_lambda::Client::get_function)
        .then_output(|| function(State::Pending, LastUpdateStatus::Successful));
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    let err = lambda.wait_ready("f", false).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("gave up waiting for function `f`"), "{text}");
    assert!(text.contains("state Pending"), "{text}");
    assert!(get.num_calls() > 2);
}

#[tokio::test]
async fn failed_states_report_lambdas_reason() {
    let get = mock!(aws_sdk_lambda::Client::get_function)
        .then_output(|| function(State::Failed, LastUpdateStatus::Successful));
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get]);
    let ui = ui();
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    let err = lambda.wait_ready("f", false).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("state Failed: the reason Lambda gave"),
        "{err:#}"
    );

    let get = mock!(aws_sdk_lambda::Client::get_function)
        .then_output(|| function(State::Active, LastUpdateStatus::Failed));
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get]);
    let lambda = Lambda {
        client: &client,
        timing: fast(),
        ui: &ui,
    };
    // A failed earlier update does not block the next write...
    lambda.wait_ready("f", false).await.unwrap();
    // ...but right after our own write it is an error with Lambda's reason.
    let err = lambda.wait_ready("f", true).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("the update reason Lambda gave"),
        "{err:#}"
    );
}

#[tokio::test]
async fn a_no_op_create_makes_only_read_calls() {
    // Clients that know only read operations: any write would fail the command.
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(&bootstrap, "#!/bin/bash\n").unwrap();
    let code = FunctionCode::from_entries(
        Vec::new(),
        vec![Entry {
            name: "bootstrap".into(),
            source: bootstrap,
            mode: 0o755,
        }],
        Limits::default(),
    )
    .unwrap();
    let sha = code.package(false).unwrap().code_sha256.clone();
    let get = mock!(aws_sdk_lambda::Client::get_function).then_output(move || {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .function_name("f")
                    .role("arn:aws:iam::123456789012:role/f-role")
                    .handler("function.handler")
                    .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                    .memory_size(128)
                    .timeout(3)
                    .description("")
                    .code_sha256(sha.clone())
                    .architectures(aws_sdk_lambda::types::Architecture::X8664)
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::Successful)
                    .build(),
            )
            .build()
    });
    let get_role = mock!(aws_sdk_iam::Client::get_role).then_output(|| {
        aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
            .role(
                aws_sdk_iam::types::Role::builder()
                    .role_name("f-role")
                    .arn("arn:aws:iam::123456789012:role/f-role")
                    .path("/")
                    .role_id("id")
                    .create_date(aws_sdk_iam::primitives::DateTime::from_secs(0))
                    .tags(
                        aws_sdk_iam::types::Tag::builder()
                            .key("managed-by")
                            .value("lambda-rt")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let attached = mock!(aws_sdk_iam::Client::list_attached_role_policies).then_output(|| {
        aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput::builder()
            .attached_policies(
                aws_sdk_iam::types::AttachedPolicy::builder()
                    .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                    .build(),
            )
            .build()
    });
    let clients = lambda_rt::aws::Clients {
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get]),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_role, &attached]),
        logs: aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::Config::builder()
                .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
                .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .build(),
        ),
        region: "us-east-1".into(),
        max_attempts: 3,
    };
    let settings = lambda_rt::settings::Settings {
        project_dir: ".".into(),
        in_project: true,
        function_name: "f".into(),
        function_name_origin: lambda_rt::settings::Origin::Default,
        role: lambda_rt::settings::RoleChoice::Managed("f-role".into()),
        layer_name: "f-layer".into(),
        handler: "function.handler".into(),
        runtime: "provided.al2023".into(),
        architecture: Architecture::X86_64,
        memory_mb: 128,
        timeout_seconds: 3,
        environment: Default::default(),
        description: String::new(),
        template: Default::default(),
        deno: None,
        s3: None,
        aws: Default::default(),
    };
    let ui = ui();
    let report =
        lambda_rt::commands::create::create(&clients, &settings, &code, false, fast(), &ui)
            .await
            .unwrap();
    let actions: Vec<_> = report.resources.iter().map(|r| r.action).collect();
    use lambda_rt::output::Action;
    assert_eq!(actions, vec![Action::Unchanged, Action::Unchanged]);
    assert_eq!(
        (get.num_calls(), get_role.num_calls(), attached.num_calls()),
        (1, 1, 1)
    );
}
