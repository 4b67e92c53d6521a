//! Flags of `lambda-rt delete`.

use clap::Args;

use super::common::{AwsArgs, LayerArgs, ProjectArgs, RoleArgs, StagingArgs};

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
