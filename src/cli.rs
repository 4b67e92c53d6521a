//! Every command-line type: the subcommands, their flags, and the options they share.
//!
//! Each subcommand flattens only the groups of flags it uses (`delete` has no `--memory`, `init` no
//! AWS options). Settings flags are all `Option`s without clap defaults: `settings` applies the
//! precedence flag > `LAMBDA_RT_*` environment variable > `lambda-rt.toml` > default, and clap's
//! `env` attribute already folds the first two together. [`Cli::parse_args`] also records which
//! values came from the environment, so an error can name its source. Of the crate this module
//! uses only [`crate::template`]; `settings` reads it, never the other way round.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::template::Template;

/// Deploy, manage and locally run AWS Lambda functions on a custom runtime (bash by default).
#[derive(Debug, Parser)]
#[command(
    name = "lambda-rt",
    version,
    about,
    max_term_width = 100,
    after_help = "Run `lambda-rt <command> --help` for a command's flags and examples."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,

    /// Ids of the arguments whose value came from a `LAMBDA_RT_*` variable, not the command line.
    #[arg(skip)]
    pub from_env: BTreeSet<String>,
}

impl Cli {
    /// Parses `std::env::args` and records which values came from environment variables.
    pub fn try_parse_args() -> Result<Cli, clap::Error> {
        Self::try_parse_from_args(std::env::args_os())
    }

    /// [`Cli::try_parse_args`] on explicit arguments.
    pub fn try_parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if let Some((_, sub)) = matches.subcommand() {
            cli.from_env = env_sourced(sub);
        }
        Ok(cli)
    }
}

fn env_sourced(matches: &ArgMatches) -> BTreeSet<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::EnvVariable))
        .map(|id| id.to_string())
        .collect()
}

