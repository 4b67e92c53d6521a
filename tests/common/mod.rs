//! Test harness shared by the integration tests: a real `moto_server` per test (bound to
//! 127.0.0.1, stopped on drop), the real `lambda-rt` binary, a scratch copy of the repository's
//! project files, and counting the AWS calls moto received through its request recorder.
#![allow(dead_code)]

pub mod faults;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

pub const REGION: &str = "us-east-1";

/// The repository root (where runtime/ and function/ live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of the moto_server executable: `$MOTO_SERVER`, the project's `.venv`, or `PATH`.
fn moto_server_path() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    if let Ok(path) = which("moto_server") {
        return path;
    }
    panic!(
        "moto_server was not found: run the test suite with `scripts/test.sh`, which installs it into \
         .venv, or `python3 -m venv .venv && .venv/bin/pip install 'moto[server]'`"
    );
}

fn which(program: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}

/// The runtime needs bash and curl, like Lambda's provided.al2023 image has.
pub fn require_runtime_tools() {
    for tool in ["bash", "curl"] {
        if which(tool).is_err() {
            panic!("`{tool}` is required by runtime/bootstrap: install it (e.g. `apt-get install {tool}`)");
        }
    }
}

/// The Deno binary the Deno-template tests use: `$DENO`, the project's `.venv` (where
/// `scripts/setup-test-tools.sh` installs it from PyPI), or `PATH`.
pub fn deno_path() -> PathBuf {
    if let Ok(path) = std::env::var("DENO") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join(".venv/bin/deno");
    if venv.exists() {
        return venv;
    }
    if let Ok(path) = which("deno") {
        return path;
    }
    panic!(
        "deno was not found: run the test suite with `scripts/test.sh`, which installs it into \
         .venv, or `.venv/bin/pip install deno` (or `npm install -g deno`)"
    );
}

/// A scratch project made by the real `lambda-rt init --template deno`.
pub fn deno_project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .args([
            "init",
            "--template",
            "deno",
            "--function-name",
            "deno-fn",
            "-q",
        ])
        .arg(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "init failed: {out:?}");
    Project { dir }
}

/// The URL a `lambda-rt serve` child (stdout piped) reports on its first line,
/// `listening on http://HOST:PORT`; waits at most 30 s.
pub fn listening_url(child: &mut Child) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("serve did not report its address within 30 s");
    line.trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string()
}

/// A running moto_server, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Empty AWS config and credentials files, so no local AWS setup leaks into tests.
    _aws_dir: tempfile::TempDir,
    aws_config_file: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts moto with the managed policies loaded and invoke echoing its payload (no Docker).
    pub fn start() -> Moto {
        Self::start_with(true)
    }

    /// `echo_invoke: false` keeps moto's default invoke backend, which without Docker answers every
    /// invoke with a function error: the error path.
    pub fn start_with(echo_invoke: bool) -> Moto {
        let program = moto_server_path();
        let aws_dir = tempfile::tempdir().unwrap();
        let aws_config_file = aws_dir.path().join("empty");
        std::fs::write(&aws_config_file, "").unwrap();
        for _attempt in 0..3 {
            let port = free_port();
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                // The recorder writes `moto_recording` into the working directory: keep it out of
                // the checkout.
                .current_dir(aws_dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("failed to start `{}`: {e}", program.display()));
            let mut moto = Moto {
                child,
                port,
                url: format!("http://127.0.0.1:{port}"),
                _aws_dir: tempfile::tempdir().unwrap(),
                aws_config_file: aws_config_file.clone(),
            };
            if moto.wait_ready(Duration::from_secs(30)) {
                if echo_invoke {
                    moto.post("/moto-api/config", r#"{"lambda":{"use_docker":false}}"#);
                }
                moto._aws_dir = aws_dir;
                return moto;
            }
            // Port taken by someone else between probing and binding, or a slow start: retry.
            drop(moto);
        }
        panic!("moto_server did not start within 30 s (three attempts)");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if ureq::get(format!("{}/moto-api/data.json", self.url))
                .call()
                .is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    pub fn post(&self, path: &str, body: &str) -> String {
        ureq::post(format!("{}{path}", self.url))
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path} to moto failed: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// Forgets the calls recorded so far and starts recording.
    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording", "");
        self.post("/moto-api/recorder/start-recording", "");
    }

    /// The calls recorded since [`Moto::start_recording`].
    pub fn calls(&self) -> Vec<Call> {
        let text = ureq::get(format!("{}/moto-api/recorder/download-recording", self.url))
            .call()
            .unwrap()
            .body_mut()
            .with_config()
            // Recorded uploads of the S3 tests' 50 MB zips are in there too.
            .limit(1 << 30)
            .read_to_string()
            .unwrap();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| Call::parse(&serde_json::from_str(line).unwrap()))
            .filter(|call| !call.path.starts_with("/moto-api"))
            .collect()
    }

    /// Environment for a process that talks to this moto: endpoint, dummy credentials, region,
    /// and empty config files.
    pub fn env(&self) -> Vec<(String, String)> {
        let empty = self.aws_config_file.display().to_string();
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_CONFIG_FILE".into(), empty.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), empty),
        ]
    }

    /// SDK configuration pointing at this moto, for setting up and inspecting state in tests.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config().await)
    }

    pub async fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config().await)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

/// One AWS API call moto received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// IAM `Action=`, CloudWatch Logs `X-Amz-Target` operation, or `METHOD path` for Lambda and S3.
    pub action: String,
    pub service: &'static str,
}

