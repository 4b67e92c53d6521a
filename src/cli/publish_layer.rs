//! Flags of `lambda-rt publish-layer`.

use clap::Args;

use super::common::{ArchitectureArgs, AwsArgs, DenoArgs, LayerArgs, ProjectArgs, StagingArgs};
use crate::share::SharePrincipal;

/// Flags of `publish-layer`.
#[derive(Debug, Args)]
pub struct PublishLayerArgs {
    /// Only publish the layer; leave the function as it is (it need not exist)
    #[arg(long)]
    pub no_attach: bool,

    /// Put bootstrap back into the function's code, then remove the layer from the function
    #[arg(long, conflicts_with_all = ["no_attach", "share_with", "public", "keep"])]
    pub detach: bool,

    /// Let an account id, every account (*), or an organization (o-...) use the version
    /// (repeatable)
    #[arg(long, value_name = "PRINCIPAL", value_parser = SharePrincipal::parse)]
    pub share_with: Vec<SharePrincipal>,

    /// Confirm that `--share-with '*'` may make the layer public (every AWS account can use and
    /// read it); without it, sharing with `*` is refused
    #[arg(long, requires = "share_with")]
    pub public: bool,

    /// Delete versions older than the newest N (never the attached one)
    #[arg(long, value_name = "N", value_parser = parse_keep)]
    pub keep: Option<u32>,

    /// Print what would change, making only read calls
    #[arg(long)]
    pub dry_run: bool,

    /// Take over a same-named function lambda-rt did not create (tags it, then attaches)
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub layer: LayerArgs,
    #[command(flatten)]
    pub architecture: ArchitectureArgs,
    #[command(flatten)]
    pub deno: DenoArgs,
    #[command(flatten)]
    pub staging: StagingArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_keep(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(0) => Err("keep at least 1 version: the newest one is the one in use".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of versions, at least 1".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_must_be_positive() {
        assert_eq!(parse_keep("3"), Ok(3));
        assert!(parse_keep("0").unwrap_err().contains("at least 1"));
        assert!(parse_keep("-1").is_err());
    }
}
