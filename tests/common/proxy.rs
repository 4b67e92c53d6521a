//! An HTTP proxy between lambda-rt and moto_server that makes moto behave like real AWS, injects
//! faults, and counts every request by operation.
//!
//! Moto answers at once and is never Pending or InProgress, never refuses a role that was just
//! created, returns every list in one page, keeps no RevisionId, and never keeps an Invoke waiting.
//! Real Lambda and IAM do all of that; with [`Realism`] the proxy adds it, with durations set per
//! test:
//! - round-trip latency on every request;
//! - `State: Pending` for a while after CreateFunction: reads say so, and every write and Invoke
//!   meanwhile gets 409 ResourceConflictException, as Lambda answers;
//! - `LastUpdateStatus: InProgress` after UpdateFunctionCode / UpdateFunctionConfiguration: writes
//!   (DeleteFunction included) get 409, Invoke still runs;
//! - IAM propagation: CreateFunction or UpdateFunctionConfiguration naming a role created less than
//!   a while ago gets 400 InvalidParameterValueException "The role defined for the function cannot
//!   be assumed by Lambda.";
//! - every IAM, Lambda and CloudWatch Logs list answered one item per page;
//! - a `RevisionId` on every function configuration, changed by each write and again when a
//!   transition ends (as Lambda does, aws/aws-sdk#377), and 412 PreconditionFailedException for a
//!   write that carries a stale one;
//! - on request: Failed states, an Inactive function that a first Invoke wakes, a slow Invoke, and
//!   a concurrent writer that changes a function right after lambda-rt read it.
//!
//! Faults ([`Fault`]) are chosen by a seeded generator or by a rule, and a rule can hold a request
//! so a test can signal lambda-rt at a precise step. Counts are kept per operation
//! (`lambda:Invoke`, `iam:CreateRole`, ...) and served at `GET /__proxy/counts` for the benchmark.
//! Binds 127.0.0.1 only; every wait is bounded. The benchmark's `realism-proxy` example includes
//! this file, so it depends on nothing else in `tests/common`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Real-AWS behaviours to add; all off by default (the proxy is then transparent).
#[derive(Debug, Clone, Default)]
pub struct Realism {
    /// Added to every request before it is handled (one round trip).
    pub latency: Duration,
    /// How long a new function stays Pending.
    pub pending: Duration,
    /// How long each update stays InProgress.
    pub in_progress: Duration,
    /// How long after CreateRole Lambda refuses the role.
    pub iam_propagation: Duration,
    /// Answer every list call one item per page.
    pub one_item_pages: bool,
    /// How long Lambda takes to answer an Invoke (the function's run time).
    pub invoke_delay: Duration,
}

impl Realism {
    /// The timings the latency benchmark uses: 40 ms round trip, 2 s Pending, 1.5 s InProgress,
    /// 4 s IAM propagation.
    pub fn benchmark() -> Realism {
        Realism {
            latency: Duration::from_millis(40),
            pending: Duration::from_millis(2000),
            in_progress: Duration::from_millis(1500),
            iam_propagation: Duration::from_millis(4000),
            one_item_pages: false,
            invoke_delay: Duration::ZERO,
        }
    }

    /// Every behaviour at once, with durations short enough for a test.
    pub fn short() -> Realism {
        Realism {
            latency: Duration::from_millis(5),
            pending: Duration::from_millis(300),
            in_progress: Duration::from_millis(200),
            iam_propagation: Duration::from_millis(400),
            one_item_pages: true,
            invoke_delay: Duration::ZERO,
        }
    }
}

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
    /// The path without the query string, percent-decoded.
    pub path: String,
    /// The AWS operation: `CreateRole`, `GetFunction`, `Invoke`, `PutObject`, ...
    pub action: String,
    pub service: &'static str,
    /// The function a Lambda operation is about (its name, also when the request names an ARN).
    pub function: Option<String>,
}

impl RequestInfo {
    /// `service:Operation`, the key of [`AwsProxy::counts`].
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    /// Whether this request changes something (reads and Invoke do not).
    pub fn is_write(&self) -> bool {
        is_write(self.service, &self.action)
    }
}

/// Whether the operation `action` of `service` changes something.
pub fn is_write(service: &str, action: &str) -> bool {
    let read = ["Get", "List", "Describe", "Head", "Filter"]
        .iter()
        .any(|prefix| action.starts_with(prefix));
    !(read || (service == "lambda" && action == "Invoke"))
}

type Matcher = Box<dyn Fn(&RequestInfo) -> bool + Send>;

/// Which faults to inject.
struct FaultPlan {
    rng: fastrand::Rng,
    rate: f64,
    delay: Duration,
    /// Requests matching this always get this fault.
    always: Option<(Matcher, Fault)>,
    /// The first request matching this is held until [`AwsProxy::release`].
    hold: Option<Matcher>,
}

