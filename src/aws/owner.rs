//! What lambda-rt owns, recorded on the resources themselves (there is no state file):
//! - functions and roles it creates carry the tag `managed-by=lambda-rt`;
//! - a role of lambda-rt's also carries one tag `lambda-rt:function:<name>` per function that uses
//!   it, so that `delete` removes the role only with the last of them;
//! - layer versions say "published by lambda-rt" in their description (layers have no tags);
//! - staged S3 objects carry the metadata `managed-by: lambda-rt`;
//! - schedules (which cannot be tagged) say "managed by lambda-rt" in their description, and the
//!   function they run carries `lambda-rt:schedules=yes` from before lambda-rt makes the first of
//!   them until after it deleted the last, so that a project without schedules needs no read to
//!   know it has none left in AWS.
//!
//! Anything without the mark is someone else's: lambda-rt refuses to change or delete it unless
//! the user says `--adopt` (functions) or leaves it alone (roles, layers, objects).

use std::collections::HashMap;

pub const OWNER_TAG_KEY: &str = "managed-by";
pub const OWNER_TAG_VALUE: &str = "lambda-rt";
/// Prefix of the role tags that name the functions using a lambda-rt role.
pub const ROLE_USER_PREFIX: &str = "lambda-rt:function:";

/// On a function lambda-rt may have made schedules (and a scheduler role) for.
pub const SCHEDULES_TAG_KEY: &str = "lambda-rt:schedules";
pub const SCHEDULES_TAG_VALUE: &str = "yes";

/// On a function adopted with `--adopt` while its project named no role: it keeps the role it came
/// with, which lambda-rt does not manage (`<function>-role` was never made for it).
pub const KEPT_ROLE_TAG_KEY: &str = "lambda-rt:role";
pub const KEPT_ROLE_TAG_VALUE: &str = "adopted";

/// Whether a function's tags say it keeps the role it was adopted with.
pub fn keeps_adopted_role(tags: &HashMap<String, String>) -> bool {
    tags.get(KEPT_ROLE_TAG_KEY)
        .is_some_and(|v| v == KEPT_ROLE_TAG_VALUE)
}

/// The owner tag, for a create call.
pub fn owner_tags() -> HashMap<String, String> {
    HashMap::from([(OWNER_TAG_KEY.to_string(), OWNER_TAG_VALUE.to_string())])
}

/// Whether tags (key, value) carry lambda-rt's owner tag.
pub fn has_owner_tag<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    tags.any(|(k, v)| k == OWNER_TAG_KEY && v == OWNER_TAG_VALUE)
}

/// The role tag key recording that `function` uses the role.
pub fn role_user_tag(function: &str) -> String {
    format!("{ROLE_USER_PREFIX}{function}")
}

/// The functions a role's tags say use it.
pub fn role_users<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut users: Vec<String> = tags
        .filter_map(|(k, _)| k.strip_prefix(ROLE_USER_PREFIX).map(str::to_string))
        .collect();
    users.sort();
    users
}

/// Who a function belongs to, as far as lambda-rt is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// It carries lambda-rt's tag.
    Ours,
    /// No tag, but its execution role is a lambda-rt role: made by a lambda-rt from before
    /// functions were tagged. Treated as lambda-rt's, and tagged on the next write.
    Legacy,
    /// Made by someone else (the console, SAM, Terraform, a script): hands off unless `--adopt`.
    Foreign,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read() {
        assert!(has_owner_tag([("managed-by", "lambda-rt")].into_iter()));
        assert!(!has_owner_tag([("managed-by", "terraform")].into_iter()));
        let tags = [
            ("managed-by", "lambda-rt"),
            ("lambda-rt:function:b", ""),
            ("lambda-rt:function:a", ""),
        ];
        assert_eq!(role_users(tags.into_iter()), vec!["a", "b"]);
        assert_eq!(role_user_tag("f"), "lambda-rt:function:f");
    }
}
