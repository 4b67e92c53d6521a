//! `tools = ["jq"]` (issue 29, point 2): a command from this machine's PATH travels with the
//! runtime as `bin/<name>`, with the libraries the target runtime lacks as `lib/<soname>` — in
//! local runs, in the runtime layer and in a function zip that carries the runtime — and goes
//! through the binary pre-flight like any other file of the package.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use crate::common::*;

/// A handler that runs `jq` the way a user writes it, and says where the copy lambda-rt brought
/// is (Lambda's PATH has /opt/bin after /usr/bin; here /usr/bin has a jq too).
const HANDLER: &str = r#"handler () {
  echo "$1" | jq -c '{name: .name, by: "jq"}'
}
brought () {
  "$LAMBDA_RUNTIME_DIR/bin/jq" -n -c --arg mode "$(stat -c %a "$LAMBDA_RUNTIME_DIR/bin/jq")" \
    '{mode: $mode}'
}
"#;

fn jq_project() -> Project {
    which("jq").unwrap_or_else(|_| {
        panic!("`jq` is needed by this test: install it (e.g. `apt-get install jq`)")
    });
    Project::new()
        .with("lambda-rt.toml", "tools = [\"jq\"]\n")
        .with("function/function.sh", HANDLER)
}

/// Entry names and modes of a zip.
fn zip_modes(bytes: &[u8]) -> Vec<(String, u32)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index(i).unwrap();
            (entry.name().to_string(), entry.unix_mode().unwrap() & 0o777)
        })
        .collect()
}

fn zip_file(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut contents = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut contents)
        .unwrap();
    contents
}

#[test]
fn a_tool_runs_in_local_runs() {
    require_runtime_tools();
    let project = jq_project();
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--payload", r#"{"name":"nightly"}"#],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), r#"{"name":"nightly","by":"jq"}"#);
    // Debian 12's libjq needs GLIBC_2.35: it runs here, and the run says Lambda would refuse it.
    let libjq = lambda_rt::binaries::needs_of(Path::new("/usr/lib/x86_64-linux-gnu/libjq.so.1"));
    if libjq
        .and_then(|needs| needs.glibc)
        .is_some_and(|glibc| glibc > (2, 34))
    {
        assert_stderr_has(&out, "this runs here, but not on Lambda");
        assert_stderr_has(&out, "`lib/libjq.so.1`");
    }
    let out = lambda_rt(
        project.path(),
        &[],
        &["invoke", "--local", "--handler", "function.brought"],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), r#"{"mode":"755"}"#);
}

/// The layer zip and a function zip with the runtime hold `bin/jq` (0755, the bytes of this
/// machine's jq) and the two libraries no Lambda runtime has (0644); the libraries Lambda has
/// (libc, libm) stay out.
#[test]
fn the_layer_and_the_function_zip_carry_the_tool_and_its_libraries() {
    let project = jq_project();
    let settings = settings_with(project.path(), |_| {});
    let jq = std::fs::read(which("jq").unwrap().canonicalize().unwrap()).unwrap();
    let layer = lambda_rt::package::layer_zip(&settings).unwrap();
    let function = lambda_rt::package::function_zip(&settings, true).unwrap();
    for zip in [&layer.bytes, &function.bytes] {
        let modes = zip_modes(zip);
        for expected in [
            ("bin/jq".to_string(), 0o755),
            ("lib/libjq.so.1".to_string(), 0o644),
            ("lib/libonig.so.5".to_string(), 0o644),
        ] {
            assert!(modes.contains(&expected), "{expected:?} not in {modes:?}");
        }
        assert!(
            !modes.iter().any(|(name, _)| name.starts_with("lib/libc.")),
            "{modes:?}"
        );
        assert_eq!(zip_file(zip, "bin/jq"), jq);
    }
    // Unchanged tools build the same zip: a re-run uploads nothing.
    assert_eq!(
        lambda_rt::package::layer_zip(&settings)
            .unwrap()
            .code_sha256,
        layer.code_sha256
    );
}

