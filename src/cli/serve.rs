//! Flags of `lambda-rt serve`.

use clap::Args;

use super::common::LocalArgs;

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback exposes the function to the network (and then
    /// requests may name any host)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 9001)]
    pub port: u16,

    /// Also serve the function as a Function URL would, on this port: any HTTP request becomes
    /// the Function URL event, and the result the HTTP response (0 picks a free port; one
    /// function, so a project of several names it with --only)
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,

    /// Most runtime processes running at once (per function), each serving one event at a time
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,

    /// Most invocations waiting for a runtime (per function); beyond them a request gets 429
    /// TooManyRequestsException, as Lambda throttles (0: refuse whenever every runtime is busy)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_queue: usize,

    /// Most open connections per listener; more clients wait until one closes
    #[arg(long, default_value_t = crate::emulator::server::DEFAULT_MAX_CONNECTIONS, value_name = "N", value_parser = parse_connections)]
    pub max_connections: usize,

    /// Seconds a client may take to send a request's line and headers before its connection is
    /// closed
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = parse_seconds)]
    pub header_timeout: std::time::Duration,

    /// Rebuild the environment when runtime/ or function/ change
    #[arg(long)]
    pub watch: bool,

    /// Also answer requests from web pages of this origin, e.g. http://localhost:3000 (`*`: any);
    /// others are refused, so that no page open in a browser can run the function
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,

    /// Region the runtime sees as AWS_REGION [default: AWS_REGION, else us-east-1]
    #[arg(long, env = "LAMBDA_RT_REGION")]
    pub region: Option<String>,

    #[command(flatten)]
    pub settings: LocalArgs,
}

fn parse_seconds(value: &str) -> Result<std::time::Duration, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 3600.0 => {
            Ok(std::time::Duration::from_secs_f64(seconds))
        }
        _ => Err("expected a number of seconds above 0 and at most 3600, e.g. 10 or 0.5".into()),
    }
}

fn parse_connections(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=4096).contains(&n) => Ok(n),
        _ => Err("expected a whole number of connections from 1 to 4096".into()),
    }
}
