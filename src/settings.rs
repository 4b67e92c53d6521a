//! Flags, `LAMBDA_RT_*` environment variables, `lambda-rt.toml` and defaults, merged into one
//! validated [`Settings`] before any AWS call is made.
//!
//! Precedence is flag > environment variable > file > default. clap already resolves the first two
//! (every flag has an `env`), so this module only has to lay the file and the defaults underneath.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::{FunctionArgs, GlobalArgs};
use crate::UsageError;

pub const CONFIG_FILE: &str = "lambda-rt.toml";
pub const DEFAULT_FUNCTION_NAME: &str = "bash-runtime";
pub const DEFAULT_HANDLER: &str = "function.handler";
pub const DEFAULT_RUNTIME: &str = "provided.al2023";
pub const DEFAULT_MEMORY_MB: i32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 3;
/// Lambda's limit on a layer name's length.
pub const MAX_LAYER_NAME_LEN: usize = 140;
/// Lambda's limit on the total size of environment variable keys and values.
pub const MAX_ENVIRONMENT_BYTES: usize = 4 * 1024;

/// The optional `lambda-rt.toml`; every key is optional and unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    pub function_name: Option<String>,
    pub role_name: Option<String>,
    pub role_arn: Option<String>,
    pub layer_name: Option<String>,
    pub handler: Option<String>,
    pub runtime: Option<String>,
    pub architecture: Option<String>,
    pub memory: Option<i64>,
    pub timeout: Option<i64>,
    pub description: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub template: Option<Template>,
    pub deno: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
}

impl FileSettings {
    /// Reads `DIR/lambda-rt.toml`; a missing file is the same as an empty one.
    pub fn load(project_dir: &Path) -> Result<Self> {
        let path = project_dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read `{}`", path.display()))
            }
        };
        toml::from_str(&text).map_err(|e| {
            UsageError(format!(
                "failed to parse `{}`: {}",
                path.display(),
                e.message()
            ))
            .into()
        })
    }
}

/// The function's instruction set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which runtime template the project follows (`init --template`, `template` in lambda-rt.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    /// runtime/bootstrap is a bash script; handlers are function/<file>.sh
    #[default]
    Bash,
    /// runtime/bootstrap starts Deno on runtime/runtime.ts; handlers are function/<file>.ts, and
    /// the Deno binary goes into the runtime as bin/deno
    Deno,
}

impl Template {
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Bash => "bash",
            Template::Deno => "deno",
        }
    }
}

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
    /// Attempts per API call (`None`: [`crate::aws::DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<u32>,
    /// Seconds per attempt (`None`: [`crate::aws::DEFAULT_READ_TIMEOUT`]).
    pub read_timeout_seconds: Option<u64>,
}

/// Everything a command needs to know, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub project_dir: PathBuf,
    pub function_name: String,
    pub role: RoleChoice,
    /// The layer `publish-layer` puts `runtime/` in; while a version of it is attached to the
    /// function, the function zip leaves `bootstrap` out.
    pub layer_name: String,
    pub handler: String,
    pub runtime: String,
    pub architecture: Architecture,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub environment: BTreeMap<String, String>,
    pub description: String,
    pub template: Template,
    /// The Deno binary asked for with `--deno` (else `runtime/bin/deno` or `deno` on PATH).
    pub deno: Option<PathBuf>,
    /// `None`: zips go to Lambda inline.
    pub s3: Option<S3Staging>,
    pub aws: AwsSettings,
}

impl Settings {
    /// Resolves settings from the command line (flags and env vars) and the project's config file.
    pub fn resolve(global: &GlobalArgs, args: &FunctionArgs) -> Result<Self> {
        let project_dir = args
            .project_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let file = FileSettings::load(&project_dir)?;
        Self::merge(global, args, file, project_dir)
    }

