//! Injected faults (throttling, 5xx, dropped and reset connections, delays), chosen by a seeded
//! generator or by a rule.

use super::*;

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

pub(super) type Matcher = Box<dyn Fn(&RequestInfo) -> bool + Send>;

/// Which faults to inject.
pub(super) struct FaultPlan {
    pub(super) rng: fastrand::Rng,
    pub(super) rate: f64,
    pub(super) delay: Duration,
    /// Requests matching this always get this fault.
    pub(super) always: Option<(Matcher, Fault)>,
    /// The first request matching this is held until [`AwsProxy::release`].
    pub(super) hold: Option<Matcher>,
}

/// An error answer in the shape the service itself uses, so the SDK classifies it as it would a
/// real one.
pub(super) fn error_response(fault: Fault, service: &str) -> Response {
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
