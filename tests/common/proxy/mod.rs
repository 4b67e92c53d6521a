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
//!   be assumed by Lambda."; EventBridge Scheduler refuses such a role too ([`scheduler`]);
//! - every IAM, Lambda, CloudWatch Logs and Scheduler list answered one item per page;
//! - Lambda requests over its control-plane quota answered 429 TooManyRequestsException
//!   ([`throttle`]);
//! - a `RevisionId` on every function configuration, changed by each write and again when a
//!   transition ends (as Lambda does, aws/aws-sdk#377), and 412 PreconditionFailedException for a
//!   write that carries a stale one; the same for an alias's own RevisionId ([`alias`]);
//! - on request: Failed states, an Inactive function that a first Invoke wakes, a slow Invoke, and
//!   a concurrent writer that changes a function right after lambda-rt read it.
//!
//! Faults ([`Fault`]) are chosen by a seeded generator or by a rule, and a rule can hold a request
//! so a test can signal lambda-rt at a precise step. Counts are kept per operation
//! (`lambda:Invoke`, `iam:CreateRole`, ...) and served at `GET /__proxy/counts` for the benchmark.
//! Binds 127.0.0.1 only; every wait is bounded. The benchmark's `realism-proxy` example includes
//! this directory, so it depends on nothing else in `tests/common`.
//!
//! This file runs the proxy and decides what each request gets; the rest is one concern a file:
//! [`http`], [`classify`], [`realism`], [`scheduler`], [`throttle`], [`faults`], [`pages`].
#![allow(dead_code)]

pub mod alias;
pub mod classify;
pub mod faults;
pub mod http;
pub mod pages;
pub mod realism;
pub mod scheduler;
pub mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use alias::{refuse_stale_alias, rewrite_alias_answer};
pub use classify::RequestInfo;
pub use faults::Fault;
use faults::{error_response, FaultPlan};
use http::*;
use pages::*;
use realism::*;
pub use realism::{Realism, Reason};
use scheduler::*;
use throttle::*;

#[derive(Default)]
struct State {
    realism: Realism,
    plan: Option<FaultPlan>,
    counts: BTreeMap<String, u64>,
    /// JSON bodies of small requests, by `service:Operation`, for tests that check what was sent.
    bodies: BTreeMap<String, Vec<serde_json::Value>>,
    /// Every request as sent (once [`AwsProxy::record_requests`] is on), for the model check.
    recorded: Option<Vec<serde_json::Value>>,
    faults: BTreeMap<Fault, u64>,
    requests: u64,
    functions: HashMap<String, FunctionState>,
    roles: HashMap<String, Instant>,
    refusals: BTreeMap<String, u64>,
    /// Buckets that belong to another account ([`AwsProxy::foreign_bucket`]).
    foreign_buckets: std::collections::HashSet<String>,
    /// S3 requests seen, and those without `x-amz-expected-bucket-owner`.
    s3_requests: (u64, u64),
    held: bool,
    released: bool,
    behind: Option<BehindChange>,
    /// Writes of each alias (`function/alias`), which make its RevisionId ([`alias`]).
    alias_revisions: HashMap<String, u64>,
    /// Lambda requests allowed now ([`Realism::lambda_requests_per_second`]).
    quota_bucket: Option<Bucket>,
    /// Run once, right after the first request of that operation is answered ([`AwsProxy::after_answer`]).
    hooks: Vec<(&'static str, Hook)>,
}

/// Another writer's change, run by the proxy at a precise moment.
type Hook = Box<dyn FnOnce() + Send>;

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

    /// From now on, keeps every request as sent (method, target, headers, body up to 8 MB) for
    /// [`AwsProxy::recorded`]; off by default (the benchmark does not want the memory).
    pub fn record_requests(&self) {
        self.state().recorded.get_or_insert_with(Vec::new);
    }

