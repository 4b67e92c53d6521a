//! Flags, `LAMBDA_RT_*` environment variables, `lambda-rt.toml` and defaults, merged into one
//! validated [`Settings`] before any AWS call is made.
//!
//! Precedence is flag > environment variable > file > default. clap already resolves the first two
//! (every flag has an `env`), so this module lays the file ([`sources`]) and the defaults underneath
//! and checks every value ([`validate`]), naming where a bad value came from.

pub mod functions;
pub mod jobs;
pub mod location;
pub mod sources;
pub mod validate;
pub mod validate_deployed;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::architecture::Architecture;
use crate::cli::common::SettingsInput;
use crate::error::UsageError;
pub use crate::template::Template;
pub use jobs::{AsyncInvoke, Schedule};
pub use sources::{ConfigFile, Origin, CONFIG_FILE};
pub use validate::{MAX_ENVIRONMENT_BYTES, MAX_LAYER_NAME_LEN};
pub use validate_deployed::MAX_LAYERS;

pub const DEFAULT_FUNCTION_NAME: &str = "bash-runtime";
pub const DEFAULT_HANDLER: &str = "function.handler";
pub const DEFAULT_RUNTIME: &str = "provided.al2023";
pub const DEFAULT_MEMORY_MB: i32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 3;
/// Lambda's default /tmp size.
pub const DEFAULT_EPHEMERAL_STORAGE_MB: i32 = 512;

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
    /// /tmp, in MB.
    pub ephemeral_storage_mb: i32,
    /// X-Ray: `Active` or `PassThrough`, as Lambda spells them.
    pub tracing: String,
    /// `Text`, or `Json` with the two levels Lambda keeps (as Lambda spells them).
    pub logging: Logging,
    /// Layers besides the runtime layer (version ARNs, in order); `None`: not managed.
    pub extra_layers: Option<Vec<String>>,
    /// The VPC the function reaches (`None`: none, Lambda's default).
    pub vpc: Option<Vpc>,
}

/// Subnets and security groups of a function in a VPC, each list sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// How Lambda formats and filters the function's logs (its LoggingConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logging {
    Text,
    Json {
        application_level: String,
        system_level: String,
    },
}

/// Everything a command needs to know, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub project_dir: PathBuf,
    /// Where the function's code is, relative to the project: `function`, or `functions/<name>`
    /// in a project of several functions.
    pub code_dir: PathBuf,
    /// The project's other functions that this run leaves alone (`--only`): they share the
    /// runtime layer, so `delete` keeps it.
    pub layer_shared_with: Vec<String>,
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
    /// Days the function's log group keeps events: `None` leaves the retention as it is, 0 means
    /// forever.
    pub log_retention_days: Option<i32>,
    /// Policies for the role lambda-rt manages beside the basic execution policy, as given (names
    /// or ARNs; `aws::execution_role::wanted_policies` makes them ARNs).
    pub policies: Vec<String>,
    /// The `policy-file` document (checked; lambda-rt's inline policy on the role), if any.
    pub policy_document: Option<serde_json::Value>,
    /// `None`: left as it is; `Some(None)`: no reservation; `Some(Some(n))`: `n` reserved.
    pub reserved_concurrency: Option<Option<i32>>,
    /// The user's tags on the function (`None`: not managed).
    pub tags: Option<BTreeMap<String, String>>,
    /// Commands from this machine's PATH that travel with the runtime as `bin/<name>`.
    pub tools: Vec<String>,
    /// `[schedules.<name>]`, sorted by name: EventBridge Scheduler schedules of the function.
    pub schedules: Vec<Schedule>,
    /// Asynchronous-invocation settings (`None`: not managed).
    pub async_invoke: Option<AsyncInvoke>,
}

