//! Lambda's control-plane quota: requests beyond a rate are answered 429
//! TooManyRequestsException ("Rate exceeded"), as Lambda does when an account sends its API
//! requests faster than its quota allows. The quota counts every Lambda request but Invoke,
//! GetFunction and GetPolicy (theirs are separate and higher; Lambda's quotas page, "API
//! requests"). A token bucket holding one second of requests, refilled continuously.

use super::*;

/// The bucket: tokens left and when it was last refilled.
#[derive(Debug)]
pub(super) struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// A 429 for a Lambda request over `realism.lambda_requests_per_second`, `None` otherwise.
pub(super) fn throttle(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    let info = &request.info;
    let own_quota = [
        "Invoke",
        "InvokeWithResponseStream",
        "GetFunction",
        "GetPolicy",
    ];
    if info.service != "lambda" || own_quota.contains(&info.action.as_str()) {
        return None;
    }
    let mut state = shared.state.lock().unwrap();
    let rate = state.realism.lambda_requests_per_second?;
    let now = Instant::now();
    let bucket = state.quota_bucket.get_or_insert(Bucket {
        tokens: rate,
        refilled: now,
    });
    bucket.tokens = (bucket.tokens + rate * (now - bucket.refilled).as_secs_f64()).min(rate);
    bucket.refilled = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return None;
    }
    *state
        .refusals
        .entry("429 rate exceeded".into())
        .or_default() += 1;
    let mut response = lambda_error(429, "TooManyRequestsException", "Rate exceeded");
    response.headers.push("Retry-After: 1".into());
    Some(response)
}
