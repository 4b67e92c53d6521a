//! The execution role: `ensure_role` and `delete_role`.
//!
//! lambda-rt tags every role it creates with `managed-by=lambda-rt` and only ever modifies or deletes
//! roles that carry that tag. A same-named role someone else made is used as is, and only if it
//! trusts Lambda.

use anyhow::Result;
use aws_sdk_iam::types::{Role, Tag};
use aws_sdk_iam::Client;

use super::sdk_failure;
use crate::output::{Action, ResourceReport};

pub const OWNER_TAG_KEY: &str = "managed-by";
pub const OWNER_TAG_VALUE: &str = "lambda-rt";
pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// Trust policy of roles lambda-rt creates: only the Lambda service may assume them.
pub const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The managed policy that lets the function write its logs, and nothing else.
pub fn basic_execution_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
}

/// The outcome of [`ensure_role`]; `arn` is `None` only in a dry run that would create the role.
#[derive(Debug)]
pub struct EnsuredRole {
    pub arn: Option<String>,
    pub report: ResourceReport,
    /// Whether the role was created just now: the function create must expect IAM propagation.
    pub just_created: bool,
}

/// Reads a role, `None` if it does not exist.
pub async fn get_role(iam: &Client, name: &str) -> Result<Option<Role>> {
    match iam.get_role().role_name(name).send().await {
        Ok(output) => Ok(output.role),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_failure(format_args!("read role `{name}`"), &e)),
    }
}

/// Whether lambda-rt created this role (it carries the owner tag).
pub fn is_owned(role: &Role) -> bool {
    role.tags()
        .iter()
        .any(|t| t.key() == OWNER_TAG_KEY && t.value() == OWNER_TAG_VALUE)
}

/// Whether a trust policy document (JSON, possibly URL-encoded as IAM returns it) lets Lambda
/// assume the role.
pub fn trusts_lambda(document: &str) -> bool {
    let decoded = urlencoding::decode(document)
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| document.to_string());
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return false;
    };
    let as_list = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        match v {
            serde_json::Value::Array(items) => items.clone(),
            serde_json::Value::Null => vec![],
            other => vec![other.clone()],
        }
    };
    as_list(&policy["Statement"]).iter().any(|statement| {
        statement["Effect"] == "Allow"
            && as_list(&statement["Action"])
                .iter()
                .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
            && as_list(&statement["Principal"]["Service"])
                .iter()
                .any(|s| s == LAMBDA_SERVICE)
    })
}

/// Makes sure the execution role `name` exists and can be used by Lambda.
pub async fn ensure_role(
    iam: &Client,
    name: &str,
    partition: &str,
    dry_run: bool,
) -> Result<EnsuredRole> {
    let policy_arn = basic_execution_policy_arn(partition);
    let Some(role) = get_role(iam, name).await? else {
        if dry_run {
            return Ok(EnsuredRole {
                arn: None,
                report: ResourceReport::new("role", name, Action::Created),
                just_created: false,
            });
        }
        let created = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(TRUST_POLICY)
            .description("Execution role of a Lambda function, created by lambda-rt")
            .tags(owner_tag())
            .send()
            .await;
        let arn = match created {
            Ok(created) => created.role.map(|r| r.arn).unwrap_or_default(),
            // The SDK retried a CreateRole whose first answer was lost: the role is there. It is
            // ours only if it carries our tag (CreateRole sets it atomically).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_already_exists_exception()) =>
            {
                match get_role(iam, name).await? {
                    Some(role) if is_owned(&role) => role.arn().to_string(),
                    _ => return Err(sdk_failure(format_args!("create role `{name}`"), &e)),
                }
            }
            Err(e) => return Err(sdk_failure(format_args!("create role `{name}`"), &e)),
        };
        attach_policy(iam, name, &policy_arn).await?;
        return Ok(EnsuredRole {
            report: ResourceReport::new("role", name, Action::Created).arn(Some(arn.clone())),
            arn: Some(arn),
            just_created: true,
        });
    };

    let arn = role.arn().to_string();
    if !is_owned(&role) {
        let trusted = role
            .assume_role_policy_document()
            .is_some_and(trusts_lambda);
        if !trusted {
            return Err(anyhow::anyhow!(
                "role `{name}` exists, was not created by lambda-rt, and does not trust {LAMBDA_SERVICE}: \
                 lambda-rt will not change it; pass another --role-name, or --role-arn of a role Lambda \
                 can assume"
            ));
        }
        let report = ResourceReport::new("role", name, Action::Kept)
            .arn(Some(arn.clone()))
            .note("exists and was not created by lambda-rt; used as is");
        return Ok(EnsuredRole {
            arn: Some(arn),
            report,
            just_created: false,
        });
    }

    // Our role: converge it, e.g. after a run that stopped between CreateRole and AttachRolePolicy.
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("list the policies of role `{name}`"), &e))?;
    let has_policy = attached
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(policy_arn.as_str()));
    let action = if has_policy {
        Action::Unchanged
    } else {
        if !dry_run {
            attach_policy(iam, name, &policy_arn).await?;
        }
        Action::Updated
    };
    let mut report = ResourceReport::new("role", name, action).arn(Some(arn.clone()));
    if !has_policy {
        report = report.changes(vec!["attach AWSLambdaBasicExecutionRole".into()]);
    }
    Ok(EnsuredRole {
        arn: Some(arn),
        report,
        just_created: false,
    })
}