/// Why a function is not in a normal state, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: &str, message: &str) -> Reason {
        Reason {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The proxy's model of one function's state.
#[derive(Debug, Default, Clone)]
struct FunctionState {
    pending_until: Option<Instant>,
    in_progress_until: Option<Instant>,
    revision: u64,
    failed: Option<Reason>,
    fail_next_update: Option<Reason>,
    update_failed: Option<Reason>,
    inactive: bool,
}

impl FunctionState {
    /// Ends transitions whose time has come; each end changes the RevisionId, as in Lambda.
    fn settle(&mut self, now: Instant) {
        if self.pending_until.is_some_and(|until| until <= now) {
            self.pending_until = None;
            self.revision += 1;
        }
        if self.in_progress_until.is_some_and(|until| until <= now) {
            self.in_progress_until = None;
            self.revision += 1;
            self.update_failed = self.fail_next_update.take();
        }
    }

    fn is_pending(&self) -> bool {
        self.pending_until.is_some()
    }

    fn is_in_progress(&self) -> bool {
        self.in_progress_until.is_some()
    }
}

/// A change the proxy makes itself, as another writer, right after lambda-rt reads a function.
struct BehindChange {
    function: String,
    /// The UpdateFunctionConfiguration body to send to moto.
    body: String,
    done: bool,
}

#[derive(Default)]
struct State {
    realism: Realism,
    plan: Option<FaultPlan>,
    counts: BTreeMap<String, u64>,
    /// JSON bodies of small requests, by `service:Operation`, for tests that check what was sent.
    bodies: BTreeMap<String, Vec<serde_json::Value>>,
    faults: BTreeMap<Fault, u64>,
    requests: u64,
    functions: HashMap<String, FunctionState>,
    roles: HashMap<String, Instant>,
    refusals: BTreeMap<String, u64>,
    held: bool,
    released: bool,
    behind: Option<BehindChange>,
}

struct Shared {
    state: Mutex<State>,
    condvar: Condvar,
    upstream_port: u16,
}

/// The proxy; stops accepting on drop.
pub struct AwsProxy {
    pub url: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl AwsProxy {
    /// Starts forwarding to `127.0.0.1:upstream_port`, transparent until told otherwise.
    pub fn start(upstream_port: u16) -> AwsProxy {
        Self::start_with(upstream_port, Realism::default())
    }

    /// Starts with real-AWS behaviours on.
    pub fn start_with(upstream_port: u16, realism: Realism) -> AwsProxy {
        Self::start_on(0, upstream_port, realism)
    }

    /// Starts on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(port: u16, upstream_port: u16, realism: Realism) -> AwsProxy {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                realism,
                ..Default::default()
            }),
            condvar: Condvar::new(),
            upstream_port,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_shared, accept_stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accept_shared.clone();
                std::thread::spawn(move || serve_connection(stream, &shared));
            }
        });
        AwsProxy {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            stop,
            port,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    /// Replaces the real-AWS behaviours (functions and roles already seen keep their state).
    pub fn set_realism(&self, realism: Realism) {
        self.state().realism = realism;
    }

    /// Requests seen so far, by `service:Operation`. Counts every request, faulted or not.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.state().counts.clone()
    }

    /// How many requests of `key` (`lambda:Invoke`) were received.
    pub fn count(&self, key: &str) -> u64 {
        self.state().counts.get(key).copied().unwrap_or(0)
    }

    /// Forgets the counts so far (refusals and faults are kept).
    pub fn reset_counts(&self) {
        self.state().counts.clear();
    }

    /// The JSON bodies of the `key` requests received (`lambda:AddPermission`), oldest first;
    /// bodies over 64 KB (code uploads) are not kept.
    pub fn bodies(&self, key: &str) -> Vec<serde_json::Value> {
        self.state().bodies.get(key).cloned().unwrap_or_default()
    }

    /// How many requests the realism layer refused since the start, by kind: `409 Pending`,
    /// `409 InProgress`, `400 role not assumable`, `412 stale RevisionId`, `409 Inactive`.
    pub fn refusals(&self) -> BTreeMap<String, u64> {
        self.state().refusals.clone()
    }

    /// Requests seen and faults injected so far.
    pub fn fault_counts(&self) -> (u64, BTreeMap<Fault, u64>) {
        let state = self.state();
        (state.requests, state.faults.clone())
    }

    /// Puts the function in State=Failed with this reason.
    pub fn fail_function(&self, function: &str, reason: Reason) {
        self.state()
            .functions
            .entry(function.to_string())
            .or_default()
            .failed = Some(reason);
    }

    /// The function's next update ends with LastUpdateStatus=Failed and this reason.
    pub fn fail_next_update(&self, function: &str, reason: Reason) {
        self.state()
            .functions
            .entry(function.to_string())
            .or_default()
            .fail_next_update = Some(reason);
    }

    /// Marks the function's last update as Failed now.
    pub fn fail_last_update(&self, function: &str, reason: Reason) {
        self.state()
            .functions
            .entry(function.to_string())
            .or_default()
            .update_failed = Some(reason);
    }

    /// Makes the function Inactive, as after weeks without an invocation: the next Invoke fails
    /// and the function goes Pending.
    pub fn make_inactive(&self, function: &str) {
        self.state()
            .functions
            .entry(function.to_string())
            .or_default()
            .inactive = true;
    }

    /// Right after the next GetFunction of `function` is answered, another writer changes its
    /// configuration with `body` (UpdateFunctionConfiguration JSON), bumping the RevisionId.
    pub fn change_after_next_read(&self, function: &str, body: &str) {
        self.state().behind = Some(BehindChange {
            function: function.to_string(),
            body: body.to_string(),
            done: false,
        });
    }

    /// Whether the concurrent change of [`Self::change_after_next_read`] happened.
    pub fn changed_behind(&self) -> bool {
        self.state().behind.as_ref().is_some_and(|b| b.done)
    }

    /// Faults `rate` of the requests, choosing the kind uniformly, from a generator seeded with
    /// `seed`. `delay` is how long a `Delay` answer is held (make it exceed `--read-timeout`).
    pub fn random_faults(&self, seed: u64, rate: f64, delay: Duration) {
        self.set_plan(FaultPlan {
            rng: fastrand::Rng::with_seed(seed),
            rate,
            delay,
            always: None,
            hold: None,
        });
    }

    /// Every request matching `matcher` gets `fault`; the rest pass.
    pub fn always(&self, fault: Fault, matcher: impl Fn(&RequestInfo) -> bool + Send + 'static) {
        self.set_plan(FaultPlan {
            rng: fastrand::Rng::with_seed(0),
            rate: 0.0,
            delay: Duration::from_secs(3),
            always: Some((Box::new(matcher), fault)),
            hold: None,
        });
    }

    /// The first request matching `matcher` is held (never forwarded) until [`Self::release`].
    pub fn hold(&self, matcher: impl Fn(&RequestInfo) -> bool + Send + 'static) {
        self.set_plan(FaultPlan {
            rng: fastrand::Rng::with_seed(0),
            rate: 0.0,
            delay: Duration::from_secs(3),
            always: None,
            hold: Some(Box::new(matcher)),
        });
    }

    /// Waits (at most `limit`) until a request is being held.
    pub fn wait_held(&self, limit: Duration) -> bool {
        let guard = self.state();
        let (guard, _) = self
            .shared
            .condvar
            .wait_timeout_while(guard, limit, |s| !s.held)
            .unwrap();
        guard.held
    }

    /// Lets a held request go (it is dropped, not forwarded) and stops injecting faults.
    pub fn release(&self) {
        let mut state = self.state();
        state.released = true;
        state.plan = None;
        self.shared.condvar.notify_all();
    }

    /// Stops injecting faults; requests pass through (realism stays).
    pub fn pass_through(&self) {
        self.state().plan = None;
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

    fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.state();
        state.plan = Some(plan);
        state.held = false;
        state.released = false;
    }
}

