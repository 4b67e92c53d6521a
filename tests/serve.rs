//! `lambda-rt serve`: the Lambda Invoke API locally, exercised with real HTTP clients and the AWS CLI.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use base64::Engine;

const HANDLER: &str = r#"
serve_handler () {
  echo ran >> "$MARKS"
  case "$1" in
    *fail*) echo "failing on purpose"; return 1 ;;
    *crash*) kill -KILL $$ ;;
    *slow*) sleep 30 & echo $! > "$PIDFILE"; wait ;;
  esac
  echo "log line for $1" >&2
  printf '%s|%s' "$1" "$$"
}
"#;

struct Server {
    process: Spawned,
    url: String,
    /// The server's temporary directory ($TMPDIR), where its environments are extracted.
    tmp: tempfile::TempDir,
}

impl Server {
    fn start(project: &Path, extra: &[&str]) -> Server {
        require_runtime_tools();
        let pidfile = project.join("sleep.pid");
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
            .current_dir(project)
            .env("TMPDIR", tmp.path())
            .args([
                "serve",
                "--port",
                "0",
                "--handler",
                "test.serve_handler",
                "--timeout",
                "2",
            ])
            .args(["--env", &format!("PIDFILE={}", pidfile.display())])
            .args([
                "--env",
                &format!("MARKS={}", project.join("marks").display()),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = listening_url(&mut child);
        Server {
            process: Spawned::new(child),
            url,
            tmp,
        }
    }

    /// Stops the server with `signal` and returns its exit code; fails if it takes over 20 s.
    fn stop(&mut self, signal: nix::sys::signal::Signal) -> Option<i32> {
        self.process.signal(signal);
        self.process
            .wait_for_exit(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("serve did not stop on {signal}"))
            .code()
    }

    /// What the server left in its temporary directory.
    fn leftovers(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    fn invoke(
        &self,
        payload: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, String) {
        invoke_api(&self.url, "bash-runtime", payload, headers)
    }
}

#[test]
fn two_hundred_concurrent_invokes_are_each_answered_with_their_own_response() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let server = Server::start(project.path(), &["--concurrency", "4"]);
    let pids = std::sync::Mutex::new(std::collections::HashSet::new());
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (server, pids) = (&server, &pids);
            scope.spawn(move || {
                for i in 0..50 {
                    let payload = format!(r#"{{"thread":{thread},"i":{i}}}"#);
                    let (status, headers, body) = server.invoke(&payload, &[]);
                    assert_eq!(status, 200);
                    assert_eq!(header(&headers, "x-amz-executed-version"), Some("$LATEST"));
                    let (echoed, pid) = body.rsplit_once('|').expect("payload|pid");
                    assert_eq!(echoed, payload, "a response went to the wrong request");
                    pids.lock().unwrap().insert(pid.to_string());
                }
            });
        }
    });
    let pids = pids.into_inner().unwrap();
    assert!(
        !pids.is_empty() && pids.len() <= 4,
        "runtimes stay warm, at most 4: {pids:?}"
    );
}

