//! Running the function locally without Docker: the exact zips lambda-rt deploys (function code and
//! runtime layer) are extracted into a temporary task root and layer directory, `bootstrap` is started with a Lambda-like environment, and
//! events are fed to it through a Runtime API emulator ([`api`]). Differences from Lambda are listed
//! in README ("Local execution").

pub mod api;
pub mod check;
pub mod guard;
pub mod http;
pub mod invoke_api;
pub mod leftovers;
pub mod peer;
pub mod pool;
pub mod process;
pub mod server;
pub mod url_front;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Bytes;

use crate::deno::{self, DenoSource};
use crate::invocation::InvokeOutcome;
use crate::package;
use crate::settings::Settings;
use api::{InvocationResult, RuntimeApi, StreamError, StreamPart};
use process::RuntimeProcess;
use tokio::sync::mpsc;

/// Account id used in the emulated function ARN.
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";
/// Region used locally when none is configured.
pub const DEFAULT_LOCAL_REGION: &str = "us-east-1";
/// How long Lambda gives a runtime to start (its init phase) before the first `next`, separately
/// from the function timeout.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The extracted code of one function, shared by all its runtime processes.
pub struct Environment {
    dir: tempfile::TempDir,
    pub task_root: PathBuf,
    pub layer_dir: PathBuf,
    pub bootstrap: PathBuf,
    pub function_arn: String,
    pub variables: Vec<(String, String)>,
    pub timeout: Duration,
    pub init_timeout: Duration,
    /// Print contract violations on stderr as they happen (`invoke --local`, `serve`).
    pub print_violations: bool,
}

impl Environment {
    /// Builds the zips `publish-layer` would deploy — the function zip without bootstrap, and the
    /// layer zip of `runtime/` — extracts them into a task root and a layer directory (`/opt` in
    /// Lambda), and finds the bootstrap the way Lambda does: the task root first, then the layer.
    /// The layer layout works for every runtime, including ones that ship more than `bootstrap`
    /// (e.g. `bin/deno`); for a runtime that is only `bootstrap` it behaves like the layer-less one.
    ///
    /// A Deno project's binary is linked into the layer directory as `bin/deno` rather than
    /// zipped and extracted (it is ~100 MB); it must run on this machine's architecture.
    pub fn prepare(settings: &Settings) -> Result<Self> {
        // Nothing is uploaded, so the zips need not fit Lambda's upload limit.
        let code = package::FunctionCode::build_with(settings, package::Limits::local())?;
        let package = code.package(true)?;
        let layer = package::build_zip(
            package::runtime_dir_entries(settings)?,
            package::Limits::local(),
        )?;
        let host = crate::elf::host_architecture().unwrap_or(settings.function.architecture);
        let deno = deno::resolve(settings, host)?;
        // 0700: the function's code, its layer and whatever it writes there are this user's
        // alone (tempfile makes directories with the umask's mode, 0755 by default).
        leftovers::clear_stale();
        let dir = tempfile::Builder::new()
            .prefix(&leftovers::prefix())
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .context("failed to create a temporary directory for the local environment")?;
        let task_root = dir.path().join("task");
        let layer_dir = dir.path().join("opt");
        // Both exist even when empty (a compiled runtime may have no function code at all).
        std::fs::create_dir_all(&layer_dir)?;
        std::fs::create_dir_all(&task_root)?;
        package::extract(&package.bytes, &task_root)?;
        package::extract(&layer.bytes, &layer_dir)?;
        if let Some(DenoSource::External(path)) = deno {
            let target = path
                .canonicalize()
                .with_context(|| format!("failed to resolve `{}`", path.display()))?;
            let link = layer_dir.join(deno::LAYER_PATH);
            std::fs::create_dir_all(link.parent().expect("bin/deno has a parent"))?;
            std::os::unix::fs::symlink(&target, &link)
                .with_context(|| format!("failed to link `{}`", link.display()))?;
        }
        // Lambda's /tmp: private to the environment, empty at a cold start.
        let tmp_dir = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp_dir)?;
        let bootstrap = find_bootstrap(&task_root, &layer_dir)?;

