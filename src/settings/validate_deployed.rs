//! The rules of the settings that only matter in AWS (`create`, `update` and `status` take them;
//! running the function here does not): the log group's retention, the role's policies and
//! policy file, /tmp, tracing and the log format, reserved concurrency, layers, the VPC and tags.
//! Each error names the value, where it came from ([`Origin`]) and how to fix it, as in
//! [`super::validate`].

use std::collections::BTreeMap;

use anyhow::Result;

use super::sources::Origin;
use super::validate::{is_name, require, usage, MAX_LAYER_NAME_LEN};

/// The retention periods CloudWatch Logs accepts (the `Days` shape of its API model), and 0 for
/// "never expire" (DeleteRetentionPolicy).
pub const LOG_RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn log_retention_days(days: i64, origin: &Origin) -> Result<()> {
    require(days == 0 || LOG_RETENTION_DAYS.contains(&days), || {
        let nearest = LOG_RETENTION_DAYS
            .iter()
            .min_by_key(|d| (**d - days).abs())
            .unwrap_or(&1);
        format!(
            "invalid log retention {days} days (from {origin}): CloudWatch Logs accepts only \
             1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, \
             2557, 2922, 3288 or 3653 days (the nearest is {nearest}), or 0 to keep logs forever"
        )
    })
}

/// A policy for the role lambda-rt manages: an AWS managed policy's name, with its path if it has
/// one (`AmazonS3ReadOnlyAccess`, `service-role/AWSLambdaVPCAccessExecutionRole`), or a policy ARN
/// (IAM's policy name characters, at most 128 of them). Whether it exists is asked of IAM before
/// anything is written.
pub fn policy(entry: &str, origin: &Origin) -> Result<()> {
    let segment_ok = |segment: &str| {
        (1..=128).contains(&segment.len())
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
    };
    let path_ok = |path: &str| path.split('/').all(segment_ok);
    let ok = match entry.strip_prefix("arn:") {
        Some(_) => {
            let parts: Vec<&str> = entry.splitn(6, ':').collect();
            parts.len() == 6
                && parts[1].starts_with("aws")
                && parts[2] == "iam"
                && parts[3].is_empty()
                && (parts[4] == "aws"
                    || (parts[4].len() == 12 && parts[4].chars().all(|c| c.is_ascii_digit())))
                && parts[5].strip_prefix("policy/").is_some_and(path_ok)
        }
        None => path_ok(entry),
    };
    require(ok, || {
        format!(
            "invalid policy `{entry}` (from {origin}): give an AWS managed policy's name, e.g. \
             AmazonS3ReadOnlyAccess, or a policy's ARN, e.g. \
             arn:aws:iam::123456789012:policy/nightly-import"
        )
    })
}

pub fn ephemeral_storage(mb: i64, origin: &Origin) -> Result<()> {
    require((512..=10240).contains(&mb), || {
        format!(
            "invalid ephemeral storage {mb} MB (from {origin}): Lambda gives /tmp 512 to 10240 MB"
        )
    })
}

/// `value` (any case) is one of `allowed` (lower case); Lambda's spelling of it: `PassThrough`,
/// `Active`, `Json`, `Text`, or the value in capitals for log levels (the caller's choice).
pub fn one_of(value: &str, origin: &Origin, what: &str, allowed: &[&str]) -> Result<String> {
    let lower = value.to_ascii_lowercase();
    if !allowed.contains(&lower.as_str()) {
        return Err(usage(format!(
            "invalid {what} `{value}` (from {origin}): use {}",
            allowed.join(", ")
        )));
    }
    Ok(match lower.as_str() {
        "passthrough" => "PassThrough".into(),
        "active" => "Active".into(),
        "json" => "Json".into(),
        "text" => "Text".into(),
        _ => lower,
    })
}

/// A whole number of at least 0, or `none`.
pub fn reserved_concurrency(value: &str, origin: &Origin) -> Result<Option<i32>> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match value.parse::<i32>() {
        Ok(count) if count >= 0 => Ok(Some(count)),
        _ => Err(usage(format!(
            "invalid reserved concurrency `{value}` (from {origin}): give a whole number of at \
             least 0 (0 stops the function), or `none` to remove the reservation"
        ))),
    }
}

/// Lambda's limit on the layers of a function.
pub const MAX_LAYERS: usize = 5;

/// Layer version ARNs (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`), each once, at
/// most five (the runtime layer, when attached, counts too: checked when it is known).
pub fn extra_layers(layers: &[String], origin: &Origin) -> Result<()> {
    require(layers.len() <= MAX_LAYERS, || {
        format!(
            "{} layers (from {origin}): Lambda attaches at most {MAX_LAYERS} to a function, the \
             runtime layer included",
            layers.len()
        )
    })?;
    for (i, arn) in layers.iter().enumerate() {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 8
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "lambda"
            && !parts[3].is_empty()
            && (parts[4].len() == 12 && parts[4].chars().all(|c| c.is_ascii_digit()))
            && parts[5] == "layer"
            && is_name(parts[6], MAX_LAYER_NAME_LEN, "-_")
            && parts[7].parse::<u64>().is_ok_and(|v| v > 0);
        require(ok, || {
            format!(
                "invalid layer `{arn}` (from {origin}): give a layer version's ARN, e.g. \
                 arn:aws:lambda:us-east-1:123456789012:layer:jq:3"
            )
        })?;
        let layer = &arn[..arn.rfind(':').unwrap_or(0)];
        require(
            !layers[..i]
                .iter()
                .any(|a| a.starts_with(&format!("{layer}:"))),
            || format!("layer `{layer}` is listed twice (from {origin}): keep one version"),
        )?;
    }
    Ok(())
}

