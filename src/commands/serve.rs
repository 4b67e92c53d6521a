//! `lambda-rt serve`: a long-running local endpoint speaking the Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`), so the AWS CLI and SDKs can invoke the function
//! locally with `--endpoint-url`. Runtimes stay warm between invocations; up to `--concurrency`
//! runtime processes each serve one event at a time, as in Lambda; a runtime that crashed or timed
//! out is replaced; `--watch` rebuilds the environment when `runtime/` or `function/` change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use futures_util::StreamExt;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::cli::{ServeArgs, SettingsInput};
use crate::emulator::api::{StreamPart, MAX_EVENT_BYTES};
use crate::emulator::guard::{self, Guard};
use crate::emulator::{Environment, Worker};
use crate::output::Ui;
use crate::project;
use crate::settings::Settings;

/// Lambda returns at most the last 4 KB of the log with `LogType: Tail`.
const LOG_TAIL_BYTES: usize = 4096;

pub async fn run(input: &SettingsInput, args: &ServeArgs, ui: &Ui) -> Result<i32> {
    let settings = Settings::resolve(input)?;
    project::check_project_files(&settings)?;
    project::check_runs_here(&settings)?;
    if args.concurrency == 0 {
        return Err(crate::UsageError("--concurrency must be at least 1".into()).into());
    }
    let pool = Arc::new(Pool::new(settings, args.concurrency)?);
    let listeners = async {
        let api = listen(&args.host, args.port, "--port").await?;
        let http = match args.http {
            Some(port) => Some(listen(&args.host, port, "--http").await?),
            None => None,
        };
        Ok::<_, anyhow::Error>((api, http))
    };
    let (listener, http_listener) = match listeners.await {
        Ok(listeners) => listeners,
        Err(error) => {
            pool.stop_all().await;
            return Err(error);
        }
    };
    let addr: SocketAddr = listener.local_addr()?;
    let http_addr = match &http_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    ui.info(&format!(
        "serving function `{}` on http://{addr} (concurrency {}); invoke it with\n  aws lambda invoke --endpoint-url http://{addr} --function-name {} out.json\nCtrl-C stops",
        pool.settings.function_name, args.concurrency, pool.settings.function_name
    ));
    let mut signals = crate::Signals::install();
    // Machine-readable line for scripts and tests, on stdout: text, or one JSON document per line.
    if ui.format == crate::cli::OutputFormat::Json {
        println!(
            "{}",
            serde_json::json!({
                "schema": crate::output::SCHEMA_VERSION,
                "command": "serve",
                "event": "listening",
                "url": format!("http://{addr}"),
                "function_url": http_addr.map(|a| format!("http://{a}")),
                "function_name": pool.settings.function_name,
            })
        );
    } else {
        println!("listening on http://{addr}");
        if let Some(http_addr) = http_addr {
            println!("function URL on http://{http_addr}");
        }
    }

    let watcher = args.watch.then(|| tokio::spawn(watch(pool.clone())));
    let router = Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .fallback(|| async {
            aws_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "only Invoke is served",
            )
        })
        .with_state(pool.clone())
        .layer(axum::middleware::from_fn_with_state(
            Guard {
                loopback_only: addr.ip().is_loopback(),
                allowed_origins: args.allow_origin.clone(),
                port: addr.port(),
            },
            guard::check,
        ));
    let signal = Arc::new(Mutex::new(None));
    let seen = signal.clone();
    // One signal stops both servers.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let name = signals.recv().await;
        *seen.lock().unwrap() = Some(name);
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let http_server = http_listener.zip(http_addr).map(|(listener, http_addr)| {
        let router = Router::new()
            .fallback(http_front)
            .with_state(pool.clone())
            .layer(axum::middleware::from_fn_with_state(
                Guard {
                    loopback_only: http_addr.ip().is_loopback(),
                    allowed_origins: args.allow_origin.clone(),
                    port: http_addr.port(),
                },
                guard::check,
            ));
        let stopped = stopped.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(until_stopped(stopped))
            .await
        })
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(until_stopped(stopped))
        .await
        .context("the Invoke API server failed")?;
    if let Some(server) = http_server {
        server
            .await
            .context("the HTTP server stopped abnormally")?
            .context("the HTTP server failed")?;
    }
    if let Some(watcher) = watcher {
        watcher.abort();
        let _ = watcher.await;
    }
    pool.stop_all().await;
    let name = signal.lock().unwrap().unwrap_or("shutdown");
    ui.info(&format!(
        "stopped by {name}; every runtime process has been stopped and its files removed"
    ));
    if ui.format == crate::cli::OutputFormat::Json {
        println!(
            "{}",
            serde_json::json!({
                "schema": crate::output::SCHEMA_VERSION,
                "command": "serve",
                "event": "stopped",
                "signal": name,
            })
        );
    }
    // Stopped by a signal, as shells report it.
    Ok(crate::exit_code::INTERRUPTED)
}

