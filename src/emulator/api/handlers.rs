//! The Runtime API's routes: `next` hands out events, and the runtime's posts (response, streamed
//! response, error, init error) are checked against the contract and passed to the invoker.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

use super::state::{
    Delivery, InitError, InvocationResult, Shared, StreamError, StreamPart, Waiting,
    MAX_READ_BYTES, MAX_RESPONSE_BYTES, MAX_STREAMED_BYTES,
};

/// The Runtime API routes over `shared`.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(|| async {
            api_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "unknown Runtime API path; see /2018-06-01/runtime/...",
            )
        })
        .with_state(shared)
}

/// An API error: JSON `{"errorMessage", "errorType"}` with the given status.
fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let unanswered = {
        let mut state = shared.state.lock().unwrap();
        state.initialized = true;
        state.in_flight.as_ref().map(|(id, _)| id.clone())
    };
    shared.phase_changed.notify_waiters();
    if let Some(id) = unanswered {
        let message =
            format!("invocation {id} has not been answered: post its response or error first");
        shared.violation(
            "next before answering",
            format!("asked for the next event before answering invocation {id}"),
        );
        return api_error(StatusCode::FORBIDDEN, "InvalidStateTransition", &message);
    }
    // Long poll: wait for an event however long it takes (a dropped connection leaves the event
    // queued, since `recv` is cancel-safe).
    let invocation = {
        shared
            .waiting_in_next
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _waiting = Waiting(&shared.waiting_in_next);
        let mut queue = shared.queue.lock().await;
        match queue.recv().await {
            Some(invocation) => invocation,
            None => {
                return api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    "the emulator is shutting down",
                )
            }
        }
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    set("lambda-runtime-invoked-function-arn", &shared.function_arn);
    set("lambda-runtime-trace-id", &invocation.trace_id);
    if let Some(context) = &invocation.client_context {
        set("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &invocation.cognito_identity {
        set("lambda-runtime-cognito-identity", identity);
    }
    {
        let mut state = shared.state.lock().unwrap();
        state.delivered.push(Delivery {
            request_id: invocation.request_id.clone(),
            deadline_ms: invocation.deadline_ms,
            trace_id: invocation.trace_id.clone(),
        });
        state.in_flight = Some((invocation.request_id.clone(), invocation.reply));
    }
    (StatusCode::OK, headers, Body::from(invocation.payload)).into_response()
}

/// An API error not yet rendered: status, `errorType`, `errorMessage`.
struct Rejection(StatusCode, &'static str, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        api_error(self.0, self.1, &self.2)
    }
}

/// Takes the in-flight reply channel if `id` is the invocation in flight, else the 400 to send.
fn take_in_flight(
    shared: &Shared,
    id: &str,
) -> Result<oneshot::Sender<InvocationResult>, Rejection> {
    let reply = shared
        .state
        .lock()
        .unwrap()
        .settle(id, |state| &mut state.answered);
    reply.ok_or_else(|| out_of_phase(shared, id))
}

/// The answer to a post for `id` when `id` is not the invocation in flight (recorded as a
/// violation): 403 after its response was refused as too large, else 400.
fn out_of_phase(shared: &Shared, id: &str) -> Rejection {
    let (refused, answered) = {
        let state = shared.state.lock().unwrap();
        (state.refused.contains(id), state.answered.contains(id))
    };
    if refused {
        shared.violation(
            "post after refusal",
            format!("posted again for invocation {id}, which already failed: its response was too large"),
        );
        Rejection(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            format!("invocation {id} has already failed: its response was over {MAX_RESPONSE_BYTES} bytes"),
        )
    } else if answered {
        shared.violation(
            "answered twice",
            format!("posted a second answer for invocation {id}"),
        );
        Rejection(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("invocation {id} has already been answered"),
        )
    } else {
        shared.violation(
            "unknown request id",
            format!("posted an answer for request id `{id}`, which is not the invocation in flight (use the Lambda-Runtime-Aws-Request-Id of the event)"),
        );
        Rejection(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("unknown request id {id}"),
        )
    }
}

fn is_known(shared: &Shared, id: &str) -> Option<Response> {
    let in_flight = shared
        .state
        .lock()
        .unwrap()
        .in_flight
        .as_ref()
        .is_some_and(|(current, _)| current == id);
    if in_flight {
        None
    } else {
        Some(out_of_phase(shared, id).into_response())
    }
}

/// Fails the invocation in flight with `Function.ResponseSizeTooLarge`, as Lambda does when a
/// response is over the limit, and answers the runtime's post with 413.
fn refuse_too_large(shared: &Shared, id: &str, size: Option<usize>) -> Response {
    let reply = shared
        .state
        .lock()
        .unwrap()
        .settle(id, |state| &mut state.refused);
    // The function's error, not the runtime's: the runtime posted what the handler returned.
    let size = size.map_or_else(|| "more".to_string(), |n| n.to_string());
    tracing::info!(
        "invocation {id}: a response of {size} bytes, over the {MAX_RESPONSE_BYTES}-byte limit"
    );
    if let Some(reply) = reply {
        let document = crate::invocation::lambda_error_document(
            "Function.ResponseSizeTooLarge",
            &format!(
                "Response payload size exceeded maximum allowed payload size \
                 ({MAX_RESPONSE_BYTES} bytes)."
            ),
        );
        let _ = reply.send(InvocationResult::Error {
            body: Bytes::from(document),
            error_type: Some("Function.ResponseSizeTooLarge".into()),
            well_formed: true,
        });
    }
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

/// The body, or `None` when it is over [`MAX_READ_BYTES`] (not read into memory).
async fn read_body(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, MAX_READ_BYTES).await.ok()
}

