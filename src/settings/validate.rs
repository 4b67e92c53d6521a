//! The rules every setting must follow before anything is built or sent: Lambda's, IAM's and S3's
//! naming rules and limits. Each error says which value broke which rule, where the value came from
//! ([`Origin`]), and how to fix it.

use std::collections::BTreeMap;

use anyhow::Result;

use super::sources::Origin;
use crate::error::UsageError;

/// Lambda's limit on a layer name's length.
pub const MAX_LAYER_NAME_LEN: usize = 140;
/// Lambda's limit on the total size of environment variable keys and values.
pub const MAX_ENVIRONMENT_BYTES: usize = 4 * 1024;

pub(super) fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// `Ok` when `ok`, else a usage error with the message.
pub(super) fn require(ok: bool, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(usage(message()))
    }
}

/// 1 to `max` ASCII letters and digits, or characters of `others`.
pub(super) fn is_name(name: &str, max: usize, others: &str) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || others.contains(c))
}

pub fn function_name(name: &str, origin: &Origin) -> Result<()> {
    let ok = is_name(name, 64, "-_");
    require(ok, || {
        format!(
            "invalid function name `{name}` (from {origin}): use 1 to 64 letters, digits, `-` or `_`"
        )
    })
}

pub fn role_name(name: &str, origin: &Origin) -> Result<()> {
    let ok = is_name(name, 64, "+=,.@_-");
    require(ok, || {
        format!(
            "invalid role name `{name}` (from {origin}): use 1 to 64 letters, digits or `+=,.@_-` \
             (--role-name); note the default is <function-name>-role"
        )
    })
}

/// The role name lambda-rt derives, `<function>-role`, must fit IAM's 64 characters too: a
/// function name of 60 to 64 characters needs a role name of its own.
pub fn derived_role_name(function_name: &str) -> Result<String> {
    let name = format!("{function_name}-role");
    require(name.len() <= 64, || {
        format!(
            "the function name `{function_name}` is {} characters, so its role name `{name}` \
             would be {}, over IAM's limit of 64: pass --role-name NAME (or `role-name` in \
             lambda-rt.toml), or --role-arn",
            function_name.len(),
            name.len()
        )
    })?;
    Ok(name)
}

/// A staging object's key (`<prefix><name>/function.zip`) within S3's 1024 bytes.
pub fn s3_key(key: &str) -> Result<()> {
    require(key.len() <= 1024, || {
        format!(
            "the staging object key `{}…` would be {} bytes, over S3's limit of 1024: shorten \
             --s3-key (`s3-key` in lambda-rt.toml)",
            key.chars().take(40).collect::<String>(),
            key.len()
        )
    })
}

pub fn role_arn(arn: &str, origin: &Origin) -> Result<()> {
    // The pattern of Lambda's Role parameter (and IAM's): arn:aws[-partition]:iam::<12 digits>:
    // role/[path/]name, with IAM's name characters.
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
    };
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(name_ok);
    require(ok, || {
        format!(
            "invalid role ARN `{arn}` (from {origin}): expected \
             arn:aws:iam::<12-digit account id>:role/<name>"
        )
    })
}

pub fn layer_name(name: &str, origin: &Origin) -> Result<()> {
    let ok = is_name(name, MAX_LAYER_NAME_LEN, "-_");
    require(ok, || {
        format!(
            "invalid layer name `{name}` (from {origin}): use 1 to {MAX_LAYER_NAME_LEN} letters, \
             digits, `-` or `_`; note the default is <function-name>-layer"
        )
    })
}

/// `tools`: command names (looked up on PATH when the package is built), each once.
pub fn tools(tools: &[String], origin: &Origin) -> Result<()> {
    for (i, tool) in tools.iter().enumerate() {
        let ok = !tool.is_empty()
            && tool != "."
            && tool != ".."
            && tool.len() <= 255
            && tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
        require(ok, || {
            format!(
                "tools (from {origin}): `{tool}` is not a command name: list commands by name \
                 (e.g. \"jq\"), which lambda-rt finds on this machine's PATH"
            )
        })?;
        require(!tools[..i].contains(tool), || {
            format!("tools (from {origin}): `{tool}` is listed twice; list it once")
        })?;
    }
    Ok(())
}

