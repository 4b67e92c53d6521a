//! A role lambda-rt manages is part of the project's desired state, like the function's memory:
//! it trusts Lambda alone ([`iam::TRUST_POLICY`]), holds exactly the managed policies the project
//! asks for (the basic execution policy and the project's `policies`, [`wanted_policies`]) and no
//! inline policy. `status` reports any
//! difference as drift and `update` and `create` converge it. Roles lambda-rt did not create are
//! never judged nor changed; their policies are read only to warn about what `create` is about
//! to give the function ([`extra_permissions`]).

use anyhow::Result;
use aws_sdk_iam::Client;
use futures_util::future::join_all;

use super::errors::{is_not_found, sdk_failure};
use super::iam::{self, RemoteRole};
use crate::error::UsageError;
use crate::output::Change;

/// A role of lambda-rt's as read: the role, its managed policies (ARNs) and its inline ones.
#[derive(Debug, Clone)]
pub struct RoleState {
    pub role: RemoteRole,
    pub attached: Vec<String>,
    pub inline: Vec<String>,
    /// The document of the inline policy lambda-rt puts from `policy-file`, when the role has it.
    pub project_inline: Option<serde_json::Value>,
}

/// The name of the inline policy that holds the project's `policy-file`.
pub const PROJECT_INLINE_POLICY: &str = "lambda-rt-policy-file";

/// Reads the role and its two policy lists at once; `None` if the role does not exist. For a role
/// lambda-rt did not create a failure to read the lists (a user allowed only GetRole on it) is
/// ignored: they are then empty.
pub async fn read(iam: &Client, name: &str) -> Result<Option<RoleState>> {
    let (role, attached, inline) = tokio::join!(
        iam::get_role(iam, name),
        iam::attached_policies(iam, name),
        iam::inline_policies(iam, name)
    );
    let Some(role) = role? else {
        return Ok(None);
    };
    let (attached, inline) = if role.is_owned() {
        (attached?, inline?)
    } else {
        (attached.unwrap_or_default(), inline.unwrap_or_default())
    };
    // Only a project with a `policy-file` has this policy, and only then is it read.
    let project_inline = if role.is_owned() && inline.iter().any(|p| p == PROJECT_INLINE_POLICY) {
        iam::inline_policy_document(iam, name, PROJECT_INLINE_POLICY).await?
    } else {
        None
    };
    Ok(Some(RoleState {
        role,
        attached,
        inline,
        project_inline,
    }))
}

/// What a role lambda-rt did not create grants beyond `basic` (the basic execution policy): its
/// other managed policies by name, and its inline policies, for a warning before a new function
/// is given that role.
pub fn extra_permissions(state: &RoleState, basic: &str) -> Vec<String> {
    let managed = state
        .attached
        .iter()
        .filter(|arn| *arn != basic)
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string());
    let inline = state
        .inline
        .iter()
        .map(|name| format!("inline policy {name}"));
    managed.chain(inline).collect()
}

/// The managed policies (ARNs) a role of lambda-rt's holds: the basic execution policy, then the
/// project's `policies` in their order (a name is an AWS managed policy's), and the VPC access
/// policy for a function in a VPC, each once.
pub fn wanted_policies(partition: &str, project: &[String], in_vpc: bool) -> Vec<String> {
    let mut wanted = vec![iam::basic_execution_policy_arn(partition)];
    // A function in a VPC needs to make and delete its network interfaces there.
    let vpc = in_vpc.then(|| "service-role/AWSLambdaVPCAccessExecutionRole".to_string());
    for entry in project.iter().chain(vpc.iter()) {
        let arn = if entry.starts_with("arn:") {
            entry.clone()
        } else {
            format!("arn:{partition}:iam::aws:policy/{entry}")
        };
        if !wanted.contains(&arn) {
            wanted.push(arn);
        }
    }
    wanted
}

/// Asks IAM whether each policy about to be attached exists, all at once, so that a mistyped name
/// is a usage error (exit 2) before anything is written rather than a failure halfway.
pub async fn require_policies_exist(iam: &Client, arns: &[&String]) -> Result<()> {
    let found = join_all(arns.iter().map(|arn| async move {
        match iam.get_policy().policy_arn(*arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(sdk_failure(format_args!("read policy `{arn}`"), &e)),
        }
    }))
    .await;
    for (arn, found) in arns.iter().zip(found) {
        if !found? {
            return Err(UsageError(format!(
                "policy `{arn}` does not exist: check its name in `policies` (an AWS managed \
                 policy's name, e.g. AmazonS3ReadOnlyAccess, or the ARN of one in your account); \
                 nothing was changed"
            ))
            .into());
        }
    }
    Ok(())
}

