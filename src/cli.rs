//! Every command-line type: the subcommands, their flags, and the global options.
//!
//! Settings flags are all `Option`s without clap defaults: `settings.rs` applies the precedence
//! flag > `LAMBDA_RT_*` environment variable > `lambda-rt.toml` > default, and clap's `env`
//! attribute already folds the first two together.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::settings::Template;

/// Deploy, manage and locally run AWS Lambda functions on a custom runtime.
#[derive(Debug, Parser)]
#[command(name = "lambda-rt", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options that apply to every subcommand.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// AWS region (else AWS_REGION or the profile's region)
    #[arg(long, global = true, env = "LAMBDA_RT_REGION")]
    pub region: Option<String>,

    /// AWS shared-config profile to use
    #[arg(long, global = true, env = "LAMBDA_RT_PROFILE")]
    pub profile: Option<String>,

    /// Send AWS API calls to this endpoint, e.g. a local AWS emulator (else AWS_ENDPOINT_URL)
    #[arg(
        long,
        global = true,
        env = "LAMBDA_RT_ENDPOINT_URL",
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,

    /// Attempts per AWS API call for transient errors (throttling, 5xx, timeouts, dropped
    /// connections), with exponential backoff [default: 5]
    #[arg(long, global = true, env = "LAMBDA_RT_MAX_ATTEMPTS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,

    /// Give up on one attempt of an AWS API call after this many seconds without an answer
    /// (includes uploading the request) [default: 60]
    #[arg(long, global = true, env = "LAMBDA_RT_READ_TIMEOUT", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_timeout: Option<u64>,

    /// Show more detail on stderr (-v: debug, -vv: also the AWS SDK's debug log)
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Result format on stdout
    #[arg(long, global = true, value_enum, env = "LAMBDA_RT_OUTPUT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Human-readable lines on stderr; invoke responses raw on stdout
    #[default]
    Text,
    /// One JSON document on stdout
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a new project in DIR from a template: runtime/, function/ and lambda-rt.toml
    Init(InitArgs),
    /// Ensure the execution role and the function exist and match the local project
    Create(DeployArgs),
    /// Upload changed code and configuration to an existing function
    Update(DeployArgs),
    /// Invoke the function (in AWS, or locally with --local) and print its response on stdout
    Invoke(InvokeArgs),
    /// Publish runtime/ as a Lambda layer (only when it changed) and attach it to the function
    PublishLayer(PublishLayerArgs),
    /// Delete the function, its log group, its runtime layer's versions, and the role if lambda-rt
    /// created it
    Delete(DeleteArgs),
    /// Serve the Lambda Invoke API locally, with warm runtimes, for the AWS CLI and SDKs
    Serve(ServeArgs),
}

/// Where the project is and what the function should look like.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Function settings (flag > LAMBDA_RT_* > lambda-rt.toml > default)")]
pub struct FunctionArgs {
    /// Project directory holding runtime/, function/ and an optional lambda-rt.toml [default: .]
    #[arg(long, env = "LAMBDA_RT_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,

    /// Function name [default: bash-runtime]
    #[arg(long, env = "LAMBDA_RT_FUNCTION_NAME", value_name = "NAME")]
    pub function_name: Option<String>,

    /// Execution role that lambda-rt creates and owns [default: <function-name>-role]
    #[arg(
        long,
        env = "LAMBDA_RT_ROLE_NAME",
        value_name = "NAME",
        conflicts_with = "role_arn"
    )]
    pub role_name: Option<String>,

    /// Use this existing role instead; lambda-rt never modifies or deletes it
    #[arg(long, env = "LAMBDA_RT_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Layer that publish-layer puts runtime/ in [default: <function-name>-layer]
    #[arg(long, env = "LAMBDA_RT_LAYER_NAME", value_name = "NAME")]
    pub layer_name: Option<String>,

    /// Handler as file.function: function/<file>.sh (bash) or <file>.ts (Deno) defines <function>
    /// [default: function.handler]
    #[arg(long, env = "LAMBDA_RT_HANDLER")]
    pub handler: Option<String>,

    /// Lambda runtime identifier [default: provided.al2023]
    #[arg(long, env = "LAMBDA_RT_RUNTIME")]
    pub runtime: Option<String>,

    /// Instruction set: x86_64 or arm64 [default: x86_64]
    #[arg(long, env = "LAMBDA_RT_ARCHITECTURE")]
    pub architecture: Option<String>,

    /// Memory in MB, 128-10240 [default: 128]
    #[arg(long, env = "LAMBDA_RT_MEMORY", value_name = "MB")]
    pub memory: Option<i64>,

    /// Timeout in seconds, 1-900 [default: 3]
    #[arg(long, env = "LAMBDA_RT_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<i64>,

    /// Environment variable for the function, KEY=VALUE (repeatable; replaces the file's set)
    #[arg(long = "env", env = "LAMBDA_RT_ENV", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Function description [default: empty]
    #[arg(long, env = "LAMBDA_RT_DESCRIPTION")]
    pub description: Option<String>,

    /// Deno binary to put in the runtime as bin/deno (Deno template) [default: runtime/bin/deno,
    /// else `deno` on PATH]
    #[arg(long, env = "LAMBDA_RT_DENO", value_name = "PATH")]
    pub deno: Option<PathBuf>,

    /// Stage function and layer zips in this S3 bucket (same region) instead of sending them
    /// inline; needed for zips over 50 MB
    #[arg(long, env = "LAMBDA_RT_S3_BUCKET", value_name = "BUCKET")]
    pub s3_bucket: Option<String>,

    /// Key prefix for the staged zips: <prefix><function>/function.zip, <prefix><layer>/layer.zip
    #[arg(long, env = "LAMBDA_RT_S3_KEY", value_name = "PREFIX")]
    pub s3_key: Option<String>,
}

/// Flags of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory for the project (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The runtime to start from
    #[arg(long, value_enum, default_value_t = Template::Bash)]
    pub template: Template,

    /// Function name written to lambda-rt.toml [default: DIR's name]
    #[arg(long, value_name = "NAME")]
    pub function_name: Option<String>,

    /// Overwrite files the template would write that already exist (other files are left alone)
    #[arg(long)]
    pub force: bool,
}

/// Flags of `create` and `update`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub function: FunctionArgs,
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

    #[command(flatten)]
    pub function: FunctionArgs,
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

    /// Let an account id, every account (*), or an organization (o-...) use the layer version
    /// (repeatable)
    #[arg(long, value_name = "PRINCIPAL", value_parser = parse_share_principal)]
    pub share_with: Vec<SharePrincipal>,

    /// Delete older versions of the layer beyond the newest N (never the attached one)
    #[arg(long, value_name = "N", value_parser = parse_keep)]
    pub keep: Option<u32>,

    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub function: FunctionArgs,
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

    #[command(flatten)]
    pub function: FunctionArgs,
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback exposes the function to the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 9001)]
    pub port: u16,

    /// Most runtime processes running at once, each serving one event at a time
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,

    /// Rebuild the environment when runtime/ or function/ change
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub function: FunctionArgs,
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
}
