//! Local execution: settings for in-process emulator tests, and `lambda-rt serve` with the
//! Invoke API called as the AWS SDKs call it.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use super::cli::*;
use super::process::*;

/// The URL a `lambda-rt serve` child (stdout piped) reports on its first line,
/// `listening on http://HOST:PORT`; waits at most 30 s.
pub fn listening_url(child: &mut Child) -> String {
    first_line(child, "serve did not report its address within 30 s")
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string()
}

/// The first line `child` writes on stdout, waiting at most 30 s (failing with `missing`). The
/// rest of stdout is read and dropped until the child closes it, so that its later lines do not
/// meet a closed pipe.
pub fn first_line(child: &mut Child, missing: &str) -> String {
    use std::io::{BufRead, BufReader, Read};
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        let _ = std::io::copy(&mut reader.by_ref(), &mut std::io::sink());
    });
    receiver
        .recv_timeout(Duration::from_secs(30))
        .expect(missing)
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
