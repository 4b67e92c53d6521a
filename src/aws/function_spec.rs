//! What a function should look like ([`FunctionSpec`], from the project's settings) and what
//! differs from what Lambda has ([`diff`]): the plan `create`, `update` and `status` share.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::types::{
    ApplicationLogLevel, Environment, EphemeralStorage, FunctionConfiguration, LogFormat,
    LoggingConfig, SystemLogLevel, TracingConfig, TracingMode, VpcConfig,
};

use crate::output::Change;
use crate::package::CodeIdentity;
use crate::settings::{FunctionConfig, Logging, Settings, Vpc, DEFAULT_EPHEMERAL_STORAGE_MB};

/// What the function should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    pub role_arn: String,
    pub config: FunctionConfig,
    /// The layer `publish-layer` manages: kept, last, when the project lists its other layers.
    pub runtime_layer_name: String,
}

impl FunctionSpec {
    pub fn new(settings: &Settings, role_arn: String) -> Self {
        FunctionSpec {
            name: settings.function_name.clone(),
            role_arn,
            config: settings.function.clone(),
            runtime_layer_name: settings.layer_name.clone(),
        }
    }
}

/// One configuration field that differs between the function and the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigField {
    Role,
    Handler,
    Runtime,
    Memory,
    Timeout,
    Environment,
    Description,
    EphemeralStorage,
    Tracing,
    Logging,
    Vpc,
    /// Only when the project lists its layers; not in [`ConfigField::ALL`], so `--force` never
    /// clears layers the project does not manage.
    Layers,
}

impl ConfigField {
    pub const ALL: [ConfigField; 11] = [
        ConfigField::Role,
        ConfigField::Handler,
        ConfigField::Runtime,
        ConfigField::Memory,
        ConfigField::Timeout,
        ConfigField::Environment,
        ConfigField::Description,
        ConfigField::EphemeralStorage,
        ConfigField::Tracing,
        ConfigField::Logging,
        ConfigField::Vpc,
    ];
}

/// How a VPC setting reads in a report.
fn vpc_label(vpc: Option<&Vpc>) -> String {
    match vpc {
        None => "none".into(),
        Some(vpc) => format!(
            "subnets {}; security groups {}",
            vpc.subnets.join(", "),
            vpc.security_groups.join(", ")
        ),
    }
}

/// The function's VPC as Lambda reports it (empty lists: none).
fn remote_vpc(remote: &FunctionConfiguration) -> Option<Vpc> {
    let config = remote.vpc_config()?;
    let mut subnets = config.subnet_ids().to_vec();
    let mut security_groups = config.security_group_ids().to_vec();
    if subnets.is_empty() && security_groups.is_empty() {
        return None;
    }
    subnets.sort();
    security_groups.sort();
    Some(Vpc {
        subnets,
        security_groups,
    })
}

/// Layer version ARNs as `name:version, …` (or `none`).
fn layer_list(arns: &[String]) -> String {
    if arns.is_empty() {
        return "none".into();
    }
    let names: Vec<&str> = arns
        .iter()
        .map(|arn| arn.splitn(7, ':').nth(6).unwrap_or(arn))
        .collect();
    names.join(", ")
}

/// How a log format reads in a report: `Text`, or `JSON (application INFO, system WARN)`.
pub fn logging_label(logging: &Logging) -> String {
    match logging {
        Logging::Text => "Text".into(),
        Logging::Json {
            application_level,
            system_level,
        } => format!("JSON (application {application_level}, system {system_level})"),
    }
}

/// The function's log format as Lambda reports it (none: Text, Lambda's default).
fn remote_logging(remote: &FunctionConfiguration) -> Logging {
    match remote.logging_config() {
        Some(config) if config.log_format() == Some(&LogFormat::Json) => Logging::Json {
            application_level: config
                .application_log_level()
                .map_or("INFO", |l| l.as_str())
                .to_string(),
            system_level: config
                .system_log_level()
                .map_or("INFO", |l| l.as_str())
                .to_string(),
        },
        _ => Logging::Text,
    }
}

/// What `update` has to change on an existing function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionDiff {
    /// The code (CodeSha256) or the architecture differs: both go through UpdateFunctionCode.
    pub code: bool,
    pub config: Vec<ConfigField>,
    /// Each difference, for the report.
    pub changes: Vec<Change>,
    /// With [`ConfigField::Layers`]: the layers to set, the project's then the attached runtime
    /// layer (last, so that its files — the bootstrap — win over any other layer's).
    pub layers: Vec<String>,
}

