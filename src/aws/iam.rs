//! The execution role: read it, create it, record which functions use it, and delete it.
//!
//! lambda-rt tags every role it creates with `managed-by=lambda-rt` and one
//! `lambda-rt:function:<name>` tag per function using it ([`super::owner`]); it only ever modifies
//! or deletes roles that carry the owner tag. A same-named role someone else made is used as is,
//! and only if it trusts Lambda. Every IAM list is read through the SDK's paginators: IAM may
//! answer one item per page well below MaxItems.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures_util::future::try_join_all;

use super::errors::{is_not_found, sdk_failure, MissingResource};
use super::owner::{self, OWNER_TAG_KEY, OWNER_TAG_VALUE};
use super::pages::every_item_if_exists;

pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// Trust policy of roles lambda-rt creates: only the Lambda service may assume them.
pub const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The managed policy that lets the function write its logs, and nothing else.
pub fn basic_execution_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
}

/// A role as read with GetRole.
#[derive(Debug, Clone)]
pub struct RemoteRole {
    pub name: String,
    pub arn: String,
    /// How long ago IAM says it was created (zero if the clocks disagree).
    pub age: Duration,
    pub tags: HashMap<String, String>,
    pub trusts_lambda: bool,
    /// Its trust policy is the one lambda-rt writes: Lambda, and nobody else, may assume it.
    pub trusts_only_lambda: bool,
}

