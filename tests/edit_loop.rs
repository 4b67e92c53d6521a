//! The edit–deploy loop costs what changed (issue 30): a no-op learns that the code is deployed
//! from the local record of the package's inputs (`.lambda-rt/packages.json`) without zipping,
//! and the record never hides a change: an edit that keeps the size and the modification time
//! deploys, a touch does not, and a record that disagrees with Lambda falls back to the zip.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use crate::common::proxy::Realism;
use crate::common::*;

/// Lets the project's files settle: a file changed less than 2 s before it is hashed may change
/// again within the same timestamp tick, so its hash is only recorded once it is older.
fn settle() {
    std::thread::sleep(Duration::from_millis(2100));
}

fn set_modified(path: &Path, time: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn deployed_sha(aws: &Aws) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async { function_code(&aws.lambda().await, "bash-runtime").await.0 })
}

/// A deployed project whose settled files a no-op `update` has hashed into the record.
fn deployed_and_recorded() -> (Aws, Project) {
    // Real-AWS behaviour: Pending and InProgress states, one-item pages, latency.
    let aws = Aws::with(Realism::short());
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    settle();
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );
    (aws, project)
}

/// The CodeSha256 of the function zip the project builds now.
fn local_sha(project: &Path) -> String {
    lambda_rt::package::function_zip(&settings_with(project, |_| {}), true)
        .unwrap()
        .code_sha256
}

#[test]
fn a_no_op_zips_nothing_and_an_edit_that_keeps_size_and_mtime_deploys() {
    // The first no-op hashed the settled files and recorded them; this one reads the record.
    let (aws, project) = deployed_and_recorded();
    let out = lambda_rt(project.path(), &aws.env(), &["update", "-v"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "from the local record of these");
    assert_stderr_lacks(&out, "zipped ");
    assert!(project.path().join(".lambda-rt/packages.json").is_file());

    // Same size, same modification time, other content.
    let handler = project.path().join("function/function.sh");
    let before = std::fs::metadata(&handler).unwrap();
    let text = std::fs::read_to_string(&handler).unwrap();
    let edited = text.replacen("Echoing", "Echoinh", 1);
    assert_ne!(edited, text);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&handler, &edited).unwrap();
    set_modified(&handler, before.modified().unwrap());
    let after = std::fs::metadata(&handler).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );

    let writes = aws.writes_of(project.path(), &["update"]);
    assert_eq!(writes, vec!["lambda:UpdateFunctionCode".to_string()]);
    assert_eq!(deployed_sha(&aws), local_sha(project.path()));
}

#[test]
fn a_touched_file_that_did_not_change_deploys_nothing() {
    let (aws, project) = deployed_and_recorded();
    let handler = project.path().join("function/function.sh");
    set_modified(&handler, std::time::SystemTime::now());
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );
    assert_eq!(
        aws.writes_of(project.path(), &["publish-layer", "--no-attach"])
            .iter()
            .filter(|w| w.contains("PublishLayerVersion"))
            .count(),
        1,
        "the first publish-layer publishes"
    );
    set_modified(
        &project.path().join("runtime/bootstrap"),
        std::time::SystemTime::now(),
    );
    assert_eq!(
        aws.writes_of(project.path(), &["publish-layer", "--no-attach"]),
        Vec::<String>::new()
    );
}