/// A directory with a `jq` stand-in built for an older glibc: this machine's jq binary (which
/// needs at most GLIBC_2.34 here) and, as its `libjq.so.1`, a library that needs an old glibc and
/// only libc. Debian 12's own libjq needs GLIBC_2.35, so the real one cannot be deployed (the test
/// below); the stand-in lets a deployment of a tool go through end to end.
fn stand_in_jq(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    let lib = dir.join("lib");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::copy(which("jq").unwrap(), bin.join("jq")).unwrap();
    let onig = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
        .iter()
        .map(|d| Path::new(d).join("libonig.so.5"))
        .find(|p| p.is_file())
        .expect("libonig.so.5 comes with jq: install jq");
    std::fs::copy(onig, lib.join("libjq.so.1")).unwrap();
    (bin, lib)
}

/// `create` deploys the tool in the function zip, found on PATH and its library where the loader
/// would find it (LD_LIBRARY_PATH); Debian's own jq is refused, naming the library's glibc.
#[test]
fn a_tool_is_deployed_when_it_can_run_on_lambda() {
    let aws = Aws::start();
    let project = jq_project();
    let machine_libjq =
        lambda_rt::binaries::needs_of(Path::new("/usr/lib/x86_64-linux-gnu/libjq.so.1"));
    if let Some(glibc) = machine_libjq.and_then(|needs| needs.glibc) {
        if glibc > (2, 34) {
            aws.start_counting();
            let out = lambda_rt(project.path(), &aws.env(), &["create"]);
            assert_exit(&out, 2);
            assert_stderr_has(
                &out,
                &format!(
                    "`lib/libjq.so.1` (from /usr/lib/x86_64-linux-gnu/libjq.so.1.0.4) needs \
                     GLIBC_{}.{} and provided.al2023 has glibc 2.34",
                    glibc.0, glibc.1
                ),
            );
            aws.assert_no_requests("a tool whose library needs a newer glibc");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let (bin, lib) = stand_in_jq(dir.path());
    let mut env = aws.env();
    env.push((
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    ));
    env.push(("LD_LIBRARY_PATH".into(), lib.display().to_string()));
    let out = lambda_rt(project.path(), &env, &["create"]);
    assert_exit(&out, 0);
    let code = aws_get_function_zip(&aws);
    let modes = zip_modes(&code);
    assert!(modes.contains(&("bin/jq".into(), 0o755)), "{modes:?}");
    assert!(
        modes.contains(&("lib/libjq.so.1".into(), 0o644)),
        "{modes:?}"
    );
    // The stand-in needs nothing else: only what the tool needs is copied.
    assert!(
        !modes.iter().any(|(n, _)| n == "lib/libonig.so.5"),
        "{modes:?}"
    );
    // The same tools again: nothing to upload.
    assert_eq!(
        aws.writes_of_with(project.path(), &env, &["update"]),
        Vec::<String>::new()
    );
}

/// The deployed code, downloaded from GetFunction's Code.Location as its owner would.
fn aws_get_function_zip(aws: &Aws) -> Vec<u8> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let location = runtime.block_on(async {
        let lambda = aws.lambda().await;
        let function = lambda
            .get_function()
            .function_name("bash-runtime")
            .send()
            .await
            .unwrap();
        function.code().unwrap().location().unwrap().to_string()
    });
    let mut body = ureq::get(&location).call().unwrap().into_body();
    body.read_to_vec().unwrap()
}

#[test]
fn tools_that_cannot_be_found_or_clash_are_refused() {
    let aws = Aws::start();
    let project = Project::new().with("lambda-rt.toml", "tools = [\"no-such-tool-xyz\"]\n");
    aws.start_counting();
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[
            (
                &["create"][..],
                "tools lists `no-such-tool-xyz`, which is not on this machine's PATH",
            ),
            (
                &["invoke", "--local"][..],
                "which is not on this machine's PATH",
            ),
        ],
    );
    project.write("lambda-rt.toml", "tools = [\"jq\", \"jq\"]\n");
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[(&["create"][..], "`jq` is listed twice")],
    );
    project.write("lambda-rt.toml", "tools = [\"../jq\"]\n");
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[(&["create"][..], "`../jq` is not a command name")],
    );
    project.write("lambda-rt.toml", "tools = [\"jq\"]\n");
    project.write("runtime/bin/jq", "#!/bin/sh\n");
    assert_usage_errors(
        project.path(),
        &aws.env(),
        &[(
            &["create"][..],
            "tools lists `jq`, and runtime/bin/jq exists too",
        )],
    );
    aws.assert_no_requests("tools refused");
}