impl Settings {
    /// Resolves settings from the command line (flags and env vars) and the project's config file.
    pub fn resolve(input: &SettingsInput) -> Result<Self> {
        let located = location::locate(input.project.project_dir.as_deref())?;
        let file = ConfigFile::load(&located.dir)?;
        if file.settings.functions.is_some() {
            return Err(UsageError(
                "this project has several functions ([functions.*] in lambda-rt.toml): name one \
                 with --only NAME"
                    .into(),
            )
            .into());
        }
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

        let log_retention_days = file.pick(
            input,
            "log_retention_days",
            input.deployed_config.log_retention_days.as_ref(),
            f.log_retention_days.as_ref(),
        );
        if let Some((days, origin)) = &log_retention_days {
            validate_deployed::log_retention_days(*days, origin)?;
        }

        let (policies, origin) = if !input.deployed_config.policy.is_empty() {
            let origin = Origin::of_arg("policy", input);
            (input.deployed_config.policy.clone(), origin)
        } else {
            match &f.policies {
                Some(list) => (list.get_ref().clone(), file.origin(list.span())),
                None => (Vec::new(), Origin::Default),
            }
        };
        for policy in &policies {
            validate_deployed::policy(policy, &origin)?;
        }
        let policy_document = match file.pick(
            input,
            "policy_file",
            input.deployed_config.policy_file.as_ref(),
            f.policy_file.as_ref(),
        ) {
            None => None,
            Some((path, origin)) => {
                // A path in the file is relative to the project.
                let path = match origin {
                    Origin::File { .. } => project_dir.join(path),
                    _ => path,
                };
                Some(validate_deployed::policy_document(&path, &origin)?)
            }
        };
        if !policies.is_empty() || policy_document.is_some() {
            if let RoleChoice::Existing(arn) = &role {
                return Err(UsageError(format!(
                    "`policies` and `policy-file` go on the role lambda-rt manages, but the \
                     function uses role `{arn}` (role-arn), which lambda-rt never changes: attach \
                     them to that role yourself, or leave role-arn out so that lambda-rt makes the \
                     role"
                ))
                .into());
            }
        }

        let function_extras = function_extras(input, file)?;
        let extra_layers = if !input.deployed_config.layer.is_empty() {
            let origin = Origin::of_arg("layer", input);
            Some((input.deployed_config.layer.clone(), origin))
        } else {
            f.layers
                .as_ref()
                .map(|list| (list.get_ref().clone(), file.origin(list.span())))
        };
        if let Some((layers, origin)) = &extra_layers {
            validate_deployed::extra_layers(layers, origin)?;
        }
        let extra_layers = extra_layers.map(|(layers, _)| layers);
        let pick_list =
            |id: &str, arg: &Vec<String>, from_file: &Option<toml::Spanned<Vec<String>>>| {
                if !arg.is_empty() {
                    Some((arg.clone(), Origin::of_arg(id, input)))
                } else {
                    from_file
                        .as_ref()
                        .map(|list| (list.get_ref().clone(), file.origin(list.span())))
                }
            };
        let vpc = validate_deployed::vpc(
            pick_list(
                "vpc_subnet",
                &input.deployed_config.vpc_subnet,
                &f.vpc_subnets,
            ),
            pick_list(
                "vpc_security_group",
                &input.deployed_config.vpc_security_group,
                &f.vpc_security_groups,
            ),
        )?;
        let vpc = vpc.map(|(subnets, security_groups)| Vpc {
            subnets,
            security_groups,
        });
        let tags = if !input.deployed_config.tag.is_empty() {
            let origin = Origin::of_arg("tag", input);
            let tags = validate_deployed::parse_tag_pairs(&input.deployed_config.tag, &origin)?;
            Some((tags, origin))
        } else {
            f.tags
                .as_ref()
                .map(|table| (table.get_ref().clone(), file.origin(table.span())))
        };
        if let Some((tags, origin)) = &tags {
            validate_deployed::tags(tags, origin)?;
        }
        let tools = match &f.tools {
            Some(list) => {
                validate::tools(list.get_ref(), &file.origin(list.span()))?;
                list.get_ref().clone()
            }
            None => Vec::new(),
        };
        let schedules = jobs::schedules(file, f.schedules.as_ref(), &function_name)?;
        let async_invoke = jobs::async_invoke(
            file,
            f.max_retry_attempts.as_ref(),
            f.max_event_age.as_ref(),
            f.on_failure.as_ref(),
        )?;
        let reserved_concurrency = match (
            &input.deployed_config.reserved_concurrency,
            &f.reserved_concurrency,
        ) {
            (Some(value), _) => Some(validate_deployed::reserved_concurrency(
                value,
                &Origin::of_arg("reserved_concurrency", input),
            )?),
            (None, Some(value)) => {
                let origin = file.origin(value.span());
                let text = match value.get_ref() {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                Some(validate_deployed::reserved_concurrency(&text, &origin)?)
            }
            (None, None) => None,
        };

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
            code_dir: PathBuf::from("function"),
            layer_shared_with: Vec::new(),
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
                ephemeral_storage_mb: function_extras.0,
                tracing: function_extras.1,
                logging: function_extras.2,
                extra_layers,
                vpc,
            },
            template,
            deno,
            s3,
            aws,
            log_retention_days: log_retention_days.map(|(days, _)| days as i32),
            policies,
            policy_document,
            reserved_concurrency,
            tags: tags.map(|(tags, _)| tags),
            tools,
            schedules,
            async_invoke,
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

    /// `function/` of the project (`functions/<name>/` in a project of several functions).
    pub fn function_dir(&self) -> PathBuf {
        self.project_dir.join(&self.code_dir)
    }
}

/// A project directory with an empty `function/function.sh`, for tests.
/// `ephemeral-storage`, `tracing` and the log format with its levels, checked, in Lambda's spelling.
fn function_extras(input: &SettingsInput, file: &ConfigFile) -> Result<(i32, String, Logging)> {
    let (f, args) = (&file.settings, &input.deployed_config);
    let pick = |id: &str, arg: &Option<String>, from_file: &Option<toml::Spanned<String>>| {
        file.pick(input, id, arg.as_ref(), from_file.as_ref())
    };
    let (storage, origin) = file
        .pick(
            input,
            "ephemeral_storage",
            args.ephemeral_storage.as_ref(),
            f.ephemeral_storage.as_ref(),
        )
        .unwrap_or((DEFAULT_EPHEMERAL_STORAGE_MB.into(), Origin::Default));
    validate_deployed::ephemeral_storage(storage, &origin)?;
    let tracing = match pick("tracing", &args.tracing, &f.tracing) {
        None => "PassThrough".to_string(),
        Some((mode, origin)) => {
            validate_deployed::one_of(&mode, &origin, "tracing", &["active", "passthrough"])?
        }
    };
    let format = pick("log_format", &args.log_format, &f.log_format);
    let application = pick(
        "application_log_level",
        &args.application_log_level,
        &f.application_log_level,
    );
    let system = pick(
        "system_log_level",
        &args.system_log_level,
        &f.system_log_level,
    );
    let json = match &format {
        None => false,
        Some((format, origin)) => {
            validate_deployed::one_of(format, origin, "log format", &["text", "json"])? == "Json"
        }
    };
    let logging = if json {
        let level = |picked: Option<(String, Origin)>, what: &str, levels: &[&str]| match picked {
            None => Ok("INFO".to_string()),
            Some((level, origin)) => validate_deployed::one_of(&level, &origin, what, levels)
                .map(|l| l.to_ascii_uppercase()),
        };
        Logging::Json {
            application_level: level(
                application,
                "application log level",
                &["trace", "debug", "info", "warn", "error", "fatal"],
            )?,
            system_level: level(system, "system log level", &["debug", "info", "warn"])?,
        }
    } else {
        if let Some((_, origin)) = application.or(system) {
            return Err(UsageError(format!(
                "log levels (from {origin}) need JSON logs: set log-format = \"json\" (Lambda \
                 filters by level only in JSON format)"
            ))
            .into());
        }
        Logging::Text
    };
    Ok((storage as i32, tracing, logging))
}

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
mod tests;
