//! What the Runtime API emulator keeps: the events and answers that pass through it (the types its
//! users see), and the shared state of one execution environment's API.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot};

/// Largest response a runtime may post (Lambda's documented 6 MB, in bytes).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// Largest synchronous invocation payload (6 MB).
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Bodies beyond this are not even read into memory.
pub(super) const MAX_READ_BYTES: usize = 64 * 1024 * 1024;

/// An event waiting for the runtime.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    /// `Lambda-Runtime-Deadline-Ms`: the invoke's start plus the function timeout.
    pub deadline_ms: u128,
    pub trace_id: String,
    pub(super) reply: oneshot::Sender<InvocationResult>,
}

/// What the emulator hands the runtime with an event, for checks that compare.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub request_id: String,
    pub deadline_ms: u128,
    pub trace_id: String,
}

/// Something the runtime did against the Runtime API contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// A short name, e.g. `unknown request id` (what `check` matches on).
    pub kind: &'static str,
    pub message: String,
}

/// Largest streamed response (Lambda's documented 20 MB for response streaming).
pub const MAX_STREAMED_BYTES: usize = 20 * 1024 * 1024;

/// One piece of a streamed response, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamPart {
    Data(Bytes),
    /// The end of the stream: clean, or with the error the runtime reported in the trailers
    /// (`Lambda-Runtime-Function-Error-Type`, `Lambda-Runtime-Function-Error-Body` in base64).
    End(Option<StreamError>),
}

/// An error reported at the end of a streamed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub error_type: String,
    /// The error document (normalised to JSON, as for `/error`).
    pub body: Bytes,
}

/// What the runtime answered for one invocation.
#[derive(Debug)]
pub enum InvocationResult {
    Response(Bytes),
    /// A response posted with `Lambda-Runtime-Function-Response-Mode: streaming`: its parts as
    /// they arrive.
    Stream(mpsc::Receiver<StreamPart>),
    /// From `/error`: the error document (normalised to JSON) and the error-type header;
    /// `well_formed` says whether the runtime posted a JSON object with string `errorType` and
    /// `errorMessage` (the document is normalised either way).
    Error {
        body: Bytes,
        error_type: Option<String>,
        well_formed: bool,
    },
}

/// An error the runtime reported from `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    pub body: Bytes,
    pub error_type: Option<String>,
}

pub(super) struct Shared {
    pub(super) function_arn: String,
    pub(super) queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pub(super) state: Mutex<PhaseState>,
    /// Woken on the first `next` and on `init/error`: the end of the init phase.
    pub(super) phase_changed: tokio::sync::Notify,
    pub(super) print_violations: bool,
    /// `next` requests waiting for an event right now.
    pub(super) waiting_in_next: std::sync::atomic::AtomicUsize,
}

/// Counts a `next` request as waiting until it is dropped (answered or abandoned).
pub(super) struct Waiting<'a>(pub(super) &'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(Default)]
pub(super) struct PhaseState {
    /// Set by the first `next`: from then on `init/error` is out of phase.
    pub(super) initialized: bool,
    pub(super) in_flight: Option<(String, oneshot::Sender<InvocationResult>)>,
    pub(super) answered: HashSet<String>,
    /// Invocations failed because their response was too large: a later post is out of phase.
    pub(super) refused: HashSet<String>,
    pub(super) init_error: Option<InitError>,
    pub(super) delivered: Vec<Delivery>,
    pub(super) violations: Vec<Violation>,
}

impl PhaseState {
    /// Takes the reply channel if `id` is the invocation in flight, and notes `id` as settled
    /// (answered, or refused as too large); `None`, with nothing changed, otherwise.
    pub(super) fn settle(
        &mut self,
        id: &str,
        settled: fn(&mut PhaseState) -> &mut HashSet<String>,
    ) -> Option<oneshot::Sender<InvocationResult>> {
        match self.in_flight.take() {
            Some((current, reply)) if current == id => {
                settled(self).insert(current);
                Some(reply)
            }
            other => {
                self.in_flight = other;
                None
            }
        }
    }
}

impl Shared {
    pub(super) fn violation(&self, kind: &'static str, message: String) {
        if self.print_violations {
            eprintln!("runtime contract violation: {message}");
        }
        self.state
            .lock()
            .unwrap()
            .violations
            .push(Violation { kind, message });
    }
}
