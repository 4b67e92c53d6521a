//! `serve`'s Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), so that the AWS
//! CLI and SDKs invoke the project's functions with `--endpoint-url`: the name in the path (or an
//! ARN) picks the function, as in Lambda; RequestResponse, Event and DryRun invocations, log
//! tails, client context, and errors in the shape the SDKs parse.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;

use super::api::MAX_EVENT_BYTES;
use super::guard::{self, Guard};
use super::pool::{run_one, Pool};

/// Lambda returns at most the last 4 KB of the log with `LogType: Tail`.
const LOG_TAIL_BYTES: usize = 4096;

/// The functions a server runs, each with its own warm runtimes (one per function of the project).
pub type Functions = Arc<[Arc<Pool>]>;

/// The Invoke API's routes for `functions`, behind `guard`.
pub fn router(functions: Functions, guard: Guard) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .fallback(|| async {
            aws_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "only Invoke is served",
            )
        })
        .with_state(functions)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}

/// An error in the shape the AWS SDKs parse for Lambda's REST-JSON protocol.
fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "Type": "User", "message": message });
    (
        status,
        [
            ("content-type", "application/json"),
            ("x-amzn-errortype", error_type),
        ],
        body.to_string(),
    )
        .into_response()
}

/// What Lambda answers an invocation beyond the function's concurrency: 429
/// TooManyRequestsException, reason ConcurrentInvocationLimitExceeded (the SDKs retry it).
fn throttled() -> Response {
    let body = serde_json::json!({
        "Reason": "ConcurrentInvocationLimitExceeded",
        "Type": "User",
        "message": "Rate Exceeded. (serve: every runtime is busy and the queue is full; see \
                    --concurrency and --max-queue)",
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("content-type", "application/json"),
            ("x-amzn-errortype", "TooManyRequestsException"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Accepts the function's name, its ARN, or a partial ARN, as Lambda does.
fn names_this_function(requested: &str, name: &str) -> bool {
    let requested = requested.split(':').collect::<Vec<_>>();
    match requested.as_slice() {
        [only] => *only == name,
        [.., "function", function] | [.., "function", function, _] => *function == name,
        _ => false,
    }
}

async fn invoke(
    State(functions): State<Functions>,
    UrlPath(requested): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let named = functions
        .iter()
        .find(|pool| names_this_function(&requested, &pool.settings.function_name));
    let Some(pool) = named.cloned() else {
        let served: Vec<String> = functions
            .iter()
            .map(|pool| format!("`{}`", pool.settings.function_name))
            .collect();
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {requested} (this server runs {})",
                served.join(", ")
            ),
        );
    };
    // Admitted before the body is read, so that refused requests never hold their event.
    let Some(admitted) = pool.admit() else {
        super::server::discard_body(body, MAX_EVENT_BYTES).await;
        return throttled();
    };
    let Some(payload) = super::server::read_body(body, MAX_EVENT_BYTES).await else {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            &format!("Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeFunction operation"),
        );
    };
    // Lambda takes only JSON events (an empty body is allowed).
    if !payload.is_empty() {
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &format!("Could not parse request body into json: {error}"),
            );
        }
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let tail = header("x-amz-log-type") == Some("Tail");
    let client_context = header("x-amz-client-context").map(|encoded| {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    });
    match header("x-amz-invocation-type").unwrap_or("RequestResponse") {
        "DryRun" => return StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            tokio::spawn(async move {
                let _ = run_one(&pool, payload, client_context, false).await;
                drop(admitted);
            });
            return StatusCode::ACCEPTED.into_response();
        }
        "RequestResponse" => {}
        other => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("unknown invocation type {other}"),
            )
        }
    }
    if let Some(problem) = pool.broken() {
        // As Lambda answers an invocation whose runtime cannot start: a function error (HTTP 200),
        // which clients report rather than retry.
        let document = crate::invocation::lambda_error_document("Runtime.InvalidProject", &problem);
        let mut response = (StatusCode::OK, Body::from(document)).into_response();
        response.headers_mut().insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
        return response;
    }
    match run_one(&pool, payload, client_context, tail).await {
        Ok((outcome, log)) => {
            let mut response = (StatusCode::OK, Body::from(outcome.payload)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                "x-amz-executed-version",
                HeaderValue::from_static("$LATEST"),
            );
            if let Some(kind) = outcome.function_error {
                if let Ok(value) = HeaderValue::from_str(&kind) {
                    headers.insert("x-amz-function-error", value);
                }
            }
            if tail {
                let bytes = log.as_bytes();
                let tail = &bytes[bytes.len().saturating_sub(LOG_TAIL_BYTES)..];
                let encoded = base64::engine::general_purpose::STANDARD.encode(tail);
                if let Ok(value) = HeaderValue::from_str(&encoded) {
                    headers.insert("x-amz-log-result", value);
                }
            }
            response
        }
        Err(error) => aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            &format!("{error:#}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::names_this_function;

    #[test]
    fn function_names_and_arns() {
        assert!(names_this_function("f", "f"));
        assert!(names_this_function(
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "f"
        ));
        assert!(names_this_function("000000000000:function:f", "f"));
        assert!(names_this_function(
            "arn:aws:lambda:us-east-1:0:function:f:$LATEST",
            "f"
        ));
        assert!(!names_this_function("g", "f"));
    }
}
