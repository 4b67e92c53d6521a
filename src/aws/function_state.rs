//! A function's state as Lambda reports it ([`Status`]: Pending, InProgress, Failed and the
//! RevisionId), and the errors a write meets: 409 while it is busy, 412 for a stale RevisionId,
//! a role IAM has not propagated yet ([`RolePropagation`]), by their modeled variants
//! ([`WriteError`]).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use anyhow::anyhow;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::operation::delete_function::DeleteFunctionError;
use aws_sdk_lambda::operation::tag_resource::TagResourceError;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State};
use tokio::time::Instant;

/// A function as read with GetFunction: its configuration and its tags.
#[derive(Debug, Clone)]
pub struct Remote {
    pub config: FunctionConfiguration,
    pub tags: HashMap<String, String>,
    /// Its reserved concurrency, which GetFunction reports beside the configuration.
    pub reserved_concurrency: Option<i32>,
    /// Where its code can be downloaded (a presigned URL; never shown).
    pub code_location: Option<String>,
}

impl Remote {
    pub fn arn(&self) -> Option<&str> {
        self.config.function_arn()
    }

    pub fn status(&self) -> Status {
        Status::of(&self.config)
    }
}

/// The parts of a function's configuration that say whether it can take a write now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub state: Option<State>,
    pub state_reason: Option<String>,
    pub state_reason_code: Option<String>,
    pub update: Option<LastUpdateStatus>,
    pub update_reason: Option<String>,
    pub update_reason_code: Option<String>,
    pub revision_id: Option<String>,
}

/// [`Status`] of any Lambda answer that describes a function (GetFunction's configuration, the
/// answers to CreateFunction and the updates).
macro_rules! status_of {
    ($answer:expr) => {
        Status {
            state: $answer.state().cloned(),
            state_reason: $answer.state_reason().map(str::to_string),
            state_reason_code: $answer.state_reason_code().map(|c| c.as_str().to_string()),
            update: $answer.last_update_status().cloned(),
            update_reason: $answer.last_update_status_reason().map(str::to_string),
            update_reason_code: $answer
                .last_update_status_reason_code()
                .map(|c| c.as_str().to_string()),
            revision_id: $answer.revision_id().map(str::to_string),
        }
    };
}
pub(crate) use status_of;

impl Status {
    pub fn of(config: &FunctionConfiguration) -> Status {
        status_of!(config)
    }

    /// Pending (being created) or an update in progress: a write now gets 409.
    pub fn is_busy(&self) -> bool {
        self.state == Some(State::Pending) || self.update == Some(LastUpdateStatus::InProgress)
    }

    /// What a wait is waiting for, e.g. "to become Active (Pending: Creating)".
    pub(crate) fn waiting_for(&self) -> String {
        let reason = |code: &Option<String>| {
            code.as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        };
        if self.state == Some(State::Pending) {
            format!(
                "to become Active (Pending{})",
                reason(&self.state_reason_code)
            )
        } else {
            format!(
                "to finish updating (InProgress{})",
                reason(&self.update_reason_code)
            )
        }
    }

    /// The function cannot run at all.
    pub fn failed_error(&self, name: &str) -> Option<anyhow::Error> {
        (self.state == Some(State::Failed)).then(|| {
            anyhow!(
                "function `{name}` is in state Failed ({}): {}\nhint: Lambda could not set the \
                 function up; fix the cause named above, then run `lambda-rt update --force` (or \
                 `lambda-rt delete` and `lambda-rt create`)",
                self.state_reason_code
                    .as_deref()
                    .unwrap_or("no reason code"),
                self.state_reason.as_deref().unwrap_or("no reason given")
            )
        })
    }

    /// The last update did not take effect.
    pub fn update_failed_error(&self, name: &str) -> Option<anyhow::Error> {
        (self.update == Some(LastUpdateStatus::Failed)).then(|| {
            anyhow!(
                "the last update of function `{name}` failed ({}): {}\nhint: the function keeps \
                 running its previous code and configuration; fix the cause named above, then run \
                 `lambda-rt update --force` to send the update again",
                self.update_reason_code
                    .as_deref()
                    .unwrap_or("no reason code"),
                self.update_reason.as_deref().unwrap_or("no reason given")
            )
        })
    }
}

/// Someone else changed the function between lambda-rt's read and its write (Lambda refused the
/// write's RevisionId): the caller re-reads and plans again.
#[derive(Debug, thiserror::Error)]
#[error(
    "function `{0}` changed after lambda-rt read it (its RevisionId no longer matches): someone \
     else changed it, or an earlier attempt of this very write went through although its answer \
     was lost"
)]
pub struct StaleRevision(pub String);

/// The role lambda-rt manages for the function was deleted while this run was using it (e.g. by
/// another run's `delete` of the last other function sharing it): Lambda refuses it as "cannot be
/// assumed", which no wait for propagation will change. The caller makes it again.
#[derive(Debug, thiserror::Error)]
#[error("role `{0}` was deleted while this run was using it")]
pub struct RoleVanished(pub String);

/// Until when a role handed to Lambda may be refused because IAM has not propagated it yet.
#[derive(Debug, Clone)]
pub struct RolePropagation {
    pub role_arn: String,
    /// Retry "cannot be assumed" refusals until then.
    pub deadline: Instant,
    /// Whether the role is young enough for propagation to explain a refusal.
    pub young: bool,
    /// Whether lambda-rt manages the role (and may read it): a refused role is then looked up,
    /// and one that is gone ends the retries with [`RoleVanished`].
    pub managed: bool,
}

