//! The Function URL formats (payload format 2.0), for `serve --http`: an HTTP request becomes the
//! event a function behind a Function URL receives, and the function's result becomes the HTTP
//! response the URL would send (Lambda developer guide, "Invoking Lambda function URLs", request
//! and response payloads).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use base64::Engine;
use serde_json::{json, Map, Value};

/// What `serve --http` knows of one request.
pub struct HttpRequest<'a> {
    pub method: &'a Method,
    /// The path as sent, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: String,
}

/// Content types whose bodies a Function URL passes as text; others are base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let content_type = content_type.to_ascii_lowercase();
    content_type.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|kind| content_type.contains(kind))
}

/// The Function URL event (payload format 2.0) for `request`, received at `now`.
pub fn event_of(request: &HttpRequest<'_>, now: SystemTime) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            // Cookies go to `cookies`, one per entry, and not to `headers`.
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_string())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in request.query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            urlencoding::decode(s)
                .map(|d| d.into_owned())
                .unwrap_or_else(|_| s.to_string())
        };
        query
            .entry(decode(key))
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&decode(value));
            })
            .or_insert_with(|| decode(value));
    }
    let host = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let epoch_ms = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split([':', '.']).next().unwrap_or("local"),
            "http": {
                "method": request.method.as_str(),
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request
                    .headers
                    .get("user-agent")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default(),
            },
            "requestId": request.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": clf_time(now),
            "timeEpoch": epoch_ms,
        },
        "isBase64Encoded": false,
    });
    let map = event.as_object_mut().expect("the event is an object");
    if !cookies.is_empty() {
        map.insert("cookies".into(), json!(cookies));
    }
    if !query.is_empty() {
        map.insert("queryStringParameters".into(), json!(query));
    }
    if !request.body.is_empty() {
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        match std::str::from_utf8(request.body) {
            Ok(text) if is_text(content_type) => {
                map.insert("body".into(), text.into());
            }
            _ => {
                map.insert(
                    "body".into(),
                    base64::engine::general_purpose::STANDARD
                        .encode(request.body)
                        .into(),
                );
                map.insert("isBase64Encoded".into(), true.into());
            }
        }
    }
    event
}

/// `12/Mar/2020:19:03:58 +0000`, the request time format of the event.
fn clf_time(time: SystemTime) -> String {
    // From `2020-03-12T19:03:58Z`.
    let rfc = humantime::format_rfc3339_seconds(time).to_string();
    let (date, clock) = rfc
        .trim_end_matches('Z')
        .split_once('T')
        .unwrap_or(("", ""));
    let parts: Vec<&str> = date.split('-').collect();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match parts.as_slice() {
        [year, month, day] => {
            let month = month
                .parse::<usize>()
                .ok()
                .and_then(|m| months.get(m.wrapping_sub(1)))
                .copied()
                .unwrap_or("Jan");
            format!("{day}/{month}/{year}:{clock} +0000")
        }
        _ => rfc,
    }
}

/// The HTTP response a Function URL sends for a function's result.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// Why the response is a 502, for the server's log.
    pub problem: Option<String>,
}

fn bad_gateway(problem: String) -> HttpResponse {
    HttpResponse {
        status: StatusCode::BAD_GATEWAY,
        headers: vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        )],
        body: Bytes::from_static(br#"{"Message":"Internal Server Error"}"#),
        problem: Some(problem),
    }
}

