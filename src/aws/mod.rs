//! Talking to AWS, and the only place that calls `.send()`: one file per resource (`lambda.rs` and
//! `invoke.rs` for functions, `iam.rs` and `execution_role.rs` for roles, `layer.rs`, `url.rs`,
//! `versions.rs`, `logs.rs` and `log_group.rs`, `s3.rs`, `schedules.rs` and `scheduler_role.rs`,
//! `async_invoke.rs`), the clients built once (`clients.rs`), how lambda-rt waits
//! and retries (`poll.rs`), keeps within Lambda's request rate (`pace.rs`), what an error means (`errors.rs`), and what lambda-rt owns
//! (`owner.rs`).

pub mod async_invoke;
pub mod calls;
pub mod clients;
pub mod concurrency;
pub mod download;
pub mod errors;
pub mod execution_role;
pub mod function_spec;
pub mod function_state;
pub mod function_tags;
mod http;
pub mod iam;
pub mod invoke;
pub mod lambda;
pub mod layer;
pub mod log_group;
pub mod logs;
pub mod owner;
pub mod pace;
pub mod pages;
pub mod poll;
pub mod resource_policy;
pub mod s3;
pub mod scheduler_role;
pub mod schedules;
pub mod url;
pub mod versions;