/// Someone else deploys other code: the record says what the project zips to, Lambda says
/// otherwise, and `update` uploads the project's code; a record whose CodeSha256 is wrong is
/// checked against the zip before anything is uploaded.
#[test]
fn a_record_that_disagrees_with_lambda_falls_back_to_the_zip_and_converges() {
    let (aws, project) = deployed_and_recorded();

    let other = Project::new().with("function/function.sh", "handler () { echo other; }\n");
    assert_exit(&lambda_rt(other.path(), &aws.env(), &["update"]), 0);
    assert_ne!(deployed_sha(&aws), local_sha(project.path()));

    let writes = aws.writes_of(project.path(), &["update"]);
    assert_eq!(writes, vec!["lambda:UpdateFunctionCode".to_string()]);
    assert_eq!(deployed_sha(&aws), local_sha(project.path()));
    assert_eq!(
        aws.writes_of(project.path(), &["update"]),
        Vec::<String>::new()
    );

    // A record that lies about what the files zip to: the zip is built and found deployed.
    let path = project.path().join(".lambda-rt/packages.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let sha = deployed_sha(&aws);
    assert!(text.contains(&sha), "{text}");
    std::fs::write(
        &path,
        text.replace(&sha, "bm90IHRoZSBzaGEgb2YgYW55IHppcA=="),
    )
    .unwrap();
    aws.start_counting();
    let out = lambda_rt(project.path(), &aws.env(), &["update", "-v"]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "zipped ");
    assert_eq!(aws.counted().writes(), Vec::<String>::new());
    assert!(aws.counted().total() > 0, "the update read the function");
}

/// Waits (bounded) until `done` holds.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `update --watch`: an edit reaches the function within seconds, a burst of saves makes one
/// deploy, a broken handler prints its error and the watch goes on, and Ctrl-C ends it with 130
/// and nothing left running.
#[test]
fn update_watch_deploys_each_change_until_ctrl_c() {
    let aws = Aws::start();
    let project = Project::new();
    assert_exit(&lambda_rt(project.path(), &aws.env(), &["create"]), 0);
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("stderr");
    let mut watch = Spawned::new(
        lambda_rt_command(project.path(), &aws.env(), &["update", "--watch"])
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let stderr = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(Duration::from_secs(20), "the watch starts", || {
        stderr().contains("watching runtime/, function/ and lambda-rt.toml")
    });

    // An edit reaches the function.
    let handler = project.path().join("function/function.sh");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, text.replace("Echoing", "Watched")).unwrap();
    wait_until(Duration::from_secs(10), "the edit is deployed", || {
        deployed_sha(&aws) == local_sha(project.path())
    });
    wait_until(
        Duration::from_secs(5),
        &format!("the deploy's line in {}", stderr()),
        || {
            stderr()
                .contains("function/function.sh changed: updated function `bash-runtime` (code) in")
        },
    );

    // A burst of saves: one deploy.
    aws.start_counting();
    for n in 0..5 {
        std::fs::write(&handler, text.replace("Echoing", &format!("Burst {n}"))).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_until(Duration::from_secs(10), "the burst is deployed", || {
        deployed_sha(&aws) == local_sha(project.path())
    });
    std::thread::sleep(Duration::from_millis(800));
    let code_writes = aws
        .counted()
        .writes()
        .iter()
        .filter(|w| w.as_str() == "lambda:UpdateFunctionCode")
        .count();
    assert_eq!(code_writes, 1, "{:?}", aws.counted().writes());

    // A syntax error: said, and the watch goes on.
    std::fs::write(&handler, "handler () {\n  echo \"unclosed\n").unwrap();
    wait_until(Duration::from_secs(10), "the failed deploy's line", || {
        stderr().contains("the deploy failed after")
    });
    assert!(stderr().contains("still watching"), "{}", stderr());
    assert_eq!(watch.wait_for_exit(Duration::ZERO), None, "the watch ended");
    std::fs::write(&handler, &text).unwrap();
    wait_until(Duration::from_secs(10), "the fix is deployed", || {
        deployed_sha(&aws) == local_sha(project.path())
    });

    // Ctrl-C: exit 130, nothing left in its process group.
    watch.signal(nix::sys::signal::Signal::SIGINT);
    let status = watch
        .wait_for_exit(Duration::from_secs(10))
        .expect("the watch stops");
    assert_eq!(status.code(), Some(130), "{}", stderr());
    assert!(stderr().contains("stopped watching"), "{}", stderr());
    assert_eq!(processes_in_group(watch.pid()), Vec::<i32>::new());
}
