//! A minimal compiled Lambda runtime client for the benchmarks: it answers every event with the
//! event itself, over one keep-alive HTTP/1.1 connection, using only the standard library. Used as
//! `runtime/bootstrap` so `serve`'s own overhead per invoke is visible (the bash runtime starts
//! curl twice per event, which dwarfs it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API is not set");
    let stream = TcpStream::connect(&api).expect("cannot reach the Runtime API");
    stream.set_nodelay(true).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        write!(
            writer,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n"
        )
        .unwrap();
        let (headers, event) = read_response(&mut reader);
        let request_id = headers
            .iter()
            .find_map(|(k, v)| {
                k.eq_ignore_ascii_case("lambda-runtime-aws-request-id")
                    .then_some(v.clone())
            })
            .expect("no request id");
        write!(
            writer,
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {api}\r\n\
             Content-Length: {}\r\n\r\n",
            event.len()
        )
        .unwrap();
        writer.write_all(&event).unwrap();
        read_response(&mut reader);
    }
}

/// Reads one response with a Content-Length body (what the emulator sends).
fn read_response(reader: &mut BufReader<TcpStream>) -> (Vec<(String, String)>, Vec<u8>) {
    let mut headers = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            std::process::exit(0);
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find_map(|(k, v)| {
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (headers, body)
}
