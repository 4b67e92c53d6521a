//! Real-AWS behaviour that moto lacks: Pending and InProgress states with their 409s, IAM
//! propagation refusals, RevisionIds and 412s, Failed and Inactive states, slow Invokes and a
//! concurrent writer.

use super::*;

/// Real-AWS behaviours to add; all off by default (the proxy is then transparent).
#[derive(Debug, Clone, Default)]
pub struct Realism {
    /// Added to every request before it is handled (one round trip).
    pub latency: Duration,
    /// How long a new function stays Pending.
    pub pending: Duration,
    /// How long each update stays InProgress.
    pub in_progress: Duration,
    /// How long after CreateRole Lambda refuses the role.
    pub iam_propagation: Duration,
    /// Answer every list call one item per page.
    pub one_item_pages: bool,
    /// How long Lambda takes to answer an Invoke (the function's run time).
    pub invoke_delay: Duration,
    /// Lambda's control-plane quota: requests (but Invoke, GetFunction and GetPolicy) beyond
    /// this many a second get 429 (`None`: no limit).
    pub lambda_requests_per_second: Option<f64>,
}

impl Realism {
    /// The timings the latency benchmark uses: 40 ms round trip, 2 s Pending, 1.5 s InProgress,
    /// 4 s IAM propagation.
    pub fn benchmark() -> Realism {
        Realism {
            latency: Duration::from_millis(40),
            pending: Duration::from_millis(2000),
            in_progress: Duration::from_millis(1500),
            iam_propagation: Duration::from_millis(4000),
            one_item_pages: false,
            invoke_delay: Duration::ZERO,
            lambda_requests_per_second: None,
        }
    }

    /// Every behaviour at once, with durations short enough for a test.
    pub fn short() -> Realism {
        Realism {
            latency: Duration::from_millis(5),
            pending: Duration::from_millis(300),
            in_progress: Duration::from_millis(200),
            iam_propagation: Duration::from_millis(400),
            one_item_pages: true,
            invoke_delay: Duration::ZERO,
            lambda_requests_per_second: None,
        }
    }
}

/// Why a function is not in a normal state, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: &str, message: &str) -> Reason {
        Reason {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The proxy's model of one function's state.
#[derive(Debug, Default, Clone)]
pub(super) struct FunctionState {
    pub(super) pending_until: Option<Instant>,
    pub(super) in_progress_until: Option<Instant>,
    pub(super) revision: u64,
    pub(super) failed: Option<Reason>,
    pub(super) fail_next_update: Option<Reason>,
    pub(super) update_failed: Option<Reason>,
    pub(super) inactive: bool,
    /// Configuration moto does not keep (it ignores these in UpdateFunctionConfiguration, and
    /// LoggingConfig altogether), as last sent; shown in every read, as Lambda does.
    pub(super) kept: serde_json::Map<String, serde_json::Value>,
    /// The reserved concurrency last set through the proxy (`Some(None)`: removed). moto leaves a
    /// reservation of 0 out of GetFunction; Lambda reports it.
    pub(super) reserved: Option<Option<i64>>,
    /// The function's zip as last uploaded inline: Lambda lets its owner download the code from
    /// GetFunction's `Code.Location` (a presigned URL); moto's is not reachable, so the proxy
    /// points it at itself (`/__proxy/code/<function>`).
    pub(super) zip: Option<Vec<u8>>,
}

/// The zip a CreateFunction (`Code.ZipFile`) or UpdateFunctionCode (`ZipFile`) carried inline.
fn uploaded_zip(request: &Request) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = serde_json::from_slice::<serde_json::Value>(&request.body).ok()?;
    let encoded = body["Code"]["ZipFile"]
        .as_str()
        .or(body["ZipFile"].as_str())?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// What [`FunctionState::kept`] holds.
const KEPT_BY_THE_PROXY: [&str; 3] = ["EphemeralStorage", "TracingConfig", "LoggingConfig"];

/// The fields of [`KEPT_BY_THE_PROXY`] a CreateFunction or UpdateFunctionConfiguration sent.
fn kept_fields(request: &Request, function: &str) -> Vec<(String, serde_json::Value)> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return Vec::new();
    };
    KEPT_BY_THE_PROXY
        .iter()
        .filter_map(|key| {
            let mut value = body.get(*key)?.clone();
            if *key == "LoggingConfig" && value.get("LogGroup").is_none() {
                value["LogGroup"] = format!("/aws/lambda/{function}").into();
            }
            Some((key.to_string(), value))
        })
        .collect()
}

