//! lambda-rt as a library: [`run`] builds the shared context once and holds the only dispatch on the
//! subcommand; everything else lives in the modules below (see README "Architecture").

pub mod aws;
pub mod cli;
pub mod commands;
pub mod deno;
pub mod elf;
pub mod emulator;
pub mod function_url;
pub mod invocation;
pub mod output;
pub mod package;
pub mod project;
pub mod settings;
pub mod template;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::output::Ui;

/// Process exit codes (documented in README).
pub mod exit_code {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    /// Bad command line or settings: nothing was changed.
    pub const USAGE: i32 = 2;
    /// The command worked but the invoked function reported an error.
    pub const FUNCTION_ERROR: i32 = 3;
    /// The function exists but lambda-rt did not create it: refused, nothing changed (`--adopt`).
    pub const NOT_OURS: i32 = 4;
    /// An Invoke's answer was lost after it was sent: the function may or may not have run.
    pub const INVOKE_OUTCOME_UNKNOWN: i32 = 5;
    /// `status`: the function differs from the project (or does not exist).
    pub const DRIFTED: i32 = 6;
    /// Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: i32 = 130;
}

/// The exit code of a failed command and its name in a JSON error document (`error.code`).
pub fn failure_kind(error: &anyhow::Error) -> (i32, &'static str) {
    let any = |test: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool| error.chain().any(test);
    if any(&|c| c.is::<UsageError>()) {
        (exit_code::USAGE, "usage")
    } else if any(&|c| c.is::<commands::NotOurs>()) {
        (exit_code::NOT_OURS, "not_ours")
    } else if any(&|c| c.is::<aws::lambda::InvokeOutcomeUnknown>()) {
        (exit_code::INVOKE_OUTCOME_UNKNOWN, "invoke_outcome_unknown")
    } else if any(&|c| c.is::<Interrupted>() || c.is::<InterruptedRemote>()) {
        (exit_code::INTERRUPTED, "interrupted")
    } else {
        (exit_code::FAILURE, "failure")
    }
}

/// An error in what the user asked for (flags, settings, project files), found before any change
/// was made; `main` exits with [`exit_code::USAGE`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The command was stopped by SIGINT or SIGTERM after cleaning up what it had started.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0}; everything lambda-rt started has been stopped")]
pub struct Interrupted(pub &'static str);

/// A command that changes AWS resources was stopped by SIGINT or SIGTERM between (or during) API
/// calls. Every command converges, so running it again finishes the job.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted by {0}: the AWS call in flight may or may not have been applied; run the same \
     command again to finish (it picks up from what exists)"
)]
pub struct InterruptedRemote(pub &'static str);

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM, naming the signal.
pub async fn shutdown_signal() -> &'static str {
    Signals::install().recv().await
}

/// SIGINT and SIGTERM, caught from the moment [`Signals::install`] returns: a server installs
/// them before it says it is ready, so that a signal sent right after never kills it outright.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            interrupt: signal(SignalKind::interrupt()).expect("failed to install a SIGINT handler"),
            terminate: signal(SignalKind::terminate())
                .expect("failed to install a SIGTERM handler"),
        }
    }

    /// Resolves when either signal arrives, naming it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32> {
    let ui = Ui::new(cli.global.output, cli.global.quiet);
    let input = cli.command.settings_input(&cli.from_env);
    match &cli.command {
        Command::Init(args) => commands::init::run(args, &ui),
        Command::Create(args) => stop_on_signal(commands::create::run(&input, args, &ui)).await,
        Command::Update(args) => stop_on_signal(commands::update::run(&input, args, &ui)).await,
        // The local runtime and server stop their child processes on a signal themselves.
        Command::Invoke(args) if args.local => commands::invoke::run(&input, args, &ui).await,
        Command::Invoke(args) => stop_on_signal(commands::invoke::run(&input, args, &ui)).await,
        Command::PublishLayer(args) => {
            stop_on_signal(commands::publish_layer::run(&input, args, &ui)).await
        }
        Command::Delete(args) => stop_on_signal(commands::delete::run(&input, args, &ui)).await,
        Command::Serve(args) => commands::serve::run(&input, args, &ui).await,
        Command::Check(args) => commands::check::run(&input, args, &ui).await,
        Command::Logs(args) => commands::logs::run(&input, args, &ui).await,
        Command::Status(args) => stop_on_signal(commands::status::run(&input, args, &ui)).await,
        Command::Versions(args) => {
            stop_on_signal(commands::versions::run_versions(&input, args, &ui)).await
        }
        Command::Rollback(args) => {
            stop_on_signal(commands::versions::run_rollback(&input, args, &ui)).await
        }
        Command::Completions(args) => commands::completions::run(args),
    }
}

/// Runs a command that talks to AWS until it finishes or SIGINT/SIGTERM arrives, whichever is
/// first. Stopping promptly is safe because every command converges on the next run.
async fn stop_on_signal(command: impl std::future::Future<Output = Result<i32>>) -> Result<i32> {
    tokio::select! {
        result = command => result,
        signal = shutdown_signal() => Err(InterruptedRemote(signal).into()),
    }
}
