//! The groups of flags several commands share (project, role, layer, configuration, Deno, S3
//! staging, AWS), and [`SettingsInput`]: the one value they reach `settings` in.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

/// How to reach AWS; `None` leaves each choice to the standard AWS configuration.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "AWS options")]
pub struct AwsArgs {
    /// AWS region (else AWS_REGION or the profile's region)
    #[arg(long, env = "LAMBDA_RT_REGION")]
    pub region: Option<String>,

    /// AWS shared-config profile to use
    #[arg(long, env = "LAMBDA_RT_PROFILE")]
    pub profile: Option<String>,

    /// Send AWS API calls to this endpoint, e.g. a local AWS emulator (else AWS_ENDPOINT_URL)
    #[arg(long, env = "LAMBDA_RT_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Attempts per AWS API call for throttling, 5xx and dropped connections [default: 5]
    #[arg(long, env = "LAMBDA_RT_MAX_ATTEMPTS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,

    /// Seconds one attempt of an AWS API call may take, upload included (not Invoke, see
    /// --invoke-timeout) [default: 60]
    #[arg(long, env = "LAMBDA_RT_READ_TIMEOUT", value_name = "SECONDS", value_parser = parse_seconds)]
    pub read_timeout: Option<f64>,
}

/// Which project and which function.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Project (flag > LAMBDA_RT_* > lambda-rt.toml > default)")]
pub struct ProjectArgs {
    /// Project directory with runtime/, function/ and lambda-rt.toml [default: .]
    #[arg(long, env = "LAMBDA_RT_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,

    /// Function name [default: `function-name` in lambda-rt.toml, else bash-runtime]
    #[arg(long, env = "LAMBDA_RT_FUNCTION_NAME", value_name = "NAME")]
    pub function_name: Option<String>,

    /// In a project of several functions ([functions.NAME] in lambda-rt.toml): act on this one
    /// only (repeatable) [default: every function]
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

/// The execution role.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Role")]
pub struct RoleArgs {
    /// Execution role that lambda-rt creates and owns [default: <function-name>-role]
    #[arg(
        long,
        env = "LAMBDA_RT_ROLE_NAME",
        value_name = "NAME",
        conflicts_with = "role_arn"
    )]
    pub role_name: Option<String>,

    /// Use this existing role instead; lambda-rt never reads, modifies or deletes it
    #[arg(long, env = "LAMBDA_RT_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,
}

/// The runtime layer.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Runtime layer")]
pub struct LayerArgs {
    /// Layer that publish-layer puts runtime/ in [default: <function-name>-layer]
    #[arg(long, env = "LAMBDA_RT_LAYER_NAME", value_name = "NAME")]
    pub layer_name: Option<String>,
}

/// The instruction set, for commands that need nothing else of the configuration.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function configuration")]
pub struct ArchitectureArgs {
    /// Instruction set: x86_64 or arm64 [default: x86_64]
    #[arg(long, env = "LAMBDA_RT_ARCHITECTURE", value_name = "ARCH")]
    pub architecture: Option<String>,
}

/// What the function looks like in Lambda.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function configuration")]
pub struct ConfigArgs {
    /// Handler, passed to the runtime as _HANDLER: file.function for the bash and Deno runtimes,
    /// whatever a custom runtime expects otherwise [default: function.handler]
    #[arg(long, env = "LAMBDA_RT_HANDLER")]
    pub handler: Option<String>,

    /// Lambda runtime identifier [default: provided.al2023]
    #[arg(long, env = "LAMBDA_RT_RUNTIME")]
    pub runtime: Option<String>,

    #[command(flatten)]
    pub architecture: ArchitectureArgs,

    /// Memory in MB, 128-10240 [default: 128]
    #[arg(long, env = "LAMBDA_RT_MEMORY", value_name = "MB")]
    pub memory: Option<i64>,

    /// Timeout in seconds, 1-900 [default: 3]
    #[arg(long, env = "LAMBDA_RT_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<i64>,

