//! Flags of `lambda-rt versions` and `lambda-rt rollback`.

use clap::Args;

use super::common::FunctionArgs;

/// Flags of `versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
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
    pub function: FunctionArgs,
}
