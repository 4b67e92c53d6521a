//! `lambda-rt completions SHELL`: a completion script generated from the command-line definition
//! itself (clap_complete), so it cannot fall behind the flags.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::completions::CompletionsArgs;
use crate::cli::Cli;

pub fn run(args: &CompletionsArgs) -> Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "lambda-rt",
        &mut std::io::stdout(),
    );
    Ok(crate::error::exit_code::SUCCESS)
}
