//! The Runtime API emulator, row by row of the Runtime API contract (README "Local execution"):
//! status codes, headers and bodies, spoken to over real HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use lambda_rt::emulator::api::{InvocationResult, RuntimeApi, MAX_RESPONSE_BYTES};

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";
const TIMEOUT: Duration = Duration::from_secs(3);

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

/// One HTTP request with ureq (blocking, on a blocking thread), any status accepted.
async fn http(
    method: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Reply {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut response = match method {
            "GET" => {
                let mut request = agent.get(&url);
                for (k, v) in &headers {
                    request = request.header(*k, v);
                }
                request.call()
            }
            _ => {
                let mut request = agent.post(&url);
                for (k, v) in &headers {
                    request = request.header(*k, v);
                }
                request.send(&body[..])
            }
        }
        .expect("request failed");
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        Reply {
            status: response.status().as_u16(),
            headers,
            body,
        }
    })
    .await
    .unwrap()
}

fn base(api: &RuntimeApi) -> String {
    format!("http://{}/2018-06-01/runtime", api.addr)
}

/// Queues an `{}` event and fetches it with `next`, as a runtime would: the invocation is then in
/// flight. Returns its request id and the invoker's end.
async fn deliver_event(
    api: &RuntimeApi,
) -> (String, tokio::sync::oneshot::Receiver<InvocationResult>) {
    let submitted = api
        .submit(Bytes::from_static(b"{}"), None, None, TIMEOUT)
        .await
        .unwrap();
    let reply = http(
        "GET",
        format!("{}/invocation/next", base(api)),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(reply.status, 200);
    submitted
}

async fn start() -> RuntimeApi {
    RuntimeApi::start(ARN.into(), false).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn binds_loopback_only() {
    let api = start().await;
    assert!(api.addr.ip().is_loopback(), "{}", api.addr);
}

#[tokio::test(flavor = "multi_thread")]
async fn next_long_polls_then_delivers_the_event_with_every_header() {
    let api = start().await;
    let next = tokio::spawn(http(
        "GET",
        format!("{}/invocation/next", base(&api)),
        vec![],
        vec![],
    ));
    // With no event queued, `next` must block (never 204).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!next.is_finished(), "next returned without an event");

    let event = Bytes::from_static("{\"a\":\"ü\\n\"}\n".as_bytes());
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (id, _answer) = api
        .submit(
            event.clone(),
            Some("ctx".into()),
            Some("cog".into()),
            TIMEOUT,
        )
        .await
        .unwrap();
    let reply = next.await.unwrap();
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        event.to_vec(),
        "event bytes are delivered unchanged"
    );
    assert_eq!(
        reply.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
    assert_eq!(
        reply.header("Lambda-Runtime-Invoked-Function-Arn"),
        Some(ARN)
    );
    let deadline: u64 = reply
        .header("Lambda-Runtime-Deadline-Ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        deadline >= before + 3000 && deadline <= after + 3000,
        "deadline {deadline} is not now + 3 s in epoch ms ({before}..{after})"
    );
    let trace = reply.header("Lambda-Runtime-Trace-Id").unwrap();
    let parts: Vec<&str> = trace.split(';').collect();
    assert!(
        parts[0].starts_with("Root=1-") && parts[0].len() == "Root=1-".len() + 8 + 1 + 24,
        "{trace}"
    );
    assert!(
        parts[1].starts_with("Parent=") && parts[1].len() == "Parent=".len() + 16,
        "{trace}"
    );
    assert_eq!(parts[2], "Sampled=0");
    assert_eq!(reply.header("Lambda-Runtime-Client-Context"), Some("ctx"));
    assert_eq!(reply.header("Lambda-Runtime-Cognito-Identity"), Some("cog"));
}

#[tokio::test(flavor = "multi_thread")]
async fn optional_headers_are_absent_when_not_given() {
    let api = start().await;
    let (_id, _answer) = api
        .submit(Bytes::from_static(b"{}"), None, None, TIMEOUT)
        .await
        .unwrap();
    let reply = http(
        "GET",
        format!("{}/invocation/next", base(&api)),
        vec![],
        vec![],
    )
    .await;
    assert!(reply.header("Lambda-Runtime-Client-Context").is_none());
    assert!(reply.header("Lambda-Runtime-Cognito-Identity").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn response_is_accepted_once_and_reaches_the_invoker() {
    let api = start().await;
    let (id, answer) = deliver_event(&api).await;

    let url = format!("{}/invocation/{id}/response", base(&api));
    let reply = http("POST", url.clone(), vec![], b"the answer".to_vec()).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), serde_json::json!({"status": "OK"}));
    match answer.await.unwrap() {
        InvocationResult::Response(body) => assert_eq!(body, Bytes::from_static(b"the answer")),
        other => panic!("{other:?}"),
    }

    // Already answered → 400 InvalidRequestID; so is an id that never existed.
    let reply = http("POST", url, vec![], b"again".to_vec()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["errorType"], "InvalidRequestID");
    assert!(reply.json()["errorMessage"]
        .as_str()
        .unwrap()
        .contains("already been answered"));
    let reply = http(
        "POST",
        format!("{}/invocation/nope/response", base(&api)),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["errorType"], "InvalidRequestID");
    let reply = http(
        "POST",
        format!("{}/invocation/nope/error", base(&api)),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_response_gets_413_and_fails_the_invocation_then_later_posts_get_403() {
    let api = start().await;
    let (id, answer) = deliver_event(&api).await;

    let too_big = vec![b'x'; MAX_RESPONSE_BYTES + 1];
    let reply = http(
        "POST",
        format!("{}/invocation/{id}/response", base(&api)),
        vec![],
        too_big,
    )
    .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["errorType"], "RequestEntityTooLarge");
    // As Lambda: the invocation fails at once with Function.ResponseSizeTooLarge.
    match answer.await.unwrap() {
        InvocationResult::Error {
            body, error_type, ..
        } => {
            assert_eq!(error_type.as_deref(), Some("Function.ResponseSizeTooLarge"));
            let document: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(document["errorType"], "Function.ResponseSizeTooLarge");
        }
        other => panic!("{other:?}"),
    }
    // A later post for that invocation is out of phase, and recorded as a violation (the oversized
    // response itself is the function's error, not a contract violation).
    let reply = http(
        "POST",
        format!("{}/invocation/{id}/error", base(&api)),
        vec![],
        br#"{"errorType":"E","errorMessage":"m"}"#.to_vec(),
    )
    .await;
    assert_eq!(reply.status, 403);
    let kinds: Vec<&str> = api.violations().iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["post after refusal"]);

    // Exactly at the limit is fine.
    let (id, answer) = deliver_event(&api).await;
    let at_limit = vec![b'y'; MAX_RESPONSE_BYTES];
    let reply = http(
        "POST",
        format!("{}/invocation/{id}/response", base(&api)),
        vec![],
        at_limit,
    )
    .await;
    assert_eq!(reply.status, 202);
    match answer.await.unwrap() {
        InvocationResult::Response(body) => assert_eq!(body.len(), MAX_RESPONSE_BYTES),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn error_reaches_the_invoker_as_json_with_its_type() {
    let api = start().await;
    let (id, answer) = deliver_event(&api).await;
    let body = br#"{"errorMessage":"boom","errorType":"MyError","stackTrace":["a"]}"#.to_vec();
    let reply = http(
        "POST",
        format!("{}/invocation/{id}/error", base(&api)),
        vec![("Lambda-Runtime-Function-Error-Type", "MyError".into())],
        body,
    )
    .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), serde_json::json!({"status": "OK"}));
    match answer.await.unwrap() {
        InvocationResult::Error {
            body, error_type, ..
        } => {
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(doc["errorType"], "MyError");
            assert_eq!(doc["errorMessage"], "boom");
            assert_eq!(doc["stackTrace"][0], "a");
            assert_eq!(error_type.as_deref(), Some("MyError"));
        }
        other => panic!("{other:?}"),
    }

    // A body that is not JSON is still turned into an error document.
    let (id, answer) = deliver_event(&api).await;
    let reply = http(
        "POST",
        format!("{}/invocation/{id}/error", base(&api)),
        vec![],
        b"plain text".to_vec(),
    )
    .await;
    assert_eq!(reply.status, 202);
    match answer.await.unwrap() {
        InvocationResult::Error { body, .. } => {
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(doc["errorMessage"], "plain text");
            assert_eq!(doc["errorType"], "Unhandled");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_error_is_accepted_before_init_and_forbidden_after() {
    let api = start().await;
    let body = br#"{"errorMessage":"no handler","errorType":"Runtime.HandlerNotFound"}"#.to_vec();
    let reply = http(
        "POST",
        format!("{}/init/error", base(&api)),
        vec![],
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), serde_json::json!({"status": "OK"}));
    let init = api.init_error().expect("init error recorded");
    let doc: serde_json::Value = serde_json::from_slice(&init.body).unwrap();
    assert_eq!(doc["errorType"], "Runtime.HandlerNotFound");

    let api = start().await;
    let (_id, _answer) = deliver_event(&api).await;
    let reply = http("POST", format!("{}/init/error", base(&api)), vec![], body).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["errorType"], "InvalidStateTransition");
    assert!(api.init_error().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn next_while_an_invocation_is_unanswered_is_out_of_phase() {
    let api = start().await;
    let (_id, _answer) = deliver_event(&api).await;
    let reply = http(
        "GET",
        format!("{}/invocation/next", base(&api)),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["errorType"], "InvalidStateTransition");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_get_a_json_404() {
    let api = start().await;
    let reply = http(
        "GET",
        format!("http://{}/2018-06-01/runtime/nope", api.addr),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["errorMessage"].is_string());
}
