//! `lambda-rt man`: the man page, generated from the command-line definition itself
//! (clap_mangen), so it cannot fall behind the flags; each command's `--help` has the details.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

pub fn run() -> Result<i32> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    std::io::Write::write_all(&mut std::io::stdout(), &page)?;
    Ok(crate::error::exit_code::SUCCESS)
}
