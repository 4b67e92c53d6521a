//! Flags of `lambda-rt status`.

use clap::Args;

use super::common::{AwsArgs, ConfigArgs, DenoArgs, LayerArgs, ProjectArgs, RoleArgs};

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