/// Before anything is written: the project's policies can go on the role (a role lambda-rt did
/// not create is never changed) and those it does not hold yet exist (all of them, for a role still
/// to be made; `found` is the role as read).
pub async fn check_project_policies(
    iam: &Client,
    role_name: &str,
    found: Option<&RoleState>,
    wanted: &[String],
    inline: Option<&serde_json::Value>,
) -> Result<()> {
    let project = &wanted[1.min(wanted.len())..];
    if project.is_empty() && inline.is_none() {
        return Ok(());
    }
    if found.is_some_and(|state| !state.role.is_owned()) {
        return Err(UsageError(format!(
            "role `{role_name}` was not created by lambda-rt, which never changes such a role, so \
             it cannot put the project's `policies` or `policy-file` on it: do that yourself, or \
             name a role for lambda-rt to make with --role-name"
        ))
        .into());
    }
    let missing: Vec<&String> = project
        .iter()
        .filter(|arn| found.map_or(true, |state| !state.attached.contains(arn)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    require_policies_exist(iam, &missing).await
}

/// One change that brings the role to the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleFix {
    Attach(String),
    /// A managed policy attached outside lambda-rt.
    Detach(String),
    /// An inline policy put on outside lambda-rt (or the project's, once `policy-file` is gone).
    DeleteInline(String),
    /// The project's `policy-file`, as [`PROJECT_INLINE_POLICY`] (minified JSON).
    PutInline(String),
    /// The trust policy was changed outside lambda-rt.
    Trust,
}

impl RoleFix {
    /// How the change is reported (`update`) or shown as drift (`status`).
    pub fn change(&self) -> Change {
        match self {
            RoleFix::Attach(arn) => Change::named(format!("attach {}", short_policy(arn))),
            RoleFix::Detach(arn) => Change::named(format!(
                "detach {} (attached outside lambda-rt)",
                short_policy(arn)
            )),
            RoleFix::DeleteInline(name) if name == PROJECT_INLINE_POLICY => Change::named(format!(
                "delete inline policy {name} (no policy-file in the project)"
            )),
            RoleFix::DeleteInline(name) => Change::named(format!(
                "delete inline policy {name} (put outside lambda-rt)"
            )),
            RoleFix::PutInline(_) => Change::named(format!(
                "put inline policy {PROJECT_INLINE_POLICY} (policy-file)"
            )),
            RoleFix::Trust => Change::named(
                "trust policy: back to Lambda alone (changed outside lambda-rt)".to_string(),
            ),
        }
    }
}

/// `AWSLambdaBasicExecutionRole` for an AWS managed policy, the ARN for a customer's.
fn short_policy(arn: &str) -> &str {
    match arn.split_once(":iam::aws:policy/") {
        Some((_, path)) => path.rsplit('/').next().unwrap_or(path),
        None => arn,
    }
}

/// What to change so that the role holds exactly `wanted` managed policies, no inline policy but
/// the project's `inline` one (the `policy-file`), and trusts Lambda alone. Empty when it is as it
/// should be.
pub fn plan(
    state: &RoleState,
    wanted: &[String],
    inline: Option<&serde_json::Value>,
) -> Vec<RoleFix> {
    let mut fixes = Vec::new();
    if !state.role.trusts_only_lambda {
        fixes.push(RoleFix::Trust);
    }
    for policy in wanted {
        if !state.attached.contains(policy) {
            fixes.push(RoleFix::Attach(policy.clone()));
        }
    }
    for policy in &state.attached {
        if !wanted.contains(policy) {
            fixes.push(RoleFix::Detach(policy.clone()));
        }
    }
    for policy in &state.inline {
        if policy != PROJECT_INLINE_POLICY || inline.is_none() {
            fixes.push(RoleFix::DeleteInline(policy.clone()));
        }
    }
    if let Some(document) = inline {
        if state.project_inline.as_ref() != Some(document) {
            fixes.push(RoleFix::PutInline(document.to_string()));
        }
    }
    fixes
}

/// What a new role gets besides its managed policies: the project's inline policy, if any.
pub fn new_role_fixes(inline: Option<&serde_json::Value>) -> Vec<RoleFix> {
    inline
        .map(|document| RoleFix::PutInline(document.to_string()))
        .into_iter()
        .collect()
}

/// Makes the changes, all at once, each to its end (a failure does not cut the others short);
/// the first failure is the error.
pub async fn apply(iam: &Client, name: &str, fixes: &[RoleFix]) -> Result<()> {
    let results = join_all(fixes.iter().map(|fix| async move {
        match fix {
            RoleFix::Attach(arn) => iam::attach_policy(iam, name, arn).await,
            RoleFix::Detach(arn) => iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_failure(format_args!("detach `{arn}` from role `{name}`"), &e)),
            RoleFix::DeleteInline(policy) => iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map(drop)
                .map_err(|e| {
                    sdk_failure(
                        format_args!("delete inline policy `{policy}` of role `{name}`"),
                        &e,
                    )
                }),
            RoleFix::PutInline(document) => iam
                .put_role_policy()
                .role_name(name)
                .policy_name(PROJECT_INLINE_POLICY)
                .policy_document(document)
                .send()
                .await
                .map(drop)
                .map_err(|e| {
                    sdk_failure(
                        format_args!("put the policy-file on role `{name}` as an inline policy"),
                        &e,
                    )
                }),
            RoleFix::Trust => iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(iam::TRUST_POLICY)
                .send()
                .await
                .map(drop)
                .map_err(|e| {
                    sdk_failure(
                        format_args!("restore the trust policy of role `{name}`"),
                        &e,
                    )
                }),
        }
    }))
    .await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn state(attached: &[&str], inline: &[&str], trusts_only_lambda: bool) -> RoleState {
        RoleState {
            role: RemoteRole {
                name: "r".into(),
                arn: "arn:aws:iam::1:role/r".into(),
                age: Default::default(),
                tags: HashMap::new(),
                trusts_lambda: true,
                trusts_only_lambda,
            },
            attached: attached.iter().map(|s| s.to_string()).collect(),
            inline: inline.iter().map(|s| s.to_string()).collect(),
            project_inline: None,
        }
    }

    #[test]
    fn the_plan_names_every_difference_and_nothing_else() {
        let basic = iam::basic_execution_policy_arn("aws");
        let wanted = vec![basic.clone()];
        assert!(plan(&state(&[&basic], &[], true), &wanted, None).is_empty());
        let s3 = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
        let fixes = plan(&state(&[s3], &["extra"], false), &wanted, None);
        assert_eq!(
            fixes,
            vec![
                RoleFix::Trust,
                RoleFix::Attach(basic.clone()),
                RoleFix::Detach(s3.into()),
                RoleFix::DeleteInline("extra".into()),
            ]
        );
        assert_eq!(
            fixes[1].change().to_string(),
            "attach AWSLambdaBasicExecutionRole"
        );
        assert_eq!(
            fixes[2].change().to_string(),
            "detach AmazonS3FullAccess (attached outside lambda-rt)"
        );
    }

    #[test]
    fn the_policy_file_is_put_when_missing_or_different_and_deleted_when_gone() {
        let basic = iam::basic_execution_policy_arn("aws");
        let wanted = vec![basic.clone()];
        let document = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]});
        let mut role = state(&[&basic], &[PROJECT_INLINE_POLICY], true);
        role.project_inline = Some(document.clone());
        assert!(plan(&role, &wanted, Some(&document)).is_empty());
        let other = serde_json::json!({"Statement": [{"Effect": "Deny", "Action": "s3:*"}]});
        assert_eq!(
            plan(&role, &wanted, Some(&other)),
            [RoleFix::PutInline(other.to_string())]
        );
        assert_eq!(
            plan(&role, &wanted, None),
            [RoleFix::DeleteInline(PROJECT_INLINE_POLICY.into())]
        );
        let bare = state(&[&basic], &[], true);
        assert_eq!(
            plan(&bare, &wanted, Some(&document)),
            [RoleFix::PutInline(document.to_string())]
        );
    }

    #[test]
    fn only_lambdas_own_trust_policy_counts_as_unchanged() {
        assert!(iam::trusts_only_lambda(iam::TRUST_POLICY));
        let spaced = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}}"#;
        assert!(iam::trusts_only_lambda(spaced));
        let wider = iam::TRUST_POLICY.replace(
            r#"{"Service":"lambda.amazonaws.com"}"#,
            r#"{"Service":"lambda.amazonaws.com","AWS":"arn:aws:iam::999:root"}"#,
        );
        assert!(!iam::trusts_only_lambda(&wider));
        let two = iam::TRUST_POLICY.replace(
            r#""Action":"sts:AssumeRole"}"#,
            r#""Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
        );
        assert!(!iam::trusts_only_lambda(&two));
    }
}
