//! Flags of `lambda-rt status`.

use clap::Args;

use super::common::{AwsArgs, DeployedArgs};

/// Flags of `status`: the same settings `update` applies, to compare with.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub function: DeployedArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}
