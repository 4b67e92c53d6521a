//! Flags, `LAMBDA_RT_*` environment variables, `lambda-rt.toml` and defaults, merged into one
//! validated [`Settings`] before any AWS call is made.
//!
//! Precedence is flag > environment variable > file > default. clap already resolves the first two
//! (every flag has an `env`), so this module lays the file ([`sources`]) and the defaults underneath
//! and checks every value ([`validate`]), naming where a bad value came from.

pub mod location;
pub mod sources;
pub mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::architecture::Architecture;
use crate::cli::common::SettingsInput;
use crate::error::UsageError;
pub use crate::template::Template;
pub use sources::{ConfigFile, Origin, CONFIG_FILE};
pub use validate::{MAX_ENVIRONMENT_BYTES, MAX_LAYER_NAME_LEN};

pub const DEFAULT_FUNCTION_NAME: &str = "bash-runtime";
pub const DEFAULT_HANDLER: &str = "function.handler";
pub const DEFAULT_RUNTIME: &str = "provided.al2023";
pub const DEFAULT_MEMORY_MB: i32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 3;

/// Where deployment zips are staged in S3 instead of being sent inline (needed above 50 MB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Staging {
    pub bucket: String,
    /// Prepended to every object key; empty, or ending in `/`.
    pub key_prefix: String,
}

impl S3Staging {
    /// The object key of the function zip.
    pub fn function_key(&self, function_name: &str) -> String {
        format!("{}{function_name}/function.zip", self.key_prefix)
    }

    /// The object key of the layer zip.
    pub fn layer_key(&self, layer_name: &str) -> String {
        format!("{}{layer_name}/layer.zip", self.key_prefix)
    }
}

/// Which execution role the function uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChoice {
    /// A role of this name that lambda-rt creates if missing (and deletes if it created it).
    Managed(String),
    /// A role the user owns; lambda-rt makes no IAM call for it.
    Existing(String),
}

/// AWS client settings; `None` leaves the choice to aws-config's standard resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Attempts per API call (`None`: [`crate::aws::clients::DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<u32>,
    /// Time per attempt (`None`: [`crate::aws::clients::DEFAULT_READ_TIMEOUT`]).
    pub read_timeout: Option<std::time::Duration>,
    /// The choices `lambda-rt.toml` made about where signed requests go (`profile = "x"`,
    /// `endpoint-url = "…"`, `s3-bucket = "…"`): a cloned project can make them, so each run
    /// names them before its first request.
    pub chosen_by_project_file: Vec<String>,
}

/// What the function looks like in Lambda: everything CreateFunction and
/// UpdateFunctionConfiguration carry besides the name, the role and the layers. `FunctionSpec`
/// (aws/function_spec.rs) holds it as is, so a new function setting is one field here, its flag
/// in `cli/common.rs`, its key in `sources.rs`, its rule in `validate.rs`, and its line in the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    pub handler: String,
    pub runtime: String,
    pub architecture: Architecture,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub environment: BTreeMap<String, String>,
    pub description: String,
}

/// Everything a command needs to know, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub project_dir: PathBuf,
    /// Whether `project_dir` looks like a project: it has lambda-rt.toml, runtime/ or function/.
    pub in_project: bool,
    /// The project is a directory above the current one ([`location::locate`]).
    pub project_found_above: bool,
    /// An executable to run as the bootstrap instead of `runtime/bootstrap` (`check --bootstrap`).
    pub bootstrap_override: Option<PathBuf>,
    pub function_name: String,
    /// Where the function name came from (a default name outside a project is refused by the
    /// commands that change AWS).
    pub function_name_origin: Origin,
    pub role: RoleChoice,
    /// The project names its role (flag, variable or file) rather than taking `<function>-role`.
    pub role_named: bool,
    /// The layer `publish-layer` puts `runtime/` in; while a version of it is attached to the
    /// function, the function zip leaves `bootstrap` out.
    pub layer_name: String,
    pub function: FunctionConfig,
    pub template: Template,
    /// The Deno binary asked for with `--deno` (else `runtime/bin/deno` or `deno` on PATH).
    pub deno: Option<PathBuf>,
    /// `None`: zips go to Lambda inline.
    pub s3: Option<S3Staging>,
    pub aws: AwsSettings,
}

