//! The local servers (the Runtime API, `serve`'s Invoke API and Function URL front) answer only
//! the user who started them. They bind 127.0.0.1, which keeps other machines out but not other
//! users of this one: one could long-poll `next`, read the next event (secrets included) and post
//! a forged answer. On Linux the kernel knows who owns each end of a loopback TCP connection, so a
//! request whose connection belongs to another uid is refused with 403. A peer on another machine
//! (`serve --host 0.0.0.0`, by the user's choice) is not in this machine's tables and is let
//! through.
//!
//! The kernel is asked through its sock_diag netlink interface (what `ss` uses): one exact lookup
//! of the client's socket, a few microseconds however many sockets the machine has. Reading
//! `/proc/net/tcp` instead costs milliseconds once a machine has a few thousand connections in
//! TIME_WAIT (a test suite, a benchmark), on every request; it is kept as the fallback.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The uid that owns the client end of the connection `peer` → `local`, if it is a socket of
/// this machine. `local` may be the listener's unspecified address (0.0.0.0): a client here then
/// usually connected to the address it comes from.
pub fn owner_of(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let server_ip = if local.ip().is_unspecified() {
        peer.ip()
    } else {
        local.ip()
    };
    match sock_diag_owner(peer, SocketAddr::new(server_ip, local.port())) {
        Ok(Some(uid)) => Some(uid),
        // Not found where it was looked for: certain unless the server address was a guess.
        Ok(None) if !local.ip().is_unspecified() => None,
        _ => owner_in_proc_tables(peer, local),
    }
}

/// SOCK_DIAG_BY_FAMILY (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// NLMSG_ERROR (linux/netlink.h).
const NLMSG_ERROR: u16 = 2;

/// Asks the kernel (NETLINK_SOCK_DIAG, an exact inet_diag_req_v2 lookup) for the owner of the TCP
/// socket whose local end is `peer` and remote end `server`. `Ok(None)`: no such socket here.
fn sock_diag_owner(peer: SocketAddr, server: SocketAddr) -> std::io::Result<Option<u32>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let (family, source, destination) = match (peer.ip(), server.ip()) {
        (IpAddr::V4(p), IpAddr::V4(s)) => (libc::AF_INET, p.octets().to_vec(), s.octets().to_vec()),
        (IpAddr::V6(p), IpAddr::V6(s)) => {
            (libc::AF_INET6, p.octets().to_vec(), s.octets().to_vec())
        }
        _ => return Ok(None),
    };
    // struct inet_diag_req_v2: family, protocol, ext, pad, states, then struct inet_diag_sockid:
    // sport and dport (big-endian), src and dst (16 bytes each), interface, cookie (none).
    let mut request = vec![family as u8, libc::IPPROTO_TCP as u8, 0, 0];
    request.extend_from_slice(&u32::MAX.to_ne_bytes());
    request.extend_from_slice(&peer.port().to_be_bytes());
    request.extend_from_slice(&server.port().to_be_bytes());
    for address in [&source, &destination] {
        let mut padded = [0u8; 16];
        padded[..address.len()].copy_from_slice(address);
        request.extend_from_slice(&padded);
    }
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&u32::MAX.to_ne_bytes());
    request.extend_from_slice(&u32::MAX.to_ne_bytes());
    // struct nlmsghdr: length, type, flags (NLM_F_REQUEST), sequence, port id.
    let mut message = Vec::with_capacity(16 + request.len());
    message.extend_from_slice(&((16 + request.len()) as u32).to_ne_bytes());
    message.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    message.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&request);

    // SAFETY: plain system calls on a descriptor this function owns, with buffers that outlive
    // them and lengths that match.
    let socket = unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        OwnedFd::from_raw_fd(fd)
    };
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
        )
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut answer = [0u8; 1024];
    let received = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            answer.as_mut_ptr().cast(),
            answer.len(),
            0,
        )
    };
    if received < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let answer = &answer[..received as usize];
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(answer.get(at..at + 4)?.try_into().ok()?))
    };
    let kind = answer
        .get(4..6)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .ok_or_else(|| std::io::Error::other("short sock_diag answer"))?;
    if kind == NLMSG_ERROR {
        // struct nlmsgerr: a negative errno; ENOENT when no socket matches.
        let errno = word(16).map(|e| -(e as i32)).unwrap_or_default();
        return if errno == libc::ENOENT {
            Ok(None)
        } else {
            Err(std::io::Error::from_raw_os_error(errno))
        };
    }
    // struct inet_diag_msg after the header: family, state, timer, retrans, the sockid (48
    // bytes), expires, rqueue, wqueue, then uid.
    word(16 + 4 + 48 + 12)
        .map(Some)
        .ok_or_else(|| std::io::Error::other("short sock_diag answer"))
}

/// [`owner_of`] by reading the kernel's tables (`/proc/net/tcp`, `/proc/net/tcp6`).
fn owner_in_proc_tables(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
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
        assert_eq!(sock_diag_owner(peer, local).unwrap(), my_uid());
        assert_eq!(owner_in_proc_tables(peer, local), my_uid());
        // A socket that does not exist is not found, rather than guessed.
        let nobody: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(sock_diag_owner(nobody, local).unwrap(), None);
    }
}