/// The warm runtimes and the environment they run in.
struct Pool {
    settings: Settings,
    /// At most `concurrency` invocations (and so runtime processes) at a time.
    slots: Semaphore,
    state: Mutex<PoolState>,
}

struct PoolState {
    environment: Arc<Environment>,
    /// Why the project cannot run since the last change (`--watch`): every invocation gets this as
    /// its function error until a change fixes it.
    broken: Option<String>,
    generation: u64,
    idle: Vec<(u64, Worker)>,
    /// Process groups of every live runtime, busy or idle, for a clean shutdown.
    groups: HashMap<u32, u64>,
}

impl Pool {
    fn new(settings: Settings, concurrency: usize) -> Result<Self> {
        let environment = Arc::new(Environment::prepare(&settings)?);
        Ok(Pool {
            settings,
            slots: Semaphore::new(concurrency),
            state: Mutex::new(PoolState {
                environment,
                broken: None,
                generation: 0,
                idle: Vec::new(),
                groups: HashMap::new(),
            }),
        })
    }

    /// An idle warm runtime of the current generation that is still running, or a new one. A
    /// runtime that exited after its last answer is replaced by a cold start, as Lambda does,
    /// rather than handed an event it cannot take.
    async fn checkout(&self, _slot: &SemaphorePermit<'_>) -> Result<(u64, Worker)> {
        let mut exited = Vec::new();
        let found = {
            let mut state = self.state.lock().unwrap();
            let generation = state.generation;
            let mut found = None;
            while let Some(index) = state.idle.iter().position(|(g, _)| *g == generation) {
                let (generation, mut worker) = state.idle.swap_remove(index);
                if worker.is_running() {
                    found = Some((generation, worker));
                    break;
                }
                state.groups.remove(&worker.process.id());
                exited.push(worker);
            }
            found.ok_or_else(|| (generation, state.environment.clone()))
        };
        for worker in exited {
            tracing::info!("a warm runtime had exited; starting a new one");
            worker.stop().await;
        }
        let (generation, environment) = match found {
            Ok(warm) => return Ok(warm),
            Err(cold) => cold,
        };
        let worker = Worker::start(&environment, true).await?;
        let pid = worker.process.id();
        self.state.lock().unwrap().groups.insert(pid, generation);
        Ok((generation, worker))
    }

    /// Returns a runtime to the pool if it is still usable and current, else stops it.
    async fn checkin(&self, generation: u64, worker: Worker, alive: bool) {
        let pid = worker.process.id();
        {
            let mut state = self.state.lock().unwrap();
            if alive && generation == state.generation {
                state.idle.push((generation, worker));
                return;
            }
            state.groups.remove(&pid);
        }
        worker.stop().await;
    }

    /// Switches to a freshly built environment; idle runtimes of the old one are stopped.
    async fn replace_environment(&self, environment: Environment) {
        let stale: Vec<Worker> = {
            let mut state = self.state.lock().unwrap();
            state.environment = Arc::new(environment);
            state.generation += 1;
            let stale: Vec<Worker> = state.idle.drain(..).map(|(_, w)| w).collect();
            for worker in &stale {
                state.groups.remove(&worker.process.id());
            }
            stale
        };
        for worker in stale {
            worker.stop().await;
        }
    }

