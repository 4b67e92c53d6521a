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
        "check",
        "logs",
        "status",
        "versions",
        "rollback",
        "completions",
        "man",
    ] {
        insta::assert_snapshot!(command, help(&[command]));
    }
}

/// Each command offers only the flags it uses, and shows how it is used.
#[test]
fn each_command_shows_its_own_flags_and_examples() {
    let not_offered: &[(&str, &[&str])] = &[
        ("delete", &["--memory", "--env", "--timeout", "--handler"]),
        // `init` takes the AWS options for --from-function, and no function settings.
        ("init", &["--memory", "--adopt", "--handler"]),
        ("invoke", &["--keep-logs", "--adopt", "--role-name"]),
        ("serve", &["--max-attempts", "--adopt"]),
        ("check", &["--max-attempts", "--endpoint-url", "--adopt"]),
        ("logs", &["--memory", "--adopt", "--handler"]),
        ("versions", &["--memory", "--handler"]),
        ("rollback", &["--memory", "--handler"]),
        ("publish-layer", &["--memory", "--env"]),
    ];
    for (command, flags) in not_offered {
        let text = help(&[command]);
        for flag in *flags {
            assert!(
                !text.contains(flag),
                "`{command} --help` offers {flag}:\n{text}"
            );
        }
    }
    for command in [
        "init",
        "create",
        "update",
        "invoke",
        "publish-layer",
        "delete",
        "serve",
    ] {
        let text = help(&[command]);
        assert!(
            text.contains("Examples:"),
            "`{command} --help` has no examples:\n{text}"
        );
    }
    assert!(
        help(&[]).contains("lambda-rt <COMMAND> --help")
            || help(&[]).contains("lambda-rt <command> --help"),
        "{}",
        help(&[])
    );
}

/// `lambda-rt man` prints a man page made from the same definition as `--help`.
#[test]
fn the_man_page_comes_from_the_command_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .arg("man")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.contains(".TH lambda-rt 1"), "{page}");
    for command in ["create", "publish\\-layer", "rollback", "completions"] {
        assert!(page.contains(command), "{command} missing:\n{page}");
    }
}
