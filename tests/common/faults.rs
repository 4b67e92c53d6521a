//! A fault-injecting HTTP proxy between lambda-rt and moto_server, for the reliability tests.
//!
//! Every request is forwarded to moto unless a fault is chosen for it, from a seeded generator
//! (the same seed gives the same sequence of decisions) or by a rule. Faults:
//! - `ServerError` / `Unavailable`: HTTP 500 / 503 with the service's error shape;
//! - `Throttle`: IAM's `Throttling` XML (HTTP 400), Lambda's `TooManyRequestsException` JSON (HTTP
//!   429), CloudWatch Logs' `ThrottlingException` JSON (HTTP 400);
//! - `ResetBefore`: the connection is reset before the request reaches moto (not applied);
//! - `ResetAfter`: the request is applied by moto, then the connection is reset (answer lost);
//! - `Delay`: the request is applied, and the answer is held past the client's read timeout.
//!
//! A rule can also *hold* a matching request (not forwarding it) so a test can signal lambda-rt at
//! a precise step. Binds 127.0.0.1 only; every wait is bounded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    ServerError,
    Unavailable,
    Throttle,
    ResetBefore,
    ResetAfter,
    Delay,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::ServerError,
        Fault::Unavailable,
        Fault::Throttle,
        Fault::ResetBefore,
        Fault::ResetAfter,
        Fault::Delay,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Fault::ServerError => "HTTP 500",
            Fault::Unavailable => "HTTP 503",
            Fault::Throttle => "throttling (service's own error shape)",
            Fault::ResetBefore => "connection reset before forwarding",
            Fault::ResetAfter => "connection reset after forwarding (applied, answer lost)",
            Fault::Delay => "answer delayed past the client's read timeout",
        }
    }
}

/// What a request is, for rules and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub method: String,
    pub path: String,
    /// IAM `Action=`, the Logs `X-Amz-Target` operation, or `METHOD path` for Lambda.
    pub action: String,
    pub service: &'static str,
}

type Matcher = Box<dyn Fn(&RequestInfo) -> bool + Send>;

/// What the proxy does with the next requests.
struct Plan {
    rng: fastrand::Rng,
    rate: f64,
    delay: Duration,
    /// Requests matching this always get this fault.
    always: Option<(Matcher, Fault)>,
    /// The first request matching this is held until [`FaultProxy::release`].
    hold: Option<Matcher>,
}

#[derive(Default)]
struct Shared {
    plan: Option<Plan>,
    requests: u64,
    faults: BTreeMap<Fault, u64>,
    held: bool,
    released: bool,
}

