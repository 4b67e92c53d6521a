//! One helper for every wait and retry of lambda-rt: try, and while the answer is "not yet", try
//! again after a short, jittered interval, until a deadline.
//!
//! Lambda's state transitions and IAM's propagation end at a moment lambda-rt cannot see coming;
//! what the user waits past that moment is at most one interval (plus a round trip). A doubling
//! backoff makes that overshoot grow with the wait (1, 2, 4, 8 s), so the intervals here are fixed
//! and short: a few hundred milliseconds, with ±20 % jitter so that many clients do not poll in
//! lock-step. Every wait is bounded by a deadline, and cancelling the future (Ctrl-C) stops it at
//! once. Time is tokio's, so tests run it on a paused clock without sleeping.

use std::error::Error as StdError;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use tokio::time::Instant;

use super::errors::{describe, is_transient, sdk_failure};

/// How often to try again and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Poll {
    /// Time between the end of one attempt and the start of the next, before jitter.
    pub interval: Duration,
    /// Each interval is drawn uniformly from `interval × (1 ± jitter)`.
    pub jitter: f64,
    /// Give up once this much time has passed since the first attempt.
    pub max_total: Duration,
}

impl Poll {
    /// Lambda state (Pending, InProgress): 200 ms ± 20 %, for up to 15 minutes (a function in a
    /// VPC can take minutes to become Active).
    pub const STATE: Poll = Poll {
        interval: Duration::from_millis(200),
        jitter: 0.2,
        max_total: Duration::from_secs(15 * 60),
    };

    /// IAM propagation of a new role to Lambda: 400 ms ± 20 % (each attempt re-sends the
    /// request, zip included). The bound comes from the role's age, see `lambda::RolePropagation`.
    pub const IAM_PROPAGATION: Poll = Poll {
        interval: Duration::from_millis(400),
        jitter: 0.2,
        max_total: Duration::from_secs(120),
    };

    /// Throttling (HTTP 429) of a call lambda-rt retries itself (Invoke): 1 s ± 20 %, 30 s in all.
    pub const THROTTLED: Poll = Poll {
        interval: Duration::from_secs(1),
        jitter: 0.2,
        max_total: Duration::from_secs(30),
    };

    /// The same policy with every duration divided by `factor` (tests).
    pub fn scaled_down(self, factor: u32) -> Poll {
        Poll {
            interval: self.interval / factor,
            max_total: self.max_total / factor,
            ..self
        }
    }

    /// One jittered interval.
    pub fn next_interval(&self, rng: &mut fastrand::Rng) -> Duration {
        let spread = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - spread + 2.0 * spread * rng.f64();
        self.interval.mul_f64(factor)
    }

    /// The deadline of a wait starting now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.max_total
    }
}

/// How a poll ended without success.
#[derive(Debug)]
pub struct GaveUp<E> {
    /// The last "not yet" (or the error that was not worth retrying).
    pub error: E,
    /// `Some(elapsed)` when the deadline was reached; `None` when `op` failed for good.
    pub after: Option<Duration>,
    /// Attempts made.
    pub attempts: u32,
}

/// What one attempt found.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// Done: stop with this value.
    Done(T),
    /// Not yet: try again after an interval (unless the deadline has passed).
    Again(E),
    /// Failed for good: stop with this error.
    Fail(E),
}