impl Drop for AwsProxy {
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
    query: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name)
    }
}

fn header_in(head: &[String], name: &str) -> Option<String> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// An answer ready to send.
struct Response {
    status: u16,
    headers: Vec<String>,
    body: Vec<u8>,
    /// The Content-Length of an answer to HEAD, which has no body but tells the size of one.
    head_length: Option<String>,
}

impl Response {
    fn new(status: u16, headers: Vec<String>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
            head_length: None,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for line in &self.headers {
            out.push_str(line);
            out.push_str("\r\n");
        }
        let length = self
            .head_length
            .clone()
            .unwrap_or_else(|| self.body.len().to_string());
        out.push_str(&format!("Content-Length: {length}\r\n\r\n"));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn set_json(&mut self, value: &serde_json::Value) {
        self.body = value.to_string().into_bytes();
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

enum Decision {
    Forward,
    Fault(Fault, Duration),
    Hold,
}

fn serve_connection(stream: TcpStream, shared: &Arc<Shared>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let Some(request) = read_request(&mut reader, &mut stream) else {
            return;
        };
        if request.info.path.starts_with("/__proxy/") {
            let response = control(&request, shared);
            if stream.write_all(&response.to_bytes()).is_err() {
                return;
            }
            continue;
        }
        let latency = {
            let mut state = shared.state.lock().unwrap();
            state.requests += 1;
            // A switch to break counting on purpose, to see the "no writes" assertions fail
            // (`LAMBDA_RT_TEST_BREAK_COUNTING=1 scripts/test.sh`); never set in CI.
            if std::env::var_os("LAMBDA_RT_TEST_BREAK_COUNTING").is_none() {
                *state.counts.entry(request.info.key()).or_default() += 1;
            }
            if request.body.len() <= 64 * 1024 {
                if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) {
                    state
                        .bodies
                        .entry(request.info.key())
                        .or_default()
                        .push(body);
                }
            }
            state.realism.latency
        };
        std::thread::sleep(latency);
        match decide(&request.info, shared) {
            Decision::Forward => {
                let Some(response) = handle(&request, shared) else {
                    reset(&stream);
                    return;
                };
                if stream.write_all(&response.to_bytes()).is_err() {
                    return;
                }
            }
            Decision::Hold => {
                let state = shared.state.lock().unwrap();
                let _ = shared
                    .condvar
                    .wait_timeout_while(state, Duration::from_secs(60), |s| !s.released)
                    .unwrap();
                reset(&stream);
                return;
            }
            Decision::Fault(fault, delay) => match fault {
                Fault::ServerError | Fault::Unavailable | Fault::Throttle => {
                    let response = error_response(fault, request.info.service);
                    if stream.write_all(&response.to_bytes()).is_err() {
                        return;
                    }
                }
                Fault::ResetBefore => {
                    reset(&stream);
                    return;
                }
                Fault::ResetAfter => {
                    let _ = handle(&request, shared);
                    reset(&stream);
                    return;
                }
                Fault::Delay => {
                    let response = handle(&request, shared);
                    std::thread::sleep(delay);
                    if let Some(response) = response {
                        let _ = stream.write_all(&response.to_bytes());
                    }
                    reset(&stream);
                    return;
                }
            },
        }
    }
}

/// `GET /__proxy/counts` (JSON object of counts), `POST /__proxy/reset` (forget counts).
fn control(request: &Request, shared: &Arc<Shared>) -> Response {
    let mut state = shared.state.lock().unwrap();
    let body = match (request.info.method.as_str(), request.info.path.as_str()) {
        ("GET", "/__proxy/counts") => serde_json::to_vec(&state.counts).unwrap(),
        ("POST", "/__proxy/reset") => {
            state.counts.clear();
            state.refusals.clear();
            b"{}".to_vec()
        }
        _ => return Response::new(404, vec![], b"unknown control path".to_vec()),
    };
    Response::new(200, vec!["Content-Type: application/json".into()], body)
}

fn decide(info: &RequestInfo, shared: &Arc<Shared>) -> Decision {
    let mut state = shared.state.lock().unwrap();
    let Some(plan) = state.plan.as_mut() else {
        return Decision::Forward;
    };
    if let Some(hold) = &plan.hold {
        if hold(info) {
            plan.hold = None;
            state.held = true;
            shared.condvar.notify_all();
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
            *state.faults.entry(fault).or_default() += 1;
            Decision::Fault(fault, delay)
        }
        None => Decision::Forward,
    }
}

/// The realism layer around one forwarded request: refuse what real AWS would refuse, paginate,
/// forward, and make the answer look like real AWS's. `None` when moto could not be reached.
fn handle(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    if let Some(refusal) = refuse(request, shared) {
        return Some(refusal);
    }
    let realism = shared.state.lock().unwrap().realism.clone();
    if realism.one_item_pages {
        if let Some(list) = list_kind(&request.info) {
            return paginate(request, shared.upstream_port, list);
        }
    }
    if request.info.action == "Invoke" {
        if let Some(missing) = missing_function(request, shared.upstream_port) {
            return Some(missing);
        }
    }
    let mut response = forward(request, shared.upstream_port)?;
    after_forward(request, &mut response, shared);
    if request.info.action == "Invoke" && !realism.invoke_delay.is_zero() {
        std::thread::sleep(realism.invoke_delay);
    }
    Some(response)
}

/// Lambda answers an Invoke of a function (or a version or alias of it) that does not exist with
/// 404 ResourceNotFoundException; moto's echo backend answers it as if it were there, so the
/// proxy asks moto first (GetFunction with the same Qualifier).
fn missing_function(request: &Request, upstream_port: u16) -> Option<Response> {
    let function = request.info.function.as_deref()?;
    let qualifier = request
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("Qualifier="))
        .unwrap_or_default();
    let lookup = Request {
        head: vec![
            format!("GET /2015-03-31/functions/{function} HTTP/1.1"),
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0".into(),
        ],
        body: Vec::new(),
        info: request.info.clone(),
        query: if qualifier.is_empty() {
            String::new()
        } else {
            format!("Qualifier={qualifier}")
        },
    };
    let found = forward(&lookup, upstream_port)?;
    (found.status == 404).then(|| {
        lambda_error(
            404,
            "ResourceNotFoundException",
            &format!(
                "Function not found: arn:aws:lambda:us-east-1:123456789012:function:{function}"
            ),
        )
    })
}

