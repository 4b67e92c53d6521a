//! The `lambda-rt` binary: parse the command line, set up logging, run, print the error chain once,
//! and turn the outcome into an exit code.

use lambda_rt::cli::{Cli, OutputFormat};
use lambda_rt::error::exit_code;
use lambda_rt::output;
use tracing_subscriber::EnvFilter;

fn main() {
    end_quietly_on_a_closed_pipe();
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
        Err(error) if is_closed_pipe(&error) => exit_code::SUCCESS,
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

/// Writing into a pipe whose reader has gone (`lambda-rt completions zsh | head -1`,
/// `lambda-rt logs -f | grep -m1 ERROR`) ends the program quietly with exit 0, as ripgrep does:
/// the reader has what it wanted. Rust ignores SIGPIPE, so such a write fails with EPIPE and
/// `println!` (or clap_complete's writer) panics; that one panic exits without a message. Output
/// comes after the work it reports, so nothing is cut short in AWS. Every other panic is reported
/// as before.
fn end_quietly_on_a_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") && stdout_reader_gone() {
            std::process::exit(exit_code::SUCCESS);
        }
        report(info);
    }));
}

/// An error that is only stdout's reader going away (a command that writes with `write!` and
/// returns the error instead of panicking). A broken pipe elsewhere (a runtime's stdin, a socket)
/// is a real failure, so stdout itself must be the closed pipe.
fn is_closed_pipe(error: &anyhow::Error) -> bool {
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    });
    broken_pipe && stdout_reader_gone()
}

/// Whether stdout is a pipe with no reader left: poll reports POLLERR on such a write end.
fn stdout_reader_gone() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLOUT)];
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0]
            .revents()
            .is_some_and(|events| events.contains(PollFlags::POLLERR))
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
    // Lossy: an argument that is not UTF-8 is itself the error being reported (clap refuses it).
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let from_environment = lambda_rt::cli::blame_environment(&error, &args);
    let rendered = from_environment
        .clone()
        .unwrap_or_else(|| error.to_string());
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json")
        || std::env::var("LAMBDA_RT_OUTPUT").is_ok_and(|v| v == "json");
    if json {
        let command = args.get(1).map(String::as_str).unwrap_or("lambda-rt");
        let message = rendered
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
    match from_environment {
        Some(text) => eprint!("{text}"),
        None => drop(error.print()),
    }
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