impl FunctionState {
    /// Ends transitions whose time has come; each end changes the RevisionId, as in Lambda.
    pub(super) fn settle(&mut self, now: Instant) {
        if self.pending_until.is_some_and(|until| until <= now) {
            self.pending_until = None;
            self.revision += 1;
        }
        if self.in_progress_until.is_some_and(|until| until <= now) {
            self.in_progress_until = None;
            self.revision += 1;
            self.update_failed = self.fail_next_update.take();
        }
    }

    pub(super) fn is_pending(&self) -> bool {
        self.pending_until.is_some()
    }

    pub(super) fn is_in_progress(&self) -> bool {
        self.in_progress_until.is_some()
    }
}

/// A change the proxy makes itself, as another writer, right after lambda-rt reads a function.
pub(super) struct BehindChange {
    pub(super) function: String,
    /// The other writer's request: method, path and action name, and its JSON body.
    pub(super) method: &'static str,
    pub(super) path: String,
    pub(super) action: &'static str,
    pub(super) body: String,
    /// The request whose answer (any status) the change follows (`GetFunction`: lambda-rt's read).
    pub(super) after: &'static str,
    pub(super) done: bool,
}

/// Lambda refuses a second CreateFunctionUrlConfig with 409 ResourceConflictException; moto
/// overwrites the URL, so the proxy asks moto first. (A taken statement id moto refuses itself.)
pub(super) fn already_exists(request: &Request, upstream_port: u16) -> Option<Response> {
    if request.info.action != "CreateFunctionUrlConfig" {
        return None;
    }
    let function = request.info.function.as_deref()?;
    let path = format!("/2021-10-31/functions/{function}/url");
    let lookup = Request {
        head: vec![
            format!("GET {path} HTTP/1.1"),
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0".into(),
        ],
        body: Vec::new(),
        info: request.info.clone(),
        query: String::new(),
    };
    let found = forward(&lookup, upstream_port)?;
    // (moto answers this read with 201.)
    (200..300).contains(&found.status).then(|| {
        lambda_error(
            409,
            "ResourceConflictException",
            &format!(
                "Failed to create function url config for [functionArn = \
                 arn:aws:lambda:us-east-1:123456789012:function:{function}]. Error message: \
                 FunctionUrlConfig exists for this Lambda function"
            ),
        )
    })
}

/// Lambda answers an Invoke of a function (or a version or alias of it) that does not exist with
/// 404 ResourceNotFoundException; moto's echo backend answers it as if it were there, so the
/// proxy asks moto first (GetFunction with the same Qualifier).
pub(super) fn missing_function(request: &Request, upstream_port: u16) -> Option<Response> {
    let function = request.info.function.as_deref()?;
    let qualifier = request
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("Qualifier="))
        .unwrap_or_default();
    let lookup = Request {
        head: vec![
            format!("GET /2015-03-31/functions/{function} HTTP/1.1"),
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0".into(),
        ],
        body: Vec::new(),
        info: request.info.clone(),
        query: if qualifier.is_empty() {
            String::new()
        } else {
            format!("Qualifier={qualifier}")
        },
    };
    let found = forward(&lookup, upstream_port)?;
    (found.status == 404).then(|| {
        lambda_error(
            404,
            "ResourceNotFoundException",
            &format!(
                "Function not found: arn:aws:lambda:us-east-1:123456789012:function:{function}"
            ),
        )
    })
}