/// What Lambda or IAM would refuse now: 409 while Pending or InProgress, 400 while a new role has
/// not propagated, 412 for a stale RevisionId, the first Invoke of an Inactive function.
fn refuse(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    let info = &request.info;
    if info.service != "lambda" {
        return None;
    }
    let now = Instant::now();
    let mut state = shared.state.lock().unwrap();
    let realism = state.realism.clone();
    let body: serde_json::Value =
        serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);

    // IAM propagation: only a role handed to Lambda matters.
    if matches!(
        info.action.as_str(),
        "CreateFunction" | "UpdateFunctionConfiguration"
    ) {
        if let Some(role) = body["Role"].as_str() {
            let name = role.rsplit('/').next().unwrap_or(role).to_string();
            let young = state
                .roles
                .get(&name)
                .is_some_and(|created| now < *created + realism.iam_propagation);
            if young {
                *state
                    .refusals
                    .entry("400 role not assumable".into())
                    .or_default() += 1;
                return Some(lambda_error(
                    400,
                    "InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.",
                ));
            }
        }
    }

    let function = info.function.as_deref()?;
    let entry = state.functions.get_mut(function)?;
    entry.settle(now);
    let is_write = info.is_write()
        && !matches!(
            info.action.as_str(),
            "TagResource" | "UntagResource" | "CreateFunction"
        );
    if info.action == "Invoke" && entry.inactive {
        // The first Invoke of an Inactive function fails, and Lambda starts making it Active.
        entry.inactive = false;
        entry.pending_until = Some(now + realism.pending);
        *state.refusals.entry("409 Inactive".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the \
             following state: Inactive",
        ));
    }
    if (is_write || info.action == "Invoke") && entry.is_pending() {
        *state.refusals.entry("409 Pending".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the \
             following state: Pending",
        ));
    }
    if is_write && entry.is_in_progress() {
        *state.refusals.entry("409 InProgress".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            &format!(
                "The operation cannot be performed at this time. An update is in progress for \
                 resource: arn:aws:lambda:us-east-1:123456789012:function:{function}"
            ),
        ));
    }
    // An alias has a RevisionId of its own (moto keeps it); the model is the function's.
    let alias_write = info.action.ends_with("Alias");
    if let (Some(given), false) = (body["RevisionId"].as_str(), alias_write) {
        if given != revision_id(function, entry.revision) {
            *state
                .refusals
                .entry("412 stale RevisionId".into())
                .or_default() += 1;
            return Some(lambda_error(
                412,
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the \
                 GetFunction/GetAlias API to retrieve the latest Revision Id",
            ));
        }
    }
    None
}

