//! `serve --http`: the function behind an HTTP server as a Function URL would put it — each
//! request becomes the Function URL event ([`super::http`]), the result the HTTP response, and a
//! streamed response reaches the client as it arrives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;

use super::api::{StreamPart, MAX_EVENT_BYTES};
use super::guard::{self, Guard};
use super::http::HttpResponse;
use super::pool::{run_one_to, Pool};

/// Every path and method goes to the function, behind `guard`.
pub fn router(pool: Arc<Pool>, guard: Guard) -> Router {
    Router::new()
        .fallback(http_front)
        .with_state(pool)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}

/// `serve --http`: one HTTP request as a Function URL would pass it to the function, and the
/// function's result as the URL would answer (see [`crate::emulator::http`]).
async fn http_front(
    State(pool): State<Arc<Pool>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    use super::http::{event_of, response_of, HttpRequest};
    let Some(admitted) = pool.admit() else {
        super::server::discard_body(request.into_body(), MAX_EVENT_BYTES).await;
        // As a Function URL answers when the function is throttled.
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("content-type", "application/json")],
            r#"{"Message":"Rate Exceeded."}"#,
        )
            .into_response();
    };
    let (parts, body) = request.into_parts();
    let Some(body) = super::server::read_body(body, MAX_EVENT_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large").into_response();
    };
    let event = event_of(
        &HttpRequest {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &parts.headers,
            body: &body,
            source_ip: peer.ip().to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
        },
        SystemTime::now(),
    );
    let what = format!("{} {}", parts.method, parts.uri);
    if let Some(problem) = pool.broken() {
        return http_answer(response_of(problem.as_bytes(), true), &what);
    }
    let (sink, mut streamed) = tokio::sync::mpsc::channel(64);
    let invocation = {
        let pool = pool.clone();
        let event = Bytes::from(event.to_string());
        tokio::spawn(async move {
            let result = run_one_to(&pool, event, None, false, Some(sink)).await;
            drop(admitted);
            result
        })
    };
    // A streamed response sends its first part before the invocation ends; a buffered one sends
    // nothing, and the sink closes when the invocation is over.
    match streamed.recv().await {
        Some(first) => stream_to_client(first, streamed, what).await,
        None => {
            let answer = match invocation.await {
                Ok(Ok((outcome, _))) => {
                    response_of(&outcome.payload, outcome.function_error.is_some())
                }
                Ok(Err(error)) => response_of(format!("{error:#}").as_bytes(), true),
                Err(error) => response_of(format!("{error}").as_bytes(), true),
            };
            http_answer(answer, &what)
        }
    }
}

fn http_answer(answer: HttpResponse, what: &str) -> Response {
    if let Some(problem) = &answer.problem {
        eprintln!("serve --http: 502 for {what}: {problem}");
    }
    let mut response = (answer.status, Body::from(answer.body)).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().append(name, value);
    }
    response
}

/// A streamed response to the HTTP client as it arrives: the HTTP integration's prelude (a JSON
/// object with statusCode, headers and cookies, then 8 NUL bytes) gives the status and headers,
/// the rest is the body. An error in the trailers after the body started aborts the response
/// (the client sees it cut off) and is said on stderr.
async fn stream_to_client(
    first: StreamPart,
    mut parts: tokio::sync::mpsc::Receiver<StreamPart>,
    what: String,
) -> Response {
    use super::http::{prelude_of, response_of, split_prelude};
    let mut buffer = Vec::new();
    let mut part = Some(first);
    let (head, start, ended) = loop {
        match part {
            Some(StreamPart::Data(data)) => {
                buffer.extend_from_slice(&data);
                if let Some((prelude, body)) = split_prelude(&buffer) {
                    break (prelude_of(prelude), body.to_vec(), false);
                }
            }
            Some(StreamPart::End(None)) | None => {
                // No prelude: the whole stream is the body.
                break (prelude_of(b"{}"), std::mem::take(&mut buffer), true);
            }
            Some(StreamPart::End(Some(error))) => {
                return http_answer(response_of(&error.body, true), &what);
            }
        }
        part = parts.recv().await;
    };
    let head = match head {
        Ok(head) => head,
        Err(problem) => return http_answer(problem, &what),
    };
    let first = (!start.is_empty()).then(|| Ok::<Bytes, std::io::Error>(Bytes::from(start)));
    let rest = futures_util::stream::unfold(
        (parts, ended, what),
        |(mut parts, ended, what)| async move {
            if ended {
                return None;
            }
            match parts.recv().await {
                Some(StreamPart::Data(data)) => Some((Ok(data), (parts, false, what))),
                Some(StreamPart::End(None)) | None => None,
                Some(StreamPart::End(Some(error))) => {
                    // hyper drops what it has buffered when a body fails, and it flushes only when
                    // the body has nothing ready: let it flush the head and the parts already
                    // sent, so that the client sees them before the cut (as from Lambda).
                    tokio::task::yield_now().await;
                    eprintln!(
                        "serve --http: {what}: the function reported an error mid-stream, so the \
                         response was cut off: {}: {}",
                        error.error_type,
                        String::from_utf8_lossy(&error.body)
                    );
                    Some((
                        Err(std::io::Error::other(error.error_type)),
                        (parts, true, what),
                    ))
                }
            }
        },
    );
    let body = Body::from_stream(futures_util::stream::iter(first).chain(rest));
    let mut response = (head.status, body).into_response();
    for (name, value) in head.headers {
        response.headers_mut().append(name, value);
    }
    response
}
