//! Converging after interruptions and concurrent runs (issue 32): writes to what hangs off a
//! function wait out its states like code writes do, a version never holds another run's code,
//! and input AWS would refuse (or that is not text) is a usage error. The real binary against moto
//! behind the realism proxy.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Output;
use std::time::Duration;

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

/// Runs every command of `commands` as its own `lambda-rt` process, all at once (each bounded
/// like any run); their outputs, in order.
fn run_at_once(project: &Project, env: &[(String, String)], commands: &[&[&str]]) -> Vec<Output> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = commands
            .iter()
            .map(|args| scope.spawn(move || lambda_rt(project.path(), env, args)))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

/// A re-run that finds the function being updated by someone else (InProgress; a re-run right
/// after an interrupted `create` finds it Pending, which Lambda refuses alike) waits for it before
/// writing the URL, its permissions and the alias, instead of failing on the 409.
#[tokio::test(flavor = "multi_thread")]
async fn url_permission_and_alias_writes_wait_for_an_update_in_progress() {
    let aws = Aws::with(Realism {
        in_progress: Duration::from_millis(800),
        ..Realism::short()
    });
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    // Another writer's update, changing nothing lambda-rt manages: the function is InProgress.
    aws.lambda()
        .await
        .update_function_configuration()
        .function_name(FUNCTION)
        .description("")
        .send()
        .await
        .unwrap();
    let before = aws
        .proxy
        .refusals()
        .get("409 InProgress")
        .copied()
        .unwrap_or(0);
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &[
            "create",
            "--url",
            "--url-auth",
            "none",
            "--publish",
            "--alias",
            "live",
        ],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "unchanged  function");
    let after = aws
        .proxy
        .refusals()
        .get("409 InProgress")
        .copied()
        .unwrap_or(0);
    assert!(after > before, "no write met the update in progress");
    let lambda = aws.moto.lambda().await;
    let url = lambda
        .get_function_url_config()
        .function_name(FUNCTION)
        .send()
        .await;
    assert!(url.is_ok(), "{url:?}");
    let alias = lambda
        .get_alias()
        .function_name(FUNCTION)
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some("1"));
}

/// Another run deploys other code between this run's code update and its PublishVersion: no
/// version is published with code this run did not build, the error says what happened, and a
/// re-run deploys and publishes this project's code.
#[tokio::test(flavor = "multi_thread")]
async fn a_version_never_holds_another_runs_code() {
    let aws = Aws::start();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    project.write("function/function.sh", "handler () {\n  echo mine\n}\n");
    let other = Project::new().with("function/function.sh", "handler () {\n  echo theirs\n}\n");
    let other_zip =
        lambda_rt::package::function_zip(&settings_with(other.path(), |_| {}), true).unwrap();
    aws.proxy
        .deploy_code_after(FUNCTION, "UpdateFunctionCode", &other_zip.bytes);

    let out = lambda_rt(project.path(), &aws.env(), &["update", "--publish"]);
    assert!(aws.proxy.changed_behind(), "the other run never deployed");
    assert_exit(&out, 1);
    assert_stderr_has(&out, "changed under this run");
    assert_stderr_has(&out, "no version was published");
    let lambda = aws.moto.lambda().await;
    let versions = lambda
        .list_versions_by_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let published: Vec<_> = versions
        .versions()
        .iter()
        .filter(|v| v.version() != Some("$LATEST"))
        .collect();
    assert!(published.is_empty(), "{published:?}");

    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--publish", "--output", "json"],
    );
    assert_exit(&out, 0);
    let built = json(&out)["code_sha256"].as_str().unwrap().to_string();
    let version = lambda
        .get_function_configuration()
        .function_name(FUNCTION)
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert_eq!(version.code_sha256(), Some(built.as_str()));
    assert_ne!(built, other_zip.code_sha256);
}

/// Input that is not text, or that AWS would refuse, is a usage error (exit 2) before any request.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_usage_error_before_any_request() {
    let aws = Aws::start();
    let project = Project::new();
    aws.start_counting();

    // An argument that is not UTF-8: no panic.
    let out = lambda_rt_command(project.path(), &aws.env(), &[])
        .arg("invoke")
        .arg("--payload")
        .arg(OsStr::from_bytes(b"\"\xff\xfe\""))
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert_stderr_has(&out, "UTF-8");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        // (A NUL cannot be passed as an argument at all; the project file below can hold one.)
        (
            vec!["create", "--description", "a\u{7}b"],
            "control character U+0007",
        ),
        (
            vec!["create", "--role-arn", "arn:aws:iam::123:role/x"],
            "12-digit account id",
        ),
    ];
    for (args, needle) in cases {
        let out = lambda_rt(project.path(), &aws.env(), &args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, needle);
    }

    std::fs::write(
        project.path().join("lambda-rt.toml"),
        "description = \"a\\u0000b\"\n",
    )
    .unwrap();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "control character U+0000");

    // A project file that is not UTF-8 says where.
    std::fs::write(
        project.path().join("lambda-rt.toml"),
        b"memory = 256\ndescription = \"caf\xe9\"\n",
    )
    .unwrap();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "lambda-rt.toml:2:19`: the file is not UTF-8 text");
    aws.assert_no_requests("bad input");
}