/// Maps a function's result: an error is a 502; a JSON object with `statusCode` says the status,
/// headers, cookies and body (base64-decoded when `isBase64Encoded`); any other JSON is a 200
/// `application/json` body, as Lambda infers when there is no `statusCode`.
pub fn response_of(payload: &[u8], function_error: bool) -> HttpResponse {
    if function_error {
        return bad_gateway(format!(
            "the function failed: {}",
            String::from_utf8_lossy(payload)
        ));
    }
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return bad_gateway(format!(
            "the function's response is not JSON, so no HTTP response can be made of it: \
             return a JSON object with statusCode, headers and body (or any JSON value): {}",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        ));
    };
    match value.as_object() {
        Some(object) if object.contains_key("statusCode") => structured(object),
        _ => HttpResponse {
            status: StatusCode::OK,
            headers: vec![(
                HeaderName::from_static("content-type"),
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::copy_from_slice(payload),
            problem: None,
        },
    }
}

/// Where a streamed HTTP response's prelude ends: the prelude and what follows the 8 NUL bytes.
pub fn split_prelude(stream: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = stream.windows(8).position(|w| w == [0u8; 8])?;
    Some((&stream[..at], &stream[at + 8..]))
}

/// The status and headers of a streamed HTTP response's prelude (`{}`: 200, no headers); a
/// prelude that is not such an object is a 502.
pub fn prelude_of(prelude: &[u8]) -> Result<HttpResponse, HttpResponse> {
    let value: Value = serde_json::from_slice(prelude)
        .map_err(|e| bad_gateway(format!("the streamed response's prelude is not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad_gateway(
            "the streamed response's prelude is not a JSON object".into(),
        ));
    };
    let mut object = object.clone();
    object
        .entry("statusCode")
        .or_insert_with(|| Value::from(200));
    object.remove("body");
    let head = structured(&object);
    match head.problem {
        Some(_) => Err(head),
        None => Ok(head),
    }
}

fn structured(object: &Map<String, Value>) -> HttpResponse {
    let status = object["statusCode"]
        .as_u64()
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| StatusCode::from_u16(code).ok());
    let Some(status) = status else {
        return bad_gateway(format!(
            "statusCode {} is not an HTTP status",
            object["statusCode"]
        ));
    };
    let mut headers = Vec::new();
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&text),
            ) {
                (Ok(name), Ok(value)) => headers.push((name, value)),
                _ => return bad_gateway(format!("header `{name}: {text}` is not valid HTTP")),
            }
        }
    }
    if let Some(cookies) = object.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            match HeaderValue::from_str(cookie) {
                Ok(value) => headers.push((HeaderName::from_static("set-cookie"), value)),
                Err(_) => return bad_gateway(format!("cookie `{cookie}` is not valid HTTP")),
            }
        }
    }
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            if object
                .get("isBase64Encoded")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                match base64::engine::general_purpose::STANDARD.decode(text) {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(e) => return bad_gateway(format!("body is not valid base64: {e}")),
                }
            } else {
                Bytes::from(text.clone())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };
    HttpResponse {
        status,
        headers,
        body,
        problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_has_the_function_url_fields() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        headers.insert("cookie", "a=1; b=2".parse().unwrap());
        headers.append("x-multi", "one".parse().unwrap());
        headers.append("x-multi", "two".parse().unwrap());
        headers.insert("content-type", "application/octet-stream".parse().unwrap());
        let request = HttpRequest {
            method: &Method::POST,
            path: "/a%20b",
            query: "x=1&x=2&y=%2F",
            headers: &headers,
            body: &[0, 159, 146, 150],
            source_ip: "127.0.0.1".into(),
            request_id: "id".into(),
        };
        let time = UNIX_EPOCH + std::time::Duration::from_millis(1_583_348_638_390);
        let event = event_of(&request, time);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawPath"], "/a%20b");
        assert_eq!(event["rawQueryString"], "x=1&x=2&y=%2F");
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(event["headers"]["x-multi"], "one,two");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(
            event["queryStringParameters"],
            json!({"x": "1,2", "y": "/"})
        );
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["timeEpoch"], 1_583_348_638_390u64);
        assert_eq!(
            event["requestContext"]["time"],
            "04/Mar/2020:19:03:58 +0000"
        );
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "AJ+Slg==");
    }

    #[test]
    fn responses_are_mapped_as_function_urls_do() {
        let r = response_of(
            br#"{"statusCode":404,"headers":{"x-a":"b"},"body":"nope"}"#,
            false,
        );
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.body, "nope");
        let r = response_of(br#""just a string""#, false);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "\"just a string\"");
        let r = response_of(
            br#"{"statusCode":200,"body":"AAE=","isBase64Encoded":true}"#,
            false,
        );
        assert_eq!(r.body.as_ref(), &[0, 1]);
        assert_eq!(response_of(b"{}", true).status, StatusCode::BAD_GATEWAY);
        assert_eq!(
            response_of(b"not json", false).status,
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            response_of(br#"{"statusCode":"x"}"#, false).status,
            StatusCode::BAD_GATEWAY
        );
    }
}
