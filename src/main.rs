//! The `lambda-rt` binary: parse the command line, set up logging, run, print the error chain once,
//! and turn the outcome into an exit code.

use lambda_rt::cli::{Cli, OutputFormat};
use lambda_rt::error::exit_code;
use lambda_rt::output;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = match Cli::try_parse_args() {
        Ok(cli) => cli,
        Err(error) => exit_on_bad_arguments(error),
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    let json = cli.global.output == OutputFormat::Json;
    let command = cli.command.name();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("failed to start the async runtime");
    let code = match runtime.block_on(lambda_rt::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            let text = format!("{error:#}");
            eprintln!("error: {text}");
            let (code, name) = lambda_rt::error::failure_kind(&error);
            if json {
                let _ = output::print_json(&output::error_json(command, name, code, &text));
            }
            code
        }
    };
    // Do not wait for lingering SDK background tasks (e.g. idle connections) on the way out.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Bad command-line arguments: clap's message (and with `--output json`, a JSON error document
/// too), exit 2. `--help` and `--version` print as usual.
fn exit_on_bad_arguments(error: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json")
        || std::env::var("LAMBDA_RT_OUTPUT").is_ok_and(|v| v == "json");
    if json {
        let command = args.get(1).map(String::as_str).unwrap_or("lambda-rt");
        let first = error.to_string();
        let message = first
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        let hint =
            format!("{message}\nhint: run `lambda-rt {command} --help` for the flags it takes");
        let _ = output::print_json(&output::error_json(
            command,
            "usage",
            exit_code::USAGE,
            &hint,
        ));
    }
    let _ = error.print();
    std::process::exit(exit_code::USAGE)
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
