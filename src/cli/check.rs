//! Flags of `lambda-rt check`.

use clap::Args;

use super::common::LocalArgs;

/// Flags of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run this executable as the bootstrap instead of runtime/bootstrap (e.g. a build output)
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<std::path::PathBuf>,

    /// For a runtime that follows neither the bash nor the Deno handler convention: a handler
    /// that returns its event unchanged, for the round-trip cases
    #[arg(long, value_name = "HANDLER")]
    pub echo_handler: Option<String>,

    /// For such a runtime: a handler that always fails, for the error-path cases
    #[arg(long, value_name = "HANDLER")]
    pub error_handler: Option<String>,

    /// How long each invocation of a case may take (the timeout case always uses 1 s)
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub case_timeout: u64,

    #[command(flatten)]
    pub settings: LocalArgs,
}
