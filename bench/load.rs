//! Load generator for the warm `serve` benchmark: `bench-load URL FUNCTION N CONCURRENCY` sends N
//! invokes over CONCURRENCY keep-alive connections and prints one JSON line with the latency
//! percentiles (microseconds) and invokes per second. Standard library only, so the client adds
//! as little as possible to what is measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: bench-load HOST:PORT FUNCTION N CONCURRENCY");
        std::process::exit(2);
    }
    let address = args[0].trim_start_matches("http://").to_string();
    let function = args[1].clone();
    let total: usize = args[2].parse().unwrap();
    let concurrency: usize = args[3].parse().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (address, function, next) = (address.clone(), function.clone(), next.clone());
            std::thread::spawn(move || {
                let stream = TcpStream::connect(&address).unwrap();
                stream.set_nodelay(true).ok();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::SeqCst) < total {
                    let body = br#"{"bench":true}"#;
                    let sent = Instant::now();
                    write!(
                        writer,
                        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\n\
                         Host: {address}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    writer.write_all(body).unwrap();
                    let status = read_response(&mut reader);
                    assert_eq!(status, 200, "invoke failed");
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{{\"invokes\":{},\"p50_us\":{},\"p99_us\":{},\"per_second\":{:.1}}}",
        latencies.len(),
        percentile(0.50),
        percentile(0.99),
        latencies.len() as f64 / seconds
    );
}

/// Reads one response (Content-Length framed) and returns its status code.
fn read_response(reader: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    status
}
