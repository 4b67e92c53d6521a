//! The local servers (the Runtime API, `serve`'s Invoke API and Function URL front) answer only
//! the user who started them. They bind 127.0.0.1, which keeps other machines out but not other
//! users of this one: one could long-poll `next`, read the next event (secrets included) and post
//! a forged answer. On Linux the kernel knows who owns each end of a loopback TCP connection
//! (`/proc/net/tcp`, `/proc/net/tcp6`), so a request whose connection belongs to another uid is
//! refused with 403. A peer on another machine (`serve --host 0.0.0.0`, by the user's choice) is
//! not in this machine's tables and is let through.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The uid that owns the client end of the loopback connection `peer` → `local`, if the kernel's
/// tables show it.
pub fn owner_of(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let (table, peer_hex) = match peer.ip() {
        IpAddr::V4(p) => ("/proc/net/tcp", v4(p, peer.port())),
        IpAddr::V6(p) => ("/proc/net/tcp6", v6(p, peer.port())),
    };
    // The server's port, whatever address it was bound to (0.0.0.0 included).
    let server_port = format!(":{:04X}", local.port());
    let text = std::fs::read_to_string(table).ok()?;
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
        let matches = fields
            .get(1)
            .is_some_and(|a| a.eq_ignore_ascii_case(&peer_hex))
            && fields.get(2).is_some_and(|a| a.ends_with(&server_port));
        matches.then(|| fields.get(7)?.parse().ok()).flatten()
    })
}

/// An IPv4 endpoint as the kernel prints it: the address as a host-order u32, then the port.
fn v4(ip: std::net::Ipv4Addr, port: u16) -> String {
    format!("{:08X}:{port:04X}", u32::from_le_bytes(ip.octets()))
}

/// An IPv6 endpoint: four host-order u32 words, then the port.
fn v6(ip: std::net::Ipv6Addr, port: u16) -> String {
    let octets = ip.octets();
    let words: String = octets
        .chunks(4)
        .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .collect();
    format!("{words}:{port:04X}")
}

/// This process's uid.
fn my_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The middleware: 403 for a request whose connection another local user opened. `local` is the
/// server's own address.
pub async fn same_user_only(
    State(local): State<SocketAddr>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let owner = owner_of(peer, local);
    match (owner, my_uid()) {
        (Some(owner), Some(me)) if owner != me => {
            tracing::warn!("refused a request of uid {owner} from {peer}");
            let message = "lambda-rt's local servers answer only the user who started them";
            let body = serde_json::json!({ "Type": "User", "message": message });
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
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_written_as_the_kernel_writes_them() {
        assert_eq!(v4("127.0.0.1".parse().unwrap(), 8080), "0100007F:1F90");
        assert_eq!(
            v6("::1".parse().unwrap(), 80),
            "00000000000000000000000001000000:0050"
        );
    }

    #[tokio::test]
    async fn a_connection_of_this_process_is_ours() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(local).await.unwrap();
        let (_server_side, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(owner_of(peer, local), my_uid());
    }
}