        let region = settings
            .aws
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| DEFAULT_LOCAL_REGION.to_string());
        let name = &settings.function_name;
        let function_arn = format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{name}");
        let mut variables: Vec<(String, String)> = Vec::new();
        let layer = layer_dir.display().to_string();
        let task = task_root.display().to_string();
        let mut set = |k: &str, v: String| variables.push((k.to_string(), v));
        set("_HANDLER", settings.function.handler.clone());
        set("LAMBDA_TASK_ROOT", task_root.display().to_string());
        set("LAMBDA_RUNTIME_DIR", layer.clone());
        set("AWS_LAMBDA_FUNCTION_NAME", name.clone());
        set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
        set(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            settings.function.memory_mb.to_string(),
        );
        set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
        set(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("local/[$LATEST]{}", uuid::Uuid::new_v4().simple()),
        );
        set("AWS_REGION", region.clone());
        set("AWS_DEFAULT_REGION", region);
        set(
            "AWS_EXECUTION_ENV",
            format!("AWS_Lambda_{}", settings.function.runtime),
        );
        set("TZ", "UTC".into());
        set("LANG", "C.UTF-8".into());
        set("TMPDIR", tmp_dir.display().to_string());
        // Lambda's PATH and LD_LIBRARY_PATH, with the local directories in place of /var/task,
        // /var/runtime and /opt (LD_LIBRARY_PATH on provided.al2023 is
        // /lib64:/usr/lib64:$LAMBDA_RUNTIME_DIR:$LAMBDA_RUNTIME_DIR/lib:$LAMBDA_TASK_ROOT:
        // $LAMBDA_TASK_ROOT/lib:/opt/lib, per the Lambda developer guide's table of defined
        // environment variables; here the runtime dir and /opt are the same layer directory).
        set("PATH", format!("/usr/local/bin:/usr/bin:/bin:{layer}/bin"));
        set(
            "LD_LIBRARY_PATH",
            format!("/lib64:/usr/lib64:{layer}:{layer}/lib:{task}:{task}/lib"),
        );
        // The function's own variables come last, so they win: the settings refuse Lambda's
        // reserved names, and the unreserved ones (PATH, LANG, LD_LIBRARY_PATH, ...) may be
        // overridden as on Lambda.
        for (key, value) in &settings.function.environment {
            variables.retain(|(k, _)| k != key);
            variables.push((key.clone(), value.clone()));
        }

        Ok(Environment {
            dir,
            task_root,
            layer_dir,
            bootstrap,
            function_arn,
            variables,
            timeout: Duration::from_secs(settings.function.timeout_seconds as u64),
            init_timeout: INIT_TIMEOUT,
            print_violations: true,
        })
    }
}