    /// The requests kept since [`AwsProxy::record_requests`], and forgets them: one JSON object
    /// each, `{method, target, headers, body_b64}` (`body_omitted: true` over 8 MB).
    pub fn take_recorded(&self) -> Vec<serde_json::Value> {
        self.state()
            .recorded
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Makes `bucket` belong to another account, as S3 would judge it: a request that names an
    /// expected owner (the caller's account) gets 403 AccessDenied; one that names none is served.
    pub fn foreign_bucket(&self, bucket: &str) {
        self.state().foreign_buckets.insert(bucket.to_string());
    }

    /// S3 requests received, and how many of them carried no `x-amz-expected-bucket-owner`.
    pub fn s3_requests(&self) -> (u64, u64) {
        self.state().s3_requests
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
        self.send_after(
            function,
            "GetFunction",
            (
                "PUT",
                &format!("/2015-03-31/functions/{function}/configuration"),
            ),
            "UpdateFunctionConfiguration",
            body,
        );
    }

    /// Right after the next `after` request for `function` is answered (e.g. lambda-rt's own
    /// UpdateFunctionCode), another writer deploys `zip` as its code.
    pub fn deploy_code_after(&self, function: &str, after: &'static str, zip: &[u8]) {
        use base64::Engine;
        let body = serde_json::json!({
            "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip),
        });
        self.send_after(
            function,
            after,
            ("PUT", &format!("/2015-03-31/functions/{function}/code")),
            "UpdateFunctionCode",
            &body.to_string(),
        );
    }

    /// Right after the next `after` request for `function` is answered, whatever its status,
    /// another writer sends `action` (`method` `path`, JSON `body`) to moto.
    pub fn send_after(
        &self,
        function: &str,
        after: &'static str,
        (method, path): (&'static str, &str),
        action: &'static str,
        body: &str,
    ) {
        self.state().behind = Some(BehindChange {
            function: function.to_string(),
            method,
            path: path.to_string(),
            action,
            body: body.to_string(),
            after,
            done: false,
        });
    }

    /// Right after the next `action` request (e.g. `TagRole`) is answered by moto, and before the
    /// answer reaches lambda-rt, runs `hook`: another writer's change at that precise moment.
    pub fn after_answer(&self, action: &'static str, hook: impl FnOnce() + Send + 'static) {
        self.state().hooks.push((action, Box::new(hook)));
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
            if let Some(recorded) = state.recorded.as_mut() {
                recorded.push(record(&request));
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

/// `GET /__proxy/counts` (JSON object of counts), `GET /__proxy/refusals` (what the realism
/// refused, by kind), `POST /__proxy/reset` (forget both).
fn control(request: &Request, shared: &Arc<Shared>) -> Response {
    let mut state = shared.state.lock().unwrap();
    let body = match (request.info.method.as_str(), request.info.path.as_str()) {
        ("GET", "/__proxy/counts") => serde_json::to_vec(&state.counts).unwrap(),
        // What the realism refused since the last reset (429s, 409s, 400s of young roles).
        ("GET", "/__proxy/refusals") => serde_json::to_vec(&state.refusals).unwrap(),
        ("POST", "/__proxy/reset") => {
            state.counts.clear();
            state.refusals.clear();
            b"{}".to_vec()
        }
        // A function's code, where GetFunction's Code.Location points (see realism.rs).
        ("GET", path) if path.starts_with("/__proxy/code/") => {
            let function = &path["/__proxy/code/".len()..];
            return match state.functions.get(function).and_then(|f| f.zip.clone()) {
                Some(zip) => Response::new(200, vec!["Content-Type: application/zip".into()], zip),
                None => Response::new(404, vec![], b"no code kept for this function".to_vec()),
            };
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
/// A request as the model check reads it.
fn record(request: &Request) -> serde_json::Value {
    use base64::Engine;
    let target = request
        .head
        .first()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = request.head[1..]
        .iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().into()))
        .collect();
    let mut record = serde_json::json!({
        "method": request.info.method,
        "target": target,
        "headers": headers,
    });
    if request.body.len() > 8 * 1024 * 1024 {
        record["body_omitted"] = true.into();
    } else {
        record["body_b64"] = base64::engine::general_purpose::STANDARD
            .encode(&request.body)
            .into();
    }
    record
}

fn handle(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    if let Some(throttled) = throttle(request, shared) {
        return Some(throttled);
    }
    if let Some(refusal) = refuse(request, shared) {
        return Some(refusal);
    }
    if let Some(refusal) = refuse_young_role(request, shared) {
        return Some(refusal);
    }
    if let Some(refusal) = refuse_stale_alias(request, shared) {
        return Some(refusal);
    }
    replace_event_invoke_config(request, shared.upstream_port);
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
    if let Some(conflict) = already_exists(request, shared.upstream_port) {
        return Some(conflict);
    }
    let mut response = forward(request, shared.upstream_port)?;
    rewrite_alias_answer(request, &mut response, shared);
    after_forward(request, &mut response, shared);
    if request.info.action == "Invoke" && !realism.invoke_delay.is_zero() {
        std::thread::sleep(realism.invoke_delay);
    }
    Some(response)
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
