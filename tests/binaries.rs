//! Binaries that cannot run on Lambda's OS (issue 29, point 1): an ELF file in the function or its
//! runtime that needs a newer glibc than the runtime has is refused before anything is sent,
//! naming the file and both versions. This machine's own `bash` (Debian 12: GLIBC_2.36) is the
//! case the Deno guide opens with: it runs here and would fail every cold start on Lambda.

use crate::common::*;

/// A project with this machine's bash in `runtime/bin/`.
fn project_with_this_machines_bash() -> Project {
    let project = Project::new();
    let target = project.path().join("runtime/bin/bash");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy("/bin/bash", &target).unwrap();
    project
}

#[test]
fn a_binary_built_for_a_newer_glibc_is_refused_before_any_request() {
    let needs = lambda_rt::binaries::needs_of(std::path::Path::new("/bin/bash")).unwrap();
    let (major, minor) = needs.glibc.unwrap();
    assert!(
        (major, minor) > (2, 34),
        "this test needs a machine whose bash is newer than Lambda's glibc (it has {major}.{minor})"
    );
    let aws = Aws::start();
    let project = project_with_this_machines_bash();
    aws.start_counting();
    let message = format!(
        "`runtime/bin/bash` needs GLIBC_{major}.{minor} and provided.al2023 has glibc 2.34"
    );
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[
            (&["create"][..], message.as_str()),
            (&["publish-layer"][..], message.as_str()),
        ],
    );
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["update", "--runtime", "provided.al2"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "and provided.al2 has glibc 2.26");
    aws.assert_no_requests("a binary Lambda's glibc cannot run");

    // Here it runs: local runs are not refused.
    let local = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload", "{}"],
    );
    assert_exit(&local, 0);
}

/// The Deno binary the Deno template ships in its layer (the suite's, installed from a package
/// registry) is checked too: the guide's own obstacle. It needs a glibc newer than provided.al2's
/// and no newer than provided.al2023's, so it is refused for the one and taken for the other.
#[test]
fn the_deno_binary_is_checked_against_the_runtime() {
    let deno = deno_path();
    let needs = lambda_rt::binaries::needs_of(&deno).unwrap();
    let (major, minor) = needs.glibc.unwrap();
    assert!(
        (major, minor) > (2, 26) && (major, minor) <= (2, 34),
        "this Deno binary needs GLIBC_{major}.{minor}"
    );
    let aws = Aws::start();
    let project = deno_project();
    let env = aws.env();
    let deno_flag = deno.display().to_string();
    aws.start_counting();
    let message = format!("needs GLIBC_{major}.{minor} and provided.al2 has glibc 2.26");
    assert_usage_errors(
        project.path(),
        &env,
        &[(
            &["create", "--runtime", "provided.al2", "--deno", &deno_flag][..],
            message.as_str(),
        )],
    );
    aws.assert_no_requests("a Deno binary too new for provided.al2");
    let create = ["create", "--deno", deno_flag.as_str()];
    assert_exit(&lambda_rt(project.path(), &env, &create), 0);
}
