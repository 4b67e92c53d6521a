//! Reliability under faults and interruptions: the real binary against a real moto_server through
//! a fault-injecting proxy (tests/common/proxy/faults.rs).
//!
//! The seeded fault cycle runs `LAMBDA_RT_FAULT_RUNS` times (3 in the normal suite;
//! `scripts/reliability.sh` runs 50 and writes docs/reliability.md from what the tests record).

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::proxy::{AwsProxy, Fault};
use crate::common::*;

const DEFAULT_SEED: u64 = 20_261_121;
const FAULT_RATE: f64 = 0.2;
/// Per-attempt timeout given to lambda-rt; the proxy's delayed answers exceed it.
const READ_TIMEOUT: &str = "2";
const DELAY: Duration = Duration::from_millis(2500);
const MAX_ATTEMPTS: &str = "10";

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn with_retry_flags<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend([
        "--max-attempts",
        MAX_ATTEMPTS,
        "--read-timeout",
        READ_TIMEOUT,
    ]);
    all
}

/// What is there for one function name, read straight from moto.
#[derive(Debug, PartialEq, Eq)]
struct Leftovers {
    function: bool,
    role: bool,
    layer_versions: usize,
    log_group: bool,
}

async fn leftovers(moto: &Moto, function: &str, role: Option<&str>) -> Leftovers {
    let lambda = moto.lambda().await;
    let iam = moto.iam().await;
    let logs = moto.logs().await;
    let layer_versions = lambda
        .list_layer_versions()
        .layer_name(format!("{function}-layer"))
        .send()
        .await
        .unwrap()
        .layer_versions()
        .len();
    let log_group = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{function}"))
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(&format!("/aws/lambda/{function}")));
    let role = match role {
        Some(role) => iam.get_role().role_name(role).send().await.is_ok(),
        None => false,
    };
    Leftovers {
        function: lambda
            .get_function()
            .function_name(function)
            .send()
            .await
            .is_ok(),
        role,
        layer_versions,
        log_group,
    }
}

const NOTHING: Leftovers = Leftovers {
    function: false,
    role: false,
    layer_versions: 0,
    log_group: false,
};

/// Resources lambda-rt must never touch: a role it did not create (used by some runs through
/// `--role-name`), another function, and another layer with its own policy statement.
struct Bystanders;

impl Bystanders {
    const ROLE: &'static str = "foreign-role";
    const FUNCTION: &'static str = "bystander";
    const LAYER: &'static str = "bystander-layer";

    async fn create(moto: &Moto) {
        let iam = moto.iam().await;
        let lambda = moto.lambda().await;
        let role = iam
            .create_role()
            .role_name(Self::ROLE)
            .assume_role_policy_document(lambda_rt::aws::iam::TRUST_POLICY)
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name(Self::ROLE)
            .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
            .send()
            .await
            .unwrap();
        let zip = zip_of("bootstrap", "#!/bin/sh\n");
        create_function_directly(
            &lambda,
            Self::FUNCTION,
            role.role().unwrap().arn(),
            "x.y",
            zip.clone(),
        )
        .await;
        lambda
            .publish_layer_version()
            .layer_name(Self::LAYER)
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        lambda
            .add_layer_version_permission()
            .layer_name(Self::LAYER)
            .version_number(1)
            .statement_id("bystander-grant")
            .action("lambda:GetLayerVersion")
            .principal("444455556666")
            .send()
            .await
            .unwrap();
    }

    /// Everything about the bystanders that lambda-rt could have changed, as one comparable text.
    async fn snapshot(moto: &Moto) -> String {
        let iam = moto.iam().await;
        let lambda = moto.lambda().await;
        let role = iam.get_role().role_name(Self::ROLE).send().await.unwrap();
        let role = role.role().unwrap();
        let policies = iam
            .list_attached_role_policies()
            .role_name(Self::ROLE)
            .send()
            .await
            .unwrap();
        let function = lambda
            .get_function_configuration()
            .function_name(Self::FUNCTION)
            .send()
            .await
            .unwrap();
        let versions = lambda
            .list_layer_versions()
            .layer_name(Self::LAYER)
            .send()
            .await
            .unwrap();
        let policy = lambda
            .get_layer_version_policy()
            .layer_name(Self::LAYER)
            .version_number(1)
            .send()
            .await
            .unwrap();
        format!(
            "role {} tags {:?} trust {:?} policies {:?}\nfunction {:?} {:?} {:?} {:?}\n\
             layer versions {:?}\npolicy {:?}",
            role.arn(),
            role.tags(),
            role.assume_role_policy_document(),
            policies.attached_policies(),
            function.code_sha256(),
            function.role(),
            function.layers(),
            function.environment(),
            versions
                .layer_versions()
                .iter()
                .map(|v| v.version())
                .collect::<Vec<_>>(),
            policy.policy(),
        )
    }
}