    /// Environment variable KEY=VALUE (repeatable; replaces the [env] table of lambda-rt.toml)
    #[arg(long = "env", env = "LAMBDA_RT_ENV", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Function description [default: empty]
    #[arg(long, env = "LAMBDA_RT_DESCRIPTION")]
    pub description: Option<String>,
}

/// What the function has in AWS that running it here does not need (so `invoke --local`,
/// `serve` and `check` do not take these flags).
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function configuration")]
pub struct DeployedConfigArgs {
    /// Days CloudWatch Logs keeps the function's logs (1, 3, 5, 7, 14, 30, 60, 90, …, 3653), or 0
    /// to keep them forever [default: left as it is; a new log group keeps them forever]
    #[arg(
        long,
        env = "LAMBDA_RT_LOG_RETENTION_DAYS",
        value_name = "DAYS",
        allow_negative_numbers = true
    )]
    pub log_retention_days: Option<i64>,

    /// /tmp size in MB, 512-10240 [default: 512]
    #[arg(long, env = "LAMBDA_RT_EPHEMERAL_STORAGE", value_name = "MB")]
    pub ephemeral_storage: Option<i64>,

    /// X-Ray tracing: active or passthrough [default: passthrough]
    #[arg(long, env = "LAMBDA_RT_TRACING", value_name = "MODE")]
    pub tracing: Option<String>,

    /// Log format: text, or json for structured logs with levels [default: text]
    #[arg(long, env = "LAMBDA_RT_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// With --log-format json: the lowest level of the function's own log lines Lambda keeps
    /// (trace, debug, info, warn, error, fatal) [default: info]
    #[arg(long, env = "LAMBDA_RT_APPLICATION_LOG_LEVEL", value_name = "LEVEL")]
    pub application_log_level: Option<String>,

    /// With --log-format json: the lowest level of Lambda's own log lines it keeps (debug, info,
    /// warn) [default: info]
    #[arg(long, env = "LAMBDA_RT_SYSTEM_LOG_LEVEL", value_name = "LEVEL")]
    pub system_log_level: Option<String>,

    /// Concurrent executions reserved for the function (also the most it runs at once; 0 stops
    /// it), or `none` to remove the reservation [default: left as it is]
    #[arg(
        long,
        env = "LAMBDA_RT_RESERVED_CONCURRENCY",
        value_name = "N|none",
        allow_hyphen_values = true
    )]
    pub reserved_concurrency: Option<String>,

    /// A layer version ARN to attach besides the runtime layer, which comes after it (repeatable,
    /// in order; replaces `layers` of lambda-rt.toml)
    #[arg(long, env = "LAMBDA_RT_LAYER", value_name = "ARN")]
    pub layer: Vec<String>,

    /// A subnet the function reaches a VPC through, e.g. subnet-0abc1234 (repeatable; with
    /// --vpc-security-group; replaces `vpc-subnets` of lambda-rt.toml) [default: no VPC]
    #[arg(long, env = "LAMBDA_RT_VPC_SUBNET", value_name = "ID")]
    pub vpc_subnet: Vec<String>,

    /// A security group of the function in its VPC, e.g. sg-0abc1234 (repeatable; with
    /// --vpc-subnet; replaces `vpc-security-groups` of lambda-rt.toml)
    #[arg(long, env = "LAMBDA_RT_VPC_SECURITY_GROUP", value_name = "ID")]
    pub vpc_security_group: Vec<String>,

    /// A JSON policy document to put on the role lambda-rt manages as its inline policy
    /// [default: none]
    #[arg(
        long,
        env = "LAMBDA_RT_POLICY_FILE",
        value_name = "PATH",
        help_heading = "Role"
    )]
    pub policy_file: Option<std::path::PathBuf>,

    /// A tag on the function, KEY=VALUE (repeatable; replaces the [tags] table of lambda-rt.toml)
    #[arg(long = "tag", env = "LAMBDA_RT_TAG", value_name = "KEY=VALUE")]
    pub tag: Vec<String>,

    /// A policy for the role lambda-rt manages, beside AWSLambdaBasicExecutionRole: an AWS managed
    /// policy's name (AmazonS3ReadOnlyAccess) or a policy ARN (repeatable; replaces `policies` of
    /// lambda-rt.toml)
    #[arg(
        long,
        env = "LAMBDA_RT_POLICY",
        value_name = "NAME|ARN",
        help_heading = "Role"
    )]
    pub policy: Vec<String>,
}