impl Call {
    fn parse(record: &serde_json::Value) -> Call {
        let method = record["method"].as_str().unwrap_or_default().to_string();
        let url = record["url"].as_str().unwrap_or_default();
        let path = url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{}", p.split('?').next().unwrap_or_default()))
            .unwrap_or_else(|| "/".into());
        let body = record["body"].as_str().unwrap_or_default();
        let body = if record["body_encoded"].as_bool() == Some(true) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            body.to_string()
        };
        let headers = &record["headers"];
        let target = headers["X-Amz-Target"]
            .as_str()
            .or_else(|| headers["x-amz-target"].as_str());
        let authorization = headers["Authorization"].as_str().unwrap_or_default();
        if let Some(target) = target {
            let operation = target.rsplit('.').next().unwrap_or_default().to_string();
            return Call {
                method,
                path,
                action: operation,
                service: "logs",
            };
        }
        if authorization.contains("/s3/aws4_request") {
            return Call {
                action: format!("{method} {path}"),
                method,
                path,
                service: "s3",
            };
        }
        if authorization.contains("/iam/") || body.starts_with("Action=") {
            let action = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or_default()
                .to_string();
            return Call {
                method,
                path,
                action,
                service: "iam",
            };
        }
        let action = format!("{method} {path}");
        Call {
            method,
            path,
            action,
            service: "lambda",
        }
    }

    /// Whether this call changes something (reads and Invoke do not).
    pub fn is_write(&self) -> bool {
        match self.service {
            "iam" => !(self.action.starts_with("Get") || self.action.starts_with("List")),
            "logs" => !self.action.starts_with("Describe"),
            "s3" => !matches!(self.method.as_str(), "GET" | "HEAD"),
            _ => self.method != "GET" && !self.path.ends_with("/invocations"),
        }
    }
}

/// Only the writes among `calls`.
pub fn writes(calls: &[Call]) -> Vec<&Call> {
    calls.iter().filter(|c| c.is_write()).collect()
}

/// A scratch project: a copy of the repository's runtime/ and function/.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["runtime", "function"] {
            copy_dir(&repo_root().join(sub), &dir.path().join(sub));
        }
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the built `lambda-rt` in `project` with `env`, and returns its output.
pub fn lambda_rt(project: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    lambda_rt_with_stdin(project, env, args, None)
}

/// The `lambda-rt` command in `project` with exactly `env` for its AWS and lambda-rt settings
/// (the test process's own `AWS_*` and `LAMBDA_RT_*` variables are removed).
pub fn lambda_rt_command(project: &Path, env: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambda-rt"));
    command.current_dir(project).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("LAMBDA_RT_") || key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command
}

pub fn lambda_rt_with_stdin(
    project: &Path,
    env: &[(String, String)],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Output {
    let mut command = lambda_rt_command(project, env, args);
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("failed to run lambda-rt");
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    // Bound every run: nothing a test does should take this long. Output is drained by
    // wait_with_output on another thread so a full pipe can never stall the child.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("lambda-rt {args:?} did not finish within 120 s");
        }
    }
}

/// Text helpers for assertions.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Whether `pid` is running (a zombie awaiting its reaper does not count).
pub fn is_alive(pid: i32) -> bool {
    // Signal 0 checks for existence; a zombie awaiting its reaper does not count as running.
    let exists = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or_default()
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false);
    exists && !zombie
}

/// Waits (at most 20 s) for a non-empty file and returns its text.
pub fn wait_for_file(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never appeared", path.display());
}

/// Waits (at most 10 s) for process `pid` to be gone, failing the test otherwise.
pub fn wait_until_gone(pid: i32) {
    let start = Instant::now();
    while is_alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "process {pid} is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Appends one JSON line to the file named by `LAMBDA_RT_RELIABILITY_REPORT`, if set:
/// `scripts/reliability.sh` turns these lines into docs/reliability.md.
pub fn record(kind: &str, mut value: serde_json::Value) {
    let Ok(path) = std::env::var("LAMBDA_RT_RELIABILITY_REPORT") else {
        return;
    };
    value["kind"] = kind.into();
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("failed to open the reliability report `{path}`: {e}"));
    writeln!(file, "{value}").unwrap();
}

/// Records one refused bad input (the command, its exit code and the first error line). The
/// tests that call this also check that moto received no write.
pub fn record_bad_input(args: &[&str], out: &Output) {
    let stderr = stderr(out);
    let message = stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or_default();
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.len() > 40 {
                format!("{}…", &a[..40])
            } else {
                a.to_string()
            }
        })
        .collect();
    record(
        "bad_input",
        serde_json::json!({
            "command": shown.join(" "),
            "exit": out.status.code(),
            "message": message,
        }),
    );
}

/// Environment for a lambda-rt run against `url` with dummy credentials and no AWS config files,
/// for tests of endpoints that are not moto (closed, black-holed).
pub fn endpoint_env(url: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", url),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The settings lambda-rt resolves for `project` (lambda-rt.toml included) with `edit` applied to
/// the command-line inputs first.
pub fn settings_with(
    project: &Path,
    edit: impl FnOnce(&mut lambda_rt::cli::SettingsInput),
) -> lambda_rt::settings::Settings {
    let mut input = lambda_rt::cli::SettingsInput::default();
    input.project.project_dir = Some(project.to_path_buf());
    edit(&mut input);
    lambda_rt::settings::Settings::resolve(&input).unwrap()
}

/// Settings for a local run of `handler` with `timeout` seconds, in region eu-west-1.
pub fn local_settings(
    project: &Path,
    handler: &str,
    timeout: i64,
) -> lambda_rt::settings::Settings {
    settings_with(project, |input| {
        input.aws.region = Some("eu-west-1".into());
        input.config.handler = Some(handler.into());
        input.config.timeout = Some(timeout);
    })
}
