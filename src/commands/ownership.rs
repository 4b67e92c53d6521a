//! Whose a function is, and whether lambda-rt may write to it: lambda-rt's tag says so, or (for
//! functions made before lambda-rt tagged them) its execution role is a lambda-rt role whose tags
//! name this function. A
//! foreign function is refused ([`NotOurs`], exit 4) unless `--adopt`.

use anyhow::Result;

use super::context::Context;
use crate::aws::clients::Clients;
use crate::aws::function_state::Remote;
use crate::aws::iam::{self, role_name_of};
use crate::aws::lambda::Lambda;
use crate::aws::owner::{self, Ownership};
use crate::error::NotOurs;
use crate::settings::{RoleChoice, Settings};

/// Whether the function keeps the execution role it has instead of the project's
/// `<function>-role`: it is being adopted, or was adopted earlier (its tag says so), and the
/// project names no role of its own.
pub fn keeps_its_role(
    settings: &Settings,
    remote: &Remote,
    ownership: Ownership,
    adopt: bool,
) -> bool {
    let adopted =
        (ownership == Ownership::Foreign && adopt) || owner::keeps_adopted_role(&remote.tags);
    adopted && !settings.role_named && matches!(settings.role, RoleChoice::Managed(_))
}

/// Who the function belongs to: lambda-rt's tag says so, or (for functions made before lambda-rt
/// tagged them) its execution role is a lambda-rt role that names it as a user. Reads the role only for an untagged
/// function; `known_role` is used instead when the caller has read it already.
pub async fn ownership(
    clients: &Clients,
    remote: &Remote,
    known_role: Option<&iam::RemoteRole>,
) -> Result<Ownership> {
    let tags = remote.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if owner::has_owner_tag(tags) {
        return Ok(Ownership::Ours);
    }
    let role_name = role_name_of(remote.config.role().unwrap_or_default());
    let role = match known_role.filter(|r| r.name == role_name) {
        Some(role) => Some(role.clone()),
        None if role_name.is_empty() => None,
        None => iam::get_role(&clients.iam, role_name).await?,
    };
    // A lambda-rt role of *another* function says nothing about this one (someone may have
    // picked it by hand): only a role whose per-function tag names this very function makes it
    // one an earlier lambda-rt created.
    let function = remote.config.function_name().unwrap_or_default();
    Ok(match role {
        Some(role) if role.is_owned() && role.users().iter().any(|user| user == function) => {
            Ownership::Legacy
        }
        _ => Ownership::Foreign,
    })
}

/// What [`claim_for_change`] found.
pub struct Claimed {
    /// For the function's report line, when something was (or would be) tagged.
    pub note: Option<&'static str>,
    /// The function keeps its own role ([`keeps_its_role`]).
    pub keeps_its_role: bool,
}

/// The step `create`, `update` and `publish-layer` take before changing an existing function:
/// whose it is ([`ownership`]; `known_role` as there), whether it keeps its own role, and the
/// claim ([`claim`]).
pub async fn claim_for_change(
    ctx: &Context,
    lambda: &Lambda<'_>,
    remote: &Remote,
    known_role: Option<&iam::RemoteRole>,
    adopt: bool,
    dry_run: bool,
) -> Result<Claimed> {
    let ownership = ownership(ctx.clients().await?, remote, known_role).await?;
    let keeps_its_role = keeps_its_role(&ctx.settings, remote, ownership, adopt);
    let note = claim(lambda, remote, ownership, adopt, dry_run, keeps_its_role).await?;
    Ok(Claimed {
        note,
        keeps_its_role,
    })
}

/// Makes sure lambda-rt may write to the function: a foreign one is refused (nothing written)
/// unless `adopt`, which tags it; a legacy one is tagged on the way. Returns a note for the report
/// when something was (or, in a dry run, would be) tagged.
pub async fn claim(
    lambda: &Lambda<'_>,
    remote: &Remote,
    ownership: Ownership,
    adopt: bool,
    dry_run: bool,
    keep_role: bool,
) -> Result<Option<&'static str>> {
    let name = remote.config.function_name().unwrap_or_default();
    let note = match (ownership, adopt) {
        (Ownership::Ours, _) => return Ok(None),
        (Ownership::Foreign, false) => {
            return Err(NotOurs {
                function: name.to_string(),
                verb: "change",
            }
            .into())
        }
        (Ownership::Foreign, true) => "adopted (--adopt): tagged managed-by=lambda-rt",
        (Ownership::Legacy, _) => {
            "tagged managed-by=lambda-rt (created by an earlier lambda-rt, before functions were \
             tagged)"
        }
    };
    if !dry_run {
        let mut tags = owner::owner_tags();
        if keep_role {
            tags.insert(
                owner::KEPT_ROLE_TAG_KEY.to_string(),
                owner::KEPT_ROLE_TAG_VALUE.to_string(),
            );
        }
        lambda
            .tag(name, remote.arn().unwrap_or_default(), &tags)
            .await?;
    }
    Ok(Some(note))
}
