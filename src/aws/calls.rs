//! `-v` shows every AWS call lambda-rt makes: the service and operation, how it ended, how long it
//! took and how many attempts it needed. An SDK interceptor on every client records the start of
//! each operation and logs one line when it finishes. A retry is worth knowing about at any
//! verbosity (the user is waiting), so each attempt after the first gets a plain line too.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Logs each AWS call at debug level (`-v`).
#[derive(Debug, Clone, Copy)]
pub struct CallLog;

#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "lambda-rt call log"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        if attempt > 1 {
            let (service, operation) = cfg
                .load::<Metadata>()
                .map(|m| (m.service().to_string(), m.name().to_string()))
                .unwrap_or_else(|| ("aws".into(), "call".into()));
            let of = crate::aws::errors::max_attempts()
                .map(|n| format!(" of {n}"))
                .unwrap_or_default();
            tracing::info!(
                "retrying {service} {operation} (attempt {attempt}{of}) at {}",
                crate::aws::errors::endpoint_phrase()
            );
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_else(|| ("aws".into(), "call".into()));
        let elapsed = cfg
            .load::<Started>()
            .map(|s| s.0.elapsed().as_millis())
            .unwrap_or_default();
        let attempts = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .filter(|n| *n > 1)
            .map(|n| format!(", {n} attempts"))
            .unwrap_or_default();
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => "ok".to_string(),
            Some(Err(error)) => match context.response() {
                Some(response) => format!("HTTP {}", response.status().as_u16()),
                None => format!("failed ({error})"),
            },
            None => "no answer".to_string(),
        };
        tracing::debug!("{service} {operation}: {outcome} in {elapsed} ms{attempts}");
        Ok(())
    }
}