/// Options of every subcommand: how much to print, and in which format.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Output")]
pub struct GlobalArgs {
    /// More detail on stderr: -v each AWS call with its duration, -vv also the AWS SDK's debug log
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Result format on stdout: text, or one JSON document (see README "JSON output")
    #[arg(long, global = true, value_enum, env = "LAMBDA_RT_OUTPUT", default_value_t = OutputFormat::Text, hide_possible_values = true)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

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

/// Every settings input of every command, as one plain struct: each command fills in the groups it
/// has (see [`Command::settings_input`]); `settings` merges it with lambda-rt.toml and defaults.
#[derive(Debug, Default, Clone)]
pub struct SettingsInput {
    pub project: ProjectArgs,
    pub role: RoleArgs,
    pub layer: LayerArgs,
    pub config: ConfigArgs,
    pub deno: DenoArgs,
    pub staging: StagingArgs,
    pub aws: AwsArgs,
    /// Argument ids whose value came from a `LAMBDA_RT_*` variable (see [`Cli::parse_args`]).
    pub from_env: BTreeSet<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a new project in DIR: runtime/, function/ and lambda-rt.toml from a template
    #[command(after_help = "Examples:
  lambda-rt init my-function                  # bash runtime and handler
  lambda-rt init my-function --template deno  # Deno runtime, TypeScript handler
  lambda-rt init . --function-name api        # in the current directory")]
    Init(InitArgs),
    /// Create the execution role and the function, or bring them in line with the project
    #[command(after_help = "Examples:
  lambda-rt create                    # role + function from runtime/ and function/
  lambda-rt create --dry-run          # print the plan, change nothing
  lambda-rt create --memory 256 --env LOG_LEVEL=debug")]
    Create(DeployArgs),
    /// Upload changed code and configuration to an existing function
    #[command(after_help = "Examples:
  lambda-rt update                    # uploads only what changed; a re-run changes nothing
  lambda-rt update --timeout 10
  lambda-rt update --dry-run --output json")]
    Update(DeployArgs),
    /// Invoke the function (in AWS, or here with --local) and print its response on stdout
    #[command(after_help = "Examples:
  lambda-rt invoke --local --payload '{\"text\":\"Hello\"}'   # here, no AWS account needed
  lambda-rt invoke --payload-file event.json --log          # in AWS, with the log tail
  lambda-rt invoke --function-name other-fn --out response.json")]
    Invoke(InvokeArgs),
    /// Publish runtime/ as a layer version (only when it changed) and attach it to the function
    #[command(after_help = "Examples:
  lambda-rt publish-layer                      # publish if changed, attach, code without bootstrap
  lambda-rt publish-layer --share-with 111122223333 --keep 3
  lambda-rt publish-layer --detach             # back to bootstrap in the function's code")]
    PublishLayer(PublishLayerArgs),
    /// Delete the function and what lambda-rt made for it: log group, layer versions, role
    #[command(after_help = "Examples:
  lambda-rt delete                     # in a project: everything lambda-rt made for it
  lambda-rt delete --dry-run           # what would go
  lambda-rt delete --function-name old-fn --keep-logs")]
    Delete(DeleteArgs),
    /// Serve the Lambda Invoke API on 127.0.0.1 with warm runtimes, for the AWS CLI and SDKs
    #[command(after_help = "Examples:
  lambda-rt serve --watch              # then: aws lambda invoke --endpoint-url http://127.0.0.1:9001 ...
  lambda-rt serve --port 0 --concurrency 4")]
    Serve(ServeArgs),
    /// Test the runtime against the Lambda Runtime API contract, here, before it ships
    #[command(after_help = "Examples:
  lambda-rt check                              # bash or Deno convention: check supplies handlers
  lambda-rt check --echo-handler app.echo --error-handler app.fail   # any other runtime
  lambda-rt check --bootstrap target/x86_64-unknown-linux-musl/release/bootstrap

Exit status: 0 when every case passed (warnings allowed), 1 when one failed.")]
    Check(CheckArgs),
    /// Print the function's CloudWatch logs (--follow to keep printing new ones)
    #[command(after_help = "Examples:
  lambda-rt logs                         # the last 10 minutes
  lambda-rt logs --since 1h --filter ERROR
  lambda-rt logs --follow                # until Ctrl-C
  lambda-rt logs --request-id 8f5c...    # one invocation's lines")]
    Logs(LogsArgs),
    /// Show the function as deployed, and what differs from the project (exit 6 when it drifted)
    #[command(after_help = "Examples:
  lambda-rt status                       # state, configuration, versions; drift from the project
  lambda-rt status --output json
  lambda-rt status -q || lambda-rt update    # in CI: exit 6 when the project is not deployed

Exit status: 0 when the function matches the project, 6 when it differs (or does not exist).")]
    Status(StatusArgs),
    /// List the published versions with their code, date and aliases
    #[command(after_help = "Examples:
  lambda-rt update --publish --alias live    # publish a version and point `live` at it
  lambda-rt versions")]
    Versions(VersionsArgs),
    /// Point an alias back at the previous version (or at --to VERSION)
    #[command(after_help = "Examples:
  lambda-rt rollback                     # the function's only alias, one version back
  lambda-rt rollback --alias live --to 3")]
    Rollback(RollbackArgs),
    /// Print a shell completion script
    #[command(after_help = "Examples:
  lambda-rt completions bash > ~/.local/share/bash-completion/completions/lambda-rt
  lambda-rt completions zsh > ~/.zfunc/_lambda-rt       # with fpath+=~/.zfunc in ~/.zshrc
  lambda-rt completions fish > ~/.config/fish/completions/lambda-rt.fish")]
    Completions(CompletionsArgs),
}

impl Command {
    /// The command's name as typed (`publish-layer`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Create(_) => "create",
            Command::Update(_) => "update",
            Command::Invoke(_) => "invoke",
            Command::PublishLayer(_) => "publish-layer",
            Command::Delete(_) => "delete",
            Command::Serve(_) => "serve",
            Command::Check(_) => "check",
            Command::Logs(_) => "logs",
            Command::Status(_) => "status",
            Command::Versions(_) => "versions",
            Command::Rollback(_) => "rollback",
            Command::Completions(_) => "completions",
        }
    }

    /// The settings inputs this command takes (groups it lacks stay empty).
    pub fn settings_input(&self, from_env: &BTreeSet<String>) -> SettingsInput {
        let mut input = SettingsInput {
            from_env: from_env.clone(),
            ..Default::default()
        };
        match self {
            Command::Init(_) => {}
            Command::Create(args) | Command::Update(args) => {
                input.project = args.project.clone();
                input.role = args.role.clone();
                input.layer = args.layer.clone();
                input.config = args.config.clone();
                input.deno = args.deno.clone();
                input.staging = args.staging.clone();
                input.aws = args.aws.clone();
            }
            Command::Invoke(args) => {
                input.project = args.project.clone();
                input.config = args.config.clone();
                input.deno = args.deno.clone();
                input.aws = args.aws.clone();
            }
            Command::PublishLayer(args) => {
                input.project = args.project.clone();
                input.layer = args.layer.clone();
                input.config.architecture = args.architecture.clone();
                input.deno = args.deno.clone();
                input.staging = args.staging.clone();
                input.aws = args.aws.clone();
            }
            Command::Delete(args) => {
                input.project = args.project.clone();
                input.role = args.role.clone();
                input.layer = args.layer.clone();
                input.staging = args.staging.clone();
                input.aws = args.aws.clone();
            }
            Command::Serve(args) => {
                input.project = args.project.clone();
                input.config = args.config.clone();
                input.deno = args.deno.clone();
                input.aws.region = args.region.clone();
            }
            Command::Check(args) => {
                input.project = args.project.clone();
                input.config = args.config.clone();
                input.deno = args.deno.clone();
            }
            Command::Status(args) => {
                input.project = args.project.clone();
                input.config = args.config.clone();
                input.role = args.role.clone();
                input.layer = args.layer.clone();
                input.deno = args.deno.clone();
                input.aws = args.aws.clone();
            }
            Command::Logs(args) => {
                input.project = args.project.clone();
                input.aws = args.aws.clone();
            }
            Command::Versions(args) => {
                input.project = args.project.clone();
                input.aws = args.aws.clone();
            }
            Command::Rollback(args) => {
                input.project = args.project.clone();
                input.aws = args.aws.clone();
            }
            Command::Completions(_) => {}
        }
        input
    }
}

