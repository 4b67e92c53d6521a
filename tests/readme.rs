//! Runs the shell commands of README.md, so that the README cannot drift from what lambda-rt does.
//!
//! Every ```sh block is run by bash in a directory set up for its section (an empty directory, a
//! project made by `lambda-rt init`, the repository), with `lambda-rt`, `aws` and `deno` on `PATH`
//! and `$EDITOR` making a small edit. A comment line right after a command (`# Echoing ...`) is
//! output the block must print. Only the lines listed in [`NOT_RUN`] are left out, each with the
//! reason; a block under a heading this file does not know fails the test until it is added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// README lines the test does not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("scripts/test.sh", "it is the command that runs this test"),
    (
        "cargo install --path .",
        "the suite runs the binary cargo built for it",
    ),
    (
        "bench/run.sh",
        "tests/bench_smoke.rs runs the benchmark script at a tiny size",
    ),
    (
        "python3 -m venv .venv && .venv/bin/pip install 'moto[server]'",
        "scripts/setup-test-tools.sh installs moto into .venv",
    ),
    (
        "cargo build --examples",
        "scripts/test.sh builds the examples before the tests",
    ),
];

/// Ports in the README's commands; each block gets free ports in their place.
const README_PORTS: &[&str] = &["5000", "5001", "8080", "9001"];

/// Where a section's commands run.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The repository itself (the first commands of the README run there).
    Repository,
    /// An empty directory, with AWS (moto behind the counting proxy) in the environment.
    EmptyWithAws,
    /// A project made by `lambda-rt init --template deno`, with AWS in the environment.
    DenoProjectWithAws,
    /// A project made by `lambda-rt init`, with dummy credentials and a region (as a user with an
    /// AWS profile has) but no endpoint: the block says where AWS is.
    Project,
    /// An empty directory, with dummy credentials and a region.
    Empty,
    /// A project deployed with `lambda-rt create` to moto, whose log group holds a line, with AWS
    /// in the environment.
    DeployedWithAws,
    /// Every line of the block is in [`NOT_RUN`].
    Nothing,
}

fn setup_for(heading: &str) -> Setup {
    match heading {
        h if h.starts_with("The two commands") => Setup::Repository,
        "Install" | "Benchmarks" => Setup::Nothing,
        "Quick start" => Setup::EmptyWithAws,
        "Deno" => Setup::DenoProjectWithAws,
        "Pointing it at a local AWS emulator" | "Testing" => Setup::Project,
        "Local execution" => Setup::Empty,
        "Day two: logs, status, versions" => Setup::DeployedWithAws,
        "Web functions" | "A nightly job" => Setup::EmptyWithAws,
        other => panic!(
            "README.md has a ```sh block under `{other}` that tests/readme.rs does not know: add \
             its section to `setup_for` (or its lines to NOT_RUN, with the reason)"
        ),
    }
}

/// One ```sh block of the README.
#[derive(Debug)]
struct Block {
    heading: String,
    line: usize,
    lines: Vec<String>,
}

fn sh_blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut current: Option<Block> = None;
    // Inside another fenced block (```toml, ...), where `#` starts a comment, not a heading.
    let mut in_other_block = false;
    for (index, line) in readme.lines().enumerate() {
        if in_other_block {
            in_other_block = !line.starts_with("```");
        } else if let Some(block) = current.as_mut() {
            if line.starts_with("```") {
                blocks.push(current.take().unwrap());
            } else {
                block.lines.push(line.to_string());
            }
        } else if line == "```sh" {
            current = Some(Block {
                heading: heading.clone(),
                line: index + 1,
                lines: Vec::new(),
            });
        } else if line.starts_with("```") {
            in_other_block = true;
        } else if let Some(title) = line.strip_prefix('#') {
            heading = title.trim_start_matches('#').trim().to_string();
        }
    }
    assert!(current.is_none(), "README.md has an unclosed ```sh block");
    blocks
}

/// A block turned into a bash script, and the output lines it must print.
#[derive(Debug)]
struct Script {
    text: String,
    expected: Vec<String>,
    ran_commands: usize,
}

