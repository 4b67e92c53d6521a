//! The role EventBridge Scheduler assumes to run a function's schedules, `<function>-scheduler`:
//! lambda-rt makes it with the first schedule and deletes it with the last. It trusts the
//! Scheduler service alone, for this account only (`aws:SourceAccount`, the confused-deputy guard
//! the Scheduler User Guide recommends), and holds one inline policy that may invoke this function
//! and nothing else. It carries the owner tag like every role lambda-rt makes; a role of that name
//! without it is someone else's and is neither used nor changed.

use anyhow::Result;
use aws_sdk_iam::Client;
use serde_json::json;

use super::errors::{is_not_found, sdk_failure};
use super::iam;
use super::owner;
use crate::error::ForeignResource;
use crate::output::{Action, Change, ResourceReport};

pub const SCHEDULER_SERVICE: &str = "scheduler.amazonaws.com";
/// The inline policy that lets the scheduler invoke the function.
pub const INVOKE_POLICY: &str = "lambda-rt-invoke-function";

/// The role's name for `function`.
pub fn role_name(function: &str) -> String {
    format!("{function}-scheduler")
}

/// The trust policy: the Scheduler service, acting for this account.
pub fn trust_policy(account: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": SCHEDULER_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
}

/// The permission: invoke this function, nothing else.
pub fn invoke_policy(function_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn
        }]
    })
}

/// The account of an ARN (`arn:aws:lambda:region:account:…`).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// The role as read.
#[derive(Debug, Clone)]
pub struct SchedulerRole {
    pub name: String,
    pub arn: String,
    pub owned: bool,
    pub trust: Option<serde_json::Value>,
    pub invoke: Option<serde_json::Value>,
    /// How long ago IAM made it.
    pub age: std::time::Duration,
}

/// Reads the role and its inline policy at once; `None` if the role does not exist.
pub async fn read(iam_client: &Client, name: &str) -> Result<Option<SchedulerRole>> {
    let (role, invoke) = tokio::join!(
        iam_client.get_role().role_name(name).send(),
        iam::inline_policy_document(iam_client, name, INVOKE_POLICY)
    );
    let role = match role {
        Ok(output) => output.role,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(sdk_failure(format_args!("read role `{name}`"), &e)),
    };
    let Some(role) = role else { return Ok(None) };
    let created = std::time::SystemTime::try_from(role.create_date)
        .unwrap_or_else(|_| std::time::SystemTime::now());
    let owned = owner::has_owner_tag(role.tags().iter().map(|t| (t.key(), t.value())));
    Ok(Some(SchedulerRole {
        name: name.to_string(),
        arn: role.arn.clone(),
        owned,
        trust: role.assume_role_policy_document().and_then(|document| {
            let decoded = urlencoding::decode(document).ok()?;
            serde_json::from_str(&decoded).ok()
        }),
        // Read only matters for a role of ours; someone else's is refused anyway.
        invoke: if owned { invoke? } else { None },
        age: std::time::SystemTime::now()
            .duration_since(created)
            .unwrap_or_default(),
    }))
}

/// One write that brings the role in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Make it, with its trust policy and its inline policy.
    Create,
    Trust,
    Invoke,
    Delete,
}

impl Fix {
    pub fn change(&self) -> Change {
        match self {
            Fix::Create => Change::named(format!(
                "trusts {SCHEDULER_SERVICE}; may invoke this function only"
            )),
            Fix::Trust => Change::named(format!(
                "trust policy: back to {SCHEDULER_SERVICE} alone (changed outside lambda-rt)"
            )),
            Fix::Invoke => Change::named(format!(
                "inline policy {INVOKE_POLICY}: invoke this function only"
            )),
            Fix::Delete => Change::named("no schedule left"),
        }
    }
}

/// Refuses, before anything is written, a role of the scheduler role's name lambda-rt did not
/// make (when the project has schedules and would use it).
pub fn refuse_foreign(found: Option<&SchedulerRole>) -> Result<()> {
    match found {
        Some(role) if !role.owned => Err(ForeignResource(format!(
            "role `{}` exists but was not created by lambda-rt (it has no `managed-by=lambda-rt` \
             tag), so lambda-rt will not use it to run the project's schedules; nothing was \
             changed\nhint: delete or rename that role, or rename the function",
            role.name
        ))
        .into()),
        _ => Ok(()),
    }
}

