//! SIGINT and SIGTERM: how a command learns it should stop ([`Signals`], [`shutdown_signal`]),
//! and how a command that talks to AWS is stopped promptly ([`stop_on_signal`]).

use anyhow::Result;

use crate::error::InterruptedRemote;

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM, naming the signal.
pub async fn shutdown_signal() -> &'static str {
    Signals::install().recv().await
}

/// SIGINT and SIGTERM, caught from the moment [`Signals::install`] returns: a server installs
/// them before it says it is ready, so that a signal sent right after never kills it outright.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            interrupt: signal(SignalKind::interrupt()).expect("failed to install a SIGINT handler"),
            terminate: signal(SignalKind::terminate())
                .expect("failed to install a SIGTERM handler"),
        }
    }

    /// Resolves when either signal arrives, naming it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Runs a command that talks to AWS until it finishes or SIGINT/SIGTERM arrives, whichever is
/// first. Stopping promptly is safe because every command converges on the next run.
///
/// The handlers are installed before the command is first polled: installed lazily inside the
/// `select!`, a command whose first poll sends requests (on the runtime's other threads) and then
/// works for a while without yielding could be killed outright by a Ctrl-C in that moment — no
/// message, no exit 130 (the full kill sweep met it once in 170 points).
pub async fn stop_on_signal(
    command: impl std::future::Future<Output = Result<i32>>,
) -> Result<i32> {
    let mut signals = Signals::install();
    tokio::select! {
        result = command => result,
        signal = signals.recv() => Err(InterruptedRemote(signal).into()),
    }
}
