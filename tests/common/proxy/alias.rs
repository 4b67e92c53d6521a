//! Lambda's alias RevisionId, which moto keeps but never changes: every CreateAlias and
//! UpdateAlias gives the alias a new one, and an UpdateAlias carrying one that is not the alias's
//! current one gets 412 PreconditionFailedException, as Lambda answers when someone else moved the
//! alias since it was read. The proxy keeps a counter per alias and answers with its own ids.

use super::*;

/// `function/alias` of an alias request: from the path, or from the body (CreateAlias).
fn alias_key(request: &Request, body: &serde_json::Value) -> Option<String> {
    let parts: Vec<&str> = request.info.path.trim_matches('/').split('/').collect();
    let function = request.info.function.clone()?;
    match parts.as_slice() {
        [_, "functions", _, "aliases", alias] => Some(format!("{function}/{alias}")),
        [_, "functions", _, "aliases"] => Some(format!("{function}/{}", body["Name"].as_str()?)),
        _ => None,
    }
}

fn revision_of(key: &str, count: u64) -> String {
    format!("alias-revision-{}-{count}", key.replace('/', "-"))
}

/// The 412 for an UpdateAlias with a RevisionId other than the alias's current one.
pub(super) fn refuse_stale_alias(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    if request.info.action != "UpdateAlias" {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    let given = body["RevisionId"].as_str()?;
    let key = alias_key(request, &body)?;
    let mut state = shared.state.lock().unwrap();
    let current = revision_of(&key, state.alias_revisions.get(&key).copied().unwrap_or(0));
    if given == current {
        return None;
    }
    *state
        .refusals
        .entry("412 stale alias RevisionId".into())
        .or_default() += 1;
    Some(lambda_error(
        412,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the \
         GetFunction/GetAlias API to retrieve the latest Revision Id",
    ))
}

/// A written alias gets a new RevisionId; every answer that shows an alias shows the proxy's.
pub(super) fn rewrite_alias_answer(
    request: &Request,
    response: &mut Response,
    shared: &Arc<Shared>,
) {
    let action = request.info.action.as_str();
    if !matches!(action, "GetAlias" | "CreateAlias" | "UpdateAlias")
        || !(200..300).contains(&response.status)
    {
        return;
    }
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let Some(key) = alias_key(request, &body) else {
        return;
    };
    let Some(mut answer) = response.json() else {
        return;
    };
    let mut state = shared.state.lock().unwrap();
    let count = state.alias_revisions.entry(key.clone()).or_insert(0);
    if action != "GetAlias" {
        *count += 1;
    }
    answer["RevisionId"] = revision_of(&key, *count).into();
    response.set_json(&answer);
}