impl RemoteRole {
    /// Whether lambda-rt created this role (it carries the owner tag).
    pub fn is_owned(&self) -> bool {
        owner::has_owner_tag(self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The functions this role's tags say use it.
    pub fn users(&self) -> Vec<String> {
        owner::role_users(self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// Reads a role, `None` if it does not exist.
pub async fn get_role(iam: &Client, name: &str) -> Result<Option<RemoteRole>> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(sdk_failure(format_args!("read role `{name}`"), &e)),
    };
    Ok(role.map(|role| {
        let created = SystemTime::try_from(role.create_date).unwrap_or_else(|_| SystemTime::now());
        RemoteRole {
            name: role.role_name.clone(),
            arn: role.arn.clone(),
            age: SystemTime::now()
                .duration_since(created)
                .unwrap_or_default(),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            trusts_lambda: role
                .assume_role_policy_document()
                .is_some_and(trusts_lambda),
            trusts_only_lambda: role
                .assume_role_policy_document()
                .is_some_and(trusts_only_lambda),
        }
    }))
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

/// Whether a trust policy says what [`TRUST_POLICY`] says, in whatever layout IAM returns it: one
/// statement that lets the Lambda service, and no other principal, assume the role, with no
/// condition.
pub fn trusts_only_lambda(document: &str) -> bool {
    let decoded = urlencoding::decode(document)
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| document.to_string());
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let [statement] = statements.as_slice() else {
        return false;
    };
    let principal = &statement["Principal"];
    let only_lambda = principal.as_object().is_some_and(|p| p.len() == 1)
        && match &principal["Service"] {
            serde_json::Value::String(service) => service == LAMBDA_SERVICE,
            serde_json::Value::Array(services) => services.iter().all(|s| s == LAMBDA_SERVICE),
            _ => false,
        };
    only_lambda && statement.get("Condition").is_none() && trusts_lambda(&decoded)
}

/// The ARNs of the managed policies attached to the role (every page); none for a missing role.
pub async fn attached_policies(iam: &Client, name: &str) -> Result<Vec<String>> {
    let pages = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    let policies =
        every_item_if_exists(pages, format_args!("list the policies of role `{name}`")).await?;
    Ok(policies
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// The names of the role's inline policies (every page); none for a missing role.
pub async fn inline_policies(iam: &Client, name: &str) -> Result<Vec<String>> {
    let pages = iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    every_item_if_exists(
        pages,
        format_args!("list the inline policies of role `{name}`"),
    )
    .await
}

/// The instance profiles the role is in (every page); none for a missing role.
pub async fn instance_profiles(iam: &Client, name: &str) -> Result<Vec<String>> {
    let pages = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    let profiles = every_item_if_exists(
        pages,
        format_args!("list the instance profiles of role `{name}`"),
    )
    .await?;
    Ok(profiles
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .collect())
}

/// What keeps IAM from deleting a role: DeleteRole fails with DeleteConflict while managed
/// policies are attached, inline policies exist, or the role is in an instance profile.
#[derive(Debug, Clone, Default)]
pub struct Dependents {
    pub attached: Vec<String>,
    pub inline: Vec<String>,
    pub profiles: Vec<String>,
}

/// Reads the three lists at once. A missing role has none.
pub async fn dependents(iam: &Client, name: &str) -> Result<Dependents> {
    let (attached, inline, profiles) = tokio::try_join!(
        attached_policies(iam, name),
        inline_policies(iam, name),
        instance_profiles(iam, name)
    )?;
    Ok(Dependents {
        attached,
        inline,
        profiles,
    })
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}

/// Creates the execution role, tagged as lambda-rt's and as used by `function`. Returns its ARN.
pub async fn create_role(iam: &Client, name: &str, function: &str) -> Result<String> {
    let description = "Execution role of a Lambda function, created by lambda-rt";
    create_role_trusting(iam, name, function, TRUST_POLICY, description).await
}

/// Creates a role with this trust policy, tagged as lambda-rt's and as used by `function`.
/// Returns its ARN.
///
/// The SDK may retry a CreateRole whose first answer was lost, and another run may make the same
/// role at the same time: EntityAlreadyExists then means the role is there, and it is ours only if
/// it carries our tag (CreateRole sets tags atomically).
pub async fn create_role_trusting(
    iam: &Client,
    name: &str,
    function: &str,
    trust: &str,
    description: &str,
) -> Result<String> {
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .description(description)
        .tags(tag(OWNER_TAG_KEY, OWNER_TAG_VALUE))
        .tags(tag(&owner::role_user_tag(function), ""))
        .send()
        .await;
    match created {
        Ok(created) => Ok(created.role.map(|r| r.arn).unwrap_or_default()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            // Or another run made it first (functions of one project sharing a role, created
            // at once): this function is recorded as a user of it all the same.
            match get_role(iam, name).await? {
                Some(role) if role.is_owned() => {
                    if !role.users().iter().any(|user| user == function) {
                        add_user(iam, name, function).await?;
                    }
                    Ok(role.arn)
                }
                _ => Err(sdk_failure(format_args!("create role `{name}`"), &e)),
            }
        }
        Err(e) => Err(sdk_failure(format_args!("create role `{name}`"), &e)),
    }
}

pub async fn attach_policy(iam: &Client, name: &str, policy_arn: &str) -> Result<()> {
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("attach `{policy_arn}` to role `{name}`"), &e))?;
    Ok(())
}

/// Attaches every policy of `arns`, at once, each to its end; the first failure is the error.
pub async fn attach_policies(iam: &Client, name: &str, arns: &[String]) -> Result<()> {
    let attached =
        futures_util::future::join_all(arns.iter().map(|arn| attach_policy(iam, name, arn))).await;
    attached.into_iter().collect()
}

/// The document (JSON) of inline policy `policy` of role `name`; `None` if it does not exist.
pub async fn inline_policy_document(
    iam: &Client,
    name: &str,
    policy: &str,
) -> Result<Option<serde_json::Value>> {
    let output = match iam
        .get_role_policy()
        .role_name(name)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(sdk_failure(
                format_args!("read inline policy `{policy}` of role `{name}`"),
                &e,
            ))
        }
    };
    // IAM answers the document URL-encoded.
    let document = output.policy_document();
    let decoded = urlencoding::decode(document)
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| document.to_string());
    Ok(serde_json::from_str(&decoded).ok())
}

/// Records that `function` uses the role.
pub async fn add_user(iam: &Client, name: &str, function: &str) -> Result<()> {
    iam.tag_role()
        .role_name(name)
        .tags(tag(&owner::role_user_tag(function), ""))
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("tag role `{name}`"), &e))?;
    Ok(())
}