impl RolePropagation {
    /// A role created `age` ago: refusals are retried until it is `bound` old, and for at least
    /// `grace` in any case (a role that is older and still refused is more likely wrong than new).
    pub fn for_age(role_arn: String, age: Duration, bound: Duration, grace: Duration) -> Self {
        let left = bound.saturating_sub(age);
        RolePropagation {
            role_arn,
            deadline: Instant::now() + left.max(grace),
            young: left > grace,
            managed: false,
        }
    }

    /// The same, for a role lambda-rt manages.
    pub fn managed(self) -> Self {
        RolePropagation {
            managed: true,
            ..self
        }
    }
}

/// The Lambda errors a write can meet, by their modeled variants.
pub(crate) trait WriteError:
    ProvideErrorMetadata + StdError + Send + Sync + 'static
{
    /// 409: the function is Pending or an update is in progress.
    fn is_conflict(&self) -> bool;
    /// 412: the RevisionId sent is not the function's.
    fn is_stale_revision(&self) -> bool {
        false
    }
    /// 400 because IAM has not propagated the role yet.
    fn is_role_refused(&self) -> bool {
        false
    }
    /// 404: no such function.
    fn is_not_found(&self) -> bool {
        false
    }
    /// A 409 while the function is ready means that what the write makes exists already (a URL,
    /// a statement id, an alias: another run made it): sending again cannot help, and the caller
    /// reads what is there instead.
    fn conflict_means_taken(&self) -> bool {
        false
    }
}

/// [`WriteError`] for an operation whose modeled errors are the usual ones: `conflict` (409
/// ResourceConflictException), `stale_revision` (412 PreconditionFailedException), `not_found`
/// (404 ResourceNotFoundException) — each listed only when the operation can answer it.
macro_rules! write_error {
    ($error:ty: $($kind:ident),+) => {
        impl $crate::aws::function_state::WriteError for $error {
            fn is_conflict(&self) -> bool {
                self.is_resource_conflict_exception()
            }
            $($crate::aws::function_state::write_error!(@$kind);)+
        }
    };
    (@conflict) => {};
    (@stale_revision) => {
        fn is_stale_revision(&self) -> bool {
            self.is_precondition_failed_exception()
        }
    };
    (@not_found) => {
        fn is_not_found(&self) -> bool {
            self.is_resource_not_found_exception()
        }
    };
}
pub(crate) use write_error;

/// [`WriteError`] for a write to what hangs off a function (its URL, permissions, aliases): 409
/// while the function is Pending or being updated, recognised by the error code, since the SDK
/// does not model ResourceConflictException for every such operation although Lambda sends it.
macro_rules! conflict_by_code {
    ($($error:ty),+) => {
        $(impl $crate::aws::function_state::WriteError for $error {
            fn is_conflict(&self) -> bool {
                aws_sdk_lambda::error::ProvideErrorMetadata::code(self)
                    == Some("ResourceConflictException")
            }
        })+
    };
    (taken: $($error:ty),+) => {
        $(impl $crate::aws::function_state::WriteError for $error {
            fn is_conflict(&self) -> bool {
                aws_sdk_lambda::error::ProvideErrorMetadata::code(self)
                    == Some("ResourceConflictException")
            }
            fn conflict_means_taken(&self) -> bool {
                true
            }
        })+
    };
}
pub(crate) use conflict_by_code;

write_error!(UpdateFunctionCodeError: conflict, stale_revision, not_found);
write_error!(DeleteFunctionError: conflict, not_found);
write_error!(TagResourceError: conflict, not_found);

impl WriteError for UpdateFunctionConfigurationError {
    fn is_conflict(&self) -> bool {
        self.is_resource_conflict_exception()
    }
    fn is_stale_revision(&self) -> bool {
        self.is_precondition_failed_exception()
    }
    fn is_role_refused(&self) -> bool {
        matches!(self, UpdateFunctionConfigurationError::InvalidParameterValueException(e)
            if is_role_refused(e.message()))
    }
    fn is_not_found(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

impl WriteError for CreateFunctionError {
    /// A conflict on create means the function exists (created by an earlier attempt whose
    /// answer was lost); see [`Lambda::create`].
    fn is_conflict(&self) -> bool {
        false
    }
    fn is_role_refused(&self) -> bool {
        matches!(self, CreateFunctionError::InvalidParameterValueException(e)
            if is_role_refused(e.message()))
    }
}

/// The one case the API does not model: IAM has not yet propagated a new role to Lambda, which
/// Lambda reports as InvalidParameterValueException "The role defined for the function cannot be
/// assumed by Lambda." (the same exception covers unrelated bad parameters).
fn is_role_refused(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("cannot be assumed"))
}

/// Why a write did not go through.
pub(crate) enum WriteFailure<E> {
    Sdk(Box<SdkError<E, HttpResponse>>),
    Stale,
    Other(anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_deadlines_follow_the_roles_age() {
        let bound = Duration::from_secs(120);
        let grace = Duration::from_secs(10);
        let young = RolePropagation::for_age("r".into(), Duration::from_secs(5), bound, grace);
        assert!(young.young);
        let left = young.deadline - Instant::now();
        assert!(
            left > Duration::from_secs(110) && left <= Duration::from_secs(115),
            "{left:?}"
        );
        let old = RolePropagation::for_age("r".into(), Duration::from_secs(3600), bound, grace);
        assert!(!old.young);
        assert!(old.deadline - Instant::now() <= grace);
    }
}
