//! `serve` is bounded (issue 26): slow and idle connections are closed after the header timeout,
//! open connections are capped, invocations beyond the running and queued ones get 429, and the
//! server's memory stays under the bound the README documents while under all of it at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The README's bound for serve's own memory with the default --concurrency 1 and --max-queue 10.
const DOCUMENTED_PEAK_MB: u64 = 120;

const HANDLER: &str = "slow_handler () {\n  sleep 0.3\n  echo done\n}\n";

/// `serve --port 0` in a scratch project; returns the process and its host:port.
fn start(extra: &[&str]) -> (Spawned, Project, String) {
    require_runtime_tools();
    let project = Project::new().with("function/bounds.sh", HANDLER);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-rt"))
        .current_dir(project.path())
        .args(["serve", "--port", "0", "--handler", "bounds.slow_handler"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    let address = url.trim_start_matches("http://").to_string();
    (Spawned::new(child), project, address)
}

/// A connection that sent part of a request head and then nothing (`partial`), or nothing at all.
fn stalled_connection(address: &str, partial: bool) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    if partial {
        stream
            .write_all(b"POST /2015-03-31/functions/bash-runtime/invocations HTTP/1.1\r\nHost: 127")
            .unwrap();
    }
    stream
}

/// One Event invocation with `body`, on its own connection: the HTTP status.
fn send_event(address: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST /2015-03-31/functions/bash-runtime/invocations HTTP/1.1\r\nHost: {address}\r\n\
         X-Amz-Invocation-Type: Event\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
}

/// The peak resident memory of process `pid`, in MB.
fn peak_memory_mb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024
}

/// Sockets process `pid` holds open.
fn open_sockets(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Whether the server closed `stream` (EOF or reset) within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 512];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            // A 408 or similar answer before the close is fine too; keep reading to the end.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn fifty_slow_connections_and_a_hundred_big_events_stay_within_bounds() {
    let (server, _project, address) = start(&["--header-timeout", "0.5"]);
    let mut stalled: Vec<TcpStream> = (0..50)
        .map(|i| stalled_connection(&address, i % 2 == 0))
        .collect();

    // 100 events of 5 MB at once, each on its own connection, while the 50 stall.
    let event = format!("{{\"blob\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let event = std::sync::Arc::new(event.into_bytes());
    let senders: Vec<_> = (0..100)
        .map(|_| {
            let (address, event) = (address.clone(), event.clone());
            std::thread::spawn(move || send_event(&address, &event))
        })
        .collect();
    let statuses: Vec<u16> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(accepted + throttled, 100, "{statuses:?}");
    // One running and ten queued at a time; a few more as the queue drains while they arrive.
    assert!(accepted >= 11, "{statuses:?}");
    assert!(throttled > 0, "nothing was throttled: {statuses:?}");

    // The stalled connections are closed after the header timeout (well within 10 s).
    let started = Instant::now();
    for stream in &mut stalled {
        assert!(
            closed_within(stream, Duration::from_secs(10)),
            "a stalled connection was still open after {:?}",
            started.elapsed()
        );
    }
    let peak = peak_memory_mb(server.pid());
    assert!(
        peak < DOCUMENTED_PEAK_MB,
        "serve peaked at {peak} MB, over the documented {DOCUMENTED_PEAK_MB} MB"
    );
}

#[test]
fn open_connections_are_capped() {
    let (server, _project, address) = start(&["--max-connections", "3", "--header-timeout", "30"]);
    // The listener, the Runtime API's listener and whatever else serve holds before any client.
    let before = open_sockets(server.pid());
    let _stalled: Vec<TcpStream> = (0..10)
        .map(|_| stalled_connection(&address, true))
        .collect();
    // Accepting is immediate; give it a moment to take all it may.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut most = 0;
    while Instant::now() < deadline {
        most = most.max(open_sockets(server.pid()).saturating_sub(before));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        most, 3,
        "serve held {most} client connections with --max-connections 3"
    );
}

#[test]
fn bounds_that_cannot_work_are_refused() {
    let project = Project::new();
    for (flag, value, needle) in [
        ("--max-connections", "0", "from 1 to 4096"),
        ("--header-timeout", "0", "above 0"),
        ("--header-timeout", "soon", "number of seconds"),
        ("--max-queue", "many", "--max-queue"),
    ] {
        let out = lambda_rt(project.path(), &[], &["serve", "--port", "0", flag, value]);
        assert_exit(&out, 2);
        assert_stderr_has(&out, needle);
    }
}