/// Two `delete`s of functions sharing a lambda-rt role, at once: each plans while the other's
/// function still uses the role, so each would keep it; the one that removes the last mark
/// deletes it. No role is left, ten times out of ten.
#[tokio::test(flavor = "multi_thread")]
async fn two_deletes_of_functions_sharing_a_role_leave_no_role() {
    let aws = Aws::start();
    let iam = aws.moto.iam().await;
    let project = Project::new();
    let env = aws.env();
    for round in 0..10 {
        let role = format!("shared-{round}");
        let (a, b) = (format!("a-{round}"), format!("b-{round}"));
        let command = |verb, function| [verb, "--function-name", function, "--role-name", &role];
        // The first create makes the role; the second joins it; then both go at once.
        assert_exit(&lambda_rt(project.path(), &env, &command("create", &a)), 0);
        assert_exit(&lambda_rt(project.path(), &env, &command("create", &b)), 0);
        let deletes = [&command("delete", &a)[..], &command("delete", &b)[..]];
        for out in run_at_once(&project, &env, &deletes) {
            assert_exit(&out, 0);
        }
        let left = iam.get_role().role_name(&role).send().await;
        assert!(
            left.is_err(),
            "round {round}: role `{role}` was left behind"
        );
    }
}

/// What another run's `delete` of the last other function sharing a role does to it: detaches its
/// policies and deletes it, straight in moto (from the proxy's thread, hence its own runtime).
fn delete_role_now(moto_url: &str, role: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let iam = aws_sdk_iam::Client::new(&sdk_config_for(moto_url).await);
        let attached = iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        for policy in attached.attached_policies() {
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(policy.policy_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
        iam.delete_role().role_name(role).send().await.unwrap();
    });
}

/// The role `second` shares with `first` is deleted at the moment `race` sets up; `second`'s
/// create must make it again, say so, and end with the function on a working role.
async fn create_while_the_shared_role_goes(race: impl FnOnce(&Aws, String)) {
    let aws = Aws::start();
    let toml = |function: &str| format!("function-name = \"{function}\"\nrole-name = \"shared\"\n");
    let first = Project::new().with("lambda-rt.toml", &toml("first"));
    assert_exit(&lambda_rt(first.path(), &aws.env(), &["create"]), 0);
    let second = Project::new().with("lambda-rt.toml", &toml("second"));
    race(&aws, aws.moto.url.clone());
    let out = lambda_rt(second.path(), &aws.env(), &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "role `shared` was deleted while this run was using it (another `lambda-rt delete`?): \
         creating it again",
    );
    let iam = aws.moto.iam().await;
    let role = iam.get_role().role_name("shared").send().await.unwrap();
    let tags: Vec<&str> = role
        .role()
        .unwrap()
        .tags()
        .iter()
        .map(|t| t.key())
        .collect();
    assert!(tags.contains(&"lambda-rt:function:second"), "{tags:?}");
    let attached = iam
        .list_attached_role_policies()
        .role_name("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1, "{attached:?}");
    let config = aws
        .moto
        .lambda()
        .await
        .get_function_configuration()
        .function_name("second")
        .send()
        .await
        .unwrap();
    assert_eq!(config.role(), role.role().map(|r| r.arn()));
}

/// Deleted after `second` tagged it as its own, before CreateFunction: Lambda refuses the role
/// ("cannot be assumed", as moto answers for a missing role); the refusal is looked into, not
/// waited out as IAM propagation (issue 32, point 4).
#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_role_is_deleted_before_create_function_makes_it_again() {
    create_while_the_shared_role_goes(|aws, url| {
        aws.proxy
            .after_answer("TagRole", move || delete_role_now(&url, "shared"));
    })
    .await;
}

/// Deleted right after `second` read it (all three reads answered), so tagging it fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_role_is_deleted_after_it_was_read_makes_it_again() {
    create_while_the_shared_role_goes(|aws, url| {
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for read in ["GetRole", "ListAttachedRolePolicies", "ListRolePolicies"] {
            let (answered, url) = (answered.clone(), url.clone());
            aws.proxy.after_answer(read, move || {
                if answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                    delete_role_now(&url, "shared");
                }
            });
        }
    })
    .await;
}

