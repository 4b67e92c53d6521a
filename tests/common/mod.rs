//! Test harness shared by the integration tests, one file per concern: the tools they drive
//! ([`tools`]), scratch projects ([`project`]), child processes that are stopped even when a test
//! panics ([`process`]), the real `lambda-rt` binary and what it printed ([`cli`]), moto behind
//! the realism proxy ([`aws`], [`proxy`]) with every request checked against AWS's published
//! models ([`model_check`]), and local runtimes and `serve` ([`local`]).
//!
//! Each test binary uses part of it, so unused items are expected here.
#![allow(dead_code)]

pub mod aws;
pub mod cli;
pub mod local;
pub mod model_check;
pub mod process;
pub mod project;
pub mod proxy;
pub mod tools;

// Every test file takes what it needs with `use common::*`; a binary that uses nothing of one
// of them would otherwise warn.
#[allow(unused_imports)]
pub use {aws::*, cli::*, local::*, process::*, project::*, tools::*};