/// The proxy; stops accepting on drop.
pub struct FaultProxy {
    pub url: String,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FaultProxy {
    /// Starts forwarding to `127.0.0.1:upstream_port`, with no faults yet.
    pub fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_shared, accept_stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accept_shared.clone();
                std::thread::spawn(move || serve_connection(stream, upstream_port, &shared));
            }
        });
        FaultProxy {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            stop,
            port,
        }
    }

    /// Faults `rate` of the requests, choosing the kind uniformly, from a generator seeded with
    /// `seed`. `delay` is how long a `Delay` answer is held (make it exceed `--read-timeout`).
    pub fn random_faults(&self, seed: u64, rate: f64, delay: Duration) {
        self.set_plan(Plan {
            rng: fastrand::Rng::with_seed(seed),
            rate,
            delay,
            always: None,
            hold: None,
        });
    }

    /// Every request matching `matcher` gets `fault`; the rest pass.
    pub fn always(&self, fault: Fault, matcher: impl Fn(&RequestInfo) -> bool + Send + 'static) {
        self.set_plan(Plan {
            rng: fastrand::Rng::with_seed(0),
            rate: 0.0,
            delay: Duration::from_secs(3),
            always: Some((Box::new(matcher), fault)),
            hold: None,
        });
    }

    /// The first request matching `matcher` is held (never forwarded) until [`Self::release`].
    pub fn hold(&self, matcher: impl Fn(&RequestInfo) -> bool + Send + 'static) {
        self.set_plan(Plan {
            rng: fastrand::Rng::with_seed(0),
            rate: 0.0,
            delay: Duration::from_secs(3),
            always: None,
            hold: Some(Box::new(matcher)),
        });
    }

    /// Waits (at most `limit`) until a request is being held.
    pub fn wait_held(&self, limit: Duration) -> bool {
        let (lock, condvar) = &*self.shared;
        let guard = lock.lock().unwrap();
        let (guard, _) = condvar
            .wait_timeout_while(guard, limit, |s| !s.held)
            .unwrap();
        guard.held
    }

    /// Lets a held request go (it is dropped, not forwarded) and stops injecting anything.
    pub fn release(&self) {
        let (lock, condvar) = &*self.shared;
        let mut shared = lock.lock().unwrap();
        shared.released = true;
        shared.plan = None;
        condvar.notify_all();
    }

    /// Stops injecting faults; requests pass through.
    pub fn pass_through(&self) {
        self.shared.0.lock().unwrap().plan = None;
    }

    /// Requests seen and faults injected so far.
    pub fn counts(&self) -> (u64, BTreeMap<Fault, u64>) {
        let shared = self.shared.0.lock().unwrap();
        (shared.requests, shared.faults.clone())
    }

    /// Like `Moto::env`, with the endpoint pointing at the proxy.
    pub fn env(&self, moto_env: &[(String, String)]) -> Vec<(String, String)> {
        moto_env
            .iter()
            .map(|(k, v)| {
                if k == "AWS_ENDPOINT_URL" {
                    (k.clone(), self.url.clone())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    }

    fn set_plan(&self, plan: Plan) {
        let mut shared = self.shared.0.lock().unwrap();
        shared.plan = Some(plan);
        shared.held = false;
        shared.released = false;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.release();
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request as received.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
    info: RequestInfo,
}

enum Decision {
    Forward,
    Fault(Fault, Duration),
    Hold,
}

fn serve_connection(stream: TcpStream, upstream_port: u16, shared: &Arc<(Mutex<Shared>, Condvar)>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let Some(request) = read_request(&mut reader, &mut stream) else {
            return;
        };
        let decision = decide(&request.info, shared);
        match decision {
            Decision::Forward => {
                let Some(response) = forward(&request, upstream_port) else {
                    return;
                };
                if stream.write_all(&response).is_err() {
                    return;
                }
            }
            Decision::Hold => {
                let (lock, condvar) = &**shared;
                let guard = lock.lock().unwrap();
                let _ = condvar
                    .wait_timeout_while(guard, Duration::from_secs(60), |s| !s.released)
                    .unwrap();
                reset(&stream);
                return;
            }
            Decision::Fault(fault, delay) => match fault {
                Fault::ServerError | Fault::Unavailable | Fault::Throttle => {
                    if stream
                        .write_all(&error_response(fault, request.info.service))
                        .is_err()
                    {
                        return;
                    }
                }
                Fault::ResetBefore => {
                    reset(&stream);
                    return;
                }
                Fault::ResetAfter => {
                    let _ = forward(&request, upstream_port);
                    reset(&stream);
                    return;
                }
                Fault::Delay => {
                    let response = forward(&request, upstream_port);
                    std::thread::sleep(delay);
                    if let Some(response) = response {
                        let _ = stream.write_all(&response);
                    }
                    reset(&stream);
                    return;
                }
            },
        }
    }
}

fn decide(info: &RequestInfo, shared: &Arc<(Mutex<Shared>, Condvar)>) -> Decision {
    let (lock, condvar) = &**shared;
    let mut shared = lock.lock().unwrap();
    shared.requests += 1;
    let Some(plan) = shared.plan.as_mut() else {
        return Decision::Forward;
    };
    if let Some(hold) = &plan.hold {
        if hold(info) {
            plan.hold = None;
            shared.held = true;
            condvar.notify_all();
            return Decision::Hold;
        }
    }
    let chosen = match &plan.always {
        Some((matcher, fault)) if matcher(info) => Some(*fault),
        Some(_) => None,
        None => {
            (plan.rng.f64() < plan.rate).then(|| Fault::ALL[plan.rng.usize(..Fault::ALL.len())])
        }
    };
    let delay = plan.delay;
    match chosen {
        Some(fault) => {
            *shared.faults.entry(fault).or_default() += 1;
            Decision::Fault(fault, delay)
        }
        None => Decision::Forward,
    }
}

/// Resets the connection (RST, not FIN): the client sees "connection reset".
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut BufReader<TcpStream>, stream: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let header = |name: &str| {
        head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    let mut parts = head.first()?.split(' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.split('?').next()?.to_string();
    let text = String::from_utf8_lossy(&body);
    let info = if let Some(target) = header("x-amz-target") {
        RequestInfo {
            action: target.rsplit('.').next().unwrap_or_default().to_string(),
            method,
            path,
            service: "logs",
        }
    } else if let Some(action) = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .filter(|_| {
            text.starts_with("Action=")
                || header("authorization").is_some_and(|a| a.contains("/iam/"))
        })
    {
        RequestInfo {
            action: action.to_string(),
            method,
            path,
            service: "iam",
        }
    } else {
        RequestInfo {
            action: format!("{method} {path}"),
            method,
            path,
            service: "lambda",
        }
    };
    Some(Request { head, body, info })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).ok()?;
        let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).ok()?;
                if line.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Sends the request to moto on a fresh connection and returns the answer re-framed with a
/// Content-Length (so the client's connection can stay open).
fn forward(request: &Request, upstream_port: u16) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    upstream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut out = format!("{}\r\n", request.head[0]);
    for line in &request.head[1..] {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "connection" | "transfer-encoding" | "content-length" | "expect"
        ) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    upstream.write_all(out.as_bytes()).ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.to_string();
    let mut headers = Vec::new();
    let mut chunked = false;
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if name == "transfer-encoding" {
            chunked = line.to_ascii_lowercase().contains("chunked");
            continue;
        }
        if matches!(
            name.as_str(),
            "connection" | "content-length" | "keep-alive"
        ) {
            continue;
        }
        headers.push(line.to_string());
    }
    if chunked {
        body = dechunk(&body)?;
    }
    let mut response = format!("{status}\r\n");
    for line in headers {
        response.push_str(&line);
        response.push_str("\r\n");
    }
    response.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = response.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.trim().split(';').next()?, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// An error answer in the shape the service itself uses, so the SDK classifies it as it would a
/// real one.
fn error_response(fault: Fault, service: &str) -> Vec<u8> {
    let (status, reason) = match (fault, service) {
        (Fault::Throttle, "lambda") => (429, "Too Many Requests"),
        (Fault::Throttle, _) => (400, "Bad Request"),
        (Fault::Unavailable, _) => (503, "Service Unavailable"),
        _ => (500, "Internal Server Error"),
    };
    let (content_type, extra, body) = match (service, fault) {
        ("iam", _) => {
            let (kind, code) = match fault {
                Fault::Throttle => ("Sender", "Throttling"),
                Fault::Unavailable => ("Receiver", "ServiceUnavailable"),
                _ => ("Receiver", "ServiceFailure"),
            };
            (
                "text/xml",
                String::new(),
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
                     <Message>injected by the fault proxy</Message></Error>\
                     <RequestId>fault-proxy</RequestId></ErrorResponse>"
                ),
            )
        }
        ("logs", _) => {
            let code = match fault {
                Fault::Throttle => "ThrottlingException",
                _ => "ServiceUnavailableException",
            };
            (
                "application/x-amz-json-1.1",
                String::new(),
                format!(r#"{{"__type":"{code}","message":"injected by the fault proxy"}}"#),
            )
        }
        _ => {
            let code = match fault {
                Fault::Throttle => "TooManyRequestsException",
                _ => "ServiceException",
            };
            (
                "application/json",
                format!("x-amzn-ErrorType: {code}\r\n"),
                r#"{"Type":"Service","message":"injected by the fault proxy"}"#.to_string(),
            )
        }
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}\
         x-amzn-RequestId: fault-proxy\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Waits until `condition` holds, at most `limit`.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
