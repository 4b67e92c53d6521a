//! Every command-line type: the subcommands, their flags, and the options they share — one file
//! per command's flags, the shared groups in [`common`]; no logic.
//!
//! Each subcommand flattens only the groups of flags it uses (`delete` has no `--memory`, `init` no
//! AWS options). Settings flags are all `Option`s without clap defaults: `settings` applies the
//! precedence flag > `LAMBDA_RT_*` environment variable > `lambda-rt.toml` > default, and clap's
//! `env` attribute already folds the first two together. [`Cli::try_parse_args`] also records
//! which values came from the environment, so an error can name its source. `settings` reads this
//! module, never the other way round.

pub mod check;
pub mod common;
pub mod completions;
pub mod delete;
pub mod deploy;
pub mod init;
pub mod invoke;
pub mod logs;
pub mod publish_layer;
pub mod serve;
pub mod status;
pub mod versions;

use std::collections::BTreeSet;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use check::CheckArgs;
use common::SettingsInput;
use completions::CompletionsArgs;
use delete::DeleteArgs;
use deploy::{DeployArgs, UpdateArgs};
use init::InitArgs;
use invoke::InvokeArgs;
use logs::LogsArgs;
use publish_layer::PublishLayerArgs;
use serve::ServeArgs;
use status::StatusArgs;
use versions::{RollbackArgs, VersionsArgs};

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
        let args = options_after_the_subcommand(args.into_iter().map(Into::into).collect());
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if let Some((_, sub)) = matches.subcommand() {
            cli.from_env = env_sourced(sub);
        }
        Ok(cli)
    }
}

/// When clap refuses a value that came from a `LAMBDA_RT_*` variable rather than the command
/// line, its message names the flag (`invalid value 'abc' for '--memory <MB>'`), which the user
/// never typed; this is that message naming the variable instead. `None` when the flag was typed.
pub fn blame_environment(error: &clap::Error, args: &[String]) -> Option<String> {
    use clap::error::ErrorKind;
    use clap::error::{ContextKind, ContextValue};
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = arg.split_whitespace().next()?;
    let typed = args
        .iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if typed {
        return None;
    }
    let command = Cli::command();
    let long = flag.strip_prefix("--")?;
    let variable = std::iter::once(&command)
        .chain(command.get_subcommands())
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())?
        .to_string_lossy()
        .into_owned();
    std::env::var_os(&variable)?;
    let rendered = error.to_string();
    Some(rendered.replacen(
        &format!("for '{arg}'"),
        &format!("for {variable} (the environment variable of {flag})"),
        1,
    ))
}

/// The options that take a value and that a user may write before the subcommand, as with the
/// AWS CLI (`lambda-rt --region eu-west-1 status`). `-v`, `-q` and `--output` are global already.
const LEADING_OPTIONS: [&str; 5] = [
    "--region",
    "--profile",
    "--endpoint-url",
    "--max-attempts",
    "--read-timeout",
];

/// Moves [`LEADING_OPTIONS`] written before the subcommand to right after it, where clap looks
/// for them (with the global `-v`, `-q` and `--output` among them, which clap takes anywhere):
/// each subcommand declares only the AWS options it uses, so one that takes none (`init`) still
/// refuses them with clap's usual message. Anything else is left as it is.
fn options_after_the_subcommand(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut moved = Vec::new();
    let mut index = 1;
    while let Some(arg) = args.get(index).and_then(|a| a.to_str()) {
        let name = arg.split_once('=').map_or(arg, |(name, _)| name);
        let takes_value = LEADING_OPTIONS.contains(&name) || name == "--output";
        let is_flag = matches!(arg, "--verbose" | "--quiet")
            || (arg.len() > 1 && arg.starts_with('-') && arg[1..].chars().all(|c| c == 'v'))
            || arg == "-q";
        if !takes_value && !is_flag {
            break;
        }
        let takes_next = takes_value && !arg.contains('=') && index + 1 < args.len();
        let end = if takes_next { index + 2 } else { index + 1 };
        moved.extend_from_slice(&args[index..end]);
        index = end;
    }
    if moved.is_empty() || index >= args.len() {
        return args;
    }
    let mut reordered = vec![args[0].clone(), args[index].clone()];
    reordered.extend(moved);
    reordered.extend_from_slice(&args[index + 1..]);
    reordered
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
  lambda-rt update --dry-run --output json
  lambda-rt update --watch            # then deploys each save until Ctrl-C")]
    Update(UpdateArgs),
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
  lambda-rt serve --port 0 --concurrency 4
  lambda-rt serve --only report        # in a project of several: one of them (default: all)")]
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
    /// Print lambda-rt's man page (roff), generated from this command line
    #[command(after_help = "Examples:
  lambda-rt man > ~/.local/share/man/man1/lambda-rt.1     # then: man lambda-rt
  lambda-rt man | man -l -")]
    Man,
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
            Command::Man => "man",
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
            Command::Create(args)
            | Command::Update(UpdateArgs {
                deploy: args,
                watch: _,
            }) => {
                input.deployed(&args.function);
                input.staging = args.staging.clone();
                input.aws = args.aws.clone();
            }
            Command::Invoke(args) => {
                input.local(&args.settings);
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
                input.local(&args.settings);
                input.aws.region = args.region.clone();
            }
            Command::Check(args) => input.local(&args.settings),
            Command::Status(args) => {
                input.deployed(&args.function);
                input.aws = args.aws.clone();
            }
            Command::Logs(args) => input.function(&args.function),
            Command::Versions(args) => input.function(&args.function),
            Command::Rollback(args) => input.function(&args.function),
            Command::Completions(_) | Command::Man => {}
        }
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
