//! Unit tests of the settings merge: precedence, origins in messages, and each rule.

use super::*;
use crate::cli::common::{ConfigArgs, ProjectArgs, RoleArgs, StagingArgs};

fn merge(input: SettingsInput, file: &str) -> Result<Settings> {
    let file = ConfigFile::parse(file.to_string()).unwrap();
    Settings::merge(&input, &file, PathBuf::from("."))
}

fn config(config: ConfigArgs) -> SettingsInput {
    SettingsInput {
        config,
        ..Default::default()
    }
}

#[test]
fn defaults_follow_the_design() {
    let s = merge(SettingsInput::default(), "").unwrap();
    assert_eq!(s.function_name, "bash-runtime");
    assert_eq!(s.function_name_origin, Origin::Default);
    assert_eq!(s.role, RoleChoice::Managed("bash-runtime-role".into()));
    assert_eq!(s.layer_name, "bash-runtime-layer");
    assert_eq!(s.function.handler, "function.handler");
    assert_eq!(s.function.runtime, "provided.al2023");
    assert_eq!(s.function.architecture, Architecture::X86_64);
    assert_eq!((s.function.memory_mb, s.function.timeout_seconds), (128, 3));
    assert!(s.function.environment.is_empty());
    assert_eq!(s.function.description, "");
}