/// What Lambda or IAM would refuse now: 409 while Pending or InProgress, 400 while a new role has
/// not propagated, 412 for a stale RevisionId, the first Invoke of an Inactive function.
pub(super) fn refuse(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    let info = &request.info;
    if info.service == "s3" {
        return refuse_s3(request, shared);
    }
    if info.service != "lambda" {
        return None;
    }
    let now = Instant::now();
    let mut state = shared.state.lock().unwrap();
    let realism = state.realism.clone();
    let body: serde_json::Value =
        serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);

    // IAM propagation: only a role handed to Lambda matters.
    if matches!(
        info.action.as_str(),
        "CreateFunction" | "UpdateFunctionConfiguration"
    ) {
        if let Some(role) = body["Role"].as_str() {
            let name = role.rsplit('/').next().unwrap_or(role).to_string();
            let young = state
                .roles
                .get(&name)
                .is_some_and(|created| now < *created + realism.iam_propagation);
            if young {
                *state
                    .refusals
                    .entry("400 role not assumable".into())
                    .or_default() += 1;
                return Some(lambda_error(
                    400,
                    "InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.",
                ));
            }
        }
    }

    let function = info.function.as_deref()?;
    let entry = state.functions.get_mut(function)?;
    entry.settle(now);
    let is_write = info.is_write()
        && !matches!(
            info.action.as_str(),
            "TagResource" | "UntagResource" | "CreateFunction"
        );
    if info.action == "Invoke" && entry.inactive {
        // The first Invoke of an Inactive function fails, and Lambda starts making it Active.
        entry.inactive = false;
        entry.pending_until = Some(now + realism.pending);
        *state.refusals.entry("409 Inactive".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the \
             following state: Inactive",
        ));
    }
    if (is_write || info.action == "Invoke") && entry.is_pending() {
        *state.refusals.entry("409 Pending".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the \
             following state: Pending",
        ));
    }
    if is_write && entry.is_in_progress() {
        *state.refusals.entry("409 InProgress".into()).or_default() += 1;
        return Some(lambda_error(
            409,
            "ResourceConflictException",
            &format!(
                "The operation cannot be performed at this time. An update is in progress for \
                 resource: arn:aws:lambda:us-east-1:123456789012:function:{function}"
            ),
        ));
    }
    // An alias has a RevisionId of its own (moto keeps it); the model is the function's.
    let alias_write = info.action.ends_with("Alias");
    if let (Some(given), false) = (body["RevisionId"].as_str(), alias_write) {
        if given != revision_id(function, entry.revision) {
            *state
                .refusals
                .entry("412 stale RevisionId".into())
                .or_default() += 1;
            return Some(lambda_error(
                412,
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the \
                 GetFunction/GetAlias API to retrieve the latest Revision Id",
            ));
        }
    }
    None
}

