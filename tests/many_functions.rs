//! A project of several functions (issue 31): `[functions.<name>]` tables over the top level's
//! settings, each function's code in `functions/<name>/`, one shared runtime layer; every command
//! acts on all of them (`--only NAME` narrows it), one function's failure does not stop the others,
//! and the exit code is the worst result. The real binary against moto behind the realism proxy.

use crate::common::proxy::Realism;
use crate::common::*;

const SETTINGS: &str = "layer-name = \"jobs-runtime\"\n\
                        memory = 128\n\
                        [functions.import]\n\
                        memory = 256\n\
                        [functions.compact]\n\
                        timeout = 30\n\
                        [functions.report]\n\
                        env = { REPORT = \"daily\" }\n";

const NAMES: [&str; 3] = ["compact", "import", "report"];

/// A project of three functions, each with its own handler, sharing `runtime/`.
fn project() -> Project {
    let project = Project::new().with("lambda-rt.toml", SETTINGS);
    std::fs::remove_dir_all(project.path().join("function")).unwrap();
    for name in NAMES {
        project.write(
            &format!("functions/{name}/function.sh"),
            &format!("handler () {{ printf '{{\"job\":\"{name}\"}}'; }}\n"),
        );
    }
    project
}

/// Each function's CodeSha256, in [`NAMES`]' order.
async fn code_hashes(lambda: &aws_sdk_lambda::Client) -> Vec<String> {
    let mut hashes = Vec::new();
    for name in NAMES {
        hashes.push(function_code(lambda, name).await.0);
    }
    hashes
}

