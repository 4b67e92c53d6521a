//! Flags of `lambda-rt logs`.

use clap::Args;

use super::common::FunctionArgs;

/// Flags of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// From how long ago (10m, 1h, 2d) or since when (RFC 3339, e.g. 2026-12-01T09:00:00Z)
    #[arg(long, default_value = "10m", value_name = "AGE|TIME")]
    pub since: String,

    /// Keep printing new lines as they arrive, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Only lines matching this CloudWatch Logs filter pattern (e.g. ERROR, or "two words")
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,

    /// Only the lines of this invocation
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,

    #[command(flatten)]
    pub function: FunctionArgs,
}