/// Records what a successful request started, and rewrites the answer as real AWS gives it.
pub(super) fn after_forward(request: &Request, response: &mut Response, shared: &Arc<Shared>) {
    let info = &request.info;
    let ok = (200..300).contains(&response.status);
    let now = Instant::now();
    let mut behind = None;
    let mut hook = None;
    let deleted_group = (info.service == "logs" && info.action == "DeleteLogGroup" && ok)
        .then(|| serde_json::from_slice::<serde_json::Value>(&request.body).ok())
        .flatten()
        .and_then(|body| body["logGroupName"].as_str().map(str::to_string));
    {
        let mut state = shared.state.lock().unwrap();
        let realism = state.realism.clone();
        match (info.service, info.action.as_str()) {
            ("iam", "CreateRole") if ok => {
                if let Some(name) = form_param(&request.body, "RoleName") {
                    state.roles.insert(name, now);
                }
            }
            ("lambda", "CreateFunction") if ok => {
                if let Some(name) = response
                    .json()
                    .and_then(|v| v["FunctionName"].as_str().map(str::to_string))
                {
                    let kept = kept_fields(request, &name).into_iter().collect();
                    let entry = state.functions.entry(name).or_default();
                    *entry = FunctionState {
                        pending_until: Some(now + realism.pending),
                        revision: entry.revision + 1,
                        kept,
                        zip: uploaded_zip(request),
                        ..Default::default()
                    };
                }
            }
            ("lambda", "UpdateFunctionCode" | "UpdateFunctionConfiguration") if ok => {
                if let Some(function) = &info.function {
                    let entry = state.functions.entry(function.clone()).or_default();
                    entry.in_progress_until = Some(now + realism.in_progress);
                    entry.update_failed = None;
                    entry.revision += 1;
                    entry.settle(now);
                    entry.kept.extend(kept_fields(request, function));
                    if info.action == "UpdateFunctionCode" {
                        entry.zip = uploaded_zip(request);
                    }
                }
            }
            ("lambda", "PutFunctionConcurrency" | "DeleteFunctionConcurrency") if ok => {
                if let Some(function) = &info.function {
                    let count = serde_json::from_slice::<serde_json::Value>(&request.body)
                        .ok()
                        .and_then(|b| b["ReservedConcurrentExecutions"].as_i64());
                    let entry = state.functions.entry(function.clone()).or_default();
                    entry.reserved = Some(count.filter(|_| info.action.starts_with("Put")));
                }
            }
            ("lambda", "GetFunction") if ok => {
                let reserved = info
                    .function
                    .as_ref()
                    .and_then(|f| state.functions.get(f))
                    .and_then(|entry| entry.reserved);
                let zip_kept = info
                    .function
                    .as_ref()
                    .and_then(|f| state.functions.get(f))
                    .is_some_and(|entry| entry.zip.is_some());
                if let (true, Some(function), Some(host), Some(mut value)) = (
                    zip_kept,
                    &info.function,
                    request.header("host"),
                    response.json(),
                ) {
                    value["Code"] = serde_json::json!({
                        "RepositoryType": "S3",
                        "Location": format!("http://{host}/__proxy/code/{function}"),
                    });
                    response.set_json(&value);
                }
                if let (Some(reserved), Some(mut value)) = (reserved, response.json()) {
                    match reserved {
                        Some(count) => {
                            value["Concurrency"] =
                                serde_json::json!({ "ReservedConcurrentExecutions": count })
                        }
                        None => {
                            value.as_object_mut().map(|m| m.remove("Concurrency"));
                        }
                    }
                    response.set_json(&value);
                }
            }
            ("lambda", "DeleteFunction") if ok => {
                if let Some(function) = &info.function {
                    state.functions.remove(function);
                }
            }
            _ => {}
        }
        if let Some(change) = state.behind.as_mut() {
            if info.action == change.after
                && Some(&change.function) == info.function.as_ref()
                && !change.done
            {
                change.done = true;
                behind = Some((
                    change.function.clone(),
                    change.method,
                    change.path.clone(),
                    change.action,
                    change.body.clone(),
                ));
            }
        }
        if info.service == "lambda" && ok {
            rewrite_configurations(response, &mut state, now);
        }
        if let Some(i) = state.hooks.iter().position(|(a, _)| *a == info.action) {
            hook = Some(state.hooks.remove(i).1);
        }
    }
    if let Some(hook) = hook {
        hook();
    }
    if let Some(group) = deleted_group {
        forget_log_group_tags(request, &group, shared.upstream_port);
    }
    // Another writer changes the function after lambda-rt's read was answered (but before the
    // answer reaches it, so lambda-rt's next write carries a RevisionId that is already stale).
    if let Some((function, method, path, action, body)) = behind {
        let change = Request {
            head: vec![
                format!("{method} {path} HTTP/1.1"),
                "Content-Type: application/json".into(),
                "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0".into(),
            ],
            body: body.into_bytes(),
            info: RequestInfo {
                method: method.into(),
                path,
                action: action.into(),
                service: "lambda",
                function: Some(function.clone()),
            },
            query: String::new(),
        };
        if let Some(mut answer) = forward(&change, shared.upstream_port) {
            after_forward(&change, &mut answer, shared);
        }
    }
}

/// Adds State, LastUpdateStatus and RevisionId to every `$LATEST` function configuration in a
/// Lambda answer, as the proxy's model says they are.
pub(super) fn rewrite_configurations(response: &mut Response, state: &mut State, now: Instant) {
    let Some(mut value) = response.json() else {
        return;
    };
    let mut changed = false;
    let mut visit = |config: &mut serde_json::Value| {
        let Some(name) = config["FunctionName"].as_str().map(str::to_string) else {
            return;
        };
        if config["Version"].as_str().is_some_and(|v| v != "$LATEST") {
            return;
        }
        let entry = state.functions.entry(name.clone()).or_default();
        entry.settle(now);
        let map = config
            .as_object_mut()
            .expect("a configuration is an object");
        for (key, value) in &entry.kept {
            map.insert(key.clone(), value.clone());
        }
        for key in [
            "State",
            "StateReason",
            "StateReasonCode",
            "LastUpdateStatus",
            "LastUpdateStatusReason",
            "LastUpdateStatusReasonCode",
        ] {
            map.remove(key);
        }
        let mut set = |k: &str, v: &str| {
            map.insert(k.to_string(), v.into());
        };
        if let Some(reason) = &entry.failed {
            set("State", "Failed");
            set("StateReason", &reason.message);
            set("StateReasonCode", &reason.code);
            set("LastUpdateStatus", "Successful");
        } else if entry.inactive {
            set("State", "Inactive");
            set(
                "StateReason",
                "The function is inactive because it has not been invoked.",
            );
            set("StateReasonCode", "Idle");
            set("LastUpdateStatus", "Successful");
        } else if entry.is_pending() {
            set("State", "Pending");
            set("StateReason", "The function is being created.");
            set("StateReasonCode", "Creating");
        } else {
            set("State", "Active");
            if entry.is_in_progress() {
                set("LastUpdateStatus", "InProgress");
                set("LastUpdateStatusReason", "The function is being updated.");
                set("LastUpdateStatusReasonCode", "Updating");
            } else if let Some(reason) = &entry.update_failed {
                set("LastUpdateStatus", "Failed");
                set("LastUpdateStatusReason", &reason.message);
                set("LastUpdateStatusReasonCode", &reason.code);
            } else {
                set("LastUpdateStatus", "Successful");
            }
        }
        set("RevisionId", &revision_id(&name, entry.revision));
        changed = true;
    };
    if value.get("FunctionName").is_some() {
        visit(&mut value);
    }
    if let Some(config) = value.get_mut("Configuration") {
        visit(config);
    }
    if let Some(list) = value.get_mut("Functions").and_then(|l| l.as_array_mut()) {
        list.iter_mut().for_each(&mut visit);
    }
    if changed {
        response.set_json(&value);
    }
}