impl Environment {
    /// Removes the environment's files now (they also go when it is dropped; a server that exits
    /// while requests still hold it must not leave them behind).
    pub fn remove_files(&self) {
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

/// Finds an executable bootstrap like Lambda: `$LAMBDA_TASK_ROOT/bootstrap`, then `/opt/bootstrap`.
pub fn find_bootstrap(task_root: &Path, layer_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    for candidate in [task_root.join("bootstrap"), layer_dir.join("bootstrap")] {
        if let Ok(metadata) = std::fs::metadata(&candidate) {
            if metadata.permissions().mode() & 0o111 == 0 {
                anyhow::bail!(
                    "Runtime.InvalidEntrypoint: `{}` is not executable (permission denied)",
                    candidate.display()
                );
            }
            return Ok(candidate);
        }
    }
    anyhow::bail!(
        "Runtime.InvalidEntrypoint: Couldn't find valid bootstrap(s): [{}/bootstrap {}/bootstrap]",
        task_root.display(),
        layer_dir.display()
    )
}

/// One execution environment: a Runtime API and the runtime process it serves.
pub struct Worker {
    pub api: RuntimeApi,
    pub process: RuntimeProcess,
    timeout: Duration,
    init_timeout: Duration,
}

/// The result of one local invocation, as the invoker sees it.
#[derive(Debug)]
pub struct LocalInvocation {
    pub request_id: String,
    pub outcome: InvokeOutcome,
    /// The `errorType` of a failed invocation (the function's, or the emulator's own such as
    /// `Sandbox.Timedout`).
    pub error_type: Option<String>,
    /// For an error the runtime posted: whether it was a well-formed error document.
    pub well_formed_error: Option<bool>,
    /// Whether the runtime is still usable for the next event.
    pub alive: bool,
    /// The runtime exited before it took the event (a warm runtime that ended after its last
    /// answer): the event never reached the function, and may go to a fresh runtime.
    pub undelivered: bool,
    log_start: usize,
    duration: Duration,
}

impl Worker {
    /// Starts a Runtime API and a runtime process pointed at it.
    pub async fn start(environment: &Environment, echo_logs: bool) -> Result<Self> {
        Self::start_with(environment, &[], echo_logs).await
    }

    /// [`Worker::start`] with some variables replaced (e.g. `_HANDLER`, for `check`).
    pub async fn start_with(
        environment: &Environment,
        overrides: &[(String, String)],
        echo_logs: bool,
    ) -> Result<Self> {
        let api = RuntimeApi::start(
            environment.function_arn.clone(),
            environment.print_violations,
        )
        .await?;
        let mut variables: Vec<(String, String)> = environment
            .variables
            .iter()
            .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
            .cloned()
            .collect();
        variables.extend(overrides.iter().cloned());
        // Lambda gives host:port, without a scheme or path.
        variables.push(("AWS_LAMBDA_RUNTIME_API".into(), api.addr.to_string()));
        let process = RuntimeProcess::spawn(
            &environment.bootstrap,
            &environment.task_root,
            &variables,
            echo_logs,
        )?;
        Ok(Worker {
            api,
            process,
            timeout: environment.timeout,
            init_timeout: environment.init_timeout,
        })
    }

    /// Waits for the init phase to end, with Lambda's init timeout (not charged to the function
    /// timeout). `None` when the runtime asked for an event; else the failed invocation's outcome:
    /// the runtime's `/init/error` document at once (whether or not it exits afterwards), its
    /// exit, or the init timeout.
    pub async fn wait_init(&mut self, request_id: &str) -> Option<(Bytes, String)> {
        if self.api.initialized() {
            return None;
        }
        tokio::select! {
            biased;
            _ = self.api.init_ended() => {}
            status = self.process.wait() => {
                // An init error posted just before exiting counts as the init error.
                if self.api.init_error().is_none() && !self.api.initialized() {
                    let message = format!(
                        "RequestId: {request_id} Error: Runtime exited without providing a reason \
                         (init phase, {})",
                        describe_exit(status)
                    );
                    self.api.report_violation(
                        "exit during init",
                        format!("the runtime exited during init ({}) without posting to /runtime/init/error", describe_exit(status)),
                    );
                    return Some((error_json("Runtime.ExitError", &message), "Runtime.ExitError".into()));
                }
            }
            _ = tokio::time::sleep(self.init_timeout) => {
                let message = format!(
                    "RequestId: {request_id} Error: the runtime did not ask for an event within \
                     the {:.2} s init phase",
                    self.init_timeout.as_secs_f64()
                );
                return Some((error_json("Sandbox.Timedout", &message), "Sandbox.Timedout".into()));
            }
        }
        if let Some(init) = self.api.init_error() {
            let error_type = init
                .error_type
                .clone()
                .or_else(|| error_type_of(&init.body))
                .unwrap_or_else(|| "Runtime.Unknown".into());
            return Some((init.body, error_type));
        }
        None
    }

    /// Sends one event and waits for the runtime's answer, its exit, or the timeout.
    pub async fn invoke(&mut self, payload: Bytes) -> Result<LocalInvocation> {
        self.invoke_with(payload, None).await
    }

    /// [`Worker::invoke`] with a client context (JSON) for `Lambda-Runtime-Client-Context`.
    pub async fn invoke_with(
        &mut self,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Result<LocalInvocation> {
        self.invoke_to(payload, client_context, None).await
    }

    /// Sends one event; a streamed response goes part by part to `sink` as it arrives (the
    /// outcome's payload is then empty), else it is collected into the outcome like any other.
    /// A timeout or exit after the stream started ends the stream with that error.
    pub async fn invoke_to(
        &mut self,
        payload: Bytes,
        client_context: Option<String>,
        sink: Option<mpsc::Sender<StreamPart>>,
    ) -> Result<LocalInvocation> {
        if payload.len() > api::MAX_EVENT_BYTES {
            anyhow::bail!(
                "the payload is {} bytes, over Lambda's {}-byte limit for synchronous invocations",
                payload.len(),
                api::MAX_EVENT_BYTES
            );
        }
        let log_start = self.process.log.len();
        let started = Instant::now();
        let request_id_for_init = uuid::Uuid::new_v4().to_string();
        if let Some((body, error_type)) = self.wait_init(&request_id_for_init).await {
            self.process.kill().await;
            return Ok(LocalInvocation {
                request_id: request_id_for_init,
                outcome: failed(body),
                error_type: Some(error_type),
                well_formed_error: None,
                alive: false,
                undelivered: false,
                log_start,
                duration: started.elapsed(),
            });
        }
        // The function timeout starts with the invoke phase, after init.
        let (request_id, answer) = self
            .api
            .submit(payload, client_context, None, self.timeout)
            .await?;
        let mut alive = true;
        let mut undelivered = false;
        let mut well_formed_error = None;
        let answered = async {
            match answer.await {
                Ok(InvocationResult::Response(body)) => (body, None, None),
                Ok(InvocationResult::Error {
                    body,
                    error_type,
                    well_formed,
                }) => {
                    let error_type = error_type
                        .or_else(|| error_type_of(&body))
                        .unwrap_or_else(|| "Unhandled".into());
                    (body, Some(error_type), Some(well_formed))
                }
                Ok(InvocationResult::Stream(parts)) => take_stream(parts, sink.as_ref()).await,
                Err(_) => (
                    error_json("Runtime.Unknown", "the emulator dropped the invocation"),
                    Some("Runtime.Unknown".into()),
                    None,
                ),
            }
        };
        let (payload, error_type) = tokio::select! {
            biased;
            (body, error_type, well_formed) = answered => {
                well_formed_error = well_formed;
                (body, error_type)
            },
            status = self.process.wait() => {
                alive = false;
                let message = format!(
                    "RequestId: {request_id} Error: Runtime exited with error: {}",
                    describe_exit(status)
                );
                undelivered = self.api.delivery(&request_id).is_none();
                if !undelivered {
                    self.api.report_violation(
                        "exit during invoke",
                        format!("the runtime exited ({}) before answering invocation {request_id}", describe_exit(status)),
                    );
                }
                (error_json("Runtime.ExitError", &message), Some("Runtime.ExitError".to_string()))
            },
            _ = tokio::time::sleep(self.timeout) => {
                alive = false;
                self.process.kill().await;
                let message = format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    self.timeout.as_secs_f64()
                );
                (error_json("Sandbox.Timedout", &message), Some("Sandbox.Timedout".to_string()))
            },
        };
        if !alive {
            self.process.kill().await;
            // A stream that was under way ends with the emulator's error (an event that never
            // reached the runtime is not answered here: it may go to another one).
            if let (Some(sink), Some(error_type), false) = (&sink, &error_type, undelivered) {
                let _ = sink
                    .send(StreamPart::End(Some(StreamError {
                        error_type: error_type.clone(),
                        body: payload.clone(),
                    })))
                    .await;
            }
        }
        let outcome = match error_type {
            Some(_) => failed(payload),
            None => InvokeOutcome {
                payload: payload.to_vec(),
                function_error: None,
                log_tail: None,
                executed_version: Some("$LATEST".into()),
            },
        };
        Ok(LocalInvocation {
            request_id,
            outcome,
            error_type,
            well_formed_error,
            alive,
            undelivered,
            log_start,
            duration: started.elapsed(),
        })
    }

    /// Changes the function timeout for the next invocations (`check`'s timeout case).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Whether the runtime process is still running (a warm runtime may have exited after its
    /// last answer).
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Gives output the runtime wrote before answering a moment to arrive through its pipes, for a
    /// runtime that stays warm (a stopped one has all of it already): waits until the log stops
    /// growing, at most 50 ms.
    pub async fn settle_log(&self) {
        let mut length = self.process.log.len();
        for _ in 0..25 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let now = self.process.log.len();
            if now == length {
                return;
            }
            length = now;
        }
    }

    /// The invocation's log as Lambda shows it: START, the runtime's output, END and REPORT.
    pub fn log_of(&self, invocation: &LocalInvocation) -> String {
        let id = &invocation.request_id;
        format!(
            "START RequestId: {id} Version: $LATEST\n{}END RequestId: {id}\nREPORT RequestId: {id}\tDuration: {:.2} ms\n",
            self.process.log.since(invocation.log_start),
            invocation.duration.as_secs_f64() * 1000.0
        )
    }

    /// Stops the runtime and everything it started.
    pub async fn stop(mut self) {
        self.process.kill().await;
    }
}

/// Reads a streamed response to its end: into `sink` part by part when there is one (and an
/// empty payload), else into one payload. Returns payload, error type and whether an error was
/// well formed, like the other answers.
async fn take_stream(
    mut parts: mpsc::Receiver<StreamPart>,
    sink: Option<&mpsc::Sender<StreamPart>>,
) -> (Bytes, Option<String>, Option<bool>) {
    let mut collected = Vec::new();
    while let Some(part) = parts.recv().await {
        match part {
            StreamPart::Data(data) => match sink {
                Some(sink) => {
                    let _ = sink.send(StreamPart::Data(data)).await;
                }
                None => collected.extend_from_slice(&data),
            },
            StreamPart::End(error) => {
                if let Some(sink) = sink {
                    let _ = sink.send(StreamPart::End(error.clone())).await;
                }
                return match error {
                    None => (Bytes::from(collected), None, None),
                    Some(error) => (error.body, Some(error.error_type), Some(true)),
                };
            }
        }
    }
    (
        error_json(
            "Runtime.Unknown",
            "the streamed response ended without its end",
        ),
        Some("Runtime.Unknown".into()),
        None,
    )
}

/// A failed invocation's outcome (Lambda's `X-Amz-Function-Error: Unhandled`).
fn failed(body: Bytes) -> InvokeOutcome {
    InvokeOutcome {
        payload: body.to_vec(),
        function_error: Some("Unhandled".into()),
        log_tail: None,
        executed_version: Some("$LATEST".into()),
    }
}

/// The `errorType` of an error document.
fn error_type_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("errorType")?
        .as_str()
        .map(str::to_string)
}