/// Subnets and security groups come together (a function in a VPC needs both), as EC2 ids, at
/// most 16 subnets and 5 security groups (Lambda's limits).
pub fn vpc(
    subnets: Option<(Vec<String>, Origin)>,
    groups: Option<(Vec<String>, Origin)>,
) -> Result<Option<(Vec<String>, Vec<String>)>> {
    let (subnets, groups) = match (subnets, groups) {
        (None, None) => return Ok(None),
        (Some((_, origin)), None) | (None, Some((_, origin))) => {
            return Err(usage(format!(
                "a VPC needs both subnets and security groups (only one given, from {origin}): \
                 set vpc-subnets and vpc-security-groups together"
            )))
        }
        (Some(subnets), Some(groups)) => (subnets, groups),
    };
    let check = |(mut ids, origin): (Vec<String>, Origin), prefix: &str, what: &str, max: usize| {
        // Lambda's VpcConfig patterns: `subnet-` / `sg-` and 8 or 17 lower-case letters or
        // digits (`subnet-([a-z0-9]{8}|[a-z0-9]{17})`).
        let bad = ids.iter().find(|id| {
            !id.strip_prefix(prefix).is_some_and(|rest| {
                matches!(rest.len(), 8 | 17)
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
        });
        if let Some(bad) = bad {
            return Err(usage(format!(
                "invalid {what} `{bad}` (from {origin}): expected an id like {prefix}0abc1234"
            )));
        }
        require((1..=max).contains(&ids.len()), || {
            format!(
                "{} {what}s (from {origin}): Lambda takes 1 to {max}",
                ids.len()
            )
        })?;
        ids.sort();
        ids.dedup();
        Ok(ids)
    };
    Ok(Some((
        check(subnets, "subnet-", "subnet", 16)?,
        check(groups, "sg-", "security group", 5)?,
    )))
}

/// IAM's limit on a role's inline policies, in characters without whitespace.
pub const MAX_INLINE_POLICY_CHARS: usize = 10_240;

/// Reads and checks a policy document: JSON, an object with a `Statement` (one or a list), each
/// with `Effect` Allow or Deny and an `Action` or `NotAction`, within IAM's size. Returns it.
pub fn policy_document(path: &std::path::Path, origin: &Origin) -> Result<serde_json::Value> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "cannot read the policy file `{shown}` (from {origin}): {e}"
        ))
    })?;
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "the policy file `{shown}` (from {origin}) is not JSON ({e}): write an IAM policy \
             document, e.g. {{\"Version\": \"2012-10-17\", \"Statement\": [...]}}"
        ))
    })?;
    let statements: Vec<&serde_json::Value> = match &document["Statement"] {
        serde_json::Value::Array(list) => list.iter().collect(),
        statement @ serde_json::Value::Object(_) => vec![statement],
        _ => Vec::new(),
    };
    let shape_ok = document.is_object()
        && !statements.is_empty()
        && statements.iter().all(|s| {
            matches!(s["Effect"].as_str(), Some("Allow" | "Deny"))
                && (s.get("Action").is_some() || s.get("NotAction").is_some())
        });
    require(shape_ok, || {
        format!(
            "the policy file `{shown}` (from {origin}) is not an IAM policy: it needs a \
             `Statement` (an object or a list), each with `Effect` Allow or Deny and an \
             `Action`"
        )
    })?;
    let size = document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    require(size <= MAX_INLINE_POLICY_CHARS, || {
        format!(
            "the policy file `{shown}` (from {origin}) is {size} characters, over IAM's \
             {MAX_INLINE_POLICY_CHARS} for a role's inline policies: split it into managed \
             policies and list them in `policies`"
        )
    })?;
    Ok(document)
}

/// `--tag KEY=VALUE` pairs; a key given twice keeps the last value.
pub fn parse_tag_pairs(pairs: &[String], origin: &Origin) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(usage(format!(
                "invalid tag `{pair}` (from {origin}): expected KEY=VALUE, e.g. --tag team=data"
            )));
        };
        tags.insert(key.to_string(), value.to_string());
    }
    Ok(tags)
}

/// Lambda's tag rules: at most 50 tags (lambda-rt keeps two for itself), keys of 1 to 128 and
/// values of at most 256 letters, digits, spaces and `+ - = . _ : / @`; keys lambda-rt or AWS
/// use are refused.
pub fn tags(tags: &BTreeMap<String, String>, origin: &Origin) -> Result<()> {
    let allowed = |text: &str| {
        text.chars()
            .all(|c| c.is_alphanumeric() || " +-=._:/@".contains(c))
    };
    require(tags.len() <= 48, || {
        format!(
            "{} tags (from {origin}): a function takes 50, and lambda-rt keeps 2 for itself",
            tags.len()
        )
    })?;
    for (key, value) in tags {
        require(
            key != "managed-by" && !key.starts_with("lambda-rt:") && !key.starts_with("aws:"),
            || {
                format!(
                    "tag `{key}` (from {origin}) is reserved: `managed-by` and keys starting \
                     with `lambda-rt:` are lambda-rt's own, `aws:` AWS's; choose another key"
                )
            },
        )?;
        require(
            (1..=128).contains(&key.chars().count()) && allowed(key),
            || {
                format!(
                    "invalid tag key `{key}` (from {origin}): use 1 to 128 letters, digits, \
                     spaces or + - = . _ : / @"
                )
            },
        )?;
        require(value.chars().count() <= 256 && allowed(value), || {
            format!(
                "invalid value of tag `{key}` (from {origin}): use at most 256 letters, digits, \
                 spaces or + - = . _ : / @"
            )
        })?;
    }
    Ok(())
}