/// S3's bucket naming rules, checked here so a typo fails before anything is built or sent.
pub fn bucket_name(bucket: &str, origin: &Origin) -> Result<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    require(ok, || {
        format!(
            "invalid S3 bucket name `{bucket}` (from {origin}): use 3 to 63 lowercase letters, \
             digits, `-` or `.`, starting and ending with a letter or digit"
        )
    })
}

/// Lambda's rule for a handler: 1 to 128 characters, no whitespace. What it means is the
/// runtime's business; the bash and Deno conventions' `<file>.<function>` is checked with the
/// project (see [`follows_file_function`]).
pub fn handler(handler: &str, origin: &Origin) -> Result<()> {
    require(
        !handler.is_empty() && handler.len() <= 128 && !handler.contains(char::is_whitespace),
        || {
            format!(
                "invalid handler `{handler}` (from {origin}): Lambda takes 1 to 128 characters \
                 without spaces, e.g. `function.handler` for a function `handler` in \
                 function/function.sh"
            )
        },
    )
}

/// Whether `handler` is `<file>.<function>`, as the bash and Deno runtimes read it.
pub fn follows_file_function(handler: &str) -> bool {
    match handler.split_once('.') {
        Some((file, function)) => {
            !file.is_empty()
                && !file.contains('/')
                && !function.is_empty()
                && !function.contains('.')
                && function
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !function.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

pub fn runtime(runtime: &str, origin: &Origin) -> Result<()> {
    match runtime {
        "provided.al2023" | "provided.al2" => Ok(()),
        "provided" => Err(usage(format!(
            "runtime `provided` (from {origin}) can no longer be used for new functions: use \
             `provided.al2023`"
        ))),
        other => Err(usage(format!(
            "unsupported runtime `{other}` (from {origin}): lambda-rt deploys custom runtimes, use \
             `provided.al2023` or `provided.al2`"
        ))),
    }
}

pub fn memory(memory: i64, origin: &Origin) -> Result<()> {
    require((128..=10240).contains(&memory), || {
        format!("invalid memory {memory} MB (from {origin}): Lambda accepts 128 to 10240")
    })
}

pub fn timeout(timeout: i64, origin: &Origin) -> Result<()> {
    require((1..=900).contains(&timeout), || {
        format!("invalid timeout {timeout} s (from {origin}): Lambda accepts 1 to 900 seconds")
    })
}

pub fn description(description: &str, origin: &Origin) -> Result<()> {
    require(description.chars().count() <= 256, || {
        format!("invalid description (from {origin}): Lambda allows at most 256 characters")
    })?;
    // A NUL or another control character is an accident (a pasted binary, a shell escape gone
    // wrong), not a description; tabs and line breaks are text.
    let control = description
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    require(control.is_none(), || {
        format!(
            "invalid description (from {origin}): it contains the control character U+{:04X}; \
             a description is plain text",
            control.map_or(0, u32::from)
        )
    })
}

pub fn endpoint_url(url: &str, origin: &Origin) -> Result<()> {
    require(
        url.starts_with("http://") || url.starts_with("https://"),
        || {
            format!(
            "invalid endpoint URL `{url}` (from {origin}): it must start with http:// or https://"
        )
        },
    )?;
    // Over plain http the signed requests, session token included, can be read on the way. A
    // project file (perhaps in a repository just cloned) may name only https or this machine;
    // the user's own flag or environment may name anything.
    let plain_to_another_machine = url
        .strip_prefix("http://")
        .is_some_and(|rest| !is_loopback_authority(rest.split('/').next().unwrap_or_default()));
    require(
        !(plain_to_another_machine && matches!(origin, Origin::File { .. })),
        || {
            format!(
                "endpoint URL `{url}` (from {origin}) would send your signed AWS requests, session \
                 token included, unencrypted to another machine: a project file may name only an \
                 https:// endpoint or this machine (localhost, 127.0.0.1, [::1]). If you mean it, \
                 give it yourself with --endpoint-url"
            )
        },
    )
}

/// Whether `host[:port]` names this machine.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `KEY=VALUE` pairs; the value may itself contain `=`.
pub fn parse_env_pairs(pairs: &[String], origin: &Origin) -> Result<BTreeMap<String, String>> {
    let mut environment = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(usage(format!(
                "invalid environment variable `{pair}` (from {origin}): expected KEY=VALUE, e.g. \
                 --env LOG_LEVEL=debug"
            )));
        };
        environment.insert(key.to_string(), value.to_string());
    }
    Ok(environment)
}

/// Names that Lambda sets itself and refuses in a function's environment (Lambda "Defined runtime
/// environment variables": reserved keys cannot be set in the function configuration). TZ is among
/// them there; LANG, PATH, LD_LIBRARY_PATH, NODE_PATH and PYTHONPATH are not, and may be
/// overridden.
pub const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
];