/// Files that travel with the runtime.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Runtime")]
pub struct DenoArgs {
    /// Deno binary added to a Deno runtime as bin/deno [default: runtime/bin/deno, else PATH]
    #[arg(long, env = "LAMBDA_RT_DENO", value_name = "PATH")]
    pub deno: Option<PathBuf>,
}

/// Staging zips in S3.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "S3 staging")]
pub struct StagingArgs {
    /// Stage zips in this S3 bucket (same region) instead of sending them inline (over 50 MB)
    #[arg(long, env = "LAMBDA_RT_S3_BUCKET", value_name = "BUCKET")]
    pub s3_bucket: Option<String>,

    /// Key prefix for staged zips: <prefix><function>/function.zip, <prefix><layer>/layer.zip
    #[arg(long, env = "LAMBDA_RT_S3_KEY", value_name = "PREFIX")]
    pub s3_key: Option<String>,
}

/// Which function, in which AWS account: all that `logs`, `versions` and `rollback` need.
#[derive(Debug, Args, Default, Clone)]
pub struct FunctionArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The project as it runs here: which function, what it looks like, its Deno binary (`invoke`,
/// `serve`, `check`).
#[derive(Debug, Args, Default, Clone)]
pub struct LocalArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
}

/// The function as `create` and `update` deploy it and `status` compares it: which one, what it
/// looks like, its role, its runtime layer and Deno binary.
#[derive(Debug, Args, Default, Clone)]
pub struct DeployedArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub deployed_config: DeployedConfigArgs,
    #[command(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
}

/// Every settings input of every command, as one plain struct: each command fills in the groups it
/// has (see `Command::settings_input`); `settings` merges it with lambda-rt.toml and defaults.
#[derive(Debug, Default, Clone)]
pub struct SettingsInput {
    pub project: ProjectArgs,
    pub role: RoleArgs,
    pub layer: LayerArgs,
    pub config: ConfigArgs,
    pub deployed_config: DeployedConfigArgs,
    pub deno: DenoArgs,
    pub staging: StagingArgs,
    pub aws: AwsArgs,
    /// Argument ids whose value came from a `LAMBDA_RT_*` variable (see [`Cli::parse_args`]).
    pub from_env: BTreeSet<String>,
}

/// Seconds, decimals allowed, more than 0 and at most an hour.
pub fn parse_seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 3600.0 => Ok(seconds),
        _ => Err("expected a number of seconds, more than 0 and at most 3600".to_string()),
    }
}

impl SettingsInput {
    /// Takes the groups of [`LocalArgs`].
    pub fn local(&mut self, args: &LocalArgs) {
        self.project = args.project.clone();
        self.config = args.config.clone();
        self.deno = args.deno.clone();
    }

    /// Takes the groups of [`DeployedArgs`].
    pub fn deployed(&mut self, args: &DeployedArgs) {
        self.project = args.project.clone();
        self.config = args.config.clone();
        self.deployed_config = args.deployed_config.clone();
        self.role = args.role.clone();
        self.layer = args.layer.clone();
        self.deno = args.deno.clone();
    }

    /// Takes the groups of [`FunctionArgs`].
    pub fn function(&mut self, args: &FunctionArgs) {
        self.project = args.project.clone();
        self.aws = args.aws.clone();
    }
}