#[test]
fn function_errors_and_log_tails_come_through_the_invoke_api() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let server = Server::start(project.path(), &[]);
    let (status, headers, body) = server.invoke(r#""please fail""#, &[("X-Amz-Log-Type", "Tail")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["errorType"], "HandlerError");
    assert!(doc["errorMessage"]
        .as_str()
        .unwrap()
        .contains("failing on purpose"));
    assert!(header(&headers, "x-amz-log-result").is_some());

    let (_, headers, _) = server.invoke(r#""ok""#, &[("X-Amz-Log-Type", "Tail")]);
    let log = base64::engine::general_purpose::STANDARD
        .decode(header(&headers, "x-amz-log-result").unwrap())
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(
        log.contains("START RequestId:") && log.contains("REPORT RequestId:"),
        "{log}"
    );
    assert!(log.contains(r#"log line for "ok""#), "{log}");

    // Without Tail there is no log header; other function names are not found.
    let (_, headers, _) = server.invoke("{}", &[]);
    assert!(header(&headers, "x-amz-log-result").is_none());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(format!(
            "{}/2015-03-31/functions/other/invocations",
            server.url
        ))
        .send("{}")
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response
            .headers()
            .get("x-amzn-errortype")
            .unwrap()
            .to_str()
            .unwrap(),
        "ResourceNotFoundException"
    );
}

#[test]
fn crashed_and_timed_out_runtimes_are_replaced() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let server = Server::start(project.path(), &[]);
    let (_, _, first) = server.invoke(r#""a""#, &[]);
    let (status, headers, body) = server.invoke(r#""crash""#, &[]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert!(body.contains("Runtime.ExitError"), "{body}");
    let (_, _, after_crash) = server.invoke(r#""b""#, &[]);
    assert!(after_crash.starts_with(r#""b"|"#), "{after_crash}");
    assert_ne!(
        first.rsplit('|').next(),
        after_crash.rsplit('|').next(),
        "a new runtime took over"
    );

    let (_, headers, body) = server.invoke(r#""slow""#, &[]);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert!(body.contains("Task timed out after 2.00 seconds"), "{body}");
    let sleeper: i32 = std::fs::read_to_string(project.path().join("sleep.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (_, _, after_timeout) = server.invoke(r#""c""#, &[]);
    assert!(after_timeout.starts_with(r#""c"|"#), "{after_timeout}");
    assert!(
        !is_alive(sleeper),
        "the timed-out handler's child is still running"
    );
}

#[test]
fn ctrl_c_stops_the_server_and_every_runtime() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let mut server = Server::start(project.path(), &["--concurrency", "2"]);
    server.invoke("{}", &[]);
    let url = server.url.clone();
    // A request still running when the server is stopped.
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let _ = agent
            .post(format!(
                "{url}/2015-03-31/functions/bash-runtime/invocations"
            ))
            .send(r#""slow""#);
    });
    let sleeper: i32 = wait_for_file(&project.path().join("sleep.pid"))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(server.stop(nix::sys::signal::Signal::SIGINT), Some(130));
    wait_until_gone(sleeper);
    assert_eq!(server.leftovers(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_stopped_watching_server_leaves_no_files_behind() {
    for signal in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ] {
        let project = Project::new().with("function/test.sh", HANDLER);
        let mut server = Server::start(project.path(), &["--watch"]);
        server.invoke("{}", &[]);
        // A rebuild, so that there has been more than one environment.
        project.write("function/test.sh", "serve_handler () { printf changed; }\n");
        wait_for_answer(&server, "changed");
        assert!(
            !server.leftovers().is_empty(),
            "serve extracts into $TMPDIR"
        );
        assert_eq!(server.stop(signal), Some(130), "{signal}");
        assert_eq!(
            server.leftovers(),
            Vec::<std::path::PathBuf>::new(),
            "{signal}"
        );
    }
}

/// Invokes until the body is `expected` (a rebuild is picked up within a few polls); at most 20 s.
fn wait_for_answer(server: &Server, expected: &str) {
    let start = Instant::now();
    loop {
        let (_, _, body) = server.invoke(r#""x""#, &[]);
        if body == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the edit was never picked up: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_rebuilds_the_environment_when_the_handler_changes() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let server = Server::start(project.path(), &["--watch"]);
    let (_, _, before) = server.invoke(r#""x""#, &[]);
    assert!(before.starts_with(r#""x"|"#), "{before}");
    project.write(
        "function/test.sh",
        "serve_handler () { printf 'edited %s' \"$1\"; }\n",
    );
    wait_for_answer(&server, r#"edited "x""#);

    // A broken project says what is wrong, as a function error the AWS CLI does not retry.
    std::fs::remove_file(project.path().join("function/test.sh")).unwrap();
    let start = Instant::now();
    let (status, headers, body) = loop {
        let answer = server.invoke(r#""x""#, &[]);
        if header(&answer.1, "x-amz-function-error").is_some() {
            break answer;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still answering: {}",
            answer.2
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert!(body.contains("function/test.sh"), "{body}");
    assert!(!body.contains("/tmp"), "{body}");
    project.write("function/test.sh", "serve_handler () { printf fixed; }\n");
    wait_for_answer(&server, "fixed");
}

#[test]
fn the_aws_cli_can_invoke_it() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let server = Server::start(project.path(), &[]);
    let aws = aws_cli_path();
    let out_file = project.path().join("out.json");
    let output = Command::new(&aws)
        .args([
            "lambda",
            "invoke",
            "--endpoint-url",
            &server.url,
            "--function-name",
            "bash-runtime",
        ])
        .args(["--payload", r#"{"from":"aws-cli"}"#, "--log-type", "Tail"])
        .arg(&out_file)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["StatusCode"], 200);
    assert_eq!(summary["ExecutedVersion"], "$LATEST");
    assert!(summary["LogResult"].is_string());
    let response = std::fs::read_to_string(out_file).unwrap();
    assert!(response.starts_with(r#"{"from":"aws-cli"}|"#), "{response}");
}

/// Sends a raw HTTP/1.1 Invoke with exactly these extra header lines; returns status and body.
fn raw_invoke(url: &str, header_lines: &[&str]) -> (u16, String) {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request =
        "POST /2015-03-31/functions/bash-runtime/invocations HTTP/1.1\r\n".to_string();
    for line in header_lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("Content-Length: 2\r\nConnection: close\r\n\r\n{}");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn requests_from_web_pages_and_foreign_hosts_are_refused_and_the_handler_does_not_run() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let marks = project.path().join("marks");
    let server = Server::start(project.path(), &[]);
    let host = format!("Host: {}", server.url.trim_start_matches("http://"));

    // A page on another site, POSTing from a browser.
    let (status, body) = raw_invoke(&server.url, &[&host, "Origin: https://evil.example"]);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("--allow-origin https://evil.example"),
        "{body}"
    );
    // DNS rebinding: the request names the attacker's domain.
    let (status, body) = raw_invoke(&server.url, &["Host: attacker.example:9001"]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("DNS rebinding"), "{body}");
    // A link on another site followed by a browser: no Origin, but Sec-Fetch-Site says so.
    let (status, body) = raw_invoke(&server.url, &[&host, "Sec-Fetch-Site: cross-site"]);
    assert_eq!(status, 403, "{body}");
    assert!(!marks.exists(), "the handler ran for a refused request");

    // A client without an Origin (the AWS CLI, the SDKs) on a loopback name is served.
    let (status, body) = raw_invoke(&server.url, &[&host]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(std::fs::read_to_string(&marks).unwrap(), "ran\n");

    // --allow-origin opens it for one page.
    let server = Server::start(project.path(), &["--allow-origin", "http://localhost:3000"]);
    let host = format!("Host: {}", server.url.trim_start_matches("http://"));
    let (status, body) = raw_invoke(&server.url, &[&host, "Origin: http://localhost:3000"]);
    assert_eq!(status, 200, "{body}");
}

fn aws_cli_path() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("AWS_CLI") {
        return path.into();
    }
    let venv = repo_root().join(".venv/bin/aws");
    if venv.exists() {
        return venv;
    }
    panic!(
        "the AWS CLI was not found: run the suite with `scripts/test.sh`, which installs it into .venv, \
         or `.venv/bin/pip install awscli`"
    );
}

#[test]
fn a_port_in_use_says_how_to_pick_another_and_leaves_nothing_behind() {
    let project = Project::new().with("function/test.sh", HANDLER);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port().to_string();
    drop(free);
    for (args, flag) in [
        (vec!["serve", "--port", port.as_str()], "--port"),
        (
            vec![
                "serve",
                "--port",
                free_port.as_str(),
                "--http",
                port.as_str(),
            ],
            "--http",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let env = [("TMPDIR".to_string(), tmp.path().display().to_string())];
        let out = lambda_rt(project.path(), &env, &args);
        assert_exit(&out, 1);
        let text = stderr(&out);
        assert!(
            text.contains(&format!("127.0.0.1:{port} ({flag}): the port is in use")),
            "{text}"
        );
        assert!(text.contains(&format!("pass {flag} 0")), "{text}");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