/// Calls `op` (with the attempt number, from 1) until it is done or fails, sleeping one jittered
/// interval between attempts; gives up with the last "not yet" once the next attempt would start
/// after `deadline`. `first_delay` waits before the first attempt (when the answer is known not to
/// be ready yet, e.g. right after a write that starts an update).
pub async fn poll<T, E, Fut>(
    policy: Poll,
    deadline: Instant,
    first_delay: bool,
    mut op: impl FnMut(u32) -> Fut,
) -> Result<T, GaveUp<E>>
where
    Fut: Future<Output = Attempt<T, E>>,
{
    let start = Instant::now();
    let mut rng = fastrand::Rng::new();
    if first_delay {
        let delay = policy.next_interval(&mut rng);
        tokio::time::sleep_until((start + delay).min(deadline)).await;
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        match op(attempts).await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(error) => {
                return Err(GaveUp {
                    error,
                    after: None,
                    attempts,
                })
            }
            Attempt::Again(error) => {
                let delay = policy.next_interval(&mut rng);
                if Instant::now() + delay > deadline {
                    return Err(GaveUp {
                        error,
                        after: Some(start.elapsed()),
                        attempts,
                    });
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// How lambda-rt waits for AWS; tests scale it down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Polling Lambda's State and LastUpdateStatus.
    pub state: Poll,
    /// Retrying a call while IAM has not propagated a new role to Lambda.
    pub iam_propagation: Poll,
    /// Retrying an Invoke that Lambda throttled (429).
    pub throttled: Poll,
    /// For a role older than the propagation bound that still cannot be assumed, the short bound
    /// it gets anyway (it is more likely wrong than new).
    pub old_role_grace: Duration,
    /// Conflicting writes (409: someone else's update in progress) tried again after waiting.
    pub conflict_attempts: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            state: Poll::STATE,
            iam_propagation: Poll::IAM_PROPAGATION,
            throttled: Poll::THROTTLED,
            old_role_grace: Duration::from_secs(10),
            conflict_attempts: 10,
        }
    }
}

impl Timing {
    /// Every duration divided by `factor` (tests).
    pub fn scaled_down(factor: u32) -> Timing {
        let default = Timing::default();
        Timing {
            state: default.state.scaled_down(factor),
            iam_propagation: default.iam_propagation.scaled_down(factor),
            throttled: default.throttled.scaled_down(factor),
            old_role_grace: default.old_role_grace / factor,
            conflict_attempts: default.conflict_attempts,
        }
    }
}

/// Runs a write that is *not* idempotent (each success mints something new) with the SDK's own
/// retries turned off by the caller: after a transient failure the request may have been applied
/// anyway (the answer was lost), so `applied` looks for its effect and returns it if it is there;
/// only otherwise is the write tried again, up to `max_attempts` attempts in all.
pub async fn write_once<T, E, Fut, Check>(
    max_attempts: u32,
    what: impl Display,
    mut op: impl FnMut() -> Fut,
    mut applied: impl FnMut() -> Check,
) -> Result<T>
where
    E: ProvideErrorMetadata + StdError + 'static,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    Check: Future<Output = Result<Option<T>>>,
{
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !is_transient(&error) || attempt >= max_attempts {
            let note = if attempt > 1 {
                format!(" (after {attempt} attempts)")
            } else {
                String::new()
            };
            return Err(sdk_failure(format_args!("{what}{note}"), &error));
        }
        tracing::debug!(
            "{what}: transient failure ({}); checking whether it was applied",
            describe(&error)
        );
        tokio::time::sleep(delay).await;
        if let Some(value) = applied().await? {
            return Ok(value);
        }
        delay = (delay * 2).min(Duration::from_secs(10));
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn scaling_down_divides_every_duration_and_keeps_the_jitter() {
        let scaled = Poll::STATE.scaled_down(10);
        assert_eq!(scaled.interval, Poll::STATE.interval / 10);
        assert_eq!(scaled.max_total, Poll::STATE.max_total / 10);
        assert_eq!(scaled.jitter, Poll::STATE.jitter);
        let timing = Timing::scaled_down(4);
        assert_eq!(
            timing.iam_propagation.interval,
            Poll::IAM_PROPAGATION.interval / 4
        );
        assert_eq!(timing.old_role_grace, Timing::default().old_role_grace / 4);
    }

    const POLICY: Poll = Poll {
        interval: Duration::from_millis(200),
        jitter: 0.2,
        max_total: Duration::from_secs(5),
    };

    /// Runs a poll whose attempt fails `not_ready` times, recording when each attempt started.
    async fn attempt_times(
        not_ready: u32,
        policy: Poll,
    ) -> (Vec<Duration>, Result<u32, GaveUp<u32>>) {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let seen = times.clone();
        let result = poll(policy, start + policy.max_total, false, move |n| {
            seen.lock().unwrap().push(start.elapsed());
            async move {
                if n > not_ready {
                    Attempt::Done(n)
                } else {
                    Attempt::Again(n)
                }
            }
        })
        .await;
        let times = times.lock().unwrap().clone();
        (times, result)
    }

    #[tokio::test(start_paused = true)]
    async fn intervals_are_short_fixed_and_jittered_within_bounds() {
        let (times, result) = attempt_times(20, POLICY).await;
        assert_eq!(result.unwrap(), 21);
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.len(), 20);
        for gap in &gaps {
            assert!(
                *gap >= Duration::from_millis(160) && *gap <= Duration::from_millis(240),
                "{gaps:?}"
            );
        }
        // Not a doubling backoff: the last gap is no longer than the bound of the first.
        assert!(gaps.last().unwrap() <= &Duration::from_millis(240));
        // And jittered: not all the same.
        assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_bound_is_kept() {
        let (times, result) = attempt_times(u32::MAX, POLICY).await;
        let gave_up = result.unwrap_err();
        let after = gave_up.after.expect("gave up at the deadline");
        assert!(after <= POLICY.max_total, "{after:?}");
        // It kept trying until close to the bound (no attempt was skipped early).
        assert!(
            after >= POLICY.max_total - Duration::from_millis(240),
            "{after:?}"
        );
        assert_eq!(gave_up.attempts as usize, times.len());
        assert!(times.iter().all(|t| *t <= POLICY.max_total));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_stops_at_once() {
        let start = Instant::now();
        let result: Result<(), GaveUp<&str>> =
            poll(POLICY, start + POLICY.max_total, false, |_| async {
                Attempt::Fail("denied")
            })
            .await;
        let gave_up = result.unwrap_err();
        assert_eq!(
            (gave_up.error, gave_up.after, gave_up.attempts),
            ("denied", None, 1)
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_delay_waits_one_interval_before_the_first_attempt() {
        let start = Instant::now();
        let first = Arc::new(Mutex::new(None));
        let seen = first.clone();
        poll(POLICY, start + POLICY.max_total, true, move |_| {
            seen.lock().unwrap().get_or_insert(start.elapsed());
            async { Attempt::<(), ()>::Done(()) }
        })
        .await
        .unwrap();
        let first = first.lock().unwrap().unwrap();
        assert!(
            first >= Duration::from_millis(160) && first <= Duration::from_millis(240),
            "{first:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_stops_the_wait_at_once() {
        // As `lib::stop_on_signal` does on Ctrl-C: the poll is dropped mid-sleep.
        let start = Instant::now();
        let (signal, received) = tokio::sync::oneshot::channel::<()>();
        let attempts = Arc::new(Mutex::new(0));
        let counted = attempts.clone();
        let wait = poll(POLICY, start + POLICY.max_total, false, move |_| {
            *counted.lock().unwrap() += 1;
            async { Attempt::<(), ()>::Again(()) }
        });
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let _ = signal.send(());
        });
        tokio::select! {
            _ = wait => panic!("the wait ended by itself"),
            _ = received => {}
        }
        assert_eq!(start.elapsed(), Duration::from_millis(700));
        let made = *attempts.lock().unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            *attempts.lock().unwrap(),
            made,
            "no attempt after cancelling"
        );
        assert!((3..=5).contains(&made), "{made}");
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..10_000 {
            let d = POLICY.next_interval(&mut rng);
            assert!(
                d >= Duration::from_millis(160) && d <= Duration::from_millis(240),
                "{d:?}"
            );
        }
        let exact = Poll {
            jitter: 0.0,
            ..POLICY
        };
        assert_eq!(exact.next_interval(&mut rng), Duration::from_millis(200));
    }
}
