//! `--help` is documentation: every command's help text is snapshot-tested, so a change to a flag
//! or its doc shows up in review.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .env_remove("LAMBDA_RT_OUTPUT")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_texts() {
    insta::assert_snapshot!("main", help(&[]));
    for command in [
        "init",
        "create",
        "update",
        "invoke",
        "publish-layer",
        "delete",
        "serve",
    ] {
        insta::assert_snapshot!(command, help(&[command]));
    }
}