fn error_json(error_type: &str, message: &str) -> Bytes {
    Bytes::from(crate::invocation::lambda_error_document(
        error_type, message,
    ))
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "unknown exit".to_string(),
    }
}

/// `invoke --local`: one fresh environment, one event, then everything is stopped.
pub async fn invoke_once(settings: &Settings, payload: Vec<u8>) -> Result<InvokeOutcome> {
    // Caught from here on: a signal while the runtime starts is handled below, not fatal.
    let mut signals = crate::signals::Signals::install();
    let environment = Environment::prepare(settings)?;
    let mut worker = Worker::start(&environment, false).await?;
    // The runtime runs in its own process group, so a Ctrl-C at the terminal does not reach it:
    // catch the signal and stop the group here.
    let result = tokio::select! {
        result = worker.invoke(Bytes::from(payload)) => result,
        signal = signals.recv() => {
            worker.process.kill().await;
            return Err(crate::error::Interrupted(signal).into());
        }
    };
    // Lambda would freeze the environment; locally the runtime is killed so nothing lingers, and
    // killing it also collects the last of its output for the log.
    worker.process.kill().await;
    let invocation = result?;
    let log = worker.log_of(&invocation);
    let mut outcome = invocation.outcome;
    outcome.log_tail = Some(project_paths(&log, &environment.task_root, settings));
    Ok(outcome)
}

/// The log with paths into the temporary task directory (bash names the file it was sourcing:
/// `/tmp/lambda-rt-local.x/task/function.sh: line 3: …`) shown as the project's files
/// (`function/function.sh`), which is what the user edits; a file in neither `function/` nor
/// `runtime/` gets Lambda's name for the directory, `/var/task/…`.
fn project_paths(log: &str, task_root: &std::path::Path, settings: &Settings) -> String {
    let prefix = format!("{}/", task_root.display());
    let mut shown = String::with_capacity(log.len());
    let mut rest = log;
    while let Some(start) = rest.find(&prefix) {
        shown.push_str(&rest[..start]);
        let after = &rest[start + prefix.len()..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, ':' | '\'' | '"' | ')'))
            .unwrap_or(after.len());
        let relative = &after[..end];
        if settings.function_dir().join(relative).exists() {
            shown.push_str(&format!("function/{relative}"));
        } else if settings.runtime_dir().join(relative).exists() {
            shown.push_str(&format!("runtime/{relative}"));
        } else {
            shown.push_str(&format!("/var/task/{relative}"));
        }
        rest = &after[end..];
    }
    shown.push_str(rest);
    shown
}