#[test]
fn flag_beats_file_beats_default() {
    let file = "function-name = \"from-file\"\nmemory = 512\ntimeout = 10\n[env]\nAA = \"1\"\n";
    let s = merge(SettingsInput::default(), file).unwrap();
    assert_eq!(s.function_name, "from-file");
    assert_eq!(
        s.function_name_origin,
        Origin::File {
            line: 1,
            column: 17
        }
    );
    assert_eq!(s.role, RoleChoice::Managed("from-file-role".into()));
    assert_eq!(
        (s.function.memory_mb, s.function.timeout_seconds),
        (512, 10)
    );
    assert_eq!(
        s.function.environment.get("AA").map(String::as_str),
        Some("1")
    );

    let input = SettingsInput {
        project: ProjectArgs {
            function_name: Some("from-flag".into()),
            ..Default::default()
        },
        config: ConfigArgs {
            memory: Some(256),
            env: vec!["BB=2=3".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let s = merge(input, file).unwrap();
    assert_eq!(s.function_name, "from-flag");
    assert_eq!(
        s.function_name_origin,
        Origin::Flag("--function-name".into())
    );
    assert_eq!(s.function.memory_mb, 256);
    assert_eq!(s.function.timeout_seconds, 10);
    assert_eq!(
        s.function.environment,
        BTreeMap::from([("BB".to_string(), "2=3".to_string())])
    );
}

#[test]
fn role_arn_from_flag_beats_role_name_from_file() {
    let input = SettingsInput {
        role: RoleArgs {
            role_arn: Some("arn:aws:iam::123456789012:role/mine".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let s = merge(input, "role-name = \"x\"").unwrap();
    assert_eq!(
        s.role,
        RoleChoice::Existing("arn:aws:iam::123456789012:role/mine".into())
    );
    // A role name given on the command line beats a role ARN in the file.
    let input = SettingsInput {
        role: RoleArgs {
            role_name: Some("flag-role".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let s = merge(input, "role-arn = \"arn:aws:iam::123456789012:role/file\"").unwrap();
    assert_eq!(s.role, RoleChoice::Managed("flag-role".into()));
}

#[test]
fn invalid_values_are_usage_errors_that_name_their_source() {
    let cases: Vec<(SettingsInput, &str)> = vec![
        (
            SettingsInput {
                project: ProjectArgs {
                    function_name: Some("bad name".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "--function-name",
        ),
        (
            SettingsInput {
                project: ProjectArgs {
                    function_name: Some("x".repeat(65)),
                    ..Default::default()
                },
                ..Default::default()
            },
            "--function-name",
        ),
        (
            config(ConfigArgs {
                handler: Some("has space".into()),
                ..Default::default()
            }),
            "--handler",
        ),
        (
            config(ConfigArgs {
                memory: Some(64),
                ..Default::default()
            }),
            "--memory",
        ),
        (
            config(ConfigArgs {
                memory: Some(10241),
                ..Default::default()
            }),
            "--memory",
        ),
        (
            config(ConfigArgs {
                timeout: Some(0),
                ..Default::default()
            }),
            "--timeout",
        ),
        (
            config(ConfigArgs {
                timeout: Some(901),
                ..Default::default()
            }),
            "--timeout",
        ),
        (
            config(ConfigArgs {
                env: vec!["NOEQUALS".into()],
                ..Default::default()
            }),
            "--env",
        ),
        (
            config(ConfigArgs {
                env: vec![format!("BIG={}", "x".repeat(5000))],
                ..Default::default()
            }),
            "--env",
        ),
        (
            config(ConfigArgs {
                env: vec!["AWS_REGION=eu-west-1".into()],
                ..Default::default()
            }),
            "reserved",
        ),
        (
            config(ConfigArgs {
                runtime: Some("provided".into()),
                ..Default::default()
            }),
            "--runtime",
        ),
        (
            config(ConfigArgs {
                architecture: crate::cli::common::ArchitectureArgs {
                    architecture: Some("mips".into()),
                },
                ..Default::default()
            }),
            "arm64",
        ),
        (
            SettingsInput {
                role: RoleArgs {
                    role_arn: Some("not-an-arn".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "--role-arn",
        ),
    ];
    for (input, needle) in cases {
        let err = merge(input.clone(), "").unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        assert!(
            format!("{err:#}").contains(needle),
            "{err:#} should mention {needle}"
        );
    }
}

#[test]
fn a_bad_value_in_the_file_is_reported_with_its_line_and_column() {
    let err = merge(SettingsInput::default(), "# settings\nmemory = 64\n").unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("lambda-rt.toml:2:10"), "{text}");
    assert!(!text.contains("(from --memory)"), "{text}");
    let mut input = config(ConfigArgs {
        memory: Some(64),
        ..Default::default()
    });
    input.from_env.insert("memory".into());
    let text = format!("{:#}", merge(input, "").unwrap_err());
    assert!(text.contains("LAMBDA_RT_MEMORY"), "{text}");
}

#[test]
fn unknown_file_keys_and_syntax_errors_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), "\nmemroy = 256\n").unwrap();
    let err = ConfigFile::load(dir.path()).unwrap_err();
    assert!(err.downcast_ref::<UsageError>().is_some());
    let text = format!("{err:#}");
    assert!(text.contains("memroy"), "{text}");
    assert!(text.contains("lambda-rt.toml:2:1"), "{text}");
    std::fs::write(dir.path().join(CONFIG_FILE), "memory = 1\ntimeout = = 3\n").unwrap();
    let text = format!("{:#}", ConfigFile::load(dir.path()).unwrap_err());
    assert!(text.contains("lambda-rt.toml:2:"), "{text}");
}

#[test]
fn layer_name_follows_precedence_and_is_validated() {
    let s = merge(SettingsInput::default(), "function-name = \"f\"").unwrap();
    assert_eq!(s.layer_name, "f-layer");
    let s = merge(SettingsInput::default(), "layer-name = \"from-file\"").unwrap();
    assert_eq!(s.layer_name, "from-file");
    let layer = |name: &str| SettingsInput {
        layer: crate::cli::common::LayerArgs {
            layer_name: Some(name.to_string()),
        },
        ..Default::default()
    };
    assert_eq!(
        merge(layer("from_flag"), "layer-name = \"from-file\"")
            .unwrap()
            .layer_name,
        "from_flag"
    );
    for bad in ["", "has space", "a:b", &"x".repeat(141)] {
        let err = merge(layer(bad), "").unwrap_err().to_string();
        assert!(err.contains("--layer-name"), "{err}");
    }
}

#[test]
fn s3_staging_needs_a_valid_bucket_and_normalises_the_prefix() {
    let staging = |bucket: Option<&str>, key: Option<&str>| SettingsInput {
        staging: StagingArgs {
            s3_bucket: bucket.map(str::to_string),
            s3_key: key.map(str::to_string),
        },
        ..Default::default()
    };
    let s = merge(SettingsInput::default(), "").unwrap();
    assert_eq!(s.s3, None);
    let s = merge(SettingsInput::default(), "s3-bucket = \"my-bucket\"").unwrap();
    let staged = s.s3.unwrap();
    assert_eq!(staged.function_key("f"), "f/function.zip");
    assert_eq!(staged.layer_key("f-layer"), "f-layer/layer.zip");
    for (prefix, expected) in [("deploy", "deploy/"), ("/a/b/", "a/b/"), ("", "")] {
        let staged = merge(staging(Some("my.bucket-1"), Some(prefix)), "")
            .unwrap()
            .s3
            .unwrap();
        assert_eq!(staged.key_prefix, expected, "{prefix}");
    }
    for (input, needle) in [
        (staging(None, Some("p")), "--s3-bucket"),
        (staging(Some("Upper_Case"), None), "invalid S3 bucket name"),
        (staging(Some("ab"), None), "invalid S3 bucket name"),
    ] {
        let err = merge(input, "").unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn the_template_is_read_from_the_file() {
    let dir = bash_project();
    let resolve = |text: &str| with_config_file(dir.path(), text);
    let bash = resolve("");
    assert_eq!(bash.template, Template::Bash);
    assert!(bash.in_project);
    // Which handler file each template reads: `project`'s tests.
    let deno = resolve("template = \"deno\"");
    assert_eq!(deno.template, Template::Deno);
    assert!(ConfigFile::parse("template = \"python\"".into()).is_err());
}

#[test]
fn outside_a_project_the_function_must_be_named() {
    let empty = tempfile::tempdir().unwrap();
    let resolve = |input: SettingsInput| {
        Settings::merge(&input, &ConfigFile::default(), empty.path().to_path_buf()).unwrap()
    };
    let settings = resolve(SettingsInput::default());
    assert!(!settings.in_project);
    let err = settings.require_named_function("delete").unwrap_err();
    assert!(err.downcast_ref::<UsageError>().is_some());
    let text = err.to_string();
    assert!(text.contains("lambda-rt init"), "{text}");
    assert!(text.contains("--function-name"), "{text}");
    let named = resolve(SettingsInput {
        project: ProjectArgs {
            function_name: Some("mine".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    named.require_named_function("delete").unwrap();
}

/// Naming the default role (`<function>-role`) explicitly is still naming it: an adopted
/// function then moves to that role instead of keeping its own (`ownership::keeps_its_role`).
#[test]
fn a_role_named_explicitly_counts_even_when_it_is_the_default_name() {
    let unnamed = merge(SettingsInput::default(), "").unwrap();
    assert!(!unnamed.role_named);
    let by_file = merge(
        SettingsInput::default(),
        "role-name = \"bash-runtime-role\"\n",
    )
    .unwrap();
    assert!(by_file.role_named);
    let mut input = SettingsInput::default();
    input.role.role_name = Some("bash-runtime-role".into());
    assert!(merge(input, "").unwrap().role_named);
    let other = merge(SettingsInput::default(), "role-name = \"shared\"\n").unwrap();
    assert!(other.role_named);
}

/// A `deno` path in lambda-rt.toml is relative to the project, wherever lambda-rt runs from; one
/// given with --deno is relative to the current directory, as any path on a command line.
#[test]
fn a_deno_path_in_the_file_is_relative_to_the_project() {
    let file = ConfigFile::parse("deno = \"vendor/deno\"\n".to_string()).unwrap();
    let project = PathBuf::from("/projects/nightly");
    let s = Settings::merge(&SettingsInput::default(), &file, project.clone()).unwrap();
    assert_eq!(s.deno, Some(project.join("vendor/deno")));
    let mut input = SettingsInput::default();
    input.deno.deno = Some(PathBuf::from("bin/deno"));
    let s = Settings::merge(&input, &file, project).unwrap();
    assert_eq!(s.deno, Some(PathBuf::from("bin/deno")));
}