impl Settings {
    /// Resolves settings from the command line (flags and env vars) and the project's config file.
    pub fn resolve(input: &SettingsInput) -> Result<Self> {
        let located = location::locate(input.project.project_dir.as_deref())?;
        let file = ConfigFile::load(&located.dir)?;
        let mut settings = Self::merge(input, &file, located.dir)?;
        settings.project_found_above = located.above;
        Ok(settings)
    }

    /// The pure part of [`Settings::resolve`]: merge and validate.
    pub fn merge(input: &SettingsInput, file: &ConfigFile, project_dir: PathBuf) -> Result<Self> {
        let f = &file.settings;
        let pick_string =
            |id: &str, arg: &Option<String>, from_file: &Option<toml::Spanned<String>>| {
                file.pick(input, id, arg.as_ref(), from_file.as_ref())
            };
        let in_project = location::looks_like_a_project(&project_dir);

        let (function_name, function_name_origin) = pick_string(
            "function_name",
            &input.project.function_name,
            &f.function_name,
        )
        .unwrap_or_else(|| (DEFAULT_FUNCTION_NAME.to_string(), Origin::Default));
        validate::function_name(&function_name, &function_name_origin)?;

        // A role ARN beats a role name at the same level of precedence; a flag or variable for
        // either beats the file's.
        let role = match (
            pick_string("role_arn", &input.role.role_arn, &None),
            pick_string("role_name", &input.role.role_name, &None),
            pick_string("role_arn", &None, &f.role_arn),
            pick_string("role_name", &None, &f.role_name),
        ) {
            (Some((arn, origin)), ..) | (None, None, Some((arn, origin)), _) => {
                validate::role_arn(&arn, &origin)?;
                RoleChoice::Existing(arn)
            }
            (None, Some((name, origin)), ..) | (None, None, None, Some((name, origin))) => {
                validate::role_name(&name, &origin)?;
                RoleChoice::Managed(name)
            }
            (None, None, None, None) => {
                RoleChoice::Managed(validate::derived_role_name(&function_name)?)
            }
        };
        let role_named = role != RoleChoice::Managed(format!("{function_name}-role"))
            || input.role.role_name.is_some()
            || f.role_name.is_some();

        let (layer_name, origin) =
            pick_string("layer_name", &input.layer.layer_name, &f.layer_name)
                .unwrap_or_else(|| (format!("{function_name}-layer"), Origin::Default));
        validate::layer_name(&layer_name, &origin)?;

        let (handler, origin) = pick_string("handler", &input.config.handler, &f.handler)
            .unwrap_or_else(|| (DEFAULT_HANDLER.to_string(), Origin::Default));
        validate::handler(&handler, &origin)?;

        let (runtime, origin) = pick_string("runtime", &input.config.runtime, &f.runtime)
            .unwrap_or_else(|| (DEFAULT_RUNTIME.to_string(), Origin::Default));
        validate::runtime(&runtime, &origin)?;

        let architecture = match pick_string(
            "architecture",
            &input.config.architecture.architecture,
            &f.architecture,
        ) {
            None => Architecture::X86_64,
            Some((value, _)) if value == "x86_64" => Architecture::X86_64,
            Some((value, _)) if value == "arm64" => Architecture::Arm64,
            Some((other, origin)) => {
                return Err(UsageError(format!(
                    "invalid architecture `{other}` (from {origin}): use `x86_64` or `arm64`"
                ))
                .into())
            }
        };

        let (memory, origin) = file
            .pick(
                input,
                "memory",
                input.config.memory.as_ref(),
                f.memory.as_ref(),
            )
            .unwrap_or((DEFAULT_MEMORY_MB.into(), Origin::Default));
        validate::memory(memory, &origin)?;
        let (timeout, origin) = file
            .pick(
                input,
                "timeout",
                input.config.timeout.as_ref(),
                f.timeout.as_ref(),
            )
            .unwrap_or((DEFAULT_TIMEOUT_SECONDS.into(), Origin::Default));
        validate::timeout(timeout, &origin)?;

        let (environment, origin) = if input.config.env.is_empty() {
            match &f.env {
                Some(table) => (table.get_ref().clone(), file.origin(table.span())),
                None => (BTreeMap::new(), Origin::Default),
            }
        } else {
            let origin = Origin::of_arg("env", input);
            (
                validate::parse_env_pairs(&input.config.env, &origin)?,
                origin,
            )
        };
        validate::environment(&environment, &origin)?;

        let (description, origin) =
            pick_string("description", &input.config.description, &f.description)
                .unwrap_or_else(|| (String::new(), Origin::Default));
        validate::description(&description, &origin)?;

        let template = f
            .template
            .as_ref()
            .map(|t| *t.get_ref())
            .unwrap_or_default();
        let deno = file
            .pick(input, "deno", input.deno.deno.as_ref(), f.deno.as_ref())
            .map(|(path, origin)| match origin {
                // A path in the file is relative to the project.
                Origin::File { .. } => project_dir.join(path),
                _ => path,
            });

        let mut chosen_by_project_file = Vec::new();
        let mut note_file_choice = |key: &str, picked: &Option<(String, Origin)>| {
            if let Some((value, Origin::File { .. })) = picked {
                chosen_by_project_file.push(format!("{key} = {value:?}"));
            }
        };
        let bucket = pick_string("s3_bucket", &input.staging.s3_bucket, &f.s3_bucket);
        note_file_choice("s3-bucket", &bucket);
        let prefix = pick_string("s3_key", &input.staging.s3_key, &f.s3_key);
        let s3 = match (bucket, prefix) {
            (None, None) => None,
            (None, Some((prefix, origin))) => {
                return Err(UsageError(format!(
                    "the S3 key prefix `{prefix}` (from {origin}) needs a staging bucket: give it \
                     with --s3-bucket, or `s3-bucket` in lambda-rt.toml"
                ))
                .into())
            }
            (Some((bucket, origin)), prefix) => {
                validate::bucket_name(&bucket, &origin)?;
                let prefix = prefix.map(|(p, _)| p).unwrap_or_default();
                let mut key_prefix = prefix.trim_start_matches('/').to_string();
                if !key_prefix.is_empty() && !key_prefix.ends_with('/') {
                    key_prefix.push('/');
                }
                let staging = S3Staging { bucket, key_prefix };
                validate::s3_key(&staging.function_key(&function_name))?;
                validate::s3_key(&staging.layer_key(&layer_name))?;
                Some(staging)
            }
        };

        let endpoint_url = pick_string("endpoint_url", &input.aws.endpoint_url, &f.endpoint_url);
        if let Some((url, origin)) = &endpoint_url {
            validate::endpoint_url(url, origin)?;
        }
        let profile = pick_string("profile", &input.aws.profile, &f.profile);
        note_file_choice("profile", &profile);
        note_file_choice("endpoint-url", &endpoint_url);
        let aws = AwsSettings {
            region: pick_string("region", &input.aws.region, &f.region).map(|(v, _)| v),
            profile: profile.map(|(v, _)| v),
            endpoint_url: endpoint_url.map(|(v, _)| v),
            chosen_by_project_file,
            max_attempts: input.aws.max_attempts,
            read_timeout: input
                .aws
                .read_timeout
                .map(std::time::Duration::from_secs_f64),
        };

        Ok(Settings {
            project_dir,
            project_found_above: false,
            in_project,
            bootstrap_override: None,
            function_name,
            function_name_origin,
            role_named,
            role,
            layer_name,
            function: FunctionConfig {
                handler,
                runtime,
                architecture,
                memory_mb: memory as i32,
                timeout_seconds: timeout as i32,
                environment,
                description,
            },
            template,
            deno,
            s3,
            aws,
        })
    }

    /// `runtime/bootstrap` of the project.
    pub fn bootstrap_path(&self) -> PathBuf {
        match &self.bootstrap_override {
            Some(path) => path.clone(),
            None => self.project_dir.join("runtime").join("bootstrap"),
        }
    }

    /// `runtime/` of the project: the contents of the runtime layer.
    pub fn runtime_dir(&self) -> PathBuf {
        self.project_dir.join("runtime")
    }

    /// `function/` of the project.
    pub fn function_dir(&self) -> PathBuf {
        self.project_dir.join("function")
    }
}

/// A project directory with an empty `function/function.sh`, for tests.
#[cfg(test)]
pub(crate) fn bash_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("function")).unwrap();
    std::fs::write(dir.path().join("function/function.sh"), "").unwrap();
    dir
}

/// The settings of the project in `dir` with `lambda-rt.toml` holding `text`, for tests.
#[cfg(test)]
pub(crate) fn with_config_file(dir: &std::path::Path, text: &str) -> Settings {
    let file = ConfigFile::parse(text.to_string()).unwrap();
    Settings::merge(&SettingsInput::default(), &file, dir.to_path_buf()).unwrap()
}

#[cfg(test)]
mod tests {
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
}