/// Joins continued lines, drops trailing comments, leaves out [`NOT_RUN`] lines, points the
/// README's paths and ports at this checkout and at free ports, and waits for every background
/// server before the next line.
fn script_of(block: &Block, ports: &BTreeMap<&str, String>, examples: &Path) -> Script {
    let venv_bin = format!("{}/", repo_root().join(".venv/bin").display());
    let mut text = String::from(
        "set -euo pipefail\n\
         wait_port() {\n\
           for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done\n\
           echo \"nothing listens on port $1 after 30 s\" >&2; return 1\n\
         }\n",
    );
    let mut expected = Vec::new();
    let mut ran_commands = 0;
    let mut logical = String::new();
    for raw in &block.lines {
        if let Some(continued) = raw.strip_suffix('\\') {
            logical.push_str(continued);
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let trimmed = line.trim();
        if let Some(output) = trimmed.strip_prefix("# ") {
            expected.push(output.to_string());
            continue;
        }
        let command = match trimmed.find(" #") {
            Some(at) => trimmed[..at].trim_end(),
            None => trimmed,
        };
        if command.is_empty() || NOT_RUN.iter().any(|(skipped, _)| *skipped == command) {
            continue;
        }
        let mut command = command
            .replace("cargo run --release -- ", "lambda-rt ")
            .replace(".venv/bin/", &venv_bin)
            .replace(
                "target/debug/examples/",
                &format!("{}/", examples.display()),
            );
        for (readme_port, port) in ports {
            command = command.replace(readme_port, port);
        }
        text.push_str(&command);
        text.push('\n');
        ran_commands += 1;
        if command.ends_with('&') {
            let words: Vec<&str> = command.split_whitespace().collect();
            let ports: Vec<&str> = words
                .windows(2)
                .filter(|w| matches!(w[0], "-p" | "--port" | "--http"))
                .map(|w| w[1])
                .collect();
            assert!(
                !ports.is_empty(),
                "README.md:{}: a background command without -p/--port: the test cannot tell \
                 when it is ready",
                block.line
            );
            for port in ports {
                text.push_str(&format!("wait_port {port}\n"));
            }
        }
    }
    Script {
        text,
        expected,
        ran_commands,
    }
}

/// A directory of the programs the README calls by name, for the front of `PATH`, and an
/// `$EDITOR` that appends a comment to the file it is given.
fn tools_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let link = |name: &str, target: PathBuf| {
        assert!(
            target.exists(),
            "{} is missing: run scripts/test.sh",
            target.display()
        );
        std::os::unix::fs::symlink(target, dir.path().join(name)).unwrap();
    };
    link("lambda-rt", PathBuf::from(env!("CARGO_BIN_EXE_lambda-rt")));
    link(
        "aws",
        std::env::var_os("AWS_CLI")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/aws")),
    );
    link("deno", deno_path());
    let editor = dir.path().join("edit");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf '\\n// edited by tests/readme.rs\\n' >> \"$1\"\n",
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&editor, permissions).unwrap();
    dir
}

fn credentials_env(config_file: &Path) -> Vec<(String, String)> {
    let empty = config_file.display().to_string();
    vec![
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_REGION".into(), REGION.into()),
        ("AWS_DEFAULT_REGION".into(), REGION.into()),
        ("AWS_CONFIG_FILE".into(), empty.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), empty),
    ]
}

/// Runs one block as its section says, and checks it succeeds and prints what it promises.
fn run_block(block: &Block) {
    let setup = setup_for(&block.heading);
    let ports: BTreeMap<&str, String> = README_PORTS
        .iter()
        .map(|port| (*port, free_port().to_string()))
        .collect();
    let examples = PathBuf::from(env!("CARGO_BIN_EXE_lambda-rt"))
        .parent()
        .unwrap()
        .join("examples");
    let script = script_of(block, &ports, &examples);
    if let Setup::Nothing = setup {
        assert_eq!(
            script.ran_commands, 0,
            "README.md:{}: a block under `{}` has commands the test does not run",
            block.line, block.heading
        );
        return;
    }
    if script.ran_commands == 0 {
        return; // every line is in NOT_RUN
    }

    let scratch = tempfile::tempdir().unwrap();
    let config_file = scratch.path().join("empty-aws-config");
    std::fs::write(&config_file, "").unwrap();
    let mut env = credentials_env(&config_file);
    let mut _aws = None;
    let mut _project = None;
    let workdir: PathBuf = match setup {
        Setup::Repository => repo_root(),
        Setup::Empty => scratch.path().to_path_buf(),
        Setup::DeployedWithAws => {
            let aws = Aws::start();
            env = aws.env();
            env.push(("AWS_DEFAULT_REGION".into(), REGION.into()));
            let project = Project::new();
            assert_exit(&lambda_rt(project.path(), &env, &["create"]), 0);
            write_a_log_line(&aws, "bash-runtime");
            let path = project.path().to_path_buf();
            _aws = Some(aws);
            _project = Some(project);
            path
        }
        Setup::EmptyWithAws => {
            let aws = Aws::start();
            env = aws.env();
            env.push(("AWS_DEFAULT_REGION".into(), REGION.into()));
            _aws = Some(aws);
            scratch.path().to_path_buf()
        }
        Setup::DenoProjectWithAws => {
            let aws = Aws::start();
            env = aws.env();
            env.push(("AWS_DEFAULT_REGION".into(), REGION.into()));
            _aws = Some(aws);
            let project = deno_project();
            let path = project.path().to_path_buf();
            _project = Some(project);
            path
        }
        Setup::Project => {
            let out = lambda_rt(scratch.path(), &[], &["init", "project", "-q"]);
            assert_exit(&out, 0);
            scratch.path().join("project")
        }
        Setup::Nothing => unreachable!(),
    };

    let tools = tools_dir();
    let stdout_file = scratch.path().join("stdout");
    let stderr_file = scratch.path().join("stderr");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script.text)
        .current_dir(&workdir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", tools.path().display()),
        )
        .env("HOME", scratch.path())
        .env("EDITOR", tools.path().join("edit"))
        .envs(env)
        .stdin(Stdio::null())
        // Files, not pipes: background servers keep their copies open after bash exits.
        .stdout(std::fs::File::create(&stdout_file).unwrap())
        .stderr(std::fs::File::create(&stderr_file).unwrap());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut bash = Spawned::new(command.spawn().unwrap());
    let status = bash.wait_for_exit(Duration::from_secs(240));
    stop_group(bash.pid());
    let stdout = std::fs::read_to_string(&stdout_file).unwrap();
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    let context = format!(
        "README.md:{} (`{}`)\n--- script\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        block.line, block.heading, script.text
    );
    let status = status.unwrap_or_else(|| panic!("still running after 240 s: {context}"));
    assert!(status.success(), "{status}: {context}");
    for line in &script.expected {
        assert!(
            stdout.lines().any(|printed| printed == line),
            "the README promises the output line `{line}`: {context}"
        );
    }
}

