//! The Lambda Runtime API (`/2018-06-01/runtime/...`) for one execution environment, following the
//! Runtime API contract (README "Local execution"): `next` long-polls (never 204), responses over 6,291,556 bytes get 413
//! and fail the invocation with `Function.ResponseSizeTooLarge` (a later post for it gets 403),
//! unknown or already-answered request ids get 400, `init/error` after init gets 403. A response
//! posted with `Lambda-Runtime-Function-Response-Mode: streaming` is handed to the invoker part by
//! part as it arrives, its trailers reporting an error at the end.
//!
//! Whatever a runtime does against the contract is also recorded as a [`Violation`] and, unless
//! told otherwise, printed on stderr as it happens: a status code alone is easy to miss, and most
//! runtimes ignore the answer to a bad post.
//!
//! One [`RuntimeApi`] serves one runtime process, as in Lambda, where each execution environment has
//! its own API endpoint and handles one event at a time.
//!
//! This file is the handle ([`RuntimeApi`]); `state.rs` holds the events, answers and state,
//! `handlers.rs` the routes.

pub mod handlers;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot};

use handlers::router;
pub use state::{
    Delivery, InitError, Invocation, InvocationResult, StreamError, StreamPart, Violation,
    MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, MAX_STREAMED_BYTES,
};
use state::{PhaseState, Shared};

/// A running Runtime API server bound to 127.0.0.1.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::Sender<Invocation>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts the API on an ephemeral 127.0.0.1 port; contract violations are printed on stderr
    /// as they happen when `print_violations`.
    pub async fn start(function_arn: String, print_violations: bool) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("failed to bind the Runtime API emulator to 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            function_arn,
            queue: tokio::sync::Mutex::new(receiver),
            state: Mutex::new(PhaseState::default()),
            phase_changed: tokio::sync::Notify::new(),
            print_violations,
            waiting_in_next: std::sync::atomic::AtomicUsize::new(0),
        });
        // Only this user, and only requests addressed to 127.0.0.1 (no DNS rebinding); a runtime
        // sends neither another Host nor an Origin.
        let router = router(shared.clone())
            .layer(axum::middleware::from_fn_with_state(
                super::guard::Guard::for_server(addr, &[]),
                super::guard::check,
            ))
            .layer(axum::middleware::from_fn_with_state(
                addr,
                super::peer::same_user_only,
            ));
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::warn!("Runtime API emulator stopped: {e}");
            }
        });
        Ok(RuntimeApi {
            addr,
            shared,
            sender,
            server,
        })
    }

    /// Queues an event whose function timeout starts now; the receiver yields the runtime's answer.
    pub async fn submit(
        &self,
        payload: Bytes,
        client_context: Option<String>,
        cognito_identity: Option<String>,
        timeout: Duration,
    ) -> Result<(String, oneshot::Receiver<InvocationResult>)> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (reply, answer) = oneshot::channel();
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        self.sender
            .send(Invocation {
                request_id: request_id.clone(),
                payload,
                client_context,
                cognito_identity,
                deadline_ms,
                trace_id: trace_id(),
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the Runtime API emulator has stopped"))?;
        Ok((request_id, answer))
    }

    /// The error the runtime posted to `/init/error`, if any.
    pub fn init_error(&self) -> Option<InitError> {
        self.shared.state.lock().unwrap().init_error.clone()
    }

    /// Whether the runtime has asked for its first event.
    pub fn initialized(&self) -> bool {
        self.shared.state.lock().unwrap().initialized
    }

    /// Waits until the init phase ends: the first `next`, or an `init/error` (cancel-safe).
    pub async fn init_ended(&self) {
        loop {
            let notified = self.shared.phase_changed.notified();
            {
                let state = self.shared.state.lock().unwrap();
                if state.initialized || state.init_error.is_some() {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Whether the runtime is waiting in `next` for an event: between two events, at rest.
    pub fn waiting_for_event(&self) -> bool {
        self.shared
            .waiting_in_next
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    }

    /// What was handed to the runtime with invocation `request_id`.
    pub fn delivery(&self, request_id: &str) -> Option<Delivery> {
        let state = self.shared.state.lock().unwrap();
        state
            .delivered
            .iter()
            .find(|d| d.request_id == request_id)
            .cloned()
    }

    /// Every contract violation so far, oldest first.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.state.lock().unwrap().violations.clone()
    }

    /// Records a violation the invoker saw (e.g. the runtime exiting mid-invoke).
    pub fn report_violation(&self, kind: &'static str, message: String) {
        self.shared.violation(kind, message);
    }
}

/// An X-Ray style trace header: `Root=1-<epoch hex>-<96 random bits>;Parent=<64 bits>;Sampled=0`.
fn trace_id() -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}