    /// The pure part of [`Settings::resolve`]: merge and validate.
    pub fn merge(
        global: &GlobalArgs,
        args: &FunctionArgs,
        file: FileSettings,
        project_dir: PathBuf,
    ) -> Result<Self> {
        let function_name = args
            .function_name
            .clone()
            .or(file.function_name)
            .unwrap_or_else(|| DEFAULT_FUNCTION_NAME.to_string());
        validate_function_name(&function_name)?;

        let role = match (args.role_arn.clone(), args.role_name.clone()) {
            (Some(arn), _) => RoleChoice::Existing(arn),
            (None, Some(name)) => RoleChoice::Managed(name),
            (None, None) => match (file.role_arn, file.role_name) {
                (Some(arn), _) => RoleChoice::Existing(arn),
                (None, Some(name)) => RoleChoice::Managed(name),
                (None, None) => RoleChoice::Managed(format!("{function_name}-role")),
            },
        };
        match &role {
            RoleChoice::Managed(name) => validate_role_name(name)?,
            RoleChoice::Existing(arn) => validate_role_arn(arn)?,
        }

        let layer_name = args
            .layer_name
            .clone()
            .or(file.layer_name)
            .unwrap_or_else(|| format!("{function_name}-layer"));
        validate_layer_name(&layer_name)?;

        let handler = args
            .handler
            .clone()
            .or(file.handler)
            .unwrap_or_else(|| DEFAULT_HANDLER.to_string());
        validate_handler(&handler)?;

        let runtime = args
            .runtime
            .clone()
            .or(file.runtime)
            .unwrap_or_else(|| DEFAULT_RUNTIME.to_string());
        validate_runtime(&runtime)?;

        let architecture = match args.architecture.clone().or(file.architecture).as_deref() {
            None | Some("x86_64") => Architecture::X86_64,
            Some("arm64") => Architecture::Arm64,
            Some(other) => {
                return Err(usage(format!(
                    "invalid architecture `{other}`: use `x86_64` or `arm64`"
                )))
            }
        };

        let memory = args
            .memory
            .or(file.memory)
            .unwrap_or(DEFAULT_MEMORY_MB.into());
        if !(128..=10240).contains(&memory) {
            return Err(usage(format!(
                "invalid memory {memory} MB: Lambda accepts 128 to 10240 (--memory)"
            )));
        }
        let timeout = args
            .timeout
            .or(file.timeout)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS.into());
        if !(1..=900).contains(&timeout) {
            return Err(usage(format!(
                "invalid timeout {timeout} s: Lambda accepts 1 to 900 seconds (--timeout)"
            )));
        }

        let environment = if args.env.is_empty() {
            file.env.unwrap_or_default()
        } else {
            parse_env_pairs(&args.env)?
        };
        validate_environment(&environment)?;

        let description = args
            .description
            .clone()
            .or(file.description)
            .unwrap_or_default();
        if description.chars().count() > 256 {
            return Err(usage(
                "invalid description: Lambda allows at most 256 characters (--description)",
            ));
        }

