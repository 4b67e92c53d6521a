//! One-item pages for every IAM, Lambda, CloudWatch Logs and Scheduler list, as real AWS may
//! answer.

use super::*;

/// The lists the proxy pages one item at a time: where the items are in the answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum ListKind {
    /// IAM query protocol: items are `<member>`s of this element.
    Iam(&'static str),
    /// Lambda REST JSON: items under this key, `Marker` in, `NextMarker` out.
    Lambda(&'static str),
    /// CloudWatch Logs JSON: items under this key, `nextToken` in and out.
    Logs(&'static str),
    /// Scheduler REST JSON: items under this key, `NextToken` in (query) and out.
    Scheduler(&'static str),
}

pub(super) fn list_kind(info: &RequestInfo) -> Option<ListKind> {
    Some(match (info.service, info.action.as_str()) {
        ("iam", "ListAttachedRolePolicies") => ListKind::Iam("AttachedPolicies"),
        ("iam", "ListRolePolicies") => ListKind::Iam("PolicyNames"),
        ("iam", "ListInstanceProfilesForRole") => ListKind::Iam("InstanceProfiles"),
        ("iam", "ListRoleTags") => ListKind::Iam("Tags"),
        ("iam", "ListRoles") => ListKind::Iam("Roles"),
        ("lambda", "ListLayerVersions") => ListKind::Lambda("LayerVersions"),
        ("lambda", "ListVersionsByFunction") => ListKind::Lambda("Versions"),
        ("lambda", "ListAliases") => ListKind::Lambda("Aliases"),
        ("lambda", "ListFunctions") => ListKind::Lambda("Functions"),
        ("lambda", "ListLayers") => ListKind::Lambda("Layers"),
        ("logs", "DescribeLogGroups") => ListKind::Logs("logGroups"),
        ("logs", "DescribeLogStreams") => ListKind::Logs("logStreams"),
        ("logs", "FilterLogEvents") => ListKind::Logs("events"),
        ("scheduler", "ListSchedules") => ListKind::Scheduler("Schedules"),
        _ => return None,
    })
}

pub(super) const PAGE_PREFIX: &str = "proxy-page-";

/// Answers a list call with one item: the whole list is fetched from moto (the client's marker and
/// page size removed) and the item at the client's marker is returned, with a marker for the next
/// one while there are more.
pub(super) fn paginate(request: &Request, upstream_port: u16, kind: ListKind) -> Option<Response> {
    let mut full = Request {
        head: request.head.clone(),
        body: request.body.clone(),
        info: request.info.clone(),
        query: request.query.clone(),
    };
    let index: usize;
    match kind {
        ListKind::Iam(_) => {
            let pairs: Vec<&[u8]> = request.body.split(|&b| b == b'&').collect();
            index = form_param(&request.body, "Marker")
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            let mut kept: Vec<Vec<u8>> = pairs
                .into_iter()
                .filter(|p| !p.starts_with(b"Marker=") && !p.starts_with(b"MaxItems="))
                .map(<[u8]>::to_vec)
                .collect();
            kept.push(b"MaxItems=1000".to_vec());
            full.body = kept.join(&b'&');
        }
        ListKind::Lambda(_) | ListKind::Scheduler(_) => {
            let (marker_in, size_in) = match kind {
                ListKind::Lambda(_) => ("Marker=", "MaxItems="),
                _ => ("NextToken=", "MaxResults="),
            };
            let mut marker = None;
            let kept: Vec<&str> = request
                .query
                .split('&')
                .filter(|p| {
                    if let Some(m) = p.strip_prefix(marker_in) {
                        marker = Some(m.to_string());
                        false
                    } else {
                        !p.starts_with(size_in) && !p.is_empty()
                    }
                })
                .collect();
            index = marker
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            full.query = kept.join("&");
        }
        ListKind::Logs(_) => {
            let mut body: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_else(|_| serde_json::json!({}));
            index = body["nextToken"]
                .as_str()
                .and_then(|m| m.strip_prefix(PAGE_PREFIX).and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            if let Some(map) = body.as_object_mut() {
                map.remove("nextToken");
                map.remove("limit");
            }
            full.body = body.to_string().into_bytes();
        }
    }
    let mut response = forward(&full, upstream_port)?;
    if !(200..300).contains(&response.status) {
        return Some(response);
    }
    let next = format!("{PAGE_PREFIX}{}", index + 1);
    match kind {
        ListKind::Iam(container) => {
            let text = String::from_utf8_lossy(&response.body).into_owned();
            if let Some(paged) = page_iam(&text, container, index, &next) {
                response.body = paged.into_bytes();
            }
        }
        ListKind::Lambda(key) | ListKind::Logs(key) | ListKind::Scheduler(key) => {
            let Some(mut value) = response.json() else {
                return Some(response);
            };
            let items = value[key].as_array().cloned().unwrap_or_default();
            let more = index + 1 < items.len();
            value[key] = serde_json::Value::Array(items.into_iter().skip(index).take(1).collect());
            let marker_key = match kind {
                ListKind::Lambda(_) => "NextMarker",
                ListKind::Scheduler(_) => "NextToken",
                _ => "nextToken",
            };
            if more {
                value[marker_key] = next.into();
            } else if let Some(map) = value.as_object_mut() {
                map.remove(marker_key);
            }
            response.set_json(&value);
        }
    }
    Some(response)
}

/// Keeps the `index`th `<member>` of `<container>` and marks the answer truncated when more
/// follow. Members may nest (instance profiles list their roles), so depth is tracked.
pub(super) fn page_iam(text: &str, container: &str, index: usize, next: &str) -> Option<String> {
    let open = format!("<{container}>");
    let close = format!("</{container}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    let inner = &text[start..end];
    let mut members = Vec::new();
    let mut depth = 0usize;
    let mut member_start = 0;
    let mut at = 0;
    while at < inner.len() {
        let rest = &inner[at..];
        if rest.starts_with("<member>") {
            if depth == 0 {
                member_start = at;
            }
            depth += 1;
            at += "<member>".len();
        } else if rest.starts_with("</member>") {
            depth -= 1;
            at += "</member>".len();
            if depth == 0 {
                members.push(&inner[member_start..at]);
            }
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let page = members.get(index).copied().unwrap_or_default();
    let more = index + 1 < members.len();
    let mut out = format!("{}{page}{}", &text[..start], &text[end..]);
    // Replace the truncation flag and marker after the container.
    let after = start + page.len() + close.len();
    let tail = out.split_off(after);
    let tail = strip_element(&strip_element(&tail, "IsTruncated"), "Marker");
    let flags = if more {
        format!("<IsTruncated>true</IsTruncated><Marker>{next}</Marker>")
    } else {
        "<IsTruncated>false</IsTruncated>".to_string()
    };
    Some(format!("{out}{flags}{tail}"))
}

pub(super) fn strip_element(text: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    match (text.find(&open), text.find(&close)) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &text[..a], &text[b + close.len()..]),
        _ => text.to_string(),
    }
}
