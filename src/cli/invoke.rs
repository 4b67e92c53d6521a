//! Flags of `lambda-rt invoke`.

use std::path::PathBuf;

use clap::Args;

use super::common::{parse_seconds, AwsArgs, LocalArgs};

/// Flags of `invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Event as JSON [default: {}]
    #[arg(long, conflicts_with_all = ["payload_file", "schedule"], value_name = "JSON")]
    pub payload: Option<String>,

    /// Send the payload of this schedule of lambda-rt.toml ([schedules.NAME]), as its runs do
    #[arg(long, conflicts_with = "payload_file", value_name = "NAME")]
    pub schedule: Option<String>,

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
    #[arg(long, value_name = "VERSION|ALIAS", value_parser = parse_qualifier)]
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

/// A version number or alias name as Invoke takes it: 1 to 128 of letters, digits, `$`, `_`, `-`.
fn parse_qualifier(text: &str) -> Result<String, String> {
    let valid = (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '_' | '-'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(
            "a version number or an alias name: 1 to 128 letters, digits, `$`, `_` or `-` (see \
             `lambda-rt versions`)"
                .to_string(),
        )
    }
}
