//! The realism proxy of the test suite (`tests/common/proxy/`) as a standalone program, for the
//! latency benchmark and for trying lambda-rt by hand: `realism-proxy --upstream PORT [--port PORT]
//! [--latency-ms 40] [--pending-ms 2000] [--in-progress-ms 1500] [--iam-propagation-ms 4000]
//! [--one-item-pages] [--lambda-rate N]`. Prints its URL on the first line of stdout and serves until killed;
//! `GET /__proxy/counts` gives the request counts.

#[path = "../tests/common/proxy/mod.rs"]
mod proxy;

use std::time::Duration;

fn main() {
    let mut upstream = None;
    let mut port = 0;
    let mut realism = proxy::Realism::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut number = || -> u64 {
            let value = args
                .next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            value
                .parse()
                .unwrap_or_else(|_| usage(&format!("{flag} needs a whole number")))
        };
        let mut millis = || Duration::from_millis(number());
        match flag.as_str() {
            "--upstream" => {
                let port = number();
                upstream = Some(u16::try_from(port).unwrap_or_else(|_| usage("bad port")))
            }
            "--port" => {
                port = u16::try_from(number()).unwrap_or_else(|_| usage("bad port"));
            }
            "--latency-ms" => realism.latency = millis(),
            "--pending-ms" => realism.pending = millis(),
            "--in-progress-ms" => realism.in_progress = millis(),
            "--iam-propagation-ms" => realism.iam_propagation = millis(),
            "--invoke-delay-ms" => realism.invoke_delay = millis(),
            "--one-item-pages" => realism.one_item_pages = true,
            "--lambda-rate" => realism.lambda_requests_per_second = Some(number() as f64),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage("--upstream PORT is required"));
    let proxy = proxy::AwsProxy::start_on(port, upstream, realism);
    println!("{}", proxy.url);
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("realism-proxy: {problem}");
    eprintln!(
        "usage: realism-proxy --upstream PORT [--port PORT] [--latency-ms N] [--pending-ms N] \
         [--in-progress-ms N] [--iam-propagation-ms N] [--invoke-delay-ms N] [--one-item-pages] \
         [--lambda-rate N]"
    );
    std::process::exit(2)
}
