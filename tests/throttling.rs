//! Lambda's control-plane rate limit (issue 31's groundwork): writes beyond the rate are answered
//! 429 TooManyRequestsException by the realism proxy, as Lambda does, and every command waits them
//! out (the SDK's retries, with backoff and jitter, said with `-v`) and converges: nothing is lost,
//! nothing panics, and a re-run writes nothing.

use crate::common::proxy::Realism;
use crate::common::*;

const FUNCTION: &str = "bash-runtime";

#[tokio::test(flavor = "multi_thread")]
async fn throttled_writes_are_waited_out_and_nothing_is_lost() {
    // Two writes a second: a command that writes three times in a second is throttled.
    let aws = Aws::with(Realism {
        lambda_writes_per_second: Some(2.0),
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