/// A RevisionId in Lambda's shape (a UUID), unique per function and revision.
pub(super) fn revision_id(function: &str, revision: u64) -> String {
    let hash = function.bytes().fold(0xcbf2_9ce4u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}-0000-4000-8000-{revision:012x}")
}

/// A Lambda error answer: JSON body, `x-amzn-ErrorType` header (what the SDK reads the code from).
/// S3 checks the expected bucket owner (moto does not): 403 for a bucket of another account
/// when the request names the caller's. Counts the requests that name none.
fn refuse_s3(request: &Request, shared: &Arc<Shared>) -> Option<Response> {
    let owner = header_in(&request.head, "x-amz-expected-bucket-owner");
    let bucket = request
        .info
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut state = shared.state.lock().unwrap();
    state.s3_requests.0 += 1;
    if owner.is_none() {
        state.s3_requests.1 += 1;
    }
    if !(state.foreign_buckets.contains(&bucket) && owner.is_some()) {
        return None;
    }
    *state.refusals.entry("403 bucket owner".into()).or_default() += 1;
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
                <Message>Access Denied</Message><RequestId>realism</RequestId></Error>";
    Some(Response::new(
        403,
        vec!["Content-Type: application/xml".to_string()],
        body.as_bytes().to_vec(),
    ))
}

pub(super) fn lambda_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status,
        vec![
            "Content-Type: application/json".into(),
            format!("x-amzn-ErrorType: {code}"),
            "x-amzn-RequestId: realism-proxy".into(),
        ],
        serde_json::json!({ "Type": "User", "message": message })
            .to_string()
            .into_bytes(),
    )
}

/// CloudWatch Logs deletes a log group's tags with it; moto keeps them by ARN, so a group made
/// again under the same name would come back tagged. The proxy removes them after each
/// DeleteLogGroup (in moto's default account, in the request's region).
fn forget_log_group_tags(deleted_by: &Request, group: &str, upstream_port: u16) {
    let authorization = header_in(&deleted_by.head, "authorization").unwrap_or_default();
    let region = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|credential| credential.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string();
    let arn = format!("arn:aws:logs:{region}:123456789012:log-group:{group}");
    let call = |action: &str, body: serde_json::Value| {
        let request = Request {
            head: vec![
                "POST / HTTP/1.1".into(),
                "Content-Type: application/x-amz-json-1.1".into(),
                format!("X-Amz-Target: Logs_20140328.{action}"),
                format!("Authorization: {authorization}"),
            ],
            body: body.to_string().into_bytes(),
            info: RequestInfo {
                method: "POST".into(),
                path: "/".into(),
                action: action.into(),
                service: "logs",
                function: None,
            },
            query: String::new(),
        };
        forward(&request, upstream_port).and_then(|r| r.json())
    };
    let tags = call(
        "ListTagsForResource",
        serde_json::json!({ "resourceArn": arn }),
    );
    let keys: Vec<String> = tags
        .and_then(|t| t["tags"].as_object().map(|m| m.keys().cloned().collect()))
        .unwrap_or_default();
    if !keys.is_empty() {
        call(
            "UntagResource",
            serde_json::json!({ "resourceArn": arn, "tagKeys": keys }),
        );
    }
}
