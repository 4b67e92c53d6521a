//! What other users of the machine can reach (issue 26): the local environment's files.

mod common;

use common::*;

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