pub fn environment(environment: &BTreeMap<String, String>, origin: &Origin) -> Result<()> {
    for key in environment.keys() {
        // Lambda's pattern for a key is `[a-zA-Z]([a-zA-Z0-9_])+`: two characters at least.
        let valid = key.len() >= 2
            && key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(usage(format!(
                "invalid environment variable name `{key}` (from {origin}): Lambda wants two \
                 characters or more, starting with a letter, then only letters, digits and `_`"
            )));
        }
        if RESERVED_ENV.contains(&key.as_str()) {
            return Err(usage(format!(
                "environment variable `{key}` (from {origin}) is reserved: Lambda sets it itself and \
                 refuses it in the function's configuration; use another name"
            )));
        }
    }
    let size: usize = environment.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ENVIRONMENT_BYTES {
        return Err(usage(format!(
            "environment variables take {size} bytes, over Lambda's limit of {MAX_ENVIRONMENT_BYTES} \
             by {} bytes (from {origin}): remove some",
            size - MAX_ENVIRONMENT_BYTES
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_file_may_not_send_requests_in_the_clear_to_another_machine() {
        let file = Origin::File {
            line: 3,
            column: 16,
        };
        let flag = Origin::Flag("--endpoint-url".into());
        for fine in [
            "https://lambda.example.com",
            "http://localhost:5000",
            "http://127.0.0.1:5000/",
            "http://127.8.0.1",
            "http://[::1]:5000",
        ] {
            assert!(endpoint_url(fine, &file).is_ok(), "{fine}");
        }
        for remote in [
            "http://attacker.example",
            "http://10.0.0.1:80/",
            "http://[fe80::1]",
        ] {
            let error = endpoint_url(remote, &file).unwrap_err().to_string();
            assert!(error.contains("lambda-rt.toml:3:16"), "{error}");
            assert!(
                error.contains("give it yourself with --endpoint-url"),
                "{error}"
            );
            assert!(endpoint_url(remote, &flag).is_ok(), "{remote}");
            let env = Origin::Env("LAMBDA_RT_ENDPOINT_URL".into());
            assert!(endpoint_url(remote, &env).is_ok(), "{remote}");
        }
    }

    #[test]
    fn role_arns_and_descriptions_aws_would_refuse_are_refused_here() {
        let flag = Origin::Flag("--role-arn".into());
        for good in [
            "arn:aws:iam::123456789012:role/x",
            "arn:aws-cn:iam::123456789012:role/service-role/my.role@x",
        ] {
            assert!(role_arn(good, &flag).is_ok(), "{good}");
        }
        for bad in [
            "arn:aws:iam::123:role/x",
            "arn:aws:iam::12345678901a:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/with space",
            "arn:aws:iam::123456789012:user/x",
        ] {
            let error = role_arn(bad, &flag).unwrap_err().to_string();
            assert!(error.contains("12-digit account id"), "{bad}: {error}");
        }
        let origin = Origin::Flag("--description".into());
        assert!(description("two lines\nand\ta tab", &origin).is_ok());
        let error = description("a\0b", &origin).unwrap_err().to_string();
        assert!(error.contains("U+0000"), "{error}");
        assert!(description("bell\u{7}", &origin).is_err());
    }

    #[test]
    fn limits_aws_would_enforce_are_checked_here() {
        assert!(derived_role_name(&"f".repeat(59)).is_ok());
        let error = derived_role_name(&"f".repeat(60)).unwrap_err().to_string();
        assert!(error.contains("over IAM's limit of 64"), "{error}");
        assert!(error.contains("--role-name"), "{error}");

        let one_letter = BTreeMap::from([("A".to_string(), "1".to_string())]);
        let error = environment(&one_letter, &Origin::Default)
            .unwrap_err()
            .to_string();
        assert!(error.contains("two characters"), "{error}");
        let two = BTreeMap::from([("AB".to_string(), "1".to_string())]);
        assert!(environment(&two, &Origin::Default).is_ok());

        assert!(s3_key(&"k".repeat(1024)).is_ok());
        let error = s3_key(&"k".repeat(1025)).unwrap_err().to_string();
        assert!(error.contains("over S3's limit of 1024"), "{error}");
    }
}