fn too_large_to_read() -> Response {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(rejection) = is_known(&shared, &id) {
        return rejection;
    }
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if streaming {
        return stream_response(&shared, &id, body).await;
    }
    let Some(body) = read_body(body).await else {
        return refuse_too_large(&shared, &id, None);
    };
    if body.len() > MAX_RESPONSE_BYTES {
        return refuse_too_large(&shared, &id, Some(body.len()));
    }
    match take_in_flight(&shared, &id) {
        Ok(reply) => {
            let _ = reply.send(InvocationResult::Response(body));
            accepted()
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// Whether an error body is what the Runtime API asks for: a JSON object with string `errorType`
/// and `errorMessage`.
fn is_well_formed_error(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            map.get("errorType").is_some_and(|v| v.is_string())
                && map.get("errorMessage").is_some_and(|v| v.is_string())
        }
        _ => false,
    }
}

/// A streamed response: its chunks are handed to the invoker as they arrive, and the trailers may
/// report an error at the end. The runtime gets 202 once the whole body has been read.
async fn stream_response(shared: &Shared, id: &str, body: Body) -> Response {
    use http_body_util::BodyExt;
    let reply = match take_in_flight(shared, id) {
        Ok(reply) => reply,
        Err(rejection) => return rejection.into_response(),
    };
    let (sender, receiver) = mpsc::channel(64);
    let _ = reply.send(InvocationResult::Stream(receiver));
    let mut body = body;
    let mut total = 0usize;
    let mut error = None;
    loop {
        match body.frame().await {
            None => break,
            Some(Err(e)) => {
                shared.violation(
                    "broken stream",
                    format!("the streamed response for invocation {id} broke off: {e}"),
                );
                error = Some(emulator_stream_error(
                    "Runtime.TruncatedResponse",
                    format!("the streamed response broke off: {e}"),
                ));
                break;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    total += data.len();
                    if total > MAX_STREAMED_BYTES {
                        shared.violation(
                            "response too large",
                            format!("streamed over {MAX_STREAMED_BYTES} bytes for invocation {id}"),
                        );
                        error = Some(emulator_stream_error(
                            "Function.ResponseSizeTooLarge",
                            format!("Response payload size exceeded maximum allowed payload size ({MAX_STREAMED_BYTES} bytes)."),
                        ));
                        break;
                    }
                    // A consumer that went away (a client that hung up) does not stop the
                    // runtime: the rest is read and dropped.
                    let _ = sender.send(StreamPart::Data(data)).await;
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        error = stream_error(&trailers);
                    }
                }
            },
        }
    }
    let _ = sender.send(StreamPart::End(error)).await;
    accepted()
}

/// The error the emulator itself ends a broken or oversized stream with, as Lambda would.
fn emulator_stream_error(error_type: &str, message: String) -> StreamError {
    StreamError {
        error_type: error_type.into(),
        body: error_document(message.as_bytes(), Some(error_type)),
    }
}

/// The error a runtime reports in a streamed response's trailers, if any.
fn stream_error(trailers: &HeaderMap) -> Option<StreamError> {
    let error_type = trailers
        .get("lambda-runtime-function-error-type")?
        .to_str()
        .ok()?
        .to_string();
    let body = trailers
        .get("lambda-runtime-function-error-body")
        .and_then(|v| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v.as_bytes()).ok()
        })
        .unwrap_or_default();
    Some(StreamError {
        body: error_document(&body, Some(&error_type)),
        error_type,
    })
}

/// The document the invoker gets for an error body. A JSON object goes through byte for byte, as
/// Lambda passes it (its spacing, key order, escapes, big numbers and duplicate keys are the
/// runtime's); anything else is wrapped in a document of Lambda's shape.
fn error_document(body: &[u8], error_type: Option<&str>) -> Bytes {
    if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(body) {
        return Bytes::copy_from_slice(body);
    }
    Bytes::from(crate::invocation::lambda_error_document(
        error_type.unwrap_or("Unhandled"),
        &String::from_utf8_lossy(body),
    ))
}

fn error_type_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(rejection) = is_known(&shared, &id) {
        return rejection;
    }
    let Some(body) = read_body(body).await else {
        return too_large_to_read();
    };
    let error_type = error_type_header(&headers);
    let well_formed = is_well_formed_error(&body);
    if !well_formed {
        shared.violation(
            "malformed error",
            format!(
                "the error posted for invocation {id} is not a JSON object with string errorType and errorMessage: {}",
                preview(&body)
            ),
        );
    }
    let document = error_document(&body, error_type.as_deref());
    match take_in_flight(&shared, &id) {
        Ok(reply) => {
            let _ = reply.send(InvocationResult::Error {
                body: document,
                error_type,
                well_formed,
            });
            accepted()
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// The start of a body, for a message.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
    if body.len() > 120 {
        format!("`{text}...`")
    } else {
        format!("`{text}`")
    }
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let Some(body) = read_body(body).await else {
        return too_large_to_read();
    };
    if shared.state.lock().unwrap().initialized {
        shared.violation(
            "init error after init",
            "posted to /runtime/init/error after asking for an event (report errors of an event to its /error)".into(),
        );
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "init/error is only allowed before the first invocation/next",
        );
    }
    if !is_well_formed_error(&body) {
        shared.violation(
            "malformed error",
            format!(
                "the init error is not a JSON object with string errorType and errorMessage: {}",
                preview(&body)
            ),
        );
    }
    let error_type = error_type_header(&headers);
    shared.state.lock().unwrap().init_error = Some(InitError {
        body: error_document(&body, error_type.as_deref()),
        error_type,
    });
    shared.phase_changed.notify_waiters();
    accepted()
}