impl FunctionDiff {
    pub fn is_empty(&self) -> bool {
        !self.code && self.config.is_empty()
    }
}

/// Compares the function's remote configuration with the spec and the local package. With
/// `force`, the code and every configuration field are sent even where nothing differs.
pub fn diff(
    remote: &FunctionConfiguration,
    spec: &FunctionSpec,
    code: &CodeIdentity,
    force: bool,
) -> FunctionDiff {
    let mut diff = FunctionDiff::default();
    if !code.is_deployed_as(remote.code_sha256()) {
        diff.code = true;
        diff.changes.push(Change::named("code"));
    }
    let remote_arch: Vec<&str> = remote.architectures().iter().map(|a| a.as_str()).collect();
    // Lambda reports no architecture for old functions, which means x86_64.
    let remote_arch = remote_arch.first().copied().unwrap_or("x86_64");
    if remote_arch != spec.config.architecture.as_str() {
        diff.code = true;
        diff.changes.push(Change::new(
            "architecture",
            Some(remote_arch.into()),
            Some(spec.config.architecture.to_string()),
        ));
    }
    let mut field = |field: ConfigField, label: &str, from: String, to: String, show: bool| {
        if from != to {
            diff.config.push(field);
            diff.changes.push(if show {
                Change::new(label, Some(from), Some(to))
            } else {
                Change::named(label)
            });
        }
    };
    field(
        ConfigField::Role,
        "role",
        remote.role().unwrap_or_default().into(),
        spec.role_arn.clone(),
        true,
    );
    field(
        ConfigField::Handler,
        "handler",
        remote.handler().unwrap_or_default().into(),
        spec.config.handler.clone(),
        true,
    );
    field(
        ConfigField::Runtime,
        "runtime",
        remote
            .runtime()
            .map(|r| r.as_str())
            .unwrap_or_default()
            .into(),
        spec.config.runtime.clone(),
        true,
    );
    field(
        ConfigField::Memory,
        "memory",
        remote.memory_size().unwrap_or_default().to_string(),
        spec.config.memory_mb.to_string(),
        true,
    );
    field(
        ConfigField::Timeout,
        "timeout",
        remote.timeout().unwrap_or_default().to_string(),
        spec.config.timeout_seconds.to_string(),
        true,
    );
    field(
        ConfigField::Description,
        "description",
        remote.description().unwrap_or_default().into(),
        spec.config.description.clone(),
        false,
    );
    field(
        ConfigField::EphemeralStorage,
        "ephemeral storage",
        remote
            .ephemeral_storage()
            .map_or(DEFAULT_EPHEMERAL_STORAGE_MB, |e| e.size())
            .to_string(),
        spec.config.ephemeral_storage_mb.to_string(),
        true,
    );
    field(
        ConfigField::Tracing,
        "tracing",
        remote
            .tracing_config()
            .and_then(|t| t.mode())
            .map_or("PassThrough", |m| m.as_str())
            .into(),
        spec.config.tracing.clone(),
        true,
    );
    field(
        ConfigField::Logging,
        "log format",
        logging_label(&remote_logging(remote)),
        logging_label(&spec.config.logging),
        true,
    );
    field(
        ConfigField::Vpc,
        "vpc",
        vpc_label(remote_vpc(remote).as_ref()),
        vpc_label(spec.config.vpc.as_ref()),
        true,
    );
    let remote_env: BTreeMap<String, String> = remote
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if remote_env != spec.config.environment {
        diff.config.push(ConfigField::Environment);
        let keys: std::collections::BTreeSet<&String> = remote_env
            .keys()
            .chain(spec.config.environment.keys())
            .collect();
        for key in keys {
            let (from, to) = (remote_env.get(key), spec.config.environment.get(key));
            if from != to {
                // Values may be secrets: they never appear in a report.
                let hidden = |v: Option<&String>| v.map(|_| "(hidden)".to_string());
                diff.changes.push(Change::new(
                    format!("environment.{key}"),
                    hidden(from),
                    hidden(to),
                ));
            }
        }
    }
    if let Some(extras) = &spec.config.extra_layers {
        let remote_layers: Vec<String> = remote
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect();
        let runtime = remote_layers
            .iter()
            .filter(|arn| arn.split(':').nth(6) == Some(spec.runtime_layer_name.as_str()));
        let wanted: Vec<String> = extras.iter().chain(runtime).cloned().collect();
        if wanted != remote_layers || force {
            diff.config.push(ConfigField::Layers);
            diff.changes.push(Change::new(
                "layers",
                Some(layer_list(&remote_layers)),
                Some(layer_list(&wanted)),
            ));
            diff.layers = wanted;
        }
    }
    if force {
        if !diff.code {
            diff.code = true;
            diff.changes.push(Change::named("code (--force)"));
        }
        for field in ConfigField::ALL {
            if !diff.config.contains(&field) {
                diff.config.push(field);
            }
        }
        if diff
            .changes
            .iter()
            .all(|c| !c.field.starts_with("configuration"))
        {
            diff.changes.push(Change::named("configuration (--force)"));
        }
    }
    diff
}