/// Flags of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory for the project (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The template to start from: bash or deno
    #[arg(long, value_enum, default_value_t = Template::Bash, hide_possible_values = true)]
    pub template: Template,

    /// Function name written to lambda-rt.toml [default: DIR's name]
    #[arg(long, value_name = "NAME")]
    pub function_name: Option<String>,

    /// Overwrite the template's files where they exist (other files are left alone)
    #[arg(long)]
    pub force: bool,
}

/// Flags of `create` and `update`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    /// Take over a same-named function lambda-rt did not create (tags it, then updates it)
    #[arg(long)]
    pub adopt: bool,

    /// Send the code and the whole configuration even if nothing differs (e.g. to retry an update
    /// that failed in Lambda)
    #[arg(long)]
    pub force: bool,

    /// Then publish a version, unless $LATEST already is the newest one
    #[arg(long)]
    pub publish: bool,

    /// Then point this alias at the published version (implies --publish)
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,

    /// With --publish: delete all but the newest N versions (never one an alias points at)
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,

    #[command(flatten)]
    pub url: UrlArgs,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
    #[command(flatten)]
    pub staging: StagingArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Event as JSON [default: {}]
    #[arg(long, conflicts_with = "payload_file", value_name = "JSON")]
    pub payload: Option<String>,

    /// Read the event from this file ('-' for stdin)
    #[arg(long, value_name = "PATH")]
    pub payload_file: Option<PathBuf>,

    /// Write the response to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the function's log tail on stderr
    #[arg(long)]
    pub log: bool,

    /// Run the function here under lambda-rt's Runtime API emulator instead of in AWS
    #[arg(long)]
    pub local: bool,

    /// Invoke this published version or alias instead of $LATEST
    #[arg(long, value_name = "VERSION|ALIAS")]
    pub qualifier: Option<String>,

    /// Seconds to wait for the function's answer; the Invoke is never sent twice [default: 960,
    /// Lambda's longest timeout plus a minute]
    #[arg(long, env = "LAMBDA_RT_INVOKE_TIMEOUT", value_name = "SECONDS", value_parser = parse_seconds)]
    pub invoke_timeout: Option<f64>,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `publish-layer`.
#[derive(Debug, Args)]
pub struct PublishLayerArgs {
    /// Only publish the layer; leave the function as it is (it need not exist)
    #[arg(long)]
    pub no_attach: bool,

    /// Put bootstrap back into the function's code, then remove the layer from the function
    #[arg(long, conflicts_with_all = ["no_attach", "share_with", "keep"])]
    pub detach: bool,

