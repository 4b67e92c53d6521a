//! Which AWS operation a request is (`lambda:Invoke`, `iam:CreateRole`, ...), from its method,
//! path and body, and whether it writes.

use super::*;

/// What a request is, for rules and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub method: String,
    /// The path without the query string, percent-decoded.
    pub path: String,
    /// The AWS operation: `CreateRole`, `GetFunction`, `Invoke`, `PutObject`, ...
    pub action: String,
    pub service: &'static str,
    /// The function a Lambda operation is about (its name, also when the request names an ARN).
    pub function: Option<String>,
}

impl RequestInfo {
    /// `service:Operation`, the key of [`AwsProxy::counts`].
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    /// Whether this request changes something (reads and Invoke do not).
    pub fn is_write(&self) -> bool {
        is_write(self.service, &self.action)
    }
}

/// Whether the operation `action` of `service` changes something.
pub fn is_write(service: &str, action: &str) -> bool {
    let read = ["Get", "List", "Describe", "Head", "Filter"]
        .iter()
        .any(|prefix| action.starts_with(prefix));
    !(read || (service == "lambda" && action == "Invoke"))
}

/// Names the AWS operation of a request, from its service (signature scope, `X-Amz-Target`, IAM's
/// `Action=`) and, for the REST services, its method and path.
pub(super) fn classify(method: &str, path: &str, head: &[String], body: &[u8]) -> RequestInfo {
    let info = |service, action: String, function| RequestInfo {
        method: method.to_string(),
        path: path.to_string(),
        action,
        service,
        function,
    };
    if let Some(target) = header_in(head, "x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        return info("logs", operation, None);
    }
    let authorization = header_in(head, "authorization").unwrap_or_default();
    if authorization.contains("/s3/aws4_request") {
        let object = path.trim_matches('/').contains('/');
        let action = match (method, object) {
            ("PUT", true) => "PutObject",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("DELETE", true) => "DeleteObject",
            ("PUT", false) => "CreateBucket",
            ("HEAD", false) => "HeadBucket",
            ("DELETE", false) => "DeleteBucket",
            _ => "ListObjects",
        };
        return info("s3", action.to_string(), None);
    }
    if authorization.contains("/scheduler/aws4_request") {
        return info(
            "scheduler",
            super::scheduler::scheduler_operation(method, path),
            None,
        );
    }
    let text = String::from_utf8_lossy(body);
    if authorization.contains("/sts/aws4_request") {
        let action = form_param(body, "Action").unwrap_or_default();
        return info("sts", action, None);
    }
    if authorization.contains("/iam/") || text.starts_with("Action=") {
        let action = form_param(body, "Action").unwrap_or_default();
        return info("iam", action, None);
    }
    let (action, function) = lambda_operation(method, path);
    info("lambda", action, function)
}

/// The Lambda REST operation of `method path`, and the function it is about.
pub(super) fn lambda_operation(method: &str, path: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // A function may be named by ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`).
    let function_name = |raw: &str| -> String {
        let fields: Vec<&str> = raw.split(':').collect();
        match fields.iter().position(|f| *f == "function") {
            Some(i) if i + 1 < fields.len() => fields[i + 1].to_string(),
            _ => raw.to_string(),
        }
    };
    let operation = match (method, parts.as_slice()) {
        ("POST", [_, "functions"]) => "CreateFunction",
        ("GET", [_, "functions"]) => "ListFunctions",
        ("GET", [_, "functions", _]) => "GetFunction",
        ("DELETE", [_, "functions", _]) => "DeleteFunction",
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", [_, "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", [_, "functions", _, "code"]) => "UpdateFunctionCode",
        ("POST", [_, "functions", _, "invocations"]) => "Invoke",
        ("POST", [_, "functions", _, "versions"]) => "PublishVersion",
        ("GET", [_, "functions", _, "versions"]) => "ListVersionsByFunction",
        ("POST", [_, "functions", _, "aliases"]) => "CreateAlias",
        ("GET", [_, "functions", _, "aliases"]) => "ListAliases",
        ("GET", [_, "functions", _, "aliases", _]) => "GetAlias",
        ("PUT", [_, "functions", _, "aliases", _]) => "UpdateAlias",
        ("DELETE", [_, "functions", _, "aliases", _]) => "DeleteAlias",
        ("POST", [_, "functions", _, "policy"]) => "AddPermission",
        ("GET", [_, "functions", _, "policy"]) => "GetPolicy",
        ("DELETE", [_, "functions", _, "policy", _]) => "RemovePermission",
        ("POST", [_, "functions", _, "url"]) => "CreateFunctionUrlConfig",
        ("GET", [_, "functions", _, "url"]) => "GetFunctionUrlConfig",
        ("PUT", [_, "functions", _, "url"]) => "UpdateFunctionUrlConfig",
        ("DELETE", [_, "functions", _, "url"]) => "DeleteFunctionUrlConfig",
        ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("GET", [_, "functions", _, "concurrency"]) => "GetFunctionConcurrency",
        ("DELETE", [_, "functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
        ("PUT", [_, "functions", _, "event-invoke-config"]) => "PutFunctionEventInvokeConfig",
        ("POST", [_, "functions", _, "event-invoke-config"]) => "UpdateFunctionEventInvokeConfig",
        ("GET", [_, "functions", _, "event-invoke-config"]) => "GetFunctionEventInvokeConfig",
        ("DELETE", [_, "functions", _, "event-invoke-config"]) => "DeleteFunctionEventInvokeConfig",
        ("POST", [_, "tags", _]) => "TagResource",
        ("GET", [_, "tags", _]) => "ListTags",
        ("DELETE", [_, "tags", _]) => "UntagResource",
        ("GET", [_, "layers"]) => "ListLayers",
        ("POST", [_, "layers", _, "versions"]) => "PublishLayerVersion",
        ("GET", [_, "layers", _, "versions"]) => "ListLayerVersions",
        ("GET", [_, "layers", _, "versions", _]) => "GetLayerVersion",
        ("DELETE", [_, "layers", _, "versions", _]) => "DeleteLayerVersion",
        ("POST", [_, "layers", _, "versions", _, "policy"]) => "AddLayerVersionPermission",
        ("GET", [_, "layers", _, "versions", _, "policy"]) => "GetLayerVersionPolicy",
        ("DELETE", [_, "layers", _, "versions", _, "policy", _]) => "RemoveLayerVersionPermission",
        _ => return (format!("{method} {path}"), None),
    };
    let function = match parts.as_slice() {
        [_, "functions", name, ..] => Some(function_name(name)),
        [_, "tags", arn] if arn.contains(":function:") => Some(function_name(arn)),
        _ => None,
    };
    (operation.to_string(), function)
}