/// What to write: a role while there are schedules (`wanted`), none after the last.
pub fn plan(found: Option<&SchedulerRole>, wanted: bool, function_arn: &str) -> Vec<Fix> {
    match (found, wanted) {
        (None, true) => vec![Fix::Create],
        (None, false) => vec![],
        (Some(role), _) if !role.owned => vec![],
        (Some(_), false) => vec![Fix::Delete],
        (Some(role), true) => {
            let mut fixes = Vec::new();
            let account = account_of(function_arn);
            if role.trust.as_ref() != Some(&trust_policy(account)) {
                fixes.push(Fix::Trust);
            }
            if role.invoke.as_ref() != Some(&invoke_policy(function_arn)) {
                fixes.push(Fix::Invoke);
            }
            fixes
        }
    }
}

/// The report of the role's writes, `None` when there are none.
pub fn report(name: &str, fixes: &[Fix]) -> Option<ResourceReport> {
    let action = match fixes.first()? {
        Fix::Create => Action::Created,
        Fix::Delete => Action::Deleted,
        _ => Action::Updated,
    };
    Some(
        ResourceReport::new("scheduler role", name, action)
            .changes(fixes.iter().map(Fix::change).collect()),
    )
}

/// Makes the writes; returns the role's ARN (empty after a delete).
pub async fn apply(
    iam_client: &Client,
    name: &str,
    function: &str,
    function_arn: &str,
    found_arn: Option<&str>,
    fixes: &[Fix],
) -> Result<String> {
    let account = account_of(function_arn);
    let trust = trust_policy(account).to_string();
    let invoke = invoke_policy(function_arn).to_string();
    let mut arn = found_arn.unwrap_or_default().to_string();
    for fix in fixes {
        match fix {
            Fix::Create => {
                let description = format!(
                    "Runs the schedules of Lambda function {function}; created by lambda-rt"
                );
                arn = iam::create_role_trusting(iam_client, name, function, &trust, &description)
                    .await?;
                put_invoke(iam_client, name, &invoke).await?;
            }
            Fix::Trust => {
                iam_client
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(&trust)
                    .send()
                    .await
                    .map_err(|e| {
                        sdk_failure(
                            format_args!("restore the trust policy of role `{name}`"),
                            &e,
                        )
                    })?;
            }
            Fix::Invoke => put_invoke(iam_client, name, &invoke).await?,
            Fix::Delete => {
                let dependents = iam::dependents(iam_client, name).await?;
                iam::delete_role(iam_client, name, &dependents).await?;
                arn.clear();
            }
        }
    }
    Ok(arn)
}

async fn put_invoke(iam_client: &Client, name: &str, document: &str) -> Result<()> {
    iam_client
        .put_role_policy()
        .role_name(name)
        .policy_name(INVOKE_POLICY)
        .policy_document(document)
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            sdk_failure(
                format_args!("put inline policy `{INVOKE_POLICY}` on role `{name}`"),
                &e,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:eu-central-1:123456789012:function:job";

    fn role(owned: bool, trust: serde_json::Value, invoke: serde_json::Value) -> SchedulerRole {
        SchedulerRole {
            name: "job-scheduler".into(),
            arn: "arn:aws:iam::123456789012:role/job-scheduler".into(),
            owned,
            trust: Some(trust),
            invoke: Some(invoke),
            age: Default::default(),
        }
    }

    #[test]
    fn the_role_is_made_kept_in_line_and_deleted_with_the_last_schedule() {
        assert_eq!(plan(None, true, ARN), [Fix::Create]);
        assert!(plan(None, false, ARN).is_empty());
        let good = role(true, trust_policy("123456789012"), invoke_policy(ARN));
        assert!(plan(Some(&good), true, ARN).is_empty());
        assert_eq!(plan(Some(&good), false, ARN), [Fix::Delete]);
        let widened = role(
            true,
            trust_policy("123456789012"),
            invoke_policy("arn:aws:lambda:eu-central-1:123456789012:function:*"),
        );
        assert_eq!(plan(Some(&widened), true, ARN), [Fix::Invoke]);
        let other_account = role(true, trust_policy("999999999999"), invoke_policy(ARN));
        assert_eq!(plan(Some(&other_account), true, ARN), [Fix::Trust]);
        // Someone else's role of that name: never written, and refused when it would be used.
        let theirs = role(false, trust_policy("1"), invoke_policy("*"));
        assert!(plan(Some(&theirs), true, ARN).is_empty());
        assert!(plan(Some(&theirs), false, ARN).is_empty());
        assert!(refuse_foreign(Some(&theirs)).is_err());
        assert!(refuse_foreign(Some(&good)).is_ok());
    }
}