    /// Let an account id, every account (*), or an organization (o-...) use the version
    /// (repeatable)
    #[arg(long, value_name = "PRINCIPAL", value_parser = parse_share_principal)]
    pub share_with: Vec<SharePrincipal>,

    /// Delete versions older than the newest N (never the attached one)
    #[arg(long, value_name = "N", value_parser = parse_keep)]
    pub keep: Option<u32>,

    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    /// Take over a same-named function lambda-rt did not create (tags it, then attaches)
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub architecture: ArchitectureArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
    #[command(flatten)]
    pub staging: StagingArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Who `--share-with` grants `lambda:GetLayerVersion` to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharePrincipal {
    /// One AWS account, by its 12-digit id.
    Account(String),
    /// Every AWS account (`*`).
    Everyone,
    /// Every account of an AWS organization (`o-` followed by 10 to 32 letters or digits).
    Organization(String),
}

impl SharePrincipal {
    /// The statement id in the layer version policy: the same principal always gets the same id,
    /// which is how a second run recognises its own grant.
    pub fn statement_id(&self) -> String {
        match self {
            SharePrincipal::Account(id) => format!("lambda-rt-account-{id}"),
            SharePrincipal::Everyone => "lambda-rt-everyone".to_string(),
            SharePrincipal::Organization(id) => format!("lambda-rt-organization-{id}"),
        }
    }
}

impl std::fmt::Display for SharePrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SharePrincipal::Account(id) | SharePrincipal::Organization(id) => f.write_str(id),
            SharePrincipal::Everyone => f.write_str("*"),
        }
    }
}

fn parse_share_principal(value: &str) -> Result<SharePrincipal, String> {
    if value == "*" {
        return Ok(SharePrincipal::Everyone);
    }
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SharePrincipal::Account(value.to_string()));
    }
    if let Some(rest) = value.strip_prefix("o-") {
        if (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Ok(SharePrincipal::Organization(value.to_string()));
        }
    }
    Err(
        "expected a 12-digit AWS account id, `*` for every account, or an organization id \
         like o-a1b2c3d4e5"
            .to_string(),
    )
}

/// Seconds, decimals allowed, more than 0 and at most an hour.
fn parse_seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 3600.0 => Ok(seconds),
        _ => Err("expected a number of seconds, more than 0 and at most 3600".to_string()),
    }
}

fn parse_keep(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(0) => Err("keep at least 1 version: the newest one is the one in use".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of versions, at least 1".to_string()),
    }
}

/// Flags of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Keep the function's CloudWatch log group
    #[arg(long)]
    pub keep_logs: bool,

    /// Keep the versions of the function's runtime layer
    #[arg(long)]
    pub keep_layer: bool,

    /// Print what would be deleted, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    /// Delete a same-named function even though lambda-rt did not create it
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub staging: StagingArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback exposes the function to the network (and then
    /// requests may name any host)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 9001)]
    pub port: u16,

    /// Also serve the function as a Function URL would, on this port: any HTTP request becomes
    /// the Function URL event, and the result the HTTP response (0 picks a free port)
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,

    /// Most runtime processes running at once, each serving one event at a time
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,

    /// Rebuild the environment when runtime/ or function/ change
    #[arg(long)]
    pub watch: bool,

    /// Also answer requests from web pages of this origin, e.g. http://localhost:3000 (`*`: any);
    /// others are refused, so that no page open in a browser can run the function
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,

    /// Region the runtime sees as AWS_REGION [default: AWS_REGION, else us-east-1]
    #[arg(long, env = "LAMBDA_RT_REGION")]
    pub region: Option<String>,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
}

/// The function's URL (`create` and `update`); without `--url` or `--no-url` it is left alone.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function URL")]
pub struct UrlArgs {
    /// Give the function an HTTPS URL (a Function URL), or bring it in line with these flags
    #[arg(long, conflicts_with = "no_url")]
    pub url: bool,

    /// Remove the function's URL and lambda-rt's public-access permissions
    #[arg(long)]
    pub no_url: bool,

    /// Who may call the URL: none (anyone) or iam (signed requests) [default: none]
    #[arg(long, value_enum, value_name = "AUTH", requires = "url")]
    pub url_auth: Option<crate::function_url::UrlAuth>,