/// Forgets that these functions use the role.
pub async fn remove_users(iam: &Client, name: &str, functions: &[String]) -> Result<()> {
    if functions.is_empty() {
        return Ok(());
    }
    iam.untag_role()
        .role_name(name)
        .set_tag_keys(Some(
            functions.iter().map(|f| owner::role_user_tag(f)).collect(),
        ))
        .send()
        .await
        .map_err(|e| sdk_failure(format_args!("untag role `{name}`"), &e))?;
    Ok(())
}

/// Deletes the role after emptying `dependents` (read with [`dependents`]): policies detached
/// and deleted and instance profiles left, all at once, then DeleteRole. A role that is already
/// gone counts as deleted.
pub async fn delete_role(iam: &Client, name: &str, dependents: &Dependents) -> Result<()> {
    let Dependents {
        attached,
        inline,
        profiles,
    } = dependents;
    let detach = try_join_all(attached.iter().map(|policy_arn| async move {
        let result = iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await;
        done_if_gone(
            result,
            format_args!("detach `{policy_arn}` from role `{name}`"),
        )
    }));
    let delete_inline = try_join_all(inline.iter().map(|policy| async move {
        let result = iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await;
        done_if_gone(
            result,
            format_args!("delete inline policy `{policy}` of role `{name}`"),
        )
    }));
    let leave_profiles = try_join_all(profiles.iter().map(|profile| async move {
        let result = iam
            .remove_role_from_instance_profile()
            .role_name(name)
            .instance_profile_name(profile)
            .send()
            .await;
        done_if_gone(
            result,
            format_args!("remove role `{name}` from instance profile `{profile}`"),
        )
    }));
    tokio::try_join!(detach, delete_inline, leave_profiles)?;

    let result = iam.delete_role().role_name(name).send().await;
    done_if_gone(result, format_args!("delete role `{name}`"))
}

/// The result of a delete, where "already gone" (`missing`) counts as done: a re-run after an
/// interruption, or someone else deleting it first.
fn done_if_gone<O, E>(
    result: Result<O, SdkError<E, HttpResponse>>,
    what: std::fmt::Arguments<'_>,
) -> Result<()>
where
    E: ProvideErrorMetadata + MissingResource + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(sdk_failure(what, &e)),
    }
}

/// A role that lambda-rt did not create and that Lambda cannot assume: lambda-rt will not change
/// it, so it cannot be used.
pub fn foreign_untrusted(name: &str) -> anyhow::Error {
    anyhow!(
        "role `{name}` exists, was not created by lambda-rt, and does not trust {LAMBDA_SERVICE}: \
         lambda-rt will not change it; pass another --role-name, or --role-arn of a role Lambda \
         can assume"
    )
}

/// The name of the role in a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub fn role_name_of(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// The ARN of role `role_name` in the function's account, derived from the function's current role
/// ARN without an IAM call (IAM ARNs are `arn:<partition>:iam::<account>:role/<path><name>`).
pub fn managed_role_arn(remote_role_arn: &str, role_name: &str) -> String {
    if remote_role_arn.rsplit('/').next() == Some(role_name) {
        return remote_role_arn.to_string();
    }
    let prefix = remote_role_arn
        .split(":role/")
        .next()
        .unwrap_or("arn:aws:iam::");
    format!("{prefix}:role/{role_name}")
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

    #[test]
    fn role_arn_is_derived_without_iam() {
        let current = "arn:aws:iam::123456789012:role/service/bash-runtime-role";
        assert_eq!(managed_role_arn(current, "bash-runtime-role"), current);
        assert_eq!(
            managed_role_arn(current, "other"),
            "arn:aws:iam::123456789012:role/other"
        );
    }

    #[test]
    fn role_names_come_from_arns() {
        assert_eq!(role_name_of("arn:aws:iam::1:role/service/r"), "r");
        assert_eq!(role_name_of("arn:aws:iam::1:role/r"), "r");
    }
}
