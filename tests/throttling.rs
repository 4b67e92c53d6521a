//! Lambda's control-plane quota (issue 31): requests beyond the rate are answered 429
//! TooManyRequestsException by the realism proxy, as Lambda does. lambda-rt paces its Lambda
//! requests at the documented 15 a second, so that many functions deployed at once are not
//! refused; and where an account allows less (a lower rate here), every command waits the 429s out
//! (the SDK's retries, with backoff and jitter, said with `-v`) and converges: nothing is lost,
//! nothing panics, and a re-run writes nothing.

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

#[tokio::test(flavor = "multi_thread")]
async fn throttled_writes_are_waited_out_and_nothing_is_lost() {
    // Two writes a second: a command that writes three times in a second is throttled.
    let aws = Aws::with(Realism {
        lambda_requests_per_second: Some(2.0),
        ..Realism::short()
    });
    let env = aws.env();
    let project = Project::new().with(
        "lambda-rt.toml",
        "memory = 256\nreserved-concurrency = 3\n[tags]\nteam = \"data\"\n",
    );
    assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
    let layer = lambda_rt(project.path(), &env, &["publish-layer", "-v"]);
    assert_exit(&layer, 0);
    project.write(
        "lambda-rt.toml",
        "memory = 512\ntimeout = 10\nreserved-concurrency = 4\n[tags]\nteam = \"ops\"\n",
    );
    let update = lambda_rt(project.path(), &env, &["update", "-v"]);
    assert_exit(&update, 0);

    let refused = aws.proxy.refusals().get("429 rate exceeded").copied();
    assert!(refused.unwrap_or(0) > 0, "{:?}", aws.proxy.refusals());
    let said = format!("{}{}", stderr(&layer), stderr(&update));
    assert!(said.contains("retrying Lambda"), "{said}");
    // The quota would count the test's own reads below too.
    aws.proxy.set_realism(Realism::short());

    // Everything arrived.
    let config = aws.function_configuration(FUNCTION).await;
    assert_eq!(config.memory_size(), Some(512));
    assert_eq!(config.timeout(), Some(10));
    assert!(
        config
            .layers()
            .iter()
            .any(|l| l.arn().is_some_and(|a| a.contains(":bash-runtime-layer:"))),
        "{:?}",
        config.layers()
    );
    let lambda = aws.lambda().await;
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(4));
    let tags = lambda
        .list_tags()
        .resource(config.function_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("ops")
    );
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    assert!(lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_created_at_once_stay_within_lambdas_quota() {
    // Twenty functions at once, each retrying its CreateFunction while IAM propagates its new
    // role: unpaced, that is hundreds of requests a second.
    let aws = Aws::with(Realism {
        lambda_requests_per_second: Some(15.0),
        ..Realism::short()
    });
    let names: Vec<String> = (1..=20).map(|n| format!("paced{n:02}")).collect();
    let tables: String = names.iter().map(|n| format!("[functions.{n}]\n")).collect();
    let tables = format!("layer-name = \"paced-runtime\"\n{tables}");
    let project = Project::new().with("lambda-rt.toml", &tables);
    std::fs::remove_dir_all(project.path().join("function")).unwrap();
    for name in &names {
        project.write(
            &format!("functions/{name}/function.sh"),
            "handler () { echo ok; }\n",
        );
    }
    let made = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&made, 0);
    let counted = aws
        .proxy
        .counts()
        .into_iter()
        .filter(|(key, _)| key.starts_with("lambda:") && key != "lambda:GetFunction")
        .map(|(_, n)| n)
        .sum::<u64>();
    assert!(counted >= 20, "the quota's requests: {counted}");
    let refusals = aws.proxy.refusals();
    assert_eq!(refusals.get("429 rate exceeded"), None, "{refusals:?}");
    for name in &names {
        assert!(aws
            .function_configuration(name)
            .await
            .function_arn()
            .is_some());
    }
}