fn owner_tag() -> Tag {
    Tag::builder()
        .key(OWNER_TAG_KEY)
        .value(OWNER_TAG_VALUE)
        .build()
        .expect("key and value are set")
}

async fn attach_policy(iam: &Client, name: &str, policy_arn: &str) -> Result<()> {
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("attach `{policy_arn}` to role `{name}`"), &e))?;
    Ok(())
}

/// Deletes role `name` if lambda-rt created it: detaches managed policies and deletes inline ones
/// first, because DeleteRole fails with DeleteConflict while any remain.
pub async fn delete_role(iam: &Client, name: &str, dry_run: bool) -> Result<ResourceReport> {
    let Some(role) = get_role(iam, name).await? else {
        return Ok(ResourceReport::new("role", name, Action::Absent));
    };
    let arn = Some(role.arn().to_string());
    if !is_owned(&role) {
        return Ok(ResourceReport::new("role", name, Action::Kept)
            .arn(arn)
            .note("not created by lambda-rt"));
    }
    if dry_run {
        return Ok(ResourceReport::new("role", name, Action::Deleted).arn(arn));
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("list the policies of role `{name}`"), &e))?;
    for policy in attached.attached_policies() {
        let policy_arn = policy.policy_arn().unwrap_or_default();
        let result = iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await;
        if let Err(e) = result {
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception())
            {
                return Err(sdk_failure(
                    format_args!("detach `{policy_arn}` from role `{name}`"),
                    &e,
                ));
            }
        }
    }
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| {
            sdk_failure(
                format_args!("list the inline policies of role `{name}`"),
                &e,
            )
        })?;
    for policy_name in inline.policy_names() {
        let result = iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await;
        if let Err(e) = result {
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception())
            {
                return Err(sdk_failure(
                    format_args!("delete inline policy `{policy_name}` of role `{name}`"),
                    &e,
                ));
            }
        }
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(ResourceReport::new("role", name, Action::Deleted).arn(arn)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(ResourceReport::new("role", name, Action::Absent))
        }
        Err(e) => Err(sdk_failure(format_args!("delete role `{name}`"), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_detection() {
        assert!(trusts_lambda(TRUST_POLICY));
        assert!(trusts_lambda(&urlencoding::encode(TRUST_POLICY)));
        let ec2 = TRUST_POLICY.replace("lambda.amazonaws.com", "ec2.amazonaws.com");
        assert!(!trusts_lambda(&ec2));
        let list = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}}"#;
        assert!(trusts_lambda(list));
        let deny = TRUST_POLICY.replace("Allow", "Deny");
        assert!(!trusts_lambda(&deny));
        assert!(!trusts_lambda("not json"));
    }
}
