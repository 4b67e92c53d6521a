//! Which HTTP requests a local server of lambda-rt answers.
//!
//! `serve` runs the user's function for whoever can reach it. Binding 127.0.0.1 keeps other
//! machines out, but not web pages: any page open in a browser on this machine can POST to
//! `http://127.0.0.1:9001` (a cross-origin request the browser sends with an `Origin` header), and
//! a page on a hostile domain can resolve that domain to 127.0.0.1 (DNS rebinding: the request then
//! carries `Host: attacker.example`). The AWS CLI and SDKs send no `Origin` and a loopback `Host`,
//! so refusing the other two costs them nothing. Flags open it deliberately: `--allow-origin` for
//! a web front-end under development, and binding another `--host` turns the Host check off (the
//! server is then meant to be reached by other names).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What the server accepts.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Check that `Host` is a loopback name (only when the server is bound to loopback).
    pub loopback_only: bool,
    /// Origins allowed besides the server's own; `*` allows every origin.
    pub allowed_origins: Vec<String>,
    /// The port the server listens on, for its own origin.
    pub port: u16,
}

impl Guard {
    /// The guard of a server listening on `addr` that also answers pages of `allowed_origins`.
    pub fn for_server(addr: std::net::SocketAddr, allowed_origins: &[String]) -> Self {
        Guard {
            loopback_only: addr.ip().is_loopback(),
            allowed_origins: allowed_origins.to_vec(),
            port: addr.port(),
        }
    }

    /// The reason to refuse a request with these headers, if any.
    pub fn refusal(&self, headers: &HeaderMap) -> Option<String> {
        if self.loopback_only {
            let host = headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !is_loopback_host(host) {
                return Some(format!(
                    "lambda-rt's local servers answer only requests addressed to a loopback name \
                     (127.0.0.1, localhost), not Host `{host}`: a web page could otherwise reach \
                     your function through its own domain (DNS rebinding); bind another --host to \
                     serve other names"
                ));
            }
        }
        let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
            return self.cross_site_refusal(headers);
        };
        let own = [
            format!("http://127.0.0.1:{}", self.port),
            format!("http://localhost:{}", self.port),
        ];
        let allowed = own.iter().any(|o| o == origin)
            || self
                .allowed_origins
                .iter()
                .any(|a| a == "*" || a.trim_end_matches('/') == origin);
        (!allowed).then(|| {
            format!(
                "lambda-rt's local servers refuse requests from web pages (Origin `{origin}`): any \
                 page open in a browser could otherwise run your function; pass --allow-origin \
                 {origin} to allow that page"
            )
        })
    }
}

impl Guard {
    /// A browser request without an `Origin` (a link followed, an `<img>`, a form's GET) still
    /// says where it comes from: `Sec-Fetch-Site: cross-site` is another site's page making this
    /// browser call the function. Refused unless every origin is allowed (`--allow-origin '*'`).
    /// Clients that are not browsers (curl, the SDKs) send no such header.
    fn cross_site_refusal(&self, headers: &HeaderMap) -> Option<String> {
        let site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())?;
        let open = self.allowed_origins.iter().any(|a| a == "*");
        (site.eq_ignore_ascii_case("cross-site") && !open).then(|| {
            "lambda-rt's local servers refuse requests another site's page makes a browser send \
             (Sec-Fetch-Site: cross-site): it could otherwise run your function; pass \
             --allow-origin '*' to allow every site"
                .to_string()
        })
    }
}

/// `127.0.0.1`, `127.x.y.z`, `localhost`, `[::1]`, each with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The middleware: a 403 in the AWS error shape for a refused request, the handler otherwise.
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.refusal(request.headers()) {
        Some(reason) => {
            tracing::warn!("refused a request: {reason}");
            let body = serde_json::json!({ "Type": "User", "message": reason });
            (
                StatusCode::FORBIDDEN,
                [
                    ("content-type", "application/json"),
                    ("x-amzn-errortype", "AccessDeniedException"),
                ],
                Body::from(body.to_string()),
            )
                .into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    fn guard() -> Guard {
        Guard {
            loopback_only: true,
            allowed_origins: vec!["http://localhost:3000".into()],
            port: 9001,
        }
    }

    #[test]
    fn clients_without_an_origin_on_loopback_pass() {
        for host in [
            "127.0.0.1:9001",
            "localhost:9001",
            "[::1]:9001",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert_eq!(guard().refusal(&headers(&[("host", host)])), None, "{host}");
        }
    }

    #[test]
    fn other_hosts_and_foreign_origins_are_refused() {
        let refused = guard().refusal(&headers(&[("host", "attacker.example:9001")]));
        assert!(refused.unwrap().contains("DNS rebinding"));
        let refused = guard().refusal(&headers(&[
            ("host", "127.0.0.1:9001"),
            ("origin", "https://evil.example"),
        ]));
        assert!(refused
            .unwrap()
            .contains("--allow-origin https://evil.example"));
        assert!(guard()
            .refusal(&headers(&[("host", "127.0.0.1:9001"), ("origin", "null")]))
            .is_some());
    }

    #[test]
    fn a_cross_site_request_without_an_origin_is_refused() {
        let refused = guard().refusal(&headers(&[
            ("host", "127.0.0.1:9001"),
            ("sec-fetch-site", "cross-site"),
        ]));
        assert!(refused.unwrap().contains("Sec-Fetch-Site: cross-site"));
        for site in ["same-origin", "none"] {
            let h = headers(&[("host", "127.0.0.1:9001"), ("sec-fetch-site", site)]);
            assert_eq!(guard().refusal(&h), None, "{site}");
        }
        let open = Guard {
            allowed_origins: vec!["*".into()],
            ..guard()
        };
        let h = headers(&[("host", "127.0.0.1:9001"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(open.refusal(&h), None);
    }

    #[test]
    fn allowed_and_own_origins_pass() {
        for origin in ["http://localhost:3000", "http://127.0.0.1:9001"] {
            let h = headers(&[("host", "127.0.0.1:9001"), ("origin", origin)]);
            assert_eq!(guard().refusal(&h), None, "{origin}");
        }
        let open = Guard {
            loopback_only: false,
            allowed_origins: vec!["*".into()],
            port: 9001,
        };
        let h = headers(&[
            ("host", "my-laptop.lan:9001"),
            ("origin", "https://x.example"),
        ]);
        assert_eq!(open.refusal(&h), None);
    }
}
