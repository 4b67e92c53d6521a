//! The proxy's HTTP: reading a request (chunked bodies included), forwarding it to moto, and
//! writing an answer.

use super::*;

/// One request as received.
pub(super) struct Request {
    pub(super) head: Vec<String>,
    pub(super) body: Vec<u8>,
    pub(super) info: RequestInfo,
    pub(super) query: String,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name)
    }
}

pub(super) fn header_in(head: &[String], name: &str) -> Option<String> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// An answer ready to send.
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) headers: Vec<String>,
    pub(super) body: Vec<u8>,
    /// The Content-Length of an answer to HEAD, which has no body but tells the size of one.
    pub(super) head_length: Option<String>,
}

impl Response {
    pub(super) fn new(status: u16, headers: Vec<String>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
            head_length: None,
        }
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for line in &self.headers {
            out.push_str(line);
            out.push_str("\r\n");
        }
        let length = self
            .head_length
            .clone()
            .unwrap_or_else(|| self.body.len().to_string());
        out.push_str(&format!("Content-Length: {length}\r\n\r\n"));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    pub(super) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub(super) fn set_json(&mut self, value: &serde_json::Value) {
        self.body = value.to_string().into_bytes();
    }
}

pub(super) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Resets the connection (RST, not FIN): the client sees "connection reset".
pub(super) fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let _ = stream.shutdown(Shutdown::Both);
}

pub(super) fn read_request(
    reader: &mut BufReader<TcpStream>,
    stream: &mut TcpStream,
) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    if header_in(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let body = if header_in(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize = header_in(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    let mut parts = head.first()?.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let (raw_path, query) = target.split_once('?').unwrap_or((&target, ""));
    let path = percent_decode(raw_path);
    let info = classify::classify(&method, &path, &head, &body);
    Some(Request {
        head,
        body,
        info,
        query: query.to_string(),
    })
}

pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form parameter of an IAM query body, decoded.
pub(super) fn form_param(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(&value.replace('+', " ")))
    })
}

pub(super) fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).ok()?;
        let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).ok()?;
                if line.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Sends the request to moto on a fresh connection and returns its answer, de-chunked.
pub(super) fn forward(request: &Request, upstream_port: u16) -> Option<Response> {
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    upstream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut request_line = request.head[0].clone();
    if let Some((method, rest)) = request_line.split_once(' ') {
        // Rebuild the target with the (possibly rewritten) query string.
        let (target, version) = rest.rsplit_once(' ').unwrap_or((rest, "HTTP/1.1"));
        let path = target.split('?').next().unwrap_or(target);
        let target = if request.query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", request.query)
        };
        request_line = format!("{method} {target} {version}");
    }
    let mut out = format!("{request_line}\r\n");
    for line in &request.head[1..] {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "connection" | "transfer-encoding" | "content-length" | "expect"
        ) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    upstream.write_all(out.as_bytes()).ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    let mut chunked = false;
    let mut head_length = None;
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if name == "transfer-encoding" {
            chunked = line.to_ascii_lowercase().contains("chunked");
            continue;
        }
        if name == "content-length" && request.info.method == "HEAD" {
            head_length = line.split_once(':').map(|(_, v)| v.trim().to_string());
        }
        if matches!(
            name.as_str(),
            "connection" | "content-length" | "keep-alive"
        ) {
            continue;
        }
        headers.push(line.to_string());
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body,
        head_length,
    })
}

pub(super) fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.trim().split(';').next()?, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