        let template = file.template.unwrap_or_default();
        let deno = args.deno.clone().or(file.deno.map(|p| project_dir.join(p)));
        let s3 = match (args.s3_bucket.clone().or(file.s3_bucket), args.s3_key.clone().or(file.s3_key)) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(usage(
                    "--s3-key is a key prefix inside the staging bucket: give the bucket too (--s3-bucket)",
                ))
            }
            (Some(bucket), prefix) => {
                validate_bucket_name(&bucket)?;
                let prefix = prefix.unwrap_or_default();
                let mut key_prefix = prefix.trim_start_matches('/').to_string();
                if !key_prefix.is_empty() && !key_prefix.ends_with('/') {
                    key_prefix.push('/');
                }
                Some(S3Staging { bucket, key_prefix })
            }
        };

        let aws = AwsSettings {
            region: global.region.clone().or(file.region),
            profile: global.profile.clone().or(file.profile),
            endpoint_url: global.endpoint_url.clone().or(file.endpoint_url),
            max_attempts: global.max_attempts,
            read_timeout_seconds: global.read_timeout,
        };
        if let Some(url) = &aws.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(usage(format!(
                    "invalid endpoint URL `{url}`: it must start with http:// or https://"
                )));
            }
        }

        Ok(Settings {
            project_dir,
            function_name,
            role,
            layer_name,
            handler,
            runtime,
            architecture,
            memory_mb: memory as i32,
            timeout_seconds: timeout as i32,
            environment,
            description,
            template,
            deno,
            s3,
            aws,
        })
    }

    /// `runtime/bootstrap` of the project.
    pub fn bootstrap_path(&self) -> PathBuf {
        self.project_dir.join("runtime").join("bootstrap")
    }

    /// `runtime/` of the project: the contents of the runtime layer.
    pub fn runtime_dir(&self) -> PathBuf {
        self.project_dir.join("runtime")
    }

    /// `function/` of the project.
    pub fn function_dir(&self) -> PathBuf {
        self.project_dir.join("function")
    }

    /// The handler's file in `function/`: `<file>.sh` for the bash template, the first of
    /// `<file>.ts`, `.mts`, `.js`, `.mjs` that exists for Deno (the runtime's own search order).
    pub fn handler_file(&self) -> PathBuf {
        let file = self
            .handler
            .split_once('.')
            .map(|(f, _)| f)
            .unwrap_or_default();
        let extensions: &[&str] = match self.template {
            Template::Bash => &["sh"],
            Template::Deno => &["ts", "mts", "js", "mjs"],
        };
        let candidates: Vec<PathBuf> = extensions
            .iter()
            .map(|ext| self.function_dir().join(format!("{file}.{ext}")))
            .collect();
        candidates
            .iter()
            .find(|path| path.is_file())
            .unwrap_or(&candidates[0])
            .clone()
    }

    /// Checks the project files a deployment or local run needs, before any AWS call.
    pub fn check_project_files(&self) -> Result<()> {
        let function_dir = self.function_dir();
        if !function_dir.is_dir() {
            return Err(usage(format!(
                "the function directory `{}` does not exist: put the handler code there, or point \
                 --project-dir at a project that has runtime/ and function/",
                function_dir.display()
            )));
        }
        self.check_runtime_files()?;
        let handler_file = self.handler_file();
        if !handler_file.is_file() {
            return Err(usage(format!(
                "the handler file `{}` does not exist: create it, or set --handler to \
                 <file>.<function> for an existing function/<file>.{}",
                handler_file.display(),
                match self.template {
                    Template::Bash => "sh",
                    Template::Deno => "ts",
                }
            )));
        }
        Ok(())
    }

    /// Checks that `runtime/bootstrap` exists and can be executed by Lambda (shebang or ELF).
    pub fn check_runtime_files(&self) -> Result<()> {
        let runtime_dir = self.runtime_dir();
        if !runtime_dir.is_dir() {
            return Err(usage(format!(
                "the runtime directory `{}` does not exist: put the custom runtime's executable \
                 `bootstrap` there, or point --project-dir at a project that has runtime/",
                runtime_dir.display()
            )));
        }
        let bootstrap = self.bootstrap_path();
        let head = match std::fs::read(&bootstrap) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(usage(format!(
                    "the runtime `{}` does not exist: a custom runtime needs an executable \
                     runtime/bootstrap",
                    bootstrap.display()
                )))
            }
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read `{}`", bootstrap.display()))
            }
        };
        if !head.starts_with(b"#!") && !head.starts_with(b"\x7fELF") {
            return Err(usage(format!(
                "`{}` has no shebang line: start it with e.g. `#!/bin/bash` (or make it a compiled \
                 executable), or Lambda fails with Runtime.InvalidEntrypoint",
                bootstrap.display()
            )));
        }
        Ok(())
    }
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

pub fn validate_function_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid function name `{name}`: use 1 to 64 letters, digits, `-` or `_` (--function-name)"
        )))
    }
}

fn validate_role_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid role name `{name}`: use 1 to 64 letters, digits or `+=,.@_-` (--role-name); \
             note the default is <function-name>-role"
        )))
    }
}

fn validate_layer_name(name: &str) -> Result<()> {
    let ok = (1..=MAX_LAYER_NAME_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid layer name `{name}`: use 1 to {MAX_LAYER_NAME_LEN} letters, digits, `-` or `_` \
             (--layer-name); note the default is <function-name>-layer"
        )))
    }
}

/// S3's bucket naming rules, checked here so a typo fails before anything is built or sent.
fn validate_bucket_name(bucket: &str) -> Result<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid S3 bucket name `{bucket}`: use 3 to 63 lowercase letters, digits, `-` or `.`, \
             starting and ending with a letter or digit (--s3-bucket)"
        )))
    }
}

fn validate_role_arn(arn: &str) -> Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid role ARN `{arn}`: expected arn:aws:iam::<account>:role/<name> (--role-arn)"
        )))
    }
}

fn validate_handler(handler: &str) -> Result<()> {
    let valid = match handler.split_once('.') {
        Some((file, function)) => {
            !file.is_empty()
                && !file.contains('/')
                && !function.is_empty()
                && !function.contains('.')
                && function
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !function.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(usage(format!(
            "invalid handler `{handler}`: use <file>.<function>, e.g. `function.handler` for a \
             function `handler` in function/function.sh (--handler)"
        )))
    }
}

fn validate_runtime(runtime: &str) -> Result<()> {
    match runtime {
        "provided.al2023" | "provided.al2" => Ok(()),
        "provided" => Err(usage(
            "runtime `provided` can no longer be used for new functions: use `provided.al2023` (--runtime)",
        )),
        other => Err(usage(format!(
            "unsupported runtime `{other}`: lambda-rt deploys custom runtimes, use `provided.al2023` \
             or `provided.al2` (--runtime)"
        ))),
    }
}

/// Parses `KEY=VALUE` pairs; the value may itself contain `=`.
pub fn parse_env_pairs(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut environment = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(usage(format!(
                "invalid --env `{pair}`: expected KEY=VALUE, e.g. --env LOG_LEVEL=debug"
            )));
        };
        environment.insert(key.to_string(), value.to_string());
    }
    Ok(environment)
}