/// Records what a successful request started, and rewrites the answer as real AWS gives it.
fn after_forward(request: &Request, response: &mut Response, shared: &Arc<Shared>) {
    let info = &request.info;
    let ok = (200..300).contains(&response.status);
    let now = Instant::now();
    let mut behind = None;
    {
        let mut state = shared.state.lock().unwrap();
        let realism = state.realism.clone();
        match (info.service, info.action.as_str()) {
            ("iam", "CreateRole") if ok => {
                if let Some(name) = form_param(&request.body, "RoleName") {
                    state.roles.insert(name, now);
                }
            }
            ("lambda", "CreateFunction") if ok => {
                if let Some(name) = response
                    .json()
                    .and_then(|v| v["FunctionName"].as_str().map(str::to_string))
                {
                    let entry = state.functions.entry(name).or_default();
                    *entry = FunctionState {
                        pending_until: Some(now + realism.pending),
                        revision: entry.revision + 1,
                        ..Default::default()
                    };
                }
            }
            ("lambda", "UpdateFunctionCode" | "UpdateFunctionConfiguration") if ok => {
                if let Some(function) = &info.function {
                    let entry = state.functions.entry(function.clone()).or_default();
                    entry.in_progress_until = Some(now + realism.in_progress);
                    entry.update_failed = None;
                    entry.revision += 1;
                    entry.settle(now);
                }
            }
            ("lambda", "DeleteFunction") if ok => {
                if let Some(function) = &info.function {
                    state.functions.remove(function);
                }
            }
            ("lambda", "GetFunction") if ok => {
                if let Some(change) = state.behind.as_mut() {
                    if Some(&change.function) == info.function.as_ref() && !change.done {
                        change.done = true;
                        behind = Some((change.function.clone(), change.body.clone()));
                    }
                }
            }
            _ => {}
        }
        if info.service == "lambda" && ok {
            rewrite_configurations(response, &mut state, now);
        }
    }
    // Another writer changes the function after lambda-rt's read was answered (but before the
    // answer reaches it, so lambda-rt's next write carries a RevisionId that is already stale).
    if let Some((function, body)) = behind {
        let change = Request {
            head: vec![
                format!("PUT /2015-03-31/functions/{function}/configuration HTTP/1.1"),
                "Content-Type: application/json".into(),
                "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0".into(),
            ],
            body: body.into_bytes(),
            info: RequestInfo {
                method: "PUT".into(),
                path: format!("/2015-03-31/functions/{function}/configuration"),
                action: "UpdateFunctionConfiguration".into(),
                service: "lambda",
                function: Some(function.clone()),
            },
            query: String::new(),
        };
        if let Some(mut answer) = forward(&change, shared.upstream_port) {
            after_forward(&change, &mut answer, shared);
        }
    }
}

/// Adds State, LastUpdateStatus and RevisionId to every `$LATEST` function configuration in a
/// Lambda answer, as the proxy's model says they are.
fn rewrite_configurations(response: &mut Response, state: &mut State, now: Instant) {
    let Some(mut value) = response.json() else {
        return;
    };
    let mut changed = false;
    let mut visit = |config: &mut serde_json::Value| {
        let Some(name) = config["FunctionName"].as_str().map(str::to_string) else {
            return;
        };
        if config["Version"].as_str().is_some_and(|v| v != "$LATEST") {
            return;
        }
        let entry = state.functions.entry(name.clone()).or_default();
        entry.settle(now);
        let map = config
            .as_object_mut()
            .expect("a configuration is an object");
        for key in [
            "State",
            "StateReason",
            "StateReasonCode",
            "LastUpdateStatus",
            "LastUpdateStatusReason",
            "LastUpdateStatusReasonCode",
        ] {
            map.remove(key);
        }
        let mut set = |k: &str, v: &str| {
            map.insert(k.to_string(), v.into());
        };
        if let Some(reason) = &entry.failed {
            set("State", "Failed");
            set("StateReason", &reason.message);
            set("StateReasonCode", &reason.code);
            set("LastUpdateStatus", "Successful");
        } else if entry.inactive {
            set("State", "Inactive");
            set(
                "StateReason",
                "The function is inactive because it has not been invoked.",
            );
            set("StateReasonCode", "Idle");
            set("LastUpdateStatus", "Successful");
        } else if entry.is_pending() {
            set("State", "Pending");
            set("StateReason", "The function is being created.");
            set("StateReasonCode", "Creating");
        } else {
            set("State", "Active");
            if entry.is_in_progress() {
                set("LastUpdateStatus", "InProgress");
                set("LastUpdateStatusReason", "The function is being updated.");
                set("LastUpdateStatusReasonCode", "Updating");
            } else if let Some(reason) = &entry.update_failed {
                set("LastUpdateStatus", "Failed");
                set("LastUpdateStatusReason", &reason.message);
                set("LastUpdateStatusReasonCode", &reason.code);
            } else {
                set("LastUpdateStatus", "Successful");
            }
        }
        set("RevisionId", &revision_id(&name, entry.revision));
        changed = true;
    };
    if value.get("FunctionName").is_some() {
        visit(&mut value);
    }
    if let Some(config) = value.get_mut("Configuration") {
        visit(config);
    }
    if let Some(list) = value.get_mut("Functions").and_then(|l| l.as_array_mut()) {
        list.iter_mut().for_each(&mut visit);
    }
    if changed {
        response.set_json(&value);
    }
}