async fn exists(aws: &Aws, name: &str) -> bool {
    aws.lambda()
        .await
        .get_function()
        .function_name(name)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_functions_are_made_share_one_layer_and_are_torn_down() {
    let aws = Aws::with(Realism {
        one_item_pages: true,
        ..Realism::short()
    });
    let env = aws.env();
    let project = project();
    let made = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&made, 0);
    for name in NAMES {
        assert_stderr_has(&made, &format!("[{name}]      created  function `{name}`"));
    }
    // Each with the top level's settings under its own.
    let memory = |name: &'static str| {
        let aws = &aws;
        async move { aws.function_configuration(name).await.memory_size() }
    };
    assert_eq!(memory("import").await, Some(256));
    assert_eq!(memory("compact").await, Some(128));
    let compact = aws.function_configuration("compact").await;
    assert_eq!(compact.timeout(), Some(30));
    let report = aws.function_configuration("report").await;
    let variables = report.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(variables.get("REPORT").map(String::as_str), Some("daily"));

    // One runtime layer, published once and attached to every function.
    assert_exit(&lambda_rt(project.path(), &env, &["publish-layer"]), 0);
    let lambda = aws.lambda().await;
    assert_eq!(layer_versions(&lambda, "jobs-runtime").await, [1]);
    for name in NAMES {
        let attached = attached_layers(&lambda, name).await;
        assert!(
            attached.iter().any(|arn| arn.ends_with(":jobs-runtime:1")),
            "{name}: {attached:?}"
        );
    }

    // A re-run writes nothing; one function's edited code updates that function alone.
    assert_eq!(
        aws.writes_of(project.path(), &["create"]),
        Vec::<String>::new()
    );
    let before = code_hashes(&lambda).await;
    project.write(
        "functions/import/function.sh",
        "handler () { printf '{\"job\":\"import\",\"v\":2}'; }\n",
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        ["lambda:UpdateFunctionCode"]
    );
    let after = code_hashes(&lambda).await;
    assert_eq!(before[0], after[0], "compact");
    assert_ne!(before[1], after[1], "import");
    assert_eq!(before[2], after[2], "report");

    // `status --output json`: one document, a result per function.
    let status = lambda_rt(project.path(), &env, &["status", "--output", "json"]);
    assert_exit(&status, 0);
    let document = json(&status);
    let functions = document["functions"].as_array().unwrap();
    let listed: Vec<&str> = functions
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(listed, NAMES);
    assert!(functions.iter().all(|f| f["result"]["in_sync"] == true));
    assert_fit_the_schema(std::slice::from_ref(&document));

    // `versions` reads every function's, in one document.
    let versions = lambda_rt(project.path(), &env, &["versions", "--output", "json"]);
    assert_exit(&versions, 0);
    let document: serde_json::Value = serde_json::from_str(&stdout(&versions)).unwrap();
    let listed: Vec<&str> = document["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["result"]["function_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, NAMES);
    assert_fit_the_schema(std::slice::from_ref(&document));

    // A command for one function: --only.
    let invoked = lambda_rt(
        project.path(),
        &env,
        &["invoke", "--local", "--only", "report"],
    );
    assert_exit(&invoked, 0);
    assert_eq!(stdout(&invoked), r#"{"job":"report"}"#);

    // `delete --only` removes one; `delete` the rest, with every role and the layer's versions.
    let one = lambda_rt(project.path(), &env, &["delete", "--only", "import"]);
    assert_exit(&one, 0);
    assert!(!exists(&aws, "import").await);
    assert!(exists(&aws, "compact").await && exists(&aws, "report").await);
    // The runtime layer stays while other functions of the project use it.
    assert_eq!(layer_versions(&lambda, "jobs-runtime").await, [1]);
    assert_stderr_has(&one, "the project's compact, report still use it");
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    let iam = aws.iam().await;
    for name in NAMES {
        assert!(!exists(&aws, name).await, "{name}");
        let role = iam
            .get_role()
            .role_name(format!("{name}-role"))
            .send()
            .await;
        assert!(role.is_err(), "{name}-role is left");
    }
    assert_eq!(
        layer_versions(&lambda, "jobs-runtime").await,
        Vec::<i64>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_functions_failure_does_not_stop_the_others_and_sets_the_exit_code() {
    let aws = Aws::start();
    let env = aws.env();
    let project = project();
    // Someone else's function holds one of the names.
    let role = aws
        .moto
        .iam()
        .await
        .create_role()
        .role_name("made-by-hand-role")
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .unwrap();
    let bash = Project::new();
    let zip = lambda_rt::package::function_zip(&settings_with(bash.path(), |_| {}), true).unwrap();
    let lambda = aws.moto.lambda().await;
    let arn = role.role().unwrap().arn();
    create_function_directly(&lambda, "compact", arn, "function.handler", zip.bytes).await;
    let out = lambda_rt(project.path(), &env, &["create", "--output", "json"]);
    assert_exit(&out, 4);
    assert_stderr_has(
        &out,
        "[compact] error: function `compact` exists but was not created by lambda-rt",
    );
    assert!(exists(&aws, "import").await && exists(&aws, "report").await);
    let document = json(&out);
    assert_eq!(document["exit_code"], 4);
    let functions = document["functions"].as_array().unwrap();
    assert_eq!(functions[0]["function"], "compact");
    assert_eq!(functions[0]["error"]["code"], "not_ours");
    assert_eq!(functions[1]["exit_code"], 0);
    assert_eq!(functions[2]["exit_code"], 0);
    assert_fit_the_schema(std::slice::from_ref(&document));
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_project_of_several_functions_refuses_is_said_before_any_request() {
    let aws = Aws::start();
    let env = aws.env();
    let project = project();
    aws.start_counting();
    assert_usage_errors(
        project.path(),
        &env,
        &[
            (
                &["create", "--only", "nope"],
                "--only nope: the project has no such function; its functions are compact, \
                 import, report",
            ),
            (
                &["invoke", "--payload", "{}"],
                "`lambda-rt invoke` acts on one function and this project has 3",
            ),
            (
                &["update", "--function-name", "import"],
                "this project has several functions",
            ),
        ],
    );
    project.write(
        "lambda-rt.toml",
        &SETTINGS.replace("timeout = 30", "layer-name = \"mine\""),
    );
    assert_usage_errors(
        project.path(),
        &env,
        &[(&["create"], "`layer-name` in [functions.compact]")],
    );
    aws.assert_no_requests("refused settings of several functions");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_role_is_made_once_and_goes_with_the_last_function() {
    let aws = Aws::with(Realism::short());
    let env = aws.env();
    let project = project();
    project.write(
        "lambda-rt.toml",
        &format!("role-name = \"jobs-role\"\n{SETTINGS}"),
    );
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let iam = aws.iam().await;
    let role = iam.get_role().role_name("jobs-role").send().await.unwrap();
    let mut users: Vec<String> = role
        .role()
        .unwrap()
        .tags()
        .iter()
        .filter_map(|t| {
            t.key()
                .strip_prefix("lambda-rt:function:")
                .map(str::to_string)
        })
        .collect();
    users.sort();
    assert_eq!(users, NAMES);
    for name in NAMES {
        let config = aws.function_configuration(name).await;
        assert!(config.role().unwrap().ends_with("/jobs-role"), "{name}");
    }
    assert_exit(
        &lambda_rt(project.path(), &env, &["delete", "--only", "import"]),
        0,
    );
    assert!(iam.get_role().role_name("jobs-role").send().await.is_ok());
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert!(iam.get_role().role_name("jobs-role").send().await.is_err());
}

/// `lambda-rt serve --port 0` with `extra` flags in `project`: the server and its URL.
fn serve(project: &Project, extra: &[&str]) -> (Spawned, String) {
    require_runtime_tools();
    let mut args = vec!["serve", "--port", "0"];
    args.extend(extra);
    let mut child = lambda_rt_command(project.path(), &[], &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    (Spawned::new(child), url)
}

/// Stops a server as Ctrl-C would, so that it stops its runtimes.
fn stop(mut server: Spawned) {
    server.signal(nix::sys::signal::Signal::SIGINT);
    let stopped = server.wait_for_exit(std::time::Duration::from_secs(20));
    assert!(stopped.is_some(), "serve did not stop on SIGINT");
}

#[test]
fn serve_runs_every_function_and_the_name_picks_one() {
    let project = project();
    let (server, url) = serve(&project, &[]);
    for name in NAMES {
        let (status, _, body) = invoke_api(&url, name, "{}", &[]);
        assert_eq!((status, body), (200, format!("{{\"job\":\"{name}\"}}")));
    }
    // An ARN names a function as well as its name does.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:report";
    assert_eq!(invoke_api(&url, arn, "{}", &[]).2, r#"{"job":"report"}"#);
    let (status, headers, body) = invoke_api(&url, "nightly", "{}", &[]);
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert!(body.contains("`compact`, `import`, `report`"), "{body}");
    stop(server);

    // --only narrows it to one; --http serves one function, so several are refused up front.
    let (server, url) = serve(&project, &["--only", "import"]);
    assert_eq!(invoke_api(&url, "import", "{}", &[]).0, 200);
    assert_eq!(invoke_api(&url, "report", "{}", &[]).0, 404);
    stop(server);
    let refused = lambda_rt(
        project.path(),
        &[],
        &["serve", "--port", "0", "--http", "0"],
    );
    assert_exit(&refused, 2);
    assert_stderr_has(&refused, "name it with --only NAME");
}

#[test]
fn check_runs_the_runtime_contract_for_every_function() {
    require_runtime_tools();
    let project = project();
    let checked = lambda_rt(project.path(), &[], &["check"]);
    assert_exit(&checked, 0);
    let out = stdout(&checked);
    for name in NAMES {
        let summary = out
            .lines()
            .find(|line| line.starts_with(&format!("[{name}] ")) && line.contains(" passed, "));
        assert!(
            summary.is_some_and(|l| l.contains(" 0 failed")),
            "{name}: {out}"
        );
    }
    let checked = lambda_rt(project.path(), &[], &["check", "--output", "json"]);
    assert_exit(&checked, 0);
    let document: serde_json::Value = serde_json::from_str(&stdout(&checked)).unwrap();
    assert_eq!(document["functions"].as_array().unwrap().len(), 3);
    assert!(document["functions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["result"]["passed"] == true));
    assert_fit_the_schema(std::slice::from_ref(&document));
}