fn validate_environment(environment: &BTreeMap<String, String>) -> Result<()> {
    for key in environment.keys() {
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(usage(format!(
                "invalid environment variable name `{key}`: start with a letter and use only \
                 letters, digits and `_` (--env)"
            )));
        }
    }
    let size: usize = environment.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ENVIRONMENT_BYTES {
        return Err(usage(format!(
            "environment variables take {size} bytes, over Lambda's limit of {MAX_ENVIRONMENT_BYTES} \
             by {} bytes: remove some (--env or [env] in lambda-rt.toml)",
            size - MAX_ENVIRONMENT_BYTES
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global() -> GlobalArgs {
        GlobalArgs::default()
    }

    fn merge(args: FunctionArgs, file: &str) -> Result<Settings> {
        let file: FileSettings = toml::from_str(file).unwrap();
        Settings::merge(&global(), &args, file, PathBuf::from("."))
    }

    #[test]
    fn defaults_follow_the_design() {
        let s = merge(FunctionArgs::default(), "").unwrap();
        assert_eq!(s.function_name, "bash-runtime");
        assert_eq!(s.role, RoleChoice::Managed("bash-runtime-role".into()));
        assert_eq!(s.layer_name, "bash-runtime-layer");
        assert_eq!(s.handler, "function.handler");
        assert_eq!(s.runtime, "provided.al2023");
        assert_eq!(s.architecture, Architecture::X86_64);
        assert_eq!((s.memory_mb, s.timeout_seconds), (128, 3));
        assert!(s.environment.is_empty());
        assert_eq!(s.description, "");
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let file = "function-name = \"from-file\"\nmemory = 512\ntimeout = 10\n[env]\nA = \"1\"\n";
        let s = merge(FunctionArgs::default(), file).unwrap();
        assert_eq!(s.function_name, "from-file");
        assert_eq!(s.role, RoleChoice::Managed("from-file-role".into()));
        assert_eq!((s.memory_mb, s.timeout_seconds), (512, 10));
        assert_eq!(s.environment.get("A").map(String::as_str), Some("1"));

        let args = FunctionArgs {
            function_name: Some("from-flag".into()),
            memory: Some(256),
            env: vec!["B=2=3".into()],
            ..Default::default()
        };
        let s = merge(args, file).unwrap();
        assert_eq!(s.function_name, "from-flag");
        assert_eq!(s.memory_mb, 256);
        assert_eq!(s.timeout_seconds, 10);
        assert_eq!(
            s.environment,
            BTreeMap::from([("B".to_string(), "2=3".to_string())])
        );
    }

    #[test]
    fn role_arn_from_flag_beats_role_name_from_file() {
        let args = FunctionArgs {
            role_arn: Some("arn:aws:iam::123456789012:role/mine".into()),
            ..Default::default()
        };
        let s = merge(args, "role-name = \"x\"").unwrap();
        assert_eq!(
            s.role,
            RoleChoice::Existing("arn:aws:iam::123456789012:role/mine".into())
        );
    }

    #[test]
    fn invalid_values_are_usage_errors_that_name_the_flag() {
        let cases: Vec<(FunctionArgs, &str)> = vec![
            (
                FunctionArgs {
                    function_name: Some("bad name".into()),
                    ..Default::default()
                },
                "--function-name",
            ),
            (
                FunctionArgs {
                    function_name: Some("x".repeat(65)),
                    ..Default::default()
                },
                "--function-name",
            ),
            (
                FunctionArgs {
                    handler: Some("nodot".into()),
                    ..Default::default()
                },
                "--handler",
            ),
            (
                FunctionArgs {
                    memory: Some(64),
                    ..Default::default()
                },
                "--memory",
            ),
            (
                FunctionArgs {
                    memory: Some(10241),
                    ..Default::default()
                },
                "--memory",
            ),
            (
                FunctionArgs {
                    timeout: Some(0),
                    ..Default::default()
                },
                "--timeout",
            ),
            (
                FunctionArgs {
                    timeout: Some(901),
                    ..Default::default()
                },
                "--timeout",
            ),
            (
                FunctionArgs {
                    env: vec!["NOEQUALS".into()],
                    ..Default::default()
                },
                "--env",
            ),
            (
                FunctionArgs {
                    env: vec![format!("BIG={}", "x".repeat(5000))],
                    ..Default::default()
                },
                "--env",
            ),
            (
                FunctionArgs {
                    runtime: Some("provided".into()),
                    ..Default::default()
                },
                "--runtime",
            ),
            (
                FunctionArgs {
                    architecture: Some("mips".into()),
                    ..Default::default()
                },
                "arm64",
            ),
            (
                FunctionArgs {
                    role_arn: Some("not-an-arn".into()),
                    ..Default::default()
                },
                "--role-arn",
            ),
        ];
        for (args, needle) in cases {
            let err = merge(args.clone(), "").unwrap_err();
            assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
            assert!(
                format!("{err:#}").contains(needle),
                "{err:#} should mention {needle}"
            );
        }
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "memroy = 256\n").unwrap();
        let err = FileSettings::load(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("memroy"), "{err:#}");
    }

    #[test]
    fn layer_name_follows_precedence_and_is_validated() {
        let s = merge(FunctionArgs::default(), "function-name = \"f\"").unwrap();
        assert_eq!(s.layer_name, "f-layer");
        let s = merge(FunctionArgs::default(), "layer-name = \"from-file\"").unwrap();
        assert_eq!(s.layer_name, "from-file");
        let args = FunctionArgs {
            layer_name: Some("from_flag".into()),
            ..Default::default()
        };
        assert_eq!(
            merge(args, "layer-name = \"from-file\"")
                .unwrap()
                .layer_name,
            "from_flag"
        );
        for bad in ["", "has space", "a:b", &"x".repeat(141)] {
            let args = FunctionArgs {
                layer_name: Some(bad.to_string()),
                ..Default::default()
            };
            let err = merge(args, "").unwrap_err().to_string();
            assert!(err.contains("--layer-name"), "{err}");
        }
    }

    #[test]
    fn s3_staging_needs_a_valid_bucket_and_normalises_the_prefix() {
        let s = merge(FunctionArgs::default(), "").unwrap();
        assert_eq!(s.s3, None);
        let s = merge(FunctionArgs::default(), "s3-bucket = \"my-bucket\"").unwrap();
        let staging = s.s3.unwrap();
        assert_eq!(staging.function_key("f"), "f/function.zip");
        assert_eq!(staging.layer_key("f-layer"), "f-layer/layer.zip");
        for (prefix, expected) in [("deploy", "deploy/"), ("/a/b/", "a/b/"), ("", "")] {
            let args = FunctionArgs {
                s3_bucket: Some("my.bucket-1".into()),
                s3_key: Some(prefix.into()),
                ..Default::default()
            };
            let staging = merge(args, "").unwrap().s3.unwrap();
            assert_eq!(staging.key_prefix, expected, "{prefix}");
        }
        for (args, needle) in [
            (
                FunctionArgs {
                    s3_key: Some("p".into()),
                    ..Default::default()
                },
                "--s3-bucket",
            ),
            (
                FunctionArgs {
                    s3_bucket: Some("Upper_Case".into()),
                    ..Default::default()
                },
                "invalid S3 bucket name",
            ),
            (
                FunctionArgs {
                    s3_bucket: Some("ab".into()),
                    ..Default::default()
                },
                "invalid S3 bucket name",
            ),
        ] {
            let err = merge(args, "").unwrap_err();
            assert!(err.downcast_ref::<UsageError>().is_some());
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn the_template_picks_the_handler_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("function")).unwrap();
        let resolve = |file: &str| {
            let text: FileSettings = toml::from_str(file).unwrap();
            let args = FunctionArgs::default();
            Settings::merge(&global(), &args, text, dir.path().to_path_buf()).unwrap()
        };
        let bash = resolve("");
        assert_eq!(bash.template, Template::Bash);
        assert!(bash.handler_file().ends_with("function/function.sh"));
        let deno = resolve("template = \"deno\"");
        assert_eq!(deno.template, Template::Deno);
        // None exists yet: the first candidate is named in errors.
        assert!(deno.handler_file().ends_with("function/function.ts"));
        std::fs::write(dir.path().join("function/function.js"), "").unwrap();
        assert!(deno.handler_file().ends_with("function/function.js"));
        assert!(toml::from_str::<FileSettings>("template = \"python\"").is_err());
    }
}