pub(crate) fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder()
        .set_variables(Some(variables))
        .build()
}

pub(crate) fn ephemeral_storage(config: &FunctionConfig) -> EphemeralStorage {
    EphemeralStorage::builder()
        .size(config.ephemeral_storage_mb)
        .build()
        .expect("the size is set")
}

/// The VPC setting to send; empty lists take a function out of its VPC.
pub(crate) fn vpc_config(config: &FunctionConfig) -> VpcConfig {
    let (subnets, groups) = match &config.vpc {
        Some(vpc) => (vpc.subnets.clone(), vpc.security_groups.clone()),
        None => (Vec::new(), Vec::new()),
    };
    VpcConfig::builder()
        .set_subnet_ids(Some(subnets))
        .set_security_group_ids(Some(groups))
        .build()
}

pub(crate) fn tracing(config: &FunctionConfig) -> TracingConfig {
    TracingConfig::builder()
        .mode(TracingMode::from(config.tracing.as_str()))
        .build()
}

pub(crate) fn logging(config: &FunctionConfig) -> LoggingConfig {
    match &config.logging {
        Logging::Text => LoggingConfig::builder().log_format(LogFormat::Text).build(),
        Logging::Json {
            application_level,
            system_level,
        } => LoggingConfig::builder()
            .log_format(LogFormat::Json)
            .application_log_level(ApplicationLogLevel::from(application_level.as_str()))
            .system_log_level(SystemLogLevel::from(system_level.as_str()))
            .build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture::Architecture;

    #[test]
    fn environment_changes_name_keys_never_values() {
        let remote = FunctionConfiguration::builder()
            .environment(
                aws_sdk_lambda::types::EnvironmentResponse::builder()
                    .variables("OLD", "secret-1")
                    .variables("SAME", "x")
                    .variables("CHANGED", "a")
                    .build(),
            )
            .build();
        let spec = FunctionSpec {
            name: "f".into(),
            role_arn: String::new(),
            config: FunctionConfig {
                handler: String::new(),
                runtime: String::new(),
                architecture: Architecture::X86_64,
                memory_mb: 0,
                timeout_seconds: 0,
                environment: BTreeMap::from([
                    ("NEW".to_string(), "secret-2".to_string()),
                    ("SAME".to_string(), "x".to_string()),
                    ("CHANGED".to_string(), "b".to_string()),
                ]),
                description: String::new(),
                ephemeral_storage_mb: DEFAULT_EPHEMERAL_STORAGE_MB,
                tracing: "PassThrough".into(),
                logging: Logging::Text,
                extra_layers: None,
                vpc: None,
            },
            runtime_layer_name: "f-layer".into(),
        };
        let code = CodeIdentity {
            code_sha256: String::new(),
            deployed_as: None,
        };
        let diff = diff(&remote, &spec, &code, false);
        let text: Vec<String> = diff.changes.iter().map(|c| c.to_string()).collect();
        assert!(
            text.contains(&"environment: removed OLD".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"environment: added NEW".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"environment: changed CHANGED".to_string()),
            "{text:?}"
        );
        assert!(
            !text
                .iter()
                .any(|t| t.contains("SAME") || t.contains("secret")),
            "{text:?}"
        );
        let json = serde_json::to_string(&diff.changes).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }
}
