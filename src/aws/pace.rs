//! Keeps lambda-rt's Lambda requests within Lambda's control-plane quota, so that a run over many
//! functions is not answered 429 TooManyRequestsException again and again.
//!
//! Lambda's quotas page (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, "API
//! requests") sets "control plane API requests (excludes invocation, GetFunction, and GetPolicy
//! requests)" at 15 a second across all APIs, per account and Region, not configurable; GetFunction
//! has its own 100 a second. The SDK's retries wait out a 429 with backoff, but a burst of them
//! spends the retry budget the client shares (five tokens a throttled retry): fifty functions
//! created at once, each retrying a CreateFunction while IAM propagates its new role, failed
//! with "Rate exceeded" after their attempts ran out. So the Lambda client's HTTP connector asks a
//! token bucket before each request the quota counts and waits its turn: never more than the
//! quota's rate, with a burst below its second's worth so that other callers in the account (and
//! the jitter of the network) keep some room. A 429 that still comes is retried as before.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::time::Instant;

/// Lambda's control-plane quota, requests a second (see the module's documentation).
pub const LAMBDA_CONTROL_PLANE_PER_SECOND: f64 = 15.0;
/// Requests sent at once before the rate applies.
const BURST: f64 = 10.0;

/// A token bucket that hands out turns: each request reserves the next free moment, so waiting
/// requests go in the order they asked and none is starved.
#[derive(Debug)]
pub struct Pace {
    per_second: f64,
    burst: f64,
    /// Tokens left (negative: turns already promised) and when that was computed.
    state: Mutex<(f64, Instant)>,
}

impl Pace {
    pub fn new(per_second: f64, burst: f64) -> Pace {
        Pace {
            per_second,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// The pace of Lambda's control-plane quota.
    pub fn lambda_control_plane() -> Pace {
        Pace::new(LAMBDA_CONTROL_PLANE_PER_SECOND, BURST)
    }

    /// Reserves one request's turn and returns how long to wait for it.
    pub fn reserve(&self) -> Duration {
        let mut state = self.state.lock().unwrap();
        let now = Instant::now();
        let (tokens, since) = *state;
        let refilled = (tokens + self.per_second * (now - since).as_secs_f64()).min(self.burst);
        let left = refilled - 1.0;
        *state = (left, now);
        match left >= 0.0 {
            true => Duration::ZERO,
            false => Duration::from_secs_f64(-left / self.per_second),
        }
    }
}

/// Whether Lambda's control-plane quota counts a request (`method`, full `uri`): all but Invoke
/// (and its streaming and asynchronous forms), GetFunction and GetPolicy.
pub fn counts_against_quota(method: &str, uri: &str) -> bool {
    let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let own_quota = matches!(
        (method, segments.as_slice()),
        (
            _,
            [
                _,
                "functions",
                _,
                "invocations" | "response-streaming-invocations" | "invoke-async"
            ]
        ) | ("GET", [_, "functions", _] | [_, "functions", _, "policy"])
    );
    !own_quota
}

/// `inner` with every request the quota counts paced by `pace`.
pub fn paced(inner: SharedHttpClient, pace: Arc<Pace>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, pace })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pace: Arc<Pace>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pace: self.pace.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pace: Arc<Pace>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let wait = match counts_against_quota(request.method(), request.uri()) {
            true => self.pace.reserve(),
            false => Duration::ZERO,
        };
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tracing::debug!(
                    "waiting {} ms for Lambda's request rate ({} a second)",
                    wait.as_millis(),
                    LAMBDA_CONTROL_PLANE_PER_SECOND
                );
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_the_rest_in_turns_at_the_rate() {
        let pace = Pace::new(15.0, 10.0);
        let waits: Vec<Duration> = (0..13).map(|_| pace.reserve()).collect();
        assert!(waits[..10].iter().all(Duration::is_zero), "{waits:?}");
        let millis: Vec<u128> = waits[10..].iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [66, 133, 200]);
        // A second later the promised turns are paid and the bucket is full again.
        tokio::time::advance(Duration::from_secs(1)).await;
        let immediate = (0..20).take_while(|_| pace.reserve().is_zero()).count();
        assert_eq!(immediate, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_fills_to_its_burst_and_no_further() {
        let pace = Pace::new(15.0, 10.0);
        tokio::time::advance(Duration::from_secs(60)).await;
        let immediate = (0..20).take_while(|_| pace.reserve().is_zero()).count();
        assert_eq!(immediate, 10);
    }

    #[test]
    fn the_quota_counts_every_request_but_invoke_get_function_and_get_policy() {
        let base = "https://lambda.us-east-1.amazonaws.com";
        let counted =
            |method: &str, path: &str| counts_against_quota(method, &format!("{base}{path}"));
        assert!(!counted("POST", "/2015-03-31/functions/f/invocations"));
        assert!(!counted(
            "POST",
            "/2021-11-15/functions/f/response-streaming-invocations"
        ));
        assert!(!counted("POST", "/2014-11-13/functions/f/invoke-async/"));
        assert!(!counted("GET", "/2015-03-31/functions/f"));
        assert!(!counted("GET", "/2015-03-31/functions/f?Qualifier=live"));
        assert!(!counted("GET", "/2015-03-31/functions/f/policy"));
        assert!(counted("POST", "/2015-03-31/functions"));
        assert!(counted("GET", "/2015-03-31/functions/f/configuration"));
        assert!(counted("PUT", "/2015-03-31/functions/f/configuration"));
        assert!(counted("DELETE", "/2015-03-31/functions/f"));
        assert!(counted("GET", "/2015-03-31/functions/f/versions"));
        assert!(counted("POST", "/2018-10-31/layers/l/versions"));
        assert!(counted("GET", "/2015-03-31/functions/"));
    }
}