/// A version of the same content that an interrupted race left above the attached one is deleted
/// by the next `publish-layer`, which keeps the older one and the function on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_layer_version_is_removed_by_the_next_publish_layer() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    assert_exit(&lambda_rt(project.path(), &env, &["publish-layer"]), 0);
    // What a second run of the race published: the same zip and lambda-rt's description.
    let settings = settings_with(project.path(), |_| {});
    let zip = lambda_rt::package::layer_zip(&settings).unwrap();
    let lambda = aws.lambda().await;
    lambda
        .publish_layer_version()
        .layer_name("bash-runtime-layer")
        .description(lambda_rt::aws::layer::description_for(
            FUNCTION,
            &zip.code_sha256,
        ))
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.bytes.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        layer_versions(&lambda, "bash-runtime-layer").await,
        vec![1, 2]
    );

    let out = lambda_rt(project.path(), &env, &["publish-layer"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "bash-runtime-layer:2");
    assert_stderr_has(&out, "same content as version 1");
    assert_eq!(layer_versions(&lambda, "bash-runtime-layer").await, vec![1]);
    let attached = attached_layers(&lambda, FUNCTION).await;
    assert!(
        attached[0].ends_with(":bash-runtime-layer:1"),
        "{attached:?}"
    );
    // And a further run changes nothing.
    aws.start_counting();
    assert_exit(&lambda_rt(project.path(), &env, &["publish-layer"]), 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}

/// Two `publish-layer` at once, then a re-run: one layer version of the content, attached.
#[tokio::test(flavor = "multi_thread")]
async fn two_publish_layers_at_once_leave_one_version() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let lambda = aws.lambda().await;
    for round in 0..5 {
        let function = format!("race-{round}");
        let named = |verb: &str| vec![verb.to_string(), "--function-name".into(), function.clone()];
        let args = named("create");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_exit(&lambda_rt(project.path(), &env, &args), 0);
        let publish = named("publish-layer");
        let publish: Vec<&str> = publish.iter().map(String::as_str).collect();
        for out in run_at_once(&project, &env, &[&publish, &publish]) {
            assert_exit(&out, 0);
        }
        assert_exit(&lambda_rt(project.path(), &env, &publish), 0);
        let layer = format!("{function}-layer");
        let versions = layer_versions(&lambda, &layer).await;
        assert_eq!(versions.len(), 1, "round {round}: {versions:?}");
        let attached = attached_layers(&lambda, &function).await;
        assert!(
            attached[0].ends_with(&format!(":{layer}:{}", versions[0])),
            "round {round}: {attached:?} {versions:?}"
        );
    }
}

/// Two `create`s of the same new function at once: both end well (one makes it, the other finds
/// it made) or the loser says in lambda-rt's words what happened, never a raw AWS conflict.
#[tokio::test(flavor = "multi_thread")]
async fn two_creates_at_once_converge_or_explain() {
    let aws = Aws::with(Realism::short());
    let project = Project::new();
    let env = aws.env();
    for round in 0..3 {
        let function = format!("twin-{round}");
        let args = [
            "create",
            "--function-name",
            &function,
            "--url",
            "--url-auth",
            "iam",
        ];
        for out in run_at_once(&project, &env, &[&args, &args]) {
            let err = stderr(&out);
            assert!(
                !err.contains("ResourceConflictException") && !err.contains("EntityAlreadyExists"),
                "round {round}: {err}"
            );
            assert_exit(&out, 0);
        }
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, 0);
    }
}

/// Another run makes the URL (and the public statements) between this run's read and its
/// writes: Lambda answers 409 (the proxy models it; moto would overwrite), and lambda-rt reads
/// again and carries on from what is there, instead of failing on the conflict.
#[tokio::test(flavor = "multi_thread")]
async fn a_url_made_by_another_run_meanwhile_is_taken_as_found() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    aws.proxy.send_after(
        FUNCTION,
        "GetFunctionUrlConfig",
        ("POST", &format!("/2021-10-31/functions/{FUNCTION}/url")),
        "CreateFunctionUrlConfig",
        r#"{"AuthType":"AWS_IAM","InvokeMode":"BUFFERED"}"#,
    );
    let out = lambda_rt(
        project.path(),
        &env,
        &["create", "--url", "--url-auth", "iam"],
    );
    assert!(
        aws.proxy.changed_behind(),
        "the other run never made the URL"
    );
    assert_exit(&out, 0);
    assert_stderr_lacks(&out, "ResourceConflictException");

    // The same for a public statement someone else's run just added.
    aws.proxy.send_after(
        FUNCTION,
        "GetPolicy",
        ("POST", &format!("/2015-03-31/functions/{FUNCTION}/policy")),
        "AddPermission",
        r#"{"StatementId":"lambda-rt-url-public","Action":"lambda:InvokeFunctionUrl","Principal":"*","FunctionUrlAuthType":"NONE"}"#,
    );
    let out = lambda_rt(
        project.path(),
        &env,
        &["update", "--url", "--url-auth", "none"],
    );
    assert!(
        aws.proxy.changed_behind(),
        "the other run never added the statement"
    );
    assert_exit(&out, 0);
    assert_stderr_lacks(&out, "ResourceConflictException");
    // And then nothing is left to do.
    aws.start_counting();
    let out = lambda_rt(
        project.path(),
        &env,
        &["update", "--url", "--url-auth", "none"],
    );
    assert_exit(&out, 0);
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
}
