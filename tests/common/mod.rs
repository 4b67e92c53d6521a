//! Test harness shared by the integration tests: a real `moto_server` per test (bound to
//! 127.0.0.1, stopped on drop) behind the realism proxy that counts every AWS call ([`Aws`],
//! [`proxy`]), the real `lambda-rt` binary, scratch projects, and guards that stop child processes
//! even when a test panics.
#![allow(dead_code)]

pub mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// One request to the Lambda Invoke API of a `serve` at `url`: status, headers, body.
pub fn invoke_api(
    url: &str,
    function: &str,
    payload: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut request = agent.post(format!("{url}/2015-03-31/functions/{function}/invocations"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.send(payload).unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    (
        response.status().as_u16(),
        headers,
        response.body_mut().read_to_string().unwrap(),
    )
}

/// The value of header `name` (any letter case).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `lambda-rt serve --port 0 ARGS` in `project`, once it listens: the process and its URL.
pub fn serve(project: &Path, env: &[(String, String)], args: &[&str]) -> (Spawned, String) {
    let mut child = lambda_rt_command(project, env, &["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    (Spawned::new(child), url)
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

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
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
        sdk_config_for(&self.url).await
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

/// SDK configuration for `url` with the test credentials and region.
pub async fn sdk_config_for(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The CodeSha256 and size of function `name`'s code, as Lambda reports them.
pub async fn function_code(lambda: &aws_sdk_lambda::Client, name: &str) -> (String, i64) {
    let config = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    (
        config.code_sha256().unwrap_or_default().to_string(),
        config.code_size(),
    )
}

/// `bytes` as JSON; a test failure showing them if they are not.
pub fn parse_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The one JSON document a command printed on stdout.
pub fn json(output: &Output) -> serde_json::Value {
    parse_json(&output.stdout)
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
    edit: impl FnOnce(&mut lambda_rt::cli::common::SettingsInput),
) -> lambda_rt::settings::Settings {
    let mut input = lambda_rt::cli::common::SettingsInput::default();
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

/// A real moto_server behind the realism proxy: lambda-rt talks to the proxy, which counts every
/// request by operation (and, when realistic, behaves like real AWS).
pub struct Aws {
    pub moto: Moto,
    pub proxy: proxy::AwsProxy,
}

impl Aws {
    /// moto behind a transparent, counting proxy.
    pub fn start() -> Aws {
        Self::with(proxy::Realism::default())
    }

    /// moto behind the proxy with every real-AWS behaviour, at test durations.
    pub fn realistic() -> Aws {
        Self::with(proxy::Realism::short())
    }

    pub fn with(realism: proxy::Realism) -> Aws {
        let moto = Moto::start();
        let proxy = proxy::AwsProxy::start_with(moto.port, realism);
        Aws { moto, proxy }
    }

    /// Environment for lambda-rt: the proxy as the endpoint, dummy credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        self.proxy.env(&self.moto.env())
    }

    /// SDK configuration through the proxy (so setup calls see the same realism).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.proxy.url).await
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config().await)
    }

    /// Forgets the requests counted so far.
    pub fn start_counting(&self) {
        self.proxy.reset_counts();
    }

    /// The requests counted since [`Aws::start_counting`]. Panics if there were none at all: a
    /// "no writes" assertion must not pass because counting broke.
    pub fn counted(&self) -> Counts {
        let counts = Counts(self.proxy.counts());
        assert!(
            counts.total() > 0,
            "the proxy counted no request at all since start_counting: counting is broken, or \
             lambda-rt never reached AWS"
        );
        counts
    }
}

/// Requests received, by `service:Operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub std::collections::BTreeMap<String, u64>);

impl Counts {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// The write operations among them (each as often as it was received).
    pub fn writes(&self) -> Vec<String> {
        let mut writes = Vec::new();
        for (key, n) in &self.0 {
            let (service, action) = key.split_once(':').unwrap_or(("", key));
            if proxy::is_write(service, action) {
                writes.extend(std::iter::repeat(key.clone()).take(*n as usize));
            }
        }
        writes
    }

    /// Requests other than writes.
    pub fn reads(&self) -> u64 {
        self.total() - self.writes().len() as u64
    }

    /// Requests to one service (`iam`, `lambda`, `logs`, `s3`).
    pub fn of_service(&self, service: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{service}:")))
            .map(|(_, n)| n)
            .sum()
    }
}

/// A child process that is killed (with its process group, if it leads one) and reaped when the
/// guard is dropped, so a failing test never leaves it behind.
pub struct Spawned {
    pub child: Child,
}

impl Spawned {
    pub fn new(child: Child) -> Spawned {
        Spawned { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Waits at most `limit` for the process to exit; `None` if it is still running.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.pid());
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Aws {
    /// Asserts that no request reached AWS since [`Aws::start_counting`], then proves that the
    /// counter works by sending one request itself and seeing it counted: a broken counter cannot
    /// make this pass.
    pub fn assert_no_requests(&self, why: &str) {
        let counts = Counts(self.proxy.counts());
        assert_eq!(counts.total(), 0, "{why}: {counts:?}");
        let probe = ureq::get(format!("{}/2015-03-31/functions/", self.proxy.url))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .call();
        assert!(probe.is_ok(), "the probe request failed: {probe:?}");
        assert_eq!(
            self.proxy.count("lambda:ListFunctions"),
            1,
            "the proxy did not count a request it received: counting is broken"
        );
        self.proxy.reset_counts();
    }
}

/// The processes whose process group is `group`, sorted (read from /proc).
pub fn processes_in_group(group: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command (which may contain spaces) end at the last ')':
        // state ppid pgrp ...
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str()) {
            pids.push(pid);
        }
    }
    pids.sort();
    pids
}

/// The project's virtualenv Python (where `scripts/setup-test-tools.sh` installs jsonschema).
pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run the suite with `scripts/test.sh`, which creates it",
        python.display()
    );
    python
}

/// Checks every document against `docs/output.schema.json` (with Python's jsonschema, in one
/// process), failing with the validator's message for the first that does not fit.
pub fn assert_fit_the_schema(documents: &[serde_json::Value]) {
    assert!(!documents.is_empty(), "no document to check");
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = documents.iter().map(|d| d.to_string()).collect();
    let path = dir.path().join("documents.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let script = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema)
for number, line in enumerate(open(sys.argv[2]), 1):
    document = json.loads(line)
    errors = sorted(validator.iter_errors(document), key=lambda e: e.path)
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        print(f"document {number} does not fit the schema: {best.message} at {list(best.absolute_path)}\n{line}")
        sys.exit(1)
"#;
    let output = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(repo_root().join("docs/output.schema.json"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Creates function `name` straight through the Lambda API, as the console or a script would
/// (no lambda-rt tag): the provided.al2023 runtime, `handler`, and `zip` as its code.
pub async fn create_function_directly(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    role_arn: &str,
    handler: &str,
    zip: Vec<u8>,
) {
    lambda
        .create_function()
        .function_name(name)
        .role(role_arn)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler(handler)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
}
