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

/// This machine's `jq` and the two libraries it loads (Debian's `libjq.so.1`, `libonig.so.5`).
fn this_machines_jq() -> [std::path::PathBuf; 3] {
    let jq = which("jq").unwrap_or_else(|_| {
        panic!("`jq` is needed by this test: install it (e.g. `apt-get install jq`)")
    });
    let libraries = ["libjq.so.1", "libonig.so.5"].map(|library| {
        let found = [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
        ]
        .iter()
        .map(|dir| std::path::Path::new(dir).join(library))
        .find(|path| path.is_file());
        found.unwrap_or_else(|| panic!("{library} is needed by this test: install jq"))
    });
    [jq, libraries[0].clone(), libraries[1].clone()]
}

fn copy_into(project: &Project, from: &std::path::Path, to: &str) {
    let target = project.path().join(to);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(from, &target).unwrap();
}

/// Debian's `jq` names `libjq.so.1`, which no Lambda runtime has: refused before any request,
/// naming the library. With its libraries in `runtime/lib/` (on Lambda's library path, /opt/lib)
/// no library is missing any more — and the check goes on to what is still wrong: Debian 12's
/// `libjq.so.1` needs GLIBC_2.35 (`hypot`), newer than provided.al2023's 2.34.
#[test]
fn a_binary_needing_a_library_lambda_lacks_is_refused_until_the_package_brings_it() {
    let [jq, libjq, libonig] = this_machines_jq();
    let aws = Aws::start();
    let project = Project::new();
    copy_into(&project, &jq, "runtime/bin/jq");
    aws.start_counting();
    let missing = "`runtime/bin/jq` needs libjq.so.1, which provided.al2023 does not have and the \
                   package does not bring";
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[
            (&["create"][..], missing),
            (&["publish-layer"][..], missing),
            (
                &["update", "--runtime", "provided.al2"][..],
                "which provided.al2 does not have",
            ),
        ],
    );
    aws.assert_no_requests("a binary whose library Lambda lacks");

    copy_into(&project, &libjq, "runtime/lib/libjq.so.1");
    copy_into(&project, &libonig, "runtime/lib/libonig.so.5");
    let out = lambda_rt(project.path(), &aws.env(), &["create"]);
    assert_exit(&out, 2);
    assert_stderr_lacks(&out, "does not have and the package does not bring");
    let needs = lambda_rt::binaries::needs_of(&libjq)
        .unwrap()
        .glibc
        .unwrap();
    if needs > (2, 34) {
        assert_stderr_has(
            &out,
            &format!(
                "`runtime/lib/libjq.so.1` needs GLIBC_{}.{} and provided.al2023 has glibc 2.34",
                needs.0, needs.1
            ),
        );
    }
    aws.assert_no_requests("libraries brought, but built for a newer glibc");
}

/// Layers the project attaches besides lambda-rt's may bring a library lambda-rt cannot see: a
/// missing library is then a warning, and the deployment goes on.
#[test]
fn a_library_other_layers_may_bring_is_a_warning() {
    let [jq, ..] = this_machines_jq();
    let aws = Aws::start();
    let project = Project::new();
    copy_into(&project, &jq, "runtime/bin/jq");
    let layer = "arn:aws:lambda:us-east-1:123456789012:layer:jq-libraries:1";
    let out = lambda_rt(
        project.path(),
        &aws.env(),
        &["create", "--dry-run", "--layer", layer],
    );
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "`runtime/bin/jq` needs libjq.so.1, which provided.al2023 does not have and the package \
         does not bring",
    );
    assert_stderr_has(&out, "unless one of the function's other layers brings it");
}

/// A binary for the other architecture is refused wherever it is in the package, not only as the
/// bootstrap.
#[test]
fn a_binary_for_the_other_architecture_is_refused() {
    let aws = Aws::start();
    let project = Project::new();
    copy_into(
        &project,
        std::path::Path::new("/bin/true"),
        "function/helper",
    );
    let host = lambda_rt::elf::host_architecture().unwrap();
    let other = match host {
        lambda_rt::architecture::Architecture::X86_64 => "arm64",
        lambda_rt::architecture::Architecture::Arm64 => "x86_64",
    };
    aws.start_counting();
    let message =
        format!("`function/helper` is built for {host}, but the function runs on {other}");
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[(&["create", "--architecture", other][..], message.as_str())],
    );
    aws.assert_no_requests("a binary for the other architecture");
}
