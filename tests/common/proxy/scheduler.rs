//! What real AWS does with a scheduled job's requests that moto does not:
//! - EventBridge Scheduler refuses a schedule whose role IAM has not propagated yet: 400
//!   ValidationException "The execution role you provide must allow AWS EventBridge Scheduler to
//!   assume the role." (aws/aws-sdk-js-v3#6494), for as long as Lambda refuses a new role;
//! - PutFunctionEventInvokeConfig replaces the function's settings, where moto appends a second
//!   configuration and keeps answering the first: the proxy deletes moto's before each put.

use super::*;

/// A CreateSchedule or UpdateSchedule naming a role made less than the propagation time ago.
pub(super) fn refuse_young_role(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    let info = &request.info;
    if info.service != "scheduler"
        || !matches!(info.action.as_str(), "CreateSchedule" | "UpdateSchedule")
    {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    let role = body["Target"]["RoleArn"].as_str()?;
    let name = role.rsplit('/').next().unwrap_or(role);
    let mut state = shared.state.lock().unwrap();
    let propagation = state.realism.iam_propagation;
    let young = state
        .roles
        .get(name)
        .is_some_and(|created| Instant::now() < *created + propagation);
    if !young {
        return None;
    }
    *state
        .refusals
        .entry("400 scheduler role not assumable".into())
        .or_default() += 1;
    Some(lambda_error(
        400,
        "ValidationException",
        "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
    ))
}

/// Before moto stores a PutFunctionEventInvokeConfig, its earlier configuration is deleted.
pub(super) fn replace_event_invoke_config(request: &Request, upstream_port: u16) {
    if request.info.action != "PutFunctionEventInvokeConfig" {
        return;
    }
    let mut head = request.head.clone();
    head[0] = head[0].replacen("PUT ", "DELETE ", 1);
    let delete = Request {
        head,
        body: Vec::new(),
        info: request.info.clone(),
        query: request.query.clone(),
    };
    let _ = forward(&delete, upstream_port);
}

/// The Scheduler REST operation of `method path`.
pub(super) fn scheduler_operation(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let operation = match (method, parts.as_slice()) {
        ("GET", ["schedules"]) => "ListSchedules",
        ("POST", ["schedules", _]) => "CreateSchedule",
        ("GET", ["schedules", _]) => "GetSchedule",
        ("PUT", ["schedules", _]) => "UpdateSchedule",
        ("DELETE", ["schedules", _]) => "DeleteSchedule",
        ("GET", ["schedule-groups"]) => "ListScheduleGroups",
        _ => return format!("{method} {path}"),
    };
    operation.to_string()
}