/// Puts one line into the function's log group, as Lambda would after an invocation (moto's
/// echoing invoke writes no logs).
fn write_a_log_line(aws: &Aws, function: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let logs = aws.moto.logs().await;
        // The group itself is there: `create` made it.
        let group = format!("/aws/lambda/{function}");
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name("readme")
            .send()
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name("readme")
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now)
                    .message("ERROR shown by the README's logs command")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
}

/// Stops what a block left running in the background (SIGTERM, so that `serve` and moto stop
/// cleanly), then kills what is left after 10 s.
fn stop_group(group: i32) {
    let pgid = nix::unistd::Pid::from_raw(group);
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
    let start = Instant::now();
    while !processes_in_group(group).is_empty() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn blocks_under(heading: &str) -> Vec<Block> {
    let blocks: Vec<Block> = sh_blocks()
        .into_iter()
        .filter(|b| b.heading == heading)
        .collect();
    assert!(
        !blocks.is_empty(),
        "README.md has no ```sh block under `{heading}`"
    );
    blocks
}

#[test]
fn every_block_belongs_to_a_known_section_and_every_left_out_line_exists() {
    let blocks = sh_blocks();
    for block in &blocks {
        setup_for(&block.heading);
    }
    let all: Vec<&str> = blocks
        .iter()
        .flat_map(|b| b.lines.iter())
        .map(|l| l.split(" #").next().unwrap().trim())
        .collect();
    for (line, why) in NOT_RUN {
        assert!(
            all.contains(line),
            "NOT_RUN lists `{line}` ({why}), which README.md no longer has: remove it"
        );
    }
    for block in blocks
        .iter()
        .filter(|b| matches!(setup_for(&b.heading), Setup::Nothing))
    {
        run_block(block);
    }
}

#[test]
fn the_first_commands_run() {
    require_runtime_tools();
    for block in blocks_under_prefix("The two commands") {
        run_block(&block);
    }
}

fn blocks_under_prefix(prefix: &str) -> Vec<Block> {
    let blocks: Vec<Block> = sh_blocks()
        .into_iter()
        .filter(|b| b.heading.starts_with(prefix))
        .collect();
    assert!(
        !blocks.is_empty(),
        "README.md has no ```sh block under `{prefix}...`"
    );
    blocks
}

#[test]
fn quick_start_runs() {
    require_runtime_tools();
    for block in blocks_under("Quick start") {
        run_block(&block);
    }
}

#[test]
fn deno_commands_run() {
    for block in blocks_under("Deno") {
        run_block(&block);
    }
}

#[test]
fn local_emulator_commands_run() {
    require_runtime_tools();
    for block in blocks_under("Pointing it at a local AWS emulator") {
        run_block(&block);
    }
}

#[test]
fn serve_commands_run() {
    require_runtime_tools();
    for block in blocks_under("Local execution") {
        run_block(&block);
    }
}

#[test]
fn web_function_commands_run() {
    require_runtime_tools();
    for block in blocks_under("Web functions") {
        run_block(&block);
    }
}

#[test]
fn nightly_job_commands_run() {
    require_runtime_tools();
    for block in blocks_under("A nightly job") {
        run_block(&block);
    }
}

#[test]
fn day_two_commands_run() {
    require_runtime_tools();
    for block in blocks_under("Day two: logs, status, versions") {
        run_block(&block);
    }
}

#[test]
fn testing_commands_run() {
    require_runtime_tools();
    for block in blocks_under("Testing") {
        run_block(&block);
    }
}
