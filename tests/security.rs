//! What other users of the machine can reach (issue 26): the local environment's files.

use crate::common::*;

/// The temporary directory holding the function's code and layer is its user's alone.
#[test]
fn the_local_environment_is_readable_by_its_user_only() {
    let project = Project::new().with(
        "function/function.sh",
        "handler() {\n  stat -c %a \"$(dirname \"$LAMBDA_TASK_ROOT\")\"\n}\n",
    );
    let out = lambda_rt(project.path(), &[], &["invoke", "--local"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "700", "{}", stderr(&out));
}

/// `serve` on an address other machines can reach says so; on loopback it says nothing.
#[test]
fn serving_beyond_this_machine_is_announced() {
    use std::io::Read;
    let project = Project::new();
    for (host, warned) in [("0.0.0.0", true), ("127.0.0.1", false)] {
        let mut child = lambda_rt_command(
            project.path(),
            &[],
            &["serve", "--port", "0", "--host", host],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        listening_url(&mut child);
        let mut stderr_pipe = child.stderr.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut child = Spawned::new(child);
        // SIGTERM: serve stops its runtimes and removes their files before it exits.
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        assert!(child
            .wait_for_exit(std::time::Duration::from_secs(30))
            .is_some());
        let mut err = String::new();
        stderr_pipe.read_to_string(&mut err).unwrap();
        assert_eq!(
            err.contains("every machine that can reach it can invoke the function"),
            warned,
            "{host}: {err}"
        );
    }
}

/// A `.env` beside the handler is not deployed, and `create` says what it left out.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_beside_the_handler_stay_out_of_the_zip() {
    let aws = Aws::start();
    let project = Project::new().with("function/.env", "API_KEY=secret-value\n");
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "left out of the zip: function/.env");
    let (deployed, _) = function_code(&aws.moto.lambda().await, "bash-runtime").await;
    // The same project without the file builds the zip that was deployed: it was never in it.
    std::fs::remove_file(project.path().join("function/.env")).unwrap();
    let out = lambda_rt(project.path(), &aws.env(), &["update", "--output", "json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["code_sha256"], deployed.as_str());
    assert_stderr_lacks(&out, "left out");
}

/// Processes whose working directory is inside `dir`.
fn processes_in(dir: &std::path::Path) -> Vec<i32> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
            cwd.starts_with(&dir).then_some(pid)
        })
        .collect()
}

/// Kills what is left in a directory when the test ends, passed or not.
struct KillIn(std::path::PathBuf);

