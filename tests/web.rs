//! HTTP functions: a Function URL in AWS (`create --url`, against moto), and `serve --http`
//! locally, driven by a real HTTP client, with the event compared field by field with the
//! Function URL format.

use crate::common::*;

/// Handlers for `serve --http`, in bash with python3 for the JSON work.
const HANDLERS: &str = r#"
# The whole event back, as the JSON body.
echo_event () {
  printf '%s' "$1" | python3 -c 'import json,sys; e=sys.stdin.read(); print(json.dumps({"statusCode":200,"headers":{"content-type":"application/json"},"body":e}))'
}
# The request body back, as it came (binary through base64 both ways).
echo_body () {
  printf '%s' "$1" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(json.dumps({"statusCode":200,"headers":{"content-type":"application/octet-stream"},"body":e.get("body",""),"isBase64Encoded":e["isBase64Encoded"]}))'
}
a_string () { printf '"just a string"'; }
not_found () {
  printf '{"statusCode":404,"headers":{"x-reason":"no such thing"},"cookies":["a=1; Path=/","b=2"],"body":"nope"}'
}
broken () { echo "failing on purpose" >&2; return 1; }
"#;

/// `serve --http 0` with `handler`; returns the server and the base URL of its HTTP front.
fn serve_http(project: &Project, handler: &str) -> (Spawned, String) {
    let mut child = lambda_rt_command(
        project.path(),
        &[],
        &["serve", "--port", "0", "--http", "0", "--handler", handler],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    let mut second = String::new();
    reader.read_line(&mut first).unwrap();
    reader.read_line(&mut second).unwrap();
    assert!(first.starts_with("listening on "), "{first}");
    let url = second
        .trim()
        .strip_prefix("function URL on ")
        .unwrap_or_else(|| panic!("no function URL line: {second}"))
        .to_string();
    (Spawned::new(child), url)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into()
}

#[test]
fn requests_become_function_url_events() {
    require_runtime_tools();
    let project = Project::new().with("function/web.sh", HANDLERS);
    let (_server, url) = serve_http(&project, "web.echo_event");
    let mut response = agent()
        .get(format!("{url}/some/path%20x?a=1&a=2&b=x%2Fy"))
        .header("Cookie", "session=abc; theme=dark")
        .header("X-Custom", "value")
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let event: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/some/path%20x");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%2Fy");
    assert_eq!(
        event["cookies"],
        serde_json::json!(["session=abc", "theme=dark"])
    );
    assert_eq!(event["headers"]["x-custom"], "value");
    assert!(event["headers"].get("cookie").is_none(), "{event:#}");
    assert_eq!(
        event["queryStringParameters"],
        serde_json::json!({"a": "1,2", "b": "x/y"})
    );
    let context = &event["requestContext"];
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/some/path%20x");
    assert_eq!(context["http"]["protocol"], "HTTP/1.1");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["routeKey"], "$default");
    assert_eq!(context["stage"], "$default");
    assert!(context["timeEpoch"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(context["time"].as_str().unwrap().ends_with(" +0000"));
    assert!(!context["requestId"].as_str().unwrap().is_empty());
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none(), "a GET has no body");

    // A JSON body is passed as text.
    let mut response = agent()
        .post(format!("{url}/items"))
        .header("content-type", "application/json")
        .send(r#"{"name":"ü"}"#)
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(event["body"], r#"{"name":"ü"}"#);
    assert_eq!(event["isBase64Encoded"], false);
}

#[test]
fn binary_bodies_round_trip_through_base64() {
    require_runtime_tools();
    let project = Project::new().with("function/web.sh", HANDLERS);
    let (_server, url) = serve_http(&project, "web.echo_body");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let mut response = agent()
        .post(format!("{url}/upload"))
        .header("content-type", "application/octet-stream")
        .send(&bytes[..])
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.body_mut().read_to_vec().unwrap();
    assert_eq!(body, bytes);
}

#[test]
fn results_become_responses_as_function_urls_make_them() {
    require_runtime_tools();
    let project = Project::new().with("function/web.sh", HANDLERS);
    let (_server, url) = serve_http(&project, "web.a_string");
    let mut response = agent().get(format!("{url}/")).call().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        response.body_mut().read_to_string().unwrap(),
        r#""just a string""#
    );
    drop(_server);

    let (_server, url) = serve_http(&project, "web.not_found");
    let mut response = agent().get(format!("{url}/x")).call().unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers().get("x-reason").unwrap(), "no such thing");
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
    assert_eq!(response.body_mut().read_to_string().unwrap(), "nope");
    drop(_server);

    let (_server, url) = serve_http(&project, "web.broken");
    let response = agent().get(format!("{url}/")).call().unwrap();
    assert_eq!(response.status(), 502);
}

