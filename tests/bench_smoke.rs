//! The benchmark script in smoke mode (one short run of every benchmark, on the debug build), so
//! it cannot rot. It measures nothing: the real figures come from `bench/run.sh`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_benchmark_runs_in_smoke_mode() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_lambda-rt"));
    let bin_dir = binary.parent().unwrap();
    for example in [
        "bench-runtime",
        "bench-package",
        "bench-load",
        "realism-proxy",
    ] {
        assert!(
            bin_dir.join("examples").join(example).exists(),
            "the benchmark helper `{example}` is not built: run the suite with `scripts/test.sh` \
             (cargo test --all-targets builds the examples), or `cargo build --examples`"
        );
    }
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("BENCHMARKS.md");
    let mut command = Command::new("python3");
    command
        .arg(crate::common::repo_root().join("bench/run.py"))
        .args(["--smoke", "--bin-dir"])
        .arg(bin_dir)
        .arg("--out")
        .arg(&report);
    if let Ok(moto) = std::env::var("MOTO_SERVER") {
        command.env("MOTO_SERVER", moto);
    }
    if let Ok(aws) = std::env::var("AWS_CLI") {
        command.env("AWS_CLI", aws);
    }
    let output = command
        .output()
        .expect("python3 is required to run bench/run.py");
    assert!(
        output.status.success(),
        "bench/run.py --smoke failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    for section in [
        "## 1. Deploy cycle",
        "## 2. API calls per command",
        "## 3. Latency on real-AWS timings",
        "| create (new role) |",
        "| delete |",
        "## 4. Packaging",
        "## 5. Local execution",
        "## 6. Start-up",
        "| **total** |",
        "| compiled | 4 |",
    ] {
        assert!(text.contains(section), "missing `{section}` in:\n{text}");
    }
}