/// How many times the proxy has injected `fault` so far.
fn fired(proxy: &AwsProxy, fault: Fault) -> u64 {
    proxy.fault_counts().1.get(&fault).copied().unwrap_or(0)
}

fn zip_of(name: &str, text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    lambda_rt::package::build_zip(
        vec![lambda_rt::package::Entry {
            name: name.into(),
            source: dir.path().join(name),
            mode: 0o755,
        }],
        lambda_rt::package::Limits::default(),
    )
    .unwrap()
    .bytes
}

/// One full cycle for `function`; returns the step that failed, if any.
fn cycle(
    project: &Path,
    env: &[(String, String)],
    function: &str,
    role: &[&str],
) -> Option<String> {
    let named = |args: &[&'static str]| -> Vec<String> {
        let mut all: Vec<String> = with_retry_flags(args)
            .iter()
            .map(|a| a.to_string())
            .collect();
        all.extend(["--function-name".to_string(), function.to_string()]);
        // Only the commands that deal with the role take role flags.
        if matches!(args[0], "create" | "update" | "delete") {
            all.extend(role.iter().map(|a| a.to_string()));
        }
        all
    };
    let steps: Vec<(&str, Vec<String>)> = vec![
        ("create", named(&["create"])),
        ("update (no change)", named(&["update"])),
        ("update (handler edited)", named(&["update"])),
        (
            "publish-layer",
            named(&["publish-layer", "--share-with", "111122223333"]),
        ),
        (
            "invoke",
            named(&["invoke", "--payload", r#"{"cycle":true}"#]),
        ),
        ("delete", named(&["delete"])),
    ];
    for (label, args) in steps {
        if label == "update (handler edited)" {
            std::fs::write(
                project.join("function/function.sh"),
                format!("function handler () {{\n  printf '{function}: %s' \"$1\"\n}}\n"),
            )
            .unwrap();
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lambda_rt(project, env, &args);
        // A fault after the Invoke was handed over (5xx, a lost answer) leaves open whether the
        // function ran: lambda-rt says so and does not send it again, by design.
        let undecided = label == "invoke"
            && out.status.code() == Some(5)
            && stderr(&out).contains("the function may have run");
        if out.status.code() != Some(0) && !undecided {
            return Some(format!(
                "{label}: exit {:?}: {}",
                out.status.code(),
                stderr(&out)
            ));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn the_full_cycle_survives_twenty_percent_faults_and_leaves_nothing_behind() {
    let runs: u64 = env_number("LAMBDA_RT_FAULT_RUNS", 3);
    let seed: u64 = env_number("LAMBDA_RT_FAULT_SEED", DEFAULT_SEED);
    let aws = Aws::start();
    let (moto, proxy) = (&aws.moto, &aws.proxy);
    Bystanders::create(moto).await;
    let before = Bystanders::snapshot(moto).await;
    let env = aws.env();

    let mut failures = Vec::new();
    let mut left_over = Vec::new();
    let mut duplicates = Vec::new();
    let started = Instant::now();
    for run in 0..runs {
        let function = format!("cycle-{run}");
        // Every other run uses a role lambda-rt did not create: it must survive every command.
        let role: Vec<&str> = if run % 2 == 1 {
            vec!["--role-name", Bystanders::ROLE]
        } else {
            vec![]
        };
        let project = Project::new();
        proxy.random_faults(seed.wrapping_add(run), FAULT_RATE, DELAY);
        if let Some(failure) = cycle(project.path(), &env, &function, &role) {
            failures.push(format!(
                "run {run} (seed {}): {failure}",
                seed.wrapping_add(run)
            ));
        }
        proxy.pass_through();
        let own_role = (run % 2 == 0).then(|| format!("{function}-role"));
        let found = leftovers(moto, &function, own_role.as_deref()).await;
        if found != NOTHING {
            left_over.push(format!("run {run}: {found:?}"));
        }
        // A retried publish must not have minted a second version (they are all deleted by now, so
        // the next version number tells how many were ever published).
        let next = moto
            .lambda()
            .await
            .publish_layer_version()
            .layer_name(format!("{function}-layer"))
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(zip_of("probe", "x")))
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .version();
        if next != 2 {
            duplicates.push(format!(
                "run {run}: {} layer versions were published",
                next - 1
            ));
        }
        moto.lambda()
            .await
            .delete_layer_version()
            .layer_name(format!("{function}-layer"))
            .version_number(next)
            .send()
            .await
            .unwrap();
    }
    let after = Bystanders::snapshot(moto).await;
    let (requests, faults) = proxy.fault_counts();
    let injected: u64 = faults.values().sum();
    record(
        "fault_cycle",
        serde_json::json!({
            "runs": runs,
            "seed": seed,
            "rate": FAULT_RATE,
            "successes": runs - failures.len() as u64,
            "failures": failures,
            "leftovers": left_over,
            "duplicates": duplicates,
            "bystanders_unchanged": before == after,
            "requests": requests,
            "faults": faults.iter().map(|(k, v)| (k.label().to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
            "seconds": started.elapsed().as_secs(),
        }),
    );
    assert!(
        injected > 0,
        "the proxy injected no fault in {requests} requests"
    );
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(left_over, Vec::<String>::new());
    assert_eq!(duplicates, Vec::<String>::new());
    assert_eq!(
        before, after,
        "a resource lambda-rt does not own was changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_retries_cannot_outlast_names_the_step_and_the_next_run_converges() {
    let aws = Aws::start();
    let (moto, proxy) = (&aws.moto, &aws.proxy);
    let env = aws.env();
    let project = Project::new();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, &with_retry_flags(args));

    let cases: [(Fault, &str, &str, &str); 3] = [
        (
            Fault::Unavailable,
            "iam",
            "CreateRole",
            "failed to create role `bash-runtime-role`",
        ),
        (
            Fault::Throttle,
            "lambda",
            "CreateFunction",
            "failed to create function `bash-runtime`",
        ),
        (
            Fault::ResetBefore,
            "lambda",
            "UpdateFunctionCode",
            "failed to update the code of function `bash-runtime`",
        ),
    ];
    for (fault, service, action, message) in cases {
        if action == "UpdateFunctionCode" {
            project.write(
                "function/function.sh",
                "function handler () {\n  printf x\n}\n",
            );
        } else {
            // Each create case starts from nothing.
            assert_exit(&run(&["delete"]), 0);
        }
        let wanted = action.to_string();
        proxy.always(fault, move |r| r.service == service && r.action == wanted);
        let command = if action == "UpdateFunctionCode" {
            "update"
        } else {
            "create"
        };
        let out = lambda_rt(
            project.path(),
            &env,
            &[
                command,
                "--max-attempts",
                "2",
                "--read-timeout",
                READ_TIMEOUT,
            ],
        );
        assert_exit(&out, 1);
        let failure = stderr(&out);
        assert!(failure.contains(message), "{fault:?}: {failure}");
        assert!(
            fired(proxy, fault) >= 2,
            "{fault:?} was not injected on both attempts of {action}"
        );
        proxy.pass_through();
        assert_exit(&run(&[command]), 0);
        record(
            "unrecoverable_fault",
            serde_json::json!({
                "fault": fault.label(),
                "call": action,
                "message": failure.lines().find(|l| l.starts_with("error:")).unwrap_or_default(),
                "converged": true,
            }),
        );
    }
    let lambda = moto.lambda().await;
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    let local = {
        let settings = settings_with(project.path(), |_| {});
        lambda_rt::package::function_zip(&settings, true)
            .unwrap()
            .code_sha256
    };
    assert_eq!(config.code_sha256(), Some(local.as_str()));
    let roles = moto.iam().await.list_roles().send().await.unwrap();
    assert_eq!(roles.roles().len(), 1, "{roles:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_of_writes_that_mint_something_are_not_repeated() {
    let aws = Aws::start();
    let (moto, proxy) = (&aws.moto, &aws.proxy);
    let env = aws.env();
    let project = Project::new();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, &with_retry_flags(args));

    // The first answer of each is lost after moto applied the request.
    for (command, call) in [
        (vec!["create"], "CreateRole"),
        (vec!["create"], "CreateFunction"),
        (vec!["publish-layer"], "PublishLayerVersion"),
        (
            vec!["publish-layer", "--share-with", "111122223333"],
            "AddLayerVersionPermission",
        ),
    ] {
        let seen = AtomicUsize::new(0);
        let wanted = call.to_string();
        proxy.always(Fault::ResetAfter, move |r| {
            r.action == wanted && seen.fetch_add(1, Ordering::SeqCst) == 0
        });
        let fired_before = fired(proxy, Fault::ResetAfter);
        let out = run(&command);
        assert_exit(&out, 0);
        assert_eq!(
            fired(proxy, Fault::ResetAfter),
            fired_before + 1,
            "the answer to {call} was not lost: the case tested nothing"
        );
        proxy.pass_through();
        if call == "CreateRole" {
            // Role and function both made in this run; start over for the next case.
            assert_exit(&run(&["delete"]), 0);
        }
    }
    let lambda = moto.lambda().await;
    let versions = lambda
        .list_layer_versions()
        .layer_name("bash-runtime-layer")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.layer_versions().len(), 1, "{versions:?}");
    let policy = lambda
        .get_layer_version_policy()
        .layer_name("bash-runtime-layer")
        .version_number(1)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1, "{policy}");
    assert_eq!(
        moto.iam()
            .await
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
            .len(),
        1
    );
}

/// Starts lambda-rt, waits until the proxy holds the request `hold` matches, signals it, and
/// returns how long it took to exit after the signal.
fn interrupt_at(
    proxy: &AwsProxy,
    project: &Path,
    env: &[(String, String)],
    args: &[&str],
    signal: nix::sys::signal::Signal,
    hold: impl Fn(&crate::common::proxy::RequestInfo) -> bool + Send + 'static,
) -> (Duration, String) {
    proxy.hold(hold);
    let mut child = lambda_rt_command(project, env, &with_retry_flags(args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        proxy.wait_held(Duration::from_secs(60)),
        "lambda-rt {args:?} never reached the held request"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let signalled = Instant::now();
    nix::sys::signal::kill(pid, signal).unwrap();
    let gone = crate::common::proxy::wait_until(Duration::from_secs(20), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let stop_time = signalled.elapsed();
    if !gone {
        let _ = child.kill();
    }
    proxy.release();
    let output = child.wait_with_output().unwrap();
    assert!(
        gone,
        "lambda-rt {args:?} did not stop within 20 s of {signal}"
    );
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("interrupted by {signal}"))
            && message.contains("run the same command again"),
        "{message}"
    );
    (stop_time, message)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_command_exits_130_at_each_step_and_the_next_run_converges() {
    use nix::sys::signal::Signal;
    // Pending long enough for the wait after CreateFunction to be where the signal lands.
    let aws = Aws::with(crate::common::proxy::Realism {
        pending: Duration::from_millis(500),
        ..Default::default()
    });
    let (moto, proxy) = (&aws.moto, &aws.proxy);
    let env = aws.env();
    let project = Project::new();
    let lambda = moto.lambda().await;

    let function_path = "/2015-03-31/functions/bash-runtime";
    let get_function =
        move |r: &crate::common::proxy::RequestInfo| r.method == "GET" && r.path == function_path;
    // (point, command, signal, which request is held when the signal arrives)
    type Hold = Box<dyn Fn(&crate::common::proxy::RequestInfo) -> bool + Send>;
    let points: Vec<(&str, &str, Signal, Hold)> = vec![
        (
            "after the role exists",
            "create",
            Signal::SIGINT,
            Box::new(|r| r.action == "CreateFunction"),
        ),
        (
            "after the function exists, during a wait",
            "create",
            Signal::SIGTERM,
            {
                // The second GetFunction of a fresh create is the wait after CreateFunction.
                let seen = AtomicUsize::new(0);
                Box::new(move |r| get_function(r) && seen.fetch_add(1, Ordering::SeqCst) == 1)
            },
        ),
        (
            "after a layer version is published",
            "publish-layer",
            Signal::SIGINT,
            Box::new(|r| r.method == "PUT" && r.path.ends_with("/configuration")),
        ),
    ];
    for (point, command, signal, hold) in points {
        if point == "after the function exists, during a wait" {
            // Start that point from nothing again.
            assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
        }
        let (stop_time, _) = interrupt_at(proxy, project.path(), &env, &[command], signal, hold);
        let out = lambda_rt(project.path(), &env, &with_retry_flags(&[command]));
        assert_exit(&out, 0);
        record(
            "interruption",
            serde_json::json!({
                "point": point,
                "command": command,
                "signal": signal.to_string(),
                "stopped_after_ms": stop_time.as_millis() as u64,
                "exit": 130,
                "converged": true,
            }),
        );
    }
    // Converged: one role, the function with version 1 of the layer and no bootstrap in its code.
    assert_eq!(
        moto.iam()
            .await
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
            .len(),
        1
    );
    let versions = lambda
        .list_layer_versions()
        .layer_name("bash-runtime-layer")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.layer_versions().len(), 1, "{versions:?}");
    let config = lambda
        .get_function_configuration()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert_eq!(config.layers().len(), 1);
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &env, &["publish-layer"]), 0);
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}

#[test]
fn a_black_holed_endpoint_times_out_each_attempt_and_names_the_endpoint() {
    // Connections are accepted (by the kernel's backlog) and never answered.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let project = Project::new();
    let env = endpoint_env(&url);
    let started = Instant::now();
    let out = lambda_rt(
        project.path(),
        &env,
        &["update", "--read-timeout", "1", "--max-attempts", "2"],
    );
    let elapsed = started.elapsed();
    // How long it took is recorded for docs/reliability.md, not asserted (timings belong to
    // bench/): the message proves that both attempts timed out rather than hung.
    assert_exit(&out, 1);
    let message = stderr(&out);
    assert!(
        message.contains("failed to read function `bash-runtime`"),
        "{message}"
    );
    assert!(
        message.contains("did not answer in time after 2 attempts"),
        "{message}"
    );
    assert!(
        message.contains(&url),
        "the message names the endpoint: {message}"
    );
    assert!(message.contains("--read-timeout"), "{message}");

    // (A closed port is tested in deploy.rs: it fails at once with a hint.)
    record(
        "timeout",
        serde_json::json!({
            "case": "black-holed endpoint, --read-timeout 1 --max-attempts 2",
            "failed_after_ms": elapsed.as_millis() as u64,
            "message": message.lines().find(|l| l.starts_with("error:")).unwrap_or_default(),
        }),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_and_signatures_never_appear_in_output() {
    let aws = Aws::start();
    let project = Project::new();
    let secret = "MARKERSECRETmarkersecret0123456789ABCDEF";
    let token = "MARKERTOKENmarkertoken0123456789";
    let env: Vec<(String, String)> = aws
        .env()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "AWS_SECRET_ACCESS_KEY" => (k, secret.to_string()),
            _ => (k, v),
        })
        .chain([("AWS_SESSION_TOKEN".to_string(), token.to_string())])
        .collect();
    for args in [
        vec!["create", "-vv"],
        vec!["update", "-vv", "--memory", "256"],
        vec!["publish-layer", "-vv"],
        vec!["invoke", "-vv", "--log"],
        vec!["delete", "-vv", "--output", "json"],
    ] {
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, 0);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.len() > 100,
            "{args:?} printed almost nothing at -vv: {all}"
        );
        for marker in [secret, token, "Signature=", "x-amz-security-token"] {
            assert!(
                !all.to_ascii_lowercase()
                    .contains(&marker.to_ascii_lowercase()),
                "{args:?} printed `{marker}`"
            );
        }
    }
    record(
        "secret_leak",
        serde_json::json!({"commands": 5, "verbosity": "-vv", "leaks": 0}),
    );
}
