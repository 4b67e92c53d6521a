//! The Lambda Runtime API (`/2018-06-01/runtime/...`) for one execution environment, following the
//! contract in DESIGN.md §6: `next` long-polls (never 204), responses over 6,291,556 bytes get 413,
//! unknown or already-answered request ids get 400, `init/error` after init gets 403.
//!
//! One [`RuntimeApi`] serves one runtime process, as in Lambda, where each execution environment has
//! its own API endpoint and handles one event at a time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

/// Largest response a runtime may post (Lambda's documented 6 MB, in bytes).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// Largest synchronous invocation payload (6 MB).
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Bodies beyond this are not even read into memory.
const MAX_READ_BYTES: usize = 64 * 1024 * 1024;

/// An event waiting for the runtime.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    reply: oneshot::Sender<InvocationResult>,
}

/// What the runtime answered for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationResult {
    Response(Bytes),
    /// From `/error`: the error document (normalised to JSON) and the error-type header.
    Error {
        body: Bytes,
        error_type: Option<String>,
    },
}

/// An error the runtime reported from `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    pub body: Bytes,
    pub error_type: Option<String>,
}

struct Shared {
    function_arn: String,
    timeout: Duration,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    state: Mutex<PhaseState>,
}

#[derive(Default)]
struct PhaseState {
    /// Set by the first `next`: from then on `init/error` is out of phase.
    initialized: bool,
    in_flight: Option<(String, oneshot::Sender<InvocationResult>)>,
    answered: HashSet<String>,
    init_error: Option<InitError>,
}

/// A running Runtime API server bound to 127.0.0.1.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::Sender<Invocation>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts the API on an ephemeral 127.0.0.1 port.
    pub async fn start(function_arn: String, timeout: Duration) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("failed to bind the Runtime API emulator to 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            function_arn,
            timeout,
            queue: tokio::sync::Mutex::new(receiver),
            state: Mutex::new(PhaseState::default()),
        });
        let router = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!("Runtime API emulator stopped: {e}");
            }
        });
        Ok(RuntimeApi {
            addr,
            shared,
            sender,
            server,
        })
    }

    /// Queues an event; the receiver yields the runtime's answer.
    pub async fn submit(
        &self,
        payload: Bytes,
        client_context: Option<String>,
        cognito_identity: Option<String>,
    ) -> Result<(String, oneshot::Receiver<InvocationResult>)> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Invocation {
                request_id: request_id.clone(),
                payload,
                client_context,
                cognito_identity,
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the Runtime API emulator has stopped"))?;
        Ok((request_id, answer))
    }

    /// The error the runtime posted to `/init/error`, if any.
    pub fn init_error(&self) -> Option<InitError> {
        self.shared.state.lock().unwrap().init_error.clone()
    }

    /// Whether the runtime has asked for its first event.
    pub fn initialized(&self) -> bool {
        self.shared.state.lock().unwrap().initialized
    }
}

/// The Runtime API routes over `shared`.
fn router(shared: Arc<Shared>) -> Router {
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
    {
        let mut state = shared.state.lock().unwrap();
        state.initialized = true;
        if let Some((id, _)) = &state.in_flight {
            return api_error(
                StatusCode::FORBIDDEN,
                "InvalidStateTransition",
                &format!("invocation {id} has not been answered: post its response or error first"),
            );
        }
    }
    // Long poll: wait for an event however long it takes (a dropped connection leaves the event
    // queued, since `recv` is cancel-safe).
    let invocation = {
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
    let deadline = SystemTime::now() + shared.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &shared.function_arn);
    set("lambda-runtime-trace-id", &trace_id());
    if let Some(context) = &invocation.client_context {
        set("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &invocation.cognito_identity {
        set("lambda-runtime-cognito-identity", identity);
    }
    shared.state.lock().unwrap().in_flight =
        Some((invocation.request_id.clone(), invocation.reply));
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
    let mut state = shared.state.lock().unwrap();
    match state.in_flight.take() {
        Some((current, reply)) if current == id => {
            state.answered.insert(current);
            Ok(reply)
        }
        other => {
            state.in_flight = other;
            let message = if state.answered.contains(id) {
                format!("invocation {id} has already been answered")
            } else {
                format!("unknown request id {id}")
            };
            Err(Rejection(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                message,
            ))
        }
    }
}

fn is_known(shared: &Shared, id: &str) -> Option<Response> {
    let state = shared.state.lock().unwrap();
    let in_flight = state
        .in_flight
        .as_ref()
        .is_some_and(|(current, _)| current == id);
    if in_flight {
        None
    } else if state.answered.contains(id) {
        Some(api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("invocation {id} has already been answered"),
        ))
    } else {
        Some(api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("unknown request id {id}"),
        ))
    }
}

async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_READ_BYTES)
        .await
        .map_err(|_| {
            api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            )
        })
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Some(rejection) = is_known(&shared, &id) {
        return rejection;
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    if body.len() > MAX_RESPONSE_BYTES {
        // The invocation stays in flight: the runtime may still post an error for it.
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        );
    }
    match take_in_flight(&shared, &id) {
        Ok(reply) => {
            let _ = reply.send(InvocationResult::Response(body));
            accepted()
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// Normalises an error body to the JSON document Lambda returns to the invoker.
fn error_document(body: &[u8], error_type: Option<&str>) -> Bytes {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let mut map = map;
        if !map.contains_key("errorType") {
            if let Some(error_type) = error_type {
                map.insert("errorType".into(), error_type.into());
            }
        }
        return Bytes::from(serde_json::Value::Object(map).to_string());
    }
    let document = serde_json::json!({
        "errorMessage": String::from_utf8_lossy(body),
        "errorType": error_type.unwrap_or("Unhandled"),
    });
    Bytes::from(document.to_string())
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
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let error_type = error_type_header(&headers);
    let document = error_document(&body, error_type.as_deref());
    match take_in_flight(&shared, &id) {
        Ok(reply) => {
            let _ = reply.send(InvocationResult::Error {
                body: document,
                error_type,
            });
            accepted()
        }
        Err(rejection) => rejection.into_response(),
    }
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let mut state = shared.state.lock().unwrap();
    if state.initialized {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "init/error is only allowed before the first invocation/next",
        );
    }
    let error_type = error_type_header(&headers);
    state.init_error = Some(InitError {
        body: error_document(&body, error_type.as_deref()),
        error_type,
    });
    accepted()
}

/// An X-Ray style trace header: `Root=1-<epoch hex>-<96 random bits>;Parent=<64 bits>;Sampled=0`.
fn trace_id() -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}