    async fn stop_all(&self) {
        let (idle, groups, environment): (Vec<Worker>, Vec<u32>, Arc<Environment>) = {
            let mut state = self.state.lock().unwrap();
            let idle = state.idle.drain(..).map(|(_, w)| w).collect();
            (
                idle,
                state.groups.drain().map(|(pid, _)| pid).collect(),
                state.environment.clone(),
            )
        };
        for worker in idle {
            worker.stop().await;
        }
        // Busy runtimes belong to requests that were cut off by the shutdown.
        for pid in groups {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        environment.remove_files();
    }

    /// The project's problem since the last change, if it has one.
    fn broken(&self) -> Option<String> {
        self.state.lock().unwrap().broken.clone()
    }

    fn set_broken(&self, problem: Option<String>) {
        self.state.lock().unwrap().broken = problem;
    }
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
    State(pool): State<Arc<Pool>>,
    UrlPath(requested): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !names_this_function(&requested, &pool.settings.function_name) {
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {requested} (this server runs `{}`)",
                pool.settings.function_name
            ),
        );
    }
    let Ok(payload) = axum::body::to_bytes(body, MAX_EVENT_BYTES).await else {
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
        let document = serde_json::json!({
            "errorType": "Runtime.InvalidProject",
            "errorMessage": problem,
        });
        let mut response = (StatusCode::OK, Body::from(document.to_string())).into_response();
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

/// Runs one event on a warm (or new) runtime; returns the outcome and, when `want_log`, the
/// invocation's log (the runtime's output goes to stderr either way).
async fn run_one(
    pool: &Pool,
    payload: Bytes,
    client_context: Option<String>,
    want_log: bool,
) -> Result<(crate::invocation::InvokeOutcome, String)> {
    run_one_to(pool, payload, client_context, want_log, None).await
}

/// [`run_one`], with a streamed response going to `sink` as it arrives.
async fn run_one_to(
    pool: &Pool,
    payload: Bytes,
    client_context: Option<String>,
    want_log: bool,
    sink: Option<tokio::sync::mpsc::Sender<StreamPart>>,
) -> Result<(crate::invocation::InvokeOutcome, String)> {
    let slot = pool
        .slots
        .acquire()
        .await
        .context("the server is shutting down")?;
    // A warm runtime may exit after its last answer, before it takes the next event; the event
    // then goes to a fresh runtime, as Lambda would start a new environment. Once only.
    for attempt in 0..2 {
        let (generation, mut worker) = pool.checkout(&slot).await?;
        let result = worker
            .invoke_to(payload.clone(), client_context.clone(), sink.clone())
            .await;
        let (alive, outcome) = match result {
            Ok(invocation) if invocation.undelivered && attempt == 0 => {
                tracing::info!("a warm runtime exited before taking the event; starting a new one");
                pool.checkin(generation, worker, false).await;
                continue;
            }
            Ok(invocation) => {
                if !invocation.alive {
                    worker.process.kill().await;
                } else if want_log {
                    // Only a log tail needs the runtime's last output to have arrived; waiting
                    // for it on every event would add milliseconds to each invoke.
                    worker.settle_log().await;
                }
                let log = if want_log {
                    worker.log_of(&invocation)
                } else {
                    String::new()
                };
                (invocation.alive, Ok((invocation.outcome, log)))
            }
            Err(error) => (false, Err(error)),
        };
        pool.checkin(generation, worker, alive).await;
        return outcome;
    }
    unreachable!("the second attempt always returns")
}

/// `serve --http`: one HTTP request as a Function URL would pass it to the function, and the
/// function's result as the URL would answer (see [`crate::emulator::http`]).
async fn http_front(
    State(pool): State<Arc<Pool>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    use crate::emulator::http::{event_of, response_of, HttpRequest};
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_EVENT_BYTES).await else {
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
        tokio::spawn(async move { run_one_to(&pool, event, None, false, Some(sink)).await })
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

fn http_answer(answer: crate::emulator::http::HttpResponse, what: &str) -> Response {
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
    use crate::emulator::http::{prelude_of, response_of, split_prelude};
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

/// A listener on `host:port`; a port in use says how to pick another (`flag` is the option that
/// gave the port).
async fn listen(host: &str, port: u16, flag: &str) -> Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind((host, port)).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
            "failed to listen on {host}:{port} ({flag}): the port is in use\nhint: another server \
             (perhaps another `lambda-rt serve`) listens there: stop it, or pass {flag} 0 to pick \
             a free port (the first line on stdout says which)"
        ),
        Err(e) => Err(e).with_context(|| format!("failed to listen on {host}:{port} ({flag})")),
    }
}

/// Polls `runtime/` and `function/` (names, sizes, modification times) and rebuilds the
/// environment when they change. Polling keeps this predictable across editors that save by
/// rename, with no extra dependency.
async fn watch(pool: Arc<Pool>) {
    let dirs = [
        pool.settings.project_dir.join("runtime"),
        pool.settings.function_dir(),
    ];
    let mut last = fingerprint(&dirs);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = fingerprint(&dirs);
        if now == last {
            continue;
        }
        last = now;
        // The same checks as `invoke --local`, so that a broken project says what is wrong.
        let rebuilt = project::check_project_files(&pool.settings)
            .and_then(|_| project::check_runs_here(&pool.settings))
            .and_then(|_| Environment::prepare(&pool.settings));
        match rebuilt {
            Ok(environment) => {
                pool.replace_environment(environment).await;
                pool.set_broken(None);
                tracing::info!("change detected: rebuilt the environment; new invocations use it");
            }
            Err(error) => {
                tracing::warn!(
                    "change detected, and the project cannot run: {error:#}; invocations get this \
                     error until it is fixed"
                );
                pool.set_broken(Some(format!("{error:#}")));
            }
        }
    }
}

fn fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut entries = Vec::new();
    for dir in dirs {
        collect(dir, &mut entries);
    }
    entries.sort();
    entries
}

fn collect(dir: &Path, entries: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            collect(&path, entries);
        } else {
            entries.push((path, metadata.len(), metadata.modified().ok()));
        }
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
