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
    /// the Function URL event, and the result the HTTP response (0 picks a free port)
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,

    /// Most runtime processes running at once, each serving one event at a time
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,

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
