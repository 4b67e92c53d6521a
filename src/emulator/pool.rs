//! `serve`'s warm runtimes: up to `--concurrency` runtime processes, each serving one event at a
//! time as in Lambda; a runtime that crashed, timed out or exited is replaced by a cold start; a
//! rebuilt environment (`--watch`) retires the runtimes of the old one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::body::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use super::api::StreamPart;
use super::{Environment, Worker};
use crate::invocation::InvokeOutcome;
use crate::settings::Settings;

/// The warm runtimes and the environment they run in.
pub struct Pool {
    pub settings: Settings,
    /// At most `concurrency` invocations (and so runtime processes) at a time.
    slots: Semaphore,
    /// At most `concurrency` running and `max_queue` waiting invocations: each holds its event in
    /// memory (up to 6 MB), so beyond that a request is refused (429), as Lambda throttles.
    admission: Arc<Semaphore>,
    state: Mutex<PoolState>,
}

struct PoolState {
    environment: Arc<Environment>,
    /// Why the project cannot run since the last change (`--watch`): every invocation gets this as
    /// its function error until a change fixes it.
    broken: Option<String>,
    generation: u64,
    idle: Vec<(u64, Worker)>,
    /// Process groups of every live runtime, busy or idle, for a clean shutdown.
    groups: HashMap<u32, u64>,
}

impl Pool {
    pub fn new(settings: Settings, concurrency: usize, max_queue: usize) -> Result<Self> {
        let environment = Arc::new(Environment::prepare(&settings)?);
        Ok(Pool {
            settings,
            slots: Semaphore::new(concurrency),
            admission: Arc::new(Semaphore::new(concurrency + max_queue)),
            state: Mutex::new(PoolState {
                environment,
                broken: None,
                generation: 0,
                idle: Vec::new(),
                groups: HashMap::new(),
            }),
        })
    }

    /// A place for one more invocation, running or queued; `None` when they are all taken. Held
    /// from before the request's body is read until its invocation ends.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.admission.clone().try_acquire_owned().ok()
    }

    /// An idle warm runtime of the current generation that is still running, or a new one. A
    /// runtime that exited after its last answer is replaced by a cold start, as Lambda does,
    /// rather than handed an event it cannot take.
    async fn checkout(&self, _slot: &SemaphorePermit<'_>) -> Result<(u64, Worker)> {
        let mut exited = Vec::new();
        let found = {
            let mut state = self.state.lock().unwrap();
            let generation = state.generation;
            let mut found = None;
            while let Some(index) = state.idle.iter().position(|(g, _)| *g == generation) {
                let (generation, mut worker) = state.idle.swap_remove(index);
                if worker.is_running() {
                    found = Some((generation, worker));
                    break;
                }
                state.groups.remove(&worker.process.id());
                exited.push(worker);
            }
            found.ok_or_else(|| (generation, state.environment.clone()))
        };
        for worker in exited {
            tracing::info!("a warm runtime had exited; starting a new one");
            worker.stop().await;
        }
        let (generation, environment) = match found {
            Ok(warm) => return Ok(warm),
            Err(cold) => cold,
        };
        let worker = Worker::start(&environment, true).await?;
        let pid = worker.process.id();
        self.state.lock().unwrap().groups.insert(pid, generation);
        Ok((generation, worker))
    }

    /// Returns a runtime to the pool if it is still usable and current, else stops it.
    async fn checkin(&self, generation: u64, worker: Worker, alive: bool) {
        let pid = worker.process.id();
        {
            let mut state = self.state.lock().unwrap();
            if alive && generation == state.generation {
                state.idle.push((generation, worker));
                return;
            }
            state.groups.remove(&pid);
        }
        worker.stop().await;
    }

    /// Switches to a freshly built environment; idle runtimes of the old one are stopped.
    pub async fn replace_environment(&self, environment: Environment) {
        let stale: Vec<Worker> = {
            let mut state = self.state.lock().unwrap();
            state.environment = Arc::new(environment);
            state.generation += 1;
            let stale: Vec<Worker> = state.idle.drain(..).map(|(_, w)| w).collect();
            for worker in &stale {
                state.groups.remove(&worker.process.id());
            }
            stale
        };
        for worker in stale {
            worker.stop().await;
        }
    }

    pub async fn stop_all(&self) {
        let (idle, groups, environment): (Vec<Worker>, Vec<u32>, Arc<Environment>) = {
            let mut state = self.state.lock().unwrap();
            let idle = state.idle.drain(..).map(|(_, w)| w).collect();
            (
                idle,
                state.groups.drain().map(|(pid, _)| pid).collect(),
                state.environment.clone(),
            )
        };
        for worker in idle {
            worker.stop().await;
        }
        // Busy runtimes belong to requests that were cut off by the shutdown.
        for pid in groups {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        environment.remove_files();
    }

    /// The project's problem since the last change, if it has one.
    pub fn broken(&self) -> Option<String> {
        self.state.lock().unwrap().broken.clone()
    }

    pub fn set_broken(&self, problem: Option<String>) {
        self.state.lock().unwrap().broken = problem;
    }
}

/// Runs one event on a warm (or new) runtime; returns the outcome and, when `want_log`, the
/// invocation's log (the runtime's output goes to stderr either way).
pub async fn run_one(
    pool: &Pool,
    payload: Bytes,
    client_context: Option<String>,
    want_log: bool,
) -> Result<(InvokeOutcome, String)> {
    run_one_to(pool, payload, client_context, want_log, None).await
}

/// [`run_one`], with a streamed response going to `sink` as it arrives.
pub async fn run_one_to(
    pool: &Pool,
    payload: Bytes,
    client_context: Option<String>,
    want_log: bool,
    sink: Option<tokio::sync::mpsc::Sender<StreamPart>>,
) -> Result<(InvokeOutcome, String)> {
    let slot = pool
        .slots
        .acquire()
        .await
        .context("the server is shutting down")?;
    // A warm runtime may exit after its last answer, before it takes the next event; the event
    // then goes to a fresh runtime, as Lambda would start a new environment. Once only.
    for attempt in 0..2 {
        let (generation, mut worker) = pool.checkout(&slot).await?;
        let result = worker
            .invoke_to(payload.clone(), client_context.clone(), sink.clone())
            .await;
        let (alive, outcome) = match result {
            Ok(invocation) if invocation.undelivered && attempt == 0 => {
                tracing::info!("a warm runtime exited before taking the event; starting a new one");
                pool.checkin(generation, worker, false).await;
                continue;
            }
            Ok(invocation) => {
                if !invocation.alive {
                    worker.process.kill().await;
                } else if want_log {
                    // Only a log tail needs the runtime's last output to have arrived; waiting
                    // for it on every event would add milliseconds to each invoke.
                    worker.settle_log().await;
                }
                let log = if want_log {
                    worker.log_of(&invocation)
                } else {
                    String::new()
                };
                (invocation.alive, Ok((invocation.outcome, log)))
            }
            Err(error) => (false, Err(error)),
        };
        pool.checkin(generation, worker, alive).await;
        return outcome;
    }
    unreachable!("the second attempt always returns")
}
