//! lambda-rt as a library: the modules (see README "Architecture"), and [`run`], which builds the
//! run's context once and holds the only dispatch on the subcommand.

pub mod architecture;
pub mod aws;
pub mod binaries;
pub mod cli;
pub mod commands;
pub mod deno;
pub mod elf;
pub mod emulator;
pub mod error;
pub mod function_url;
pub mod handler_check;
pub mod invocation;
pub mod output;
pub mod package;
pub mod project;
pub mod schedule_expression;
pub mod settings;
pub mod share;
pub mod signals;
pub mod template;
pub mod watch;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::commands::context::Context;
use crate::output::Ui;
use crate::signals::stop_on_signal;

/// Runs one parsed command line and returns the process exit code: the settings are resolved once
/// into the run's [`Context`], then the command runs in it.
pub async fn run(cli: Cli) -> Result<i32> {
    let ui = Ui::new(cli.global.output, cli.global.quiet);
    let ctx = match &cli.command {
        Command::Init(args) => match &args.from_function {
            Some(function) => {
                return stop_on_signal(commands::import::run(args, function, ui)).await
            }
            None => return commands::init::run(args, &ui),
        },
        Command::Completions(args) => return commands::completions::run(args),
        Command::Man => return commands::man::run(),
        command => {
            let input = command.settings_input(&cli.from_env);
            let mut all = settings::functions::resolve_project(&input)?;
            if all.is_empty() {
                return Err(crate::error::UsageError(
                    "no function to act on: --only picked none".into(),
                )
                .into());
            }
            // One server runs every function of the project, each invoked by its name.
            if let Command::Serve(args) = command {
                return commands::serve::run(all, &ui, args).await;
            }
            match all.len() {
                1 => Context::new(all.remove(0), ui),
                _ if commands::many::runs_over_many(command) => {
                    return stop_on_signal(commands::many::run(command, all, ui)).await
                }
                _ => return Err(commands::many::one_function_only(command, &all)),
            }
        }
    };
    let ctx = &ctx;
    match &cli.command {
        Command::Create(args) => stop_on_signal(commands::create::run(ctx, args)).await,
        // The watch stops on a signal itself: between deploys it is not an interruption.
        Command::Update(args) if args.watch => {
            let input = cli.command.settings_input(&cli.from_env);
            commands::watch::run(ctx, args, &input).await
        }
        Command::Update(args) => stop_on_signal(commands::update::run(ctx, &args.deploy)).await,
        // The local runtime and server stop their child processes on a signal themselves.
        Command::Invoke(args) if args.local => commands::invoke::run(ctx, args).await,
        Command::Invoke(args) => stop_on_signal(commands::invoke::run(ctx, args)).await,
        Command::PublishLayer(args) => {
            stop_on_signal(commands::publish_layer::run(ctx, args)).await
        }
        Command::Delete(args) => stop_on_signal(commands::delete::run(ctx, args)).await,
        Command::Check(args) => commands::check::run(ctx, args).await,
        Command::Logs(args) => commands::logs::run(ctx, args).await,
        Command::Status(args) => stop_on_signal(commands::status::run(ctx, args)).await,
        Command::Versions(args) => {
            stop_on_signal(commands::versions::run_versions(ctx, args)).await
        }
        Command::Rollback(args) => {
            stop_on_signal(commands::versions::run_rollback(ctx, args)).await
        }
        Command::Init(_) | Command::Completions(_) | Command::Man | Command::Serve(_) => {
            unreachable!("handled above")
        }
    }
}