/// A RevisionId in Lambda's shape (a UUID), unique per function and revision.
fn revision_id(function: &str, revision: u64) -> String {
    let hash = function.bytes().fold(0xcbf2_9ce4u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}-0000-4000-8000-{revision:012x}")
}

/// The lists the proxy pages one item at a time: where the items are in the answer.
#[derive(Debug, Clone, Copy)]
enum ListKind {
    /// IAM query protocol: items are `<member>`s of this element.
    Iam(&'static str),
    /// Lambda REST JSON: items under this key, `Marker` in, `NextMarker` out.
    Lambda(&'static str),
    /// CloudWatch Logs JSON: items under this key, `nextToken` in and out.
    Logs(&'static str),
}

fn list_kind(info: &RequestInfo) -> Option<ListKind> {
    Some(match (info.service, info.action.as_str()) {
        ("iam", "ListAttachedRolePolicies") => ListKind::Iam("AttachedPolicies"),
        ("iam", "ListRolePolicies") => ListKind::Iam("PolicyNames"),
        ("iam", "ListInstanceProfilesForRole") => ListKind::Iam("InstanceProfiles"),
        ("iam", "ListRoleTags") => ListKind::Iam("Tags"),
        ("iam", "ListRoles") => ListKind::Iam("Roles"),
        ("lambda", "ListLayerVersions") => ListKind::Lambda("LayerVersions"),
        ("lambda", "ListVersionsByFunction") => ListKind::Lambda("Versions"),
        ("lambda", "ListAliases") => ListKind::Lambda("Aliases"),
        ("lambda", "ListFunctions") => ListKind::Lambda("Functions"),
        ("lambda", "ListLayers") => ListKind::Lambda("Layers"),
        ("logs", "DescribeLogGroups") => ListKind::Logs("logGroups"),
        ("logs", "DescribeLogStreams") => ListKind::Logs("logStreams"),
        ("logs", "FilterLogEvents") => ListKind::Logs("events"),
        _ => return None,
    })
}

const PAGE_PREFIX: &str = "proxy-page-";

/// Answers a list call with one item: the whole list is fetched from moto (the client's marker and
/// page size removed) and the item at the client's marker is returned, with a marker for the next
/// one while there are more.
fn paginate(request: &Request, upstream_port: u16, kind: ListKind) -> Option<Response> {
    let mut full = Request {
        head: request.head.clone(),
        body: request.body.clone(),
        info: request.info.clone(),
        query: request.query.clone(),
    };
    let index: usize;
    match kind {
        ListKind::Iam(_) => {
            let pairs: Vec<&[u8]> = request.body.split(|&b| b == b'&').collect();
            index = form_param(&request.body, "Marker")
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            let mut kept: Vec<Vec<u8>> = pairs
                .into_iter()
                .filter(|p| !p.starts_with(b"Marker=") && !p.starts_with(b"MaxItems="))
                .map(<[u8]>::to_vec)
                .collect();
            kept.push(b"MaxItems=1000".to_vec());
            full.body = kept.join(&b'&');
        }
        ListKind::Lambda(_) => {
            let mut marker = None;
            let kept: Vec<&str> = request
                .query
                .split('&')
                .filter(|p| {
                    if let Some(m) = p.strip_prefix("Marker=") {
                        marker = Some(m.to_string());
                        false
                    } else {
                        !p.starts_with("MaxItems=") && !p.is_empty()
                    }
                })
                .collect();
            index = marker
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            full.query = kept.join("&");
        }
        ListKind::Logs(_) => {
            let mut body: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_else(|_| serde_json::json!({}));
            index = body["nextToken"]
                .as_str()
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            if let Some(map) = body.as_object_mut() {
                map.remove("nextToken");
                map.remove("limit");
            }
            full.body = body.to_string().into_bytes();
        }
    }
    let mut response = forward(&full, upstream_port)?;
    if !(200..300).contains(&response.status) {
        return Some(response);
    }
    let next = format!("{PAGE_PREFIX}{}", index + 1);
    match kind {
        ListKind::Iam(container) => {
            let text = String::from_utf8_lossy(&response.body).into_owned();
            if let Some(paged) = page_iam(&text, container, index, &next) {
                response.body = paged.into_bytes();
            }
        }
        ListKind::Lambda(key) | ListKind::Logs(key) => {
            let Some(mut value) = response.json() else {
                return Some(response);
            };
            let items = value[key].as_array().cloned().unwrap_or_default();
            let more = index + 1 < items.len();
            value[key] = serde_json::Value::Array(items.into_iter().skip(index).take(1).collect());
            let marker_key = if matches!(kind, ListKind::Lambda(_)) {
                "NextMarker"
            } else {
                "nextToken"
            };
            if more {
                value[marker_key] = next.into();
            } else if let Some(map) = value.as_object_mut() {
                map.remove(marker_key);
            }
            response.set_json(&value);
        }
    }
    Some(response)
}

/// Keeps the `index`th `<member>` of `<container>` and marks the answer truncated when more
/// follow. Members may nest (instance profiles list their roles), so depth is tracked.
fn page_iam(text: &str, container: &str, index: usize, next: &str) -> Option<String> {
    let open = format!("<{container}>");
    let close = format!("</{container}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    let inner = &text[start..end];
    let mut members = Vec::new();
    let mut depth = 0usize;
    let mut member_start = 0;
    let mut at = 0;
    while at < inner.len() {
        let rest = &inner[at..];
        if rest.starts_with("<member>") {
            if depth == 0 {
                member_start = at;
            }
            depth += 1;
            at += "<member>".len();
        } else if rest.starts_with("</member>") {
            depth -= 1;
            at += "</member>".len();
            if depth == 0 {
                members.push(&inner[member_start..at]);
            }
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let page = members.get(index).copied().unwrap_or_default();
    let more = index + 1 < members.len();
    let mut out = format!("{}{page}{}", &text[..start], &text[end..]);
    // Replace the truncation flag and marker after the container.
    let after = start + page.len() + close.len();
    let tail = out.split_off(after);
    let tail = strip_element(&strip_element(&tail, "IsTruncated"), "Marker");
    let flags = if more {
        format!("<IsTruncated>true</IsTruncated><Marker>{next}</Marker>")
    } else {
        "<IsTruncated>false</IsTruncated>".to_string()
    };
    Some(format!("{out}{flags}{tail}"))
}

fn strip_element(text: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    match (text.find(&open), text.find(&close)) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &text[..a], &text[b + close.len()..]),
        _ => text.to_string(),
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
    if header_in(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let body = if header_in(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize = header_in(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    let mut parts = head.first()?.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let (raw_path, query) = target.split_once('?').unwrap_or((&target, ""));
    let path = percent_decode(raw_path);
    let info = classify(&method, &path, &head, &body);
    Some(Request {
        head,
        body,
        info,
        query: query.to_string(),
    })
}

/// Names the AWS operation of a request, from its service (signature scope, `X-Amz-Target`, IAM's
/// `Action=`) and, for the REST services, its method and path.
fn classify(method: &str, path: &str, head: &[String], body: &[u8]) -> RequestInfo {
    let info = |service, action: String, function| RequestInfo {
        method: method.to_string(),
        path: path.to_string(),
        action,
        service,
        function,
    };
    if let Some(target) = header_in(head, "x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        return info("logs", operation, None);
    }
    let authorization = header_in(head, "authorization").unwrap_or_default();
    if authorization.contains("/s3/aws4_request") {
        let object = path.trim_matches('/').contains('/');
        let action = match (method, object) {
            ("PUT", true) => "PutObject",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("DELETE", true) => "DeleteObject",
            ("PUT", false) => "CreateBucket",
            ("HEAD", false) => "HeadBucket",
            ("DELETE", false) => "DeleteBucket",
            _ => "ListObjects",
        };
        return info("s3", action.to_string(), None);
    }
    let text = String::from_utf8_lossy(body);
    if authorization.contains("/iam/") || text.starts_with("Action=") {
        let action = form_param(body, "Action").unwrap_or_default();
        return info("iam", action, None);
    }
    let (action, function) = lambda_operation(method, path);
    info("lambda", action, function)
}

/// The Lambda REST operation of `method path`, and the function it is about.
fn lambda_operation(method: &str, path: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // A function may be named by ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`).
    let function_name = |raw: &str| -> String {
        let fields: Vec<&str> = raw.split(':').collect();
        match fields.iter().position(|f| *f == "function") {
            Some(i) if i + 1 < fields.len() => fields[i + 1].to_string(),
            _ => raw.to_string(),
        }
    };
    let operation = match (method, parts.as_slice()) {
        ("POST", [_, "functions"]) => "CreateFunction",
        ("GET", [_, "functions"]) => "ListFunctions",
        ("GET", [_, "functions", _]) => "GetFunction",
        ("DELETE", [_, "functions", _]) => "DeleteFunction",
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", [_, "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", [_, "functions", _, "code"]) => "UpdateFunctionCode",
        ("POST", [_, "functions", _, "invocations"]) => "Invoke",
        ("POST", [_, "functions", _, "versions"]) => "PublishVersion",
        ("GET", [_, "functions", _, "versions"]) => "ListVersionsByFunction",
        ("POST", [_, "functions", _, "aliases"]) => "CreateAlias",
        ("GET", [_, "functions", _, "aliases"]) => "ListAliases",
        ("GET", [_, "functions", _, "aliases", _]) => "GetAlias",
        ("PUT", [_, "functions", _, "aliases", _]) => "UpdateAlias",
        ("DELETE", [_, "functions", _, "aliases", _]) => "DeleteAlias",
        ("POST", [_, "functions", _, "policy"]) => "AddPermission",
        ("GET", [_, "functions", _, "policy"]) => "GetPolicy",
        ("DELETE", [_, "functions", _, "policy", _]) => "RemovePermission",
        ("POST", [_, "functions", _, "url"]) => "CreateFunctionUrlConfig",
        ("GET", [_, "functions", _, "url"]) => "GetFunctionUrlConfig",
        ("PUT", [_, "functions", _, "url"]) => "UpdateFunctionUrlConfig",
        ("DELETE", [_, "functions", _, "url"]) => "DeleteFunctionUrlConfig",
        ("POST", [_, "tags", _]) => "TagResource",
        ("GET", [_, "tags", _]) => "ListTags",
        ("DELETE", [_, "tags", _]) => "UntagResource",
        ("GET", [_, "layers"]) => "ListLayers",
        ("POST", [_, "layers", _, "versions"]) => "PublishLayerVersion",
        ("GET", [_, "layers", _, "versions"]) => "ListLayerVersions",
        ("GET", [_, "layers", _, "versions", _]) => "GetLayerVersion",
        ("DELETE", [_, "layers", _, "versions", _]) => "DeleteLayerVersion",
        ("POST", [_, "layers", _, "versions", _, "policy"]) => "AddLayerVersionPermission",
        ("GET", [_, "layers", _, "versions", _, "policy"]) => "GetLayerVersionPolicy",
        ("DELETE", [_, "layers", _, "versions", _, "policy", _]) => "RemoveLayerVersionPermission",
        _ => return (format!("{method} {path}"), None),
    };
    let function = match parts.as_slice() {
        [_, "functions", name, ..] => Some(function_name(name)),
        [_, "tags", arn] if arn.contains(":function:") => Some(function_name(arn)),
        _ => None,
    };
    (operation.to_string(), function)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form parameter of an IAM query body, decoded.
fn form_param(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(&value.replace('+', " ")))
    })
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

/// Sends the request to moto on a fresh connection and returns its answer, de-chunked.
fn forward(request: &Request, upstream_port: u16) -> Option<Response> {
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    upstream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut request_line = request.head[0].clone();
    if let Some((method, rest)) = request_line.split_once(' ') {
        // Rebuild the target with the (possibly rewritten) query string.
        let (target, version) = rest.rsplit_once(' ').unwrap_or((rest, "HTTP/1.1"));
        let path = target.split('?').next().unwrap_or(target);
        let target = if request.query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", request.query)
        };
        request_line = format!("{method} {target} {version}");
    }
    let mut out = format!("{request_line}\r\n");
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
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    let mut chunked = false;
    let mut head_length = None;
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
        if name == "content-length" && request.info.method == "HEAD" {
            head_length = line.split_once(':').map(|(_, v)| v.trim().to_string());
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
    Some(Response {
        status,
        headers,
        body,
        head_length,
    })
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

/// A Lambda error answer: JSON body, `x-amzn-ErrorType` header (what the SDK reads the code from).
fn lambda_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status,
        vec![
            "Content-Type: application/json".into(),
            format!("x-amzn-ErrorType: {code}"),
            "x-amzn-RequestId: realism-proxy".into(),
        ],
        serde_json::json!({ "Type": "User", "message": message })
            .to_string()
            .into_bytes(),
    )
}

/// An error answer in the shape the service itself uses, so the SDK classifies it as it would a
/// real one.
fn error_response(fault: Fault, service: &str) -> Response {
    let status = match (fault, service) {
        (Fault::Throttle, "lambda") => 429,
        (Fault::Throttle, _) => 400,
        (Fault::Unavailable, _) => 503,
        _ => 500,
    };
    let (content_type, extra, body) = match service {
        "iam" => {
            let (kind, code) = match fault {
                Fault::Throttle => ("Sender", "Throttling"),
                Fault::Unavailable => ("Receiver", "ServiceUnavailable"),
                _ => ("Receiver", "ServiceFailure"),
            };
            (
                "text/xml",
                None,
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
                     <Message>injected by the fault proxy</Message></Error>\
                     <RequestId>fault-proxy</RequestId></ErrorResponse>"
                ),
            )
        }
        "logs" => {
            let code = match fault {
                Fault::Throttle => "ThrottlingException",
                _ => "ServiceUnavailableException",
            };
            (
                "application/x-amz-json-1.1",
                None,
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
                Some(format!("x-amzn-ErrorType: {code}")),
                r#"{"Type":"Service","message":"injected by the fault proxy"}"#.to_string(),
            )
        }
    };
    let mut headers = vec![
        format!("Content-Type: {content_type}"),
        "x-amzn-RequestId: fault-proxy".to_string(),
    ];
    headers.extend(extra);
    Response::new(status, headers, body.into_bytes())
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