#[test]
fn the_http_template_answers_out_of_the_box() {
    require_runtime_tools();
    let dir = tempfile::tempdir().unwrap();
    assert_exit(
        &lambda_rt(
            dir.path(),
            &[],
            &["init", "web", "--template", "http", "-q"],
        ),
        0,
    );
    let project = Project {
        dir: tempfile::TempDir::new_in(dir.path()).unwrap(),
    };
    // The template's files, in a project directory the test owns.
    for file in [
        "runtime/bootstrap",
        "function/function.sh",
        "lambda-rt.toml",
    ] {
        let text = std::fs::read_to_string(dir.path().join("web").join(file)).unwrap();
        project.write(file, &text);
    }
    std::fs::set_permissions(
        project.path().join("runtime/bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (_server, url) = serve_http(&project, "function.handler");
    let mut response = agent()
        .get(format!("{url}/hello?name=J%22o"))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"message": "Hello, J\"o!"}));
    let response = agent().get(format!("{url}/elsewhere")).call().unwrap();
    assert_eq!(response.status(), 404);
}

/// The function's resource policy statements as (Sid, Action, Condition).
async fn statements(lambda: &aws_sdk_lambda::Client) -> Vec<(String, String, serde_json::Value)> {
    let Ok(policy) = lambda
        .get_policy()
        .function_name("bash-runtime")
        .send()
        .await
    else {
        return Vec::new();
    };
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap().to_string(),
                s["Action"].as_str().unwrap_or_default().to_string(),
                s["Condition"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_url_makes_a_public_url_with_both_permissions_once() {
    let aws = Aws::start();
    let project = Project::new();
    let env = aws.env();
    let run = |args: &[&str]| lambda_rt(project.path(), &env, args);
    let lambda = aws.moto.lambda().await;

    // --url alone is refused: nothing is made public unless asked, and nothing is written.
    aws.start_counting();
    let out = run(&["create", "--url"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "--url-auth");
    aws.assert_no_requests("a URL whose auth was not chosen");
    let out = run(&[
        "create",
        "--url",
        "--url-auth",
        "none",
        "--cors-origin",
        "https://example.com",
    ]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "is public: anyone on the internet can invoke function `bash-runtime`",
    );
    let config = lambda
        .get_function_url_config()
        .function_name("bash-runtime")
        .send()
        .await
        .unwrap();
    assert!(
        stderr(&out).contains(config.function_url()),
        "the URL is printed: {}",
        stderr(&out)
    );
    assert_eq!(config.auth_type().as_str(), "NONE");
    assert_eq!(
        config.cors().unwrap().allow_origins(),
        ["https://example.com"]
    );
    // moto keeps no conditions in the policy: check what lambda-rt sent.
    let sent = aws.proxy.bodies("lambda:AddPermission");
    let by_id = |id: &str| {
        sent.iter()
            .find(|b| b["StatementId"] == id)
            .unwrap_or_else(|| panic!("no AddPermission {id}: {sent:#?}"))
            .clone()
    };
    let url = by_id("lambda-rt-url-public");
    assert_eq!(url["Action"], "lambda:InvokeFunctionUrl");
    assert_eq!(url["Principal"], "*");
    assert_eq!(url["FunctionUrlAuthType"], "NONE");
    let invoke = by_id("lambda-rt-url-invoke");
    assert_eq!(invoke["Action"], "lambda:InvokeFunction");
    assert_eq!(invoke["Principal"], "*");
    assert_eq!(invoke["InvokedViaFunctionUrl"], true);
    let found: Vec<String> = statements(&lambda).await.into_iter().map(|s| s.0).collect();
    assert_eq!(found, ["lambda-rt-url-public", "lambda-rt-url-invoke"]);

    // Again: nothing to write. `update` without --url leaves the URL alone.
    for args in [
        &[
            "create",
            "--url",
            "--url-auth",
            "none",
            "--cors-origin",
            "https://example.com",
        ][..],
        &["update"],
    ] {
        aws.start_counting();
        assert_exit(&run(args), 0);
        assert_eq!(aws.counted().writes(), Vec::<String>::new(), "{args:?}");
    }

    // IAM auth: the public statements go; the URL stays.
    aws.start_counting();
    assert_exit(&run(&["update", "--url", "--url-auth", "iam"]), 0);
    assert_eq!(
        aws.counted().writes(),
        vec![
            "lambda:RemovePermission",
            "lambda:RemovePermission",
            "lambda:UpdateFunctionUrlConfig"
        ]
    );
    assert!(statements(&lambda).await.is_empty());

    // The invoke mode, spelt as the Lambda API spells it, changes only the URL's configuration.
    aws.start_counting();
    let args = [
        "update",
        "--url",
        "--url-auth",
        "iam",
        "--invoke-mode",
        "RESPONSE_STREAM",
    ];
    assert_exit(&run(&args), 0);
    assert_eq!(
        aws.counted().writes(),
        vec!["lambda:UpdateFunctionUrlConfig"]
    );
    // moto does not keep an updated invoke mode: check what lambda-rt sent.
    let sent = aws.proxy.bodies("lambda:UpdateFunctionUrlConfig");
    assert_eq!(sent.last().unwrap()["InvokeMode"], "RESPONSE_STREAM");

    // status shows it; --no-url removes it; delete leaves nothing.
    let status = json(&run(&["status", "--output", "json"]));
    assert_eq!(status["url"]["auth"], "AWS_IAM");
    assert_exit(&run(&["update", "--no-url"]), 0);
    assert!(lambda
        .get_function_url_config()
        .function_name("bash-runtime")
        .send()
        .await
        .is_err());
    assert_exit(&run(&["update", "--url", "--url-auth", "none"]), 0);
    assert_eq!(statements(&lambda).await.len(), 2);
    assert_exit(&run(&["delete"]), 0);
    assert!(lambda
        .get_function_url_config()
        .function_name("bash-runtime")
        .send()
        .await
        .is_err());
    assert!(statements(&lambda).await.is_empty());

    // Flags that need --url are refused without it, before any call.
    aws.start_counting();
    assert_exit(&run(&["create", "--url-auth", "iam"]), 2);
    aws.assert_no_requests("--url-auth without --url");
}

/// A runtime in Python that streams its responses (`Lambda-Runtime-Function-Response-Mode:
/// streaming`, chunked, with the HTTP integration's prelude): `/stream` sends a first chunk, waits
/// until the file `$GO_FILE` exists, then sends the rest; `/fail` sends a chunk, then reports an
/// error in the trailers.
const STREAMING_RUNTIME: &str = r#"#!/usr/bin/env python3
import base64, json, os, socket, time, http.client

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
base = "/2018-06-01/runtime"

def chunk(sock, data):
    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))

while True:
    api = http.client.HTTPConnection(host, int(port))
    api.request("GET", base + "/invocation/next")
    answer = api.getresponse()
    request_id = answer.getheader("Lambda-Runtime-Aws-Request-Id")
    event = json.loads(answer.read())
    api.close()
    sock = socket.create_connection((host, int(port)))
    sock.sendall((
        "POST %s/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
        % (base, request_id, host)).encode())
    prelude = json.dumps({"statusCode": 201, "headers": {"x-streamed": "yes"}}).encode()
    chunk(sock, prelude + b"\0" * 8 + b"first chunk\n")
    if event["rawPath"] == "/fail":
        error = base64.b64encode(json.dumps(
            {"errorType": "Custom.MidStream", "errorMessage": "broke after the first chunk"}).encode())
        sock.sendall(b"0\r\nLambda-Runtime-Function-Error-Type: Custom.MidStream\r\n"
                     b"Lambda-Runtime-Function-Error-Body: " + error + b"\r\n\r\n")
    else:
        while not os.path.exists(os.environ["GO_FILE"]):
            time.sleep(0.01)
        chunk(sock, b"second chunk\n")
        sock.sendall(b"0\r\n\r\n")
    sock.recv(4096)
    sock.close()
"#;

#[test]
fn streamed_responses_reach_the_client_as_they_are_written() {
    use std::io::Read;
    require_runtime_tools();
    let project = Project::new();
    project.write("runtime/bootstrap", STREAMING_RUNTIME);
    std::fs::set_permissions(
        project.path().join("runtime/bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let go = project.path().join("go");
    let log = project.path().join("serve.log");
    let mut child = lambda_rt_command(
        project.path(),
        &[],
        &[
            "serve",
            "--port",
            "0",
            "--http",
            "0",
            "--env",
            &format!("GO_FILE={}", go.display()),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::fs::File::create(&log).unwrap())
    .spawn()
    .unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let _server = Spawned::new(child);
    lines.next();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("function URL on ")
        .unwrap()
        .to_string();

    // The first chunk arrives while the handler is still waiting for the go file: it can only
    // arrive because it was streamed.
    let response = agent().get(format!("{url}/stream")).call().unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers().get("x-streamed").unwrap(), "yes");
    let mut reader = response.into_body().into_reader();
    let mut received = Vec::new();
    let mut buffer = [0u8; 64];
    while !received.ends_with(b"first chunk\n") {
        let n = reader.read(&mut buffer).unwrap();
        assert!(n > 0, "the stream ended early: {received:?}");
        received.extend_from_slice(&buffer[..n]);
    }
    assert!(!go.exists(), "the handler is still waiting");
    std::fs::write(&go, "").unwrap();
    reader.read_to_end(&mut received).unwrap();
    assert_eq!(received, b"first chunk\nsecond chunk\n");

    // An error in the trailers after the first chunk cuts the response off and is reported.
    let response = agent().get(format!("{url}/fail")).call().unwrap();
    let mut received = Vec::new();
    let result = response
        .into_body()
        .into_reader()
        .read_to_end(&mut received);
    assert!(
        result.is_err(),
        "the client sees the cut: {received:?} {result:?}"
    );
    assert!(received.starts_with(b"first chunk\n"), "{received:?}");
    let text = loop_until_log(&log, "Custom.MidStream");
    assert!(text.contains("broke after the first chunk"), "{text}");

    // invoke --local collects a stream like any response.
    let out = lambda_rt(
        project.path(),
        &[],
        &[
            "invoke",
            "--local",
            "--payload",
            r#"{"rawPath":"/stream"}"#,
            "--env",
            &format!("GO_FILE={}", go.display()),
        ],
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).ends_with("first chunk\nsecond chunk\n"),
        "{}",
        stdout(&out)
    );
}

/// The server's log once it holds `needle`; at most 20 s.
fn loop_until_log(path: &std::path::Path, needle: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "`{needle}` never appeared in the log: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