impl Drop for KillIn {
    fn drop(&mut self) {
        for pid in processes_in(&self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A SIGKILLed `invoke --local` cannot clean up: its runtime dies with it, and the next start
/// stops what the handler left running and removes the old directory.
#[test]
fn what_a_killed_local_run_leaves_is_cleared_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let _guard = KillIn(tmp.path().to_path_buf());
    let env = [("TMPDIR".to_string(), tmp.path().display().to_string())];
    let project = Project::new().with(
        "function/function.sh",
        "handler() {\n  sleep 60\n  echo done\n}\n",
    );
    let child = lambda_rt_command(project.path(), &env, &["invoke", "--local"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Spawned::new(child);
    // Wait for the handler's `sleep` itself: the runtime's own helpers (curl asking for the
    // event) also work in the task directory, and may be all there is for a moment.
    let sleeping = || {
        processes_in(tmp.path()).iter().any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
    };
    let started = std::time::Instant::now();
    while !sleeping() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the handler did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.child.kill().unwrap();
    child
        .wait_for_exit(std::time::Duration::from_secs(10))
        .unwrap();
    let stale: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert_eq!(stale.len(), 1, "the killed run's directory is still there");
    assert!(
        !processes_in(tmp.path()).is_empty(),
        "the handler's sleep lives on"
    );

    let out = lambda_rt(
        project.path(),
        &env,
        &[
            "invoke",
            "--local",
            "--handler",
            "function.handler",
            "--timeout",
            "1",
        ],
    );
    assert_exit(&out, 3); // the handler sleeps past the timeout: a function error, as in Lambda
    let started = std::time::Instant::now();
    while !processes_in(tmp.path()).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "processes left in {}: {:?}",
            tmp.path().display(),
            processes_in(tmp.path())
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The HTTP status `curl ARGS` gets, run as this user or as another one (nobody, uid 65534).
fn curl_status(args: &[&str], as_nobody: bool) -> String {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new("curl");
    command
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(args);
    if as_nobody {
        command.uid(65534).gid(65534);
    }
    let output = command.output().expect("failed to run curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Another user of this machine cannot read events from, or answer on, the Runtime API, nor call
/// `serve`; a request addressed to another Host is refused by both. Switching to another uid
/// needs root: run as another user, the test checks the Host refusal and this user's access only.
#[tokio::test(flavor = "multi_thread")]
async fn other_users_and_other_hosts_are_refused_by_the_local_servers() {
    require_runtime_tools();
    let api = lambda_rt::emulator::api::RuntimeApi::start("arn:aws:lambda:x".into(), false)
        .await
        .unwrap();
    let next = format!("http://{}/2018-06-01/runtime/invocation/next", api.addr);
    let project = Project::new();
    let (_serve, url) = serve(project.path(), &[], &[]);
    let invoke = format!("{url}/2015-03-31/functions/bash-runtime/invocations");

    let this_user = |args: &[&str]| curl_status(args, false);
    let nobody = |args: &[&str]| curl_status(args, true);
    assert_eq!(this_user(&["-H", "Host: evil.example", &next]), "403");
    assert_eq!(
        this_user(&[
            "-X",
            "POST",
            "-H",
            "Host: evil.example",
            "-d",
            "{}",
            &invoke
        ]),
        "403"
    );
    assert_eq!(this_user(&["-X", "POST", "-d", "{}", &invoke]), "200");
    if running_as_root() {
        assert_eq!(nobody(&[&next]), "403");
        let error = format!(
            "http://{}/2018-06-01/runtime/invocation/some-id/response",
            api.addr
        );
        assert_eq!(nobody(&["-X", "POST", "-d", "forged", &error]), "403");
        assert_eq!(nobody(&["-X", "POST", "-d", "{}", &invoke]), "403");
    } else {
        eprintln!("not root: the refusal of another uid is not exercised in this run");
    }
}

/// Where signed requests go, when a project file chose it, is named before the first request;
/// a project file naming a plain-http endpoint on another machine is refused before any.
#[tokio::test(flavor = "multi_thread")]
async fn a_project_file_choosing_where_requests_go_is_named_first() {
    let aws = Aws::start();
    let project = Project::new();
    project.write(
        "lambda-rt.toml",
        &format!(
            "function-name = \"named\"\nendpoint-url = \"{}\"\ns3-bucket = \"stage-here\"\n",
            aws.proxy.url
        ),
    );
    let env: Vec<(String, String)> = aws
        .env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .collect();
    aws.start_counting();
    let out = lambda_rt(project.path(), &env, &["status"]);
    assert!(
        aws.counted().total() > 0,
        "the file's endpoint was not used"
    );
    let first = stderr(&out).lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        format!(
            "from lambda-rt.toml: s3-bucket = \"stage-here\", endpoint-url = \"{}\"",
            aws.proxy.url
        )
    );
    // The same choice on the command line is the user's own: nothing to point out.
    std::fs::write(
        project.path().join("lambda-rt.toml"),
        "function-name = \"named\"\n",
    )
    .unwrap();
    let out = lambda_rt(
        project.path(),
        &env,
        &["status", "--endpoint-url", &aws.proxy.url],
    );
    assert_stderr_lacks(&out, "from lambda-rt.toml");

    aws.start_counting();
    project.write(
        "lambda-rt.toml",
        "function-name = \"named\"\nendpoint-url = \"http://attacker.example:8080\"\n",
    );
    let out = lambda_rt(project.path(), &aws.env(), &["status"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "unencrypted to another machine");
    aws.assert_no_requests("a plain-http endpoint from the project file");
}

/// A role of that name which lambda-rt did not create is used as it is, but when it grants more
/// than writing logs, `create` names what the new function is being given.
#[tokio::test(flavor = "multi_thread")]
async fn a_found_role_granting_more_than_logs_is_named_in_a_warning() {
    let aws = Aws::start();
    let iam = aws.moto.iam().await;
    let trust = LAMBDA_TRUST;
    iam.create_role()
        .role_name("bash-runtime-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("bash-runtime-role")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("bash-runtime-role")
        .policy_name("read-everything")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let project = Project::new();
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "warning: role `bash-runtime-role` was not created by lambda-rt and is used as it is: \
         the function gets what it grants beyond writing logs (AdministratorAccess, inline policy \
         read-everything)",
    );
    // Warned once, when the function is given the role; an update says nothing more.
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 0);
    assert_stderr_lacks(&out, "is used as it is");
}

/// A named pipe in `function/` is refused with exit 2 instead of hanging `invoke --local` (reading
/// it would block until someone writes).
#[test]
fn a_named_pipe_in_the_function_is_refused_not_waited_on() {
    let project = Project::new();
    let made = std::process::Command::new("mkfifo")
        .arg(project.path().join("function/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = lambda_rt_command(project.path(), &[], &["invoke", "--local"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let mut child = Spawned::new(child);
    let status = child
        .wait_for_exit(std::time::Duration::from_secs(30))
        .expect("invoke --local hung on a named pipe");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr_pipe, &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("`function/pipe` is a named pipe (FIFO)"),
        "{err}"
    );
}
