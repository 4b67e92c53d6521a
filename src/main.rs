//! The `lambda-rt` binary: parse the command line, set up logging, run, print the error chain once,
//! and turn the outcome into an exit code.

use lambda_rt::aws::lambda::InvokeOutcomeUnknown;
use lambda_rt::cli::Cli;
use lambda_rt::commands::NotOurs;
use lambda_rt::{exit_code, Interrupted, InterruptedRemote, UsageError};
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = Cli::parse_args();
    init_logging(cli.global.verbose, cli.global.quiet);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("failed to start the async runtime");
    let code = match runtime.block_on(lambda_rt::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.chain().any(|cause| cause.is::<UsageError>()) {
                exit_code::USAGE
            } else if error.chain().any(|cause| cause.is::<NotOurs>()) {
                exit_code::NOT_OURS
            } else if error
                .chain()
                .any(|cause| cause.is::<InvokeOutcomeUnknown>())
            {
                exit_code::INVOKE_OUTCOME_UNKNOWN
            } else if error
                .chain()
                .any(|cause| cause.is::<Interrupted>() || cause.is::<InterruptedRemote>())
            {
                exit_code::INTERRUPTED
            } else {
                exit_code::FAILURE
            }
        }
    };
    // Do not wait for lingering SDK background tasks (e.g. idle connections) on the way out.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Progress goes to stderr through `tracing`: by default only lambda-rt's own lines (the AWS SDK's
/// warnings, e.g. about instance metadata, would only bury lambda-rt's own message); -v adds
/// lambda-rt's debug lines (every AWS call with its duration), -vv the SDK's debug log too. Colour
/// only on a terminal, and never with NO_COLOR set.
fn init_logging(verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    let filter = match (quiet, verbose) {
        (true, _) => "off,lambda_rt=error",
        (false, 0) => "off,lambda_rt=info",
        (false, 1) => "off,lambda_rt=debug",
        (false, _) => "info,lambda_rt=debug,aws_smithy_runtime=debug,aws_config=debug",
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .with_target(verbose > 1)
        .with_level(verbose > 0)
        .init();
}
