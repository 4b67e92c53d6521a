//! `lambda-rt init`: the files and modes of both templates, refusing to overwrite without
//! `--force`, and that a fresh bash project runs as it is.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_bash_template_is_the_bundled_runtime_and_runs_as_is() {
    require_runtime_tools();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("my-function");
    let out = lambda_rt(parent.path(), &[], &["init", dir.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert_eq!(
        files(&dir),
        vec![
            "function/function.sh",
            "lambda-rt.toml",
            "runtime/bootstrap"
        ]
    );
    assert_eq!(mode(&dir.join("runtime/bootstrap")), 0o755);
    assert_eq!(mode(&dir.join("function/function.sh")), 0o644);
    for file in ["runtime/bootstrap", "function/function.sh"] {
        assert_eq!(
            std::fs::read(dir.join(file)).unwrap(),
            std::fs::read(repo_root().join(file)).unwrap(),
            "{file} is the repository's own"
        );
    }
    let config = std::fs::read_to_string(dir.join("lambda-rt.toml")).unwrap();
    assert!(
        config.contains("function-name = \"my-function\""),
        "{config}"
    );
    assert!(config.contains("template = \"bash\""), "{config}");
    assert_stderr_has(&out, "created  runtime/bootstrap");

    // The new project works without any edit, and its settings are read back.
    let out = lambda_rt(&dir, &[], &["invoke", "--local", "--payload", "{}"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Echoing request: '{}'");
    let aws = Aws::start();
    let out = lambda_rt(
        &dir,
        &aws.env(),
        &["create", "--dry-run", "--output", "json"],
    );
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resources"][1]["name"], "my-function", "{report}");
}

#[test]
fn the_deno_template_has_the_runtime_loop_and_a_typescript_handler() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("deno-project");
    let out = lambda_rt(
        parent.path(),
        &[],
        &[
            "init",
            "deno-project",
            "--template",
            "deno",
            "--function-name",
            "hello_deno",
            "--output",
            "json",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        files(&dir),
        vec![
            "function/function.ts",
            "lambda-rt.toml",
            "runtime/bootstrap",
            "runtime/runtime.ts"
        ]
    );
    assert_eq!(mode(&dir.join("runtime/bootstrap")), 0o755);
    assert_eq!(mode(&dir.join("runtime/runtime.ts")), 0o644);
    assert_eq!(mode(&dir.join("function/function.ts")), 0o644);
    let bootstrap = std::fs::read_to_string(dir.join("runtime/bootstrap")).unwrap();
    assert!(bootstrap.starts_with("#!/bin/sh\n"));
    assert!(
        bootstrap.contains("--cached-only"),
        "no downloads at run time"
    );
    let config = std::fs::read_to_string(dir.join("lambda-rt.toml")).unwrap();
    assert!(
        config.contains("function-name = \"hello_deno\""),
        "{config}"
    );
    assert!(config.contains("template = \"deno\""), "{config}");

    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["template"], "deno");
    assert_eq!(report["function_name"], "hello_deno");
    assert_eq!(report["files"].as_array().unwrap().len(), 4);
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["action"] == "created"));
}

#[test]
fn existing_files_are_never_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::create_dir_all(path.join("function")).unwrap();
    std::fs::write(path.join("function/function.sh"), "my own handler\n").unwrap();
    std::fs::write(path.join("notes.txt"), "unrelated\n").unwrap();

    for template in ["bash", "deno"] {
        let out = lambda_rt(
            path,
            &[],
            &["init", ".", "--template", template, "--function-name", "f"],
        );
        if template == "bash" {
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(
                err.contains("`function/function.sh`") && err.contains("--force"),
                "{err}"
            );
            // Nothing at all was written: not even the files that did not exist.
            assert_eq!(files(path), vec!["function/function.sh", "notes.txt"]);
        } else {
            // The Deno template has no function.sh: it fits next to it.
            assert_exit(&out, 0);
        }
    }
    assert_eq!(
        std::fs::read_to_string(path.join("function/function.sh")).unwrap(),
        "my own handler\n"
    );

    // A second init of the same template refuses too (lambda-rt.toml and runtime/ exist now).
    let out = lambda_rt(
        path,
        &[],
        &["init", ".", "--template", "deno", "--function-name", "f"],
    );
    assert_exit(&out, 2);

    // --force replaces the template's files and leaves every other file alone.
    std::fs::write(path.join("runtime/bootstrap"), "#!/bin/sh\nbroken\n").unwrap();
    std::fs::set_permissions(
        path.join("runtime/bootstrap"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = lambda_rt(
        path,
        &[],
        &[
            "init",
            ".",
            "--template",
            "bash",
            "--function-name",
            "f",
            "--force",
        ],
    );
    assert_exit(&out, 0);
    assert_stderr_has(&out, "overwritten  runtime/bootstrap");
    assert_eq!(
        std::fs::read(path.join("runtime/bootstrap")).unwrap(),
        std::fs::read(repo_root().join("runtime/bootstrap")).unwrap()
    );
    assert_eq!(mode(&path.join("runtime/bootstrap")), 0o755);
    assert_eq!(
        std::fs::read_to_string(path.join("notes.txt")).unwrap(),
        "unrelated\n"
    );
    assert!(
        path.join("function/function.ts").exists(),
        "other files stay"
    );
}

#[test]
fn bad_names_and_targets_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A directory name that is not a valid function name needs --function-name.
    let out = lambda_rt(dir.path(), &[], &["init", "has space"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "--function-name");
    assert!(!dir.path().join("has space").exists());

    let out = lambda_rt(
        dir.path(),
        &[],
        &["init", "x", "--function-name", "bad/name"],
    );
    assert_exit(&out, 2);
    assert!(!dir.path().join("x").exists());

    std::fs::write(dir.path().join("file"), "").unwrap();
    let out = lambda_rt(dir.path(), &[], &["init", "file", "--function-name", "f"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "not a directory");

    let out = lambda_rt(dir.path(), &[], &["init", "y", "--template", "python"]);
    assert_exit(&out, 2);
}

/// The crate as `cargo package` would publish it carries every file `init` writes (they are
/// compiled in with `include_str!`, so a missing one would break `cargo install`).
#[test]
fn the_packaged_crate_carries_every_template_file() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let init = std::fs::read_to_string(repo_root().join("src/commands/init.rs")).unwrap();
    let mut templates = 0;
    for line in init
        .lines()
        .filter(|l| l.trim_start().starts_with("template!(\""))
    {
        let quoted: Vec<&str> = line.split('"').collect();
        let path = format!("{}{}", quoted[1], quoted[3]);
        assert!(listed.contains(&path), "{path} is not packaged: {listed:?}");
        templates += 1;
    }
    assert!(
        templates >= 9,
        "the template! lines were not found in init.rs"
    );
}

/// `init --force` never writes through a linked directory: a `runtime/` that links elsewhere is
/// refused before anything is written, and what it points at is untouched.
#[test]
fn force_never_writes_through_a_linked_directory() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("bootstrap"), "precious\n").unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir(&project).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), project.join("runtime")).unwrap();
    let out = lambda_rt(
        dir.path(),
        &[],
        &["init", "p", "--function-name", "f", "--force"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(&out, "never writes through links");
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("bootstrap")).unwrap(),
        "precious\n"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 1);
    assert!(
        !project.join("function").exists(),
        "nothing is written on a refusal"
    );
}
