//! Flags of `lambda-rt invoke`.

use std::path::PathBuf;

use clap::Args;

use super::common::{parse_seconds, AwsArgs, LocalArgs};

/// Flags of `invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Event as JSON [default: {}]
    #[arg(long, conflicts_with = "payload_file", value_name = "JSON")]
    pub payload: Option<String>,

    /// Read the event from this file ('-' for stdin)
    #[arg(long, value_name = "PATH")]
    pub payload_file: Option<PathBuf>,

    /// Write the response to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the function's log tail on stderr
    #[arg(long)]
    pub log: bool,

    /// Run the function here under lambda-rt's Runtime API emulator instead of in AWS
    #[arg(long)]
    pub local: bool,

    /// Invoke this published version or alias instead of $LATEST
    #[arg(long, value_name = "VERSION|ALIAS")]
    pub qualifier: Option<String>,

    /// Seconds to wait for the function's answer; the Invoke is never sent twice [default: 960,
    /// Lambda's longest timeout plus a minute]
    #[arg(long, env = "LAMBDA_RT_INVOKE_TIMEOUT", value_name = "SECONDS", value_parser = parse_seconds)]
    pub invoke_timeout: Option<f64>,

    #[command(flatten)]
    pub settings: LocalArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}
