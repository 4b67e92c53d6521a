//! A function on the official Rust runtime client, the `lambda_runtime` crate, for
//! `bench/official_runtimes.py`: `_HANDLER=echo` (any name but `fail`) answers with the event,
//! `_HANDLER=fail` fails every invocation through the crate's own error path.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if std::env::var("_HANDLER").as_deref() == Ok("fail") {
        return Err("the handler failed on purpose".into());
    }
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