    /// An origin web pages may call the URL from, e.g. https://example.com (CORS; repeatable)
    #[arg(long, value_name = "ORIGIN", requires = "url")]
    pub cors_origin: Vec<String>,

    /// buffered, or response-stream for a function that streams its response [default: buffered]
    #[arg(long, value_enum, value_name = "MODE", requires = "url")]
    pub invoke_mode: Option<crate::function_url::UrlInvokeMode>,
}

impl UrlArgs {
    /// What the flags ask for: `Some(None)` to remove the URL, `None` to leave it alone.
    pub fn wanted(&self) -> Option<Option<crate::function_url::UrlSpec>> {
        if self.no_url {
            return Some(None);
        }
        self.url.then(|| {
            Some(crate::function_url::UrlSpec {
                auth: self.url_auth.unwrap_or(crate::function_url::UrlAuth::None),
                cors_origins: self.cors_origin.clone(),
                invoke_mode: self
                    .invoke_mode
                    .unwrap_or(crate::function_url::UrlInvokeMode::Buffered),
            })
        })
    }
}

/// Flags of `status`: the same settings `update` applies, to compare with.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// From how long ago (10m, 1h, 2d) or since when (RFC 3339, e.g. 2026-12-01T09:00:00Z)
    #[arg(long, default_value = "10m", value_name = "AGE|TIME")]
    pub since: String,

    /// Keep printing new lines as they arrive, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Only lines matching this CloudWatch Logs filter pattern (e.g. ERROR, or "two words")
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,

    /// Only the lines of this invocation
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The alias to move [default: the function's only alias]
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,

    /// The version to point it at [default: the one before its current version]
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,

    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Flags of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

/// Flags of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run this executable as the bootstrap instead of runtime/bootstrap (e.g. a build output)
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<std::path::PathBuf>,

    /// For a runtime that follows neither the bash nor the Deno handler convention: a handler
    /// that returns its event unchanged, for the round-trip cases
    #[arg(long, value_name = "HANDLER")]
    pub echo_handler: Option<String>,

    /// For such a runtime: a handler that always fails, for the error-path cases
    #[arg(long, value_name = "HANDLER")]
    pub error_handler: Option<String>,

    /// How long each invocation of a case may take (the timeout case always uses 1 s)
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub case_timeout: u64,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_principals_are_parsed_strictly() {
        assert_eq!(
            parse_share_principal("111122223333"),
            Ok(SharePrincipal::Account("111122223333".into()))
        );
        assert_eq!(parse_share_principal("*"), Ok(SharePrincipal::Everyone));
        assert_eq!(
            parse_share_principal("o-a1b2c3d4e5"),
            Ok(SharePrincipal::Organization("o-a1b2c3d4e5".into()))
        );
        for bad in [
            "11112222333",
            "1111222233334",
            "o-short",
            "o-UPPERCASE123",
            "arn:x",
            "",
        ] {
            assert!(parse_share_principal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statement_ids_are_deterministic_and_valid() {
        for principal in [
            SharePrincipal::Account("111122223333".into()),
            SharePrincipal::Everyone,
            SharePrincipal::Organization("o-a1b2c3d4e5".into()),
        ] {
            let id = principal.statement_id();
            assert_eq!(id, principal.statement_id());
            assert!(id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }

    #[test]
    fn keep_must_be_positive() {
        assert_eq!(parse_keep("3"), Ok(3));
        assert!(parse_keep("0").unwrap_err().contains("at least 1"));
        assert!(parse_keep("-1").is_err());
    }

    #[test]
    fn values_from_the_environment_are_told_apart_from_flags() {
        // SAFETY: this test is the only one in this crate that touches LAMBDA_RT_MEMORY.
        unsafe { std::env::set_var("LAMBDA_RT_MEMORY", "256") };
        let cli = Cli::try_parse_from_args(["lambda-rt", "update", "--timeout", "5"]).unwrap();
        unsafe { std::env::remove_var("LAMBDA_RT_MEMORY") };
        assert!(cli.from_env.contains("memory"), "{:?}", cli.from_env);
        assert!(!cli.from_env.contains("timeout"), "{:?}", cli.from_env);
        let input = cli.command.settings_input(&cli.from_env);
        assert_eq!(input.config.memory, Some(256));
        assert_eq!(input.config.timeout, Some(5));
    }
}
