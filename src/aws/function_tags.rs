//! The user's tags on the function (`[tags]` in lambda-rt.toml), beside lambda-rt's own
//! (`managed-by`, and keys under `lambda-rt:`, which the project may not use). When the project
//! has a `[tags]` table, the function's other tags are exactly it: missing or changed ones are set
//! with one TagResource, others removed with one UntagResource. Without the table, user tags are
//! left as they are. Tags AWS itself sets (`aws:` keys) are never touched.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use aws_sdk_lambda::operation::untag_resource::UntagResourceError;

use super::function_state::write_error;
use super::lambda::Lambda;
use super::owner::OWNER_TAG_KEY;
use crate::output::{Action, Change, ResourceReport};

write_error!(UntagResourceError: conflict, not_found);

/// Whether lambda-rt (or AWS) owns a tag key, so the project neither sets nor removes it.
pub fn is_reserved(key: &str) -> bool {
    key == OWNER_TAG_KEY || key.starts_with("lambda-rt:") || key.starts_with("aws:")
}

/// What to send: tags to set (new or changed) and keys to remove.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TagPlan {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagPlan {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// One change per tag, for reports and drift.
    pub fn changes(&self, remote: &HashMap<String, String>) -> Vec<Change> {
        let set = self.set.iter().map(|(key, value)| {
            Change::new(
                format!("tag {key}"),
                remote.get(key).cloned(),
                Some(value.clone()),
            )
        });
        let removed = self
            .remove
            .iter()
            .map(|key| Change::new(format!("tag {key}"), remote.get(key).cloned(), None));
        set.chain(removed).collect()
    }
}

/// The difference between the function's tags and the project's (`None`: not managed).
pub fn plan(
    remote: &HashMap<String, String>,
    wanted: Option<&BTreeMap<String, String>>,
) -> TagPlan {
    let Some(wanted) = wanted else {
        return TagPlan::default();
    };
    let set = wanted
        .iter()
        .filter(|(key, value)| remote.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut remove: Vec<String> = remote
        .keys()
        .filter(|key| !is_reserved(key) && !wanted.contains_key(*key))
        .cloned()
        .collect();
    remove.sort();
    TagPlan { set, remove }
}

/// Brings the user tags of function `name` in line (`remote`: its tags as read); the report, or
/// `None` when nothing differs.
pub async fn converge(
    lambda: &Lambda<'_>,
    name: &str,
    arn: &str,
    remote: &HashMap<String, String>,
    wanted: Option<&BTreeMap<String, String>>,
    dry_run: bool,
) -> Result<Option<ResourceReport>> {
    let plan = plan(remote, wanted);
    if plan.is_empty() {
        return Ok(None);
    }
    if !dry_run {
        apply(lambda, name, arn, &plan).await?;
    }
    Ok(Some(
        ResourceReport::new("tags", name, Action::Updated).changes(plan.changes(remote)),
    ))
}

/// Sends the plan for function `name` (ARN `arn`).
pub async fn apply(lambda: &Lambda<'_>, name: &str, arn: &str, plan: &TagPlan) -> Result<()> {
    if !plan.set.is_empty() {
        let tags: HashMap<String, String> = plan.set.clone().into_iter().collect();
        lambda.tag(name, arn, &tags).await?;
    }
    if !plan.remove.is_empty() {
        lambda
            .write_when_ready(name, "untag function", |_| {
                lambda
                    .client
                    .untag_resource()
                    .resource(arn)
                    .set_tag_keys(Some(plan.remove.clone()))
                    .send()
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_sets_what_differs_and_removes_only_unreserved_extras() {
        let remote: HashMap<String, String> = [
            ("managed-by", "lambda-rt"),
            ("lambda-rt:role", "adopted"),
            ("aws:cloudformation:stack-name", "s"),
            ("team", "data"),
            ("old", "x"),
            ("cost", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(plan(&remote, None).is_empty());
        let wanted = BTreeMap::from([
            ("team".to_string(), "data".to_string()),
            ("cost".to_string(), "2".to_string()),
            ("new".to_string(), "y".to_string()),
        ]);
        let plan = plan(&remote, Some(&wanted));
        assert_eq!(
            plan.set,
            BTreeMap::from([
                ("cost".to_string(), "2".to_string()),
                ("new".to_string(), "y".to_string()),
            ])
        );
        assert_eq!(plan.remove, ["old"]);
        let changes: Vec<String> = plan
            .changes(&remote)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            changes,
            ["tag cost 1 → 2", "tag new y", "tag old: removed x"]
        );
    }
}
