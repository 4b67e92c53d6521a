//! Running the real `lambda-rt` binary and reading what it printed: exit codes, stderr
//! assertions, JSON documents and their schema, and the records the reliability report is made of.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::tools::*;

/// `bytes` as JSON; a test failure showing them if they are not.
pub fn parse_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The one JSON document a command printed on stdout.
pub fn json(output: &Output) -> serde_json::Value {
    parse_json(&output.stdout)
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

/// Asserts that the command's stderr contains `needle`, showing the whole stderr otherwise.
#[track_caller]
pub fn assert_stderr_has(output: &Output, needle: &str) {
    let text = stderr(output);
    assert!(text.contains(needle), "stderr lacks {needle:?}:\n{text}");
}

/// Asserts that the command's stderr does not contain `needle`.
#[track_caller]
pub fn assert_stderr_lacks(output: &Output, needle: &str) {
    let text = stderr(output);
    assert!(!text.contains(needle), "stderr has {needle:?}:\n{text}");
}

/// Each case (the arguments, a part of the message) is refused as a usage error, exit 2, and
/// recorded for docs/reliability.md. The caller checks what reached AWS.
pub fn assert_usage_errors(project: &Path, env: &[(String, String)], cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        let out = lambda_rt(project, env, args);
        assert_exit(&out, 2);
        assert_stderr_has(&out, message);
        record_bad_input(args, &out);
    }
}

/// Every one of `parts` is in what the command printed on stdout.
pub fn assert_stdout_has(output: &Output, parts: &[&str]) {
    for part in parts {
        assert!(
            stdout(output).contains(part),
            "stdout lacks {part:?}:\n{}",
            stdout(output)
        );
    }
}

/// `status` in `project` reports drift (exit 6), naming each of `parts`.
pub fn assert_drift(project: &Path, env: &[(String, String)], parts: &[&str]) {
    let status = lambda_rt(project, env, &["status"]);
    assert_exit(&status, 6);
    assert_stdout_has(&status, parts);
}

/// `versions --output json`'s versions, each with its aliases: `[(1, []), (2, ["live"])]`.
pub fn listed_versions(output: &Output) -> Vec<(i64, Vec<String>)> {
    json(output)["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                serde_json::from_value(v["aliases"].clone()).unwrap(),
            )
        })
        .collect()
}
