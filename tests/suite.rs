//! The integration tests, as one test binary: each file of `tests/` is a module of it (one
//! concern a file, as before), and `common/` the harness they share. One binary instead of one per
//! file compiles the harness once and links once, and lets `cargo test` run tests of different
//! files side by side; `cargo test --test suite -- faults::` runs one file's tests.

#[path = "common/mod.rs"]
mod common;

#[path = "architecture.rs"]
mod architecture;
#[path = "aws_models.rs"]
mod aws_models;
#[path = "aws_realism.rs"]
mod aws_realism;
#[path = "bench_smoke.rs"]
mod bench_smoke;
#[path = "binaries.rs"]
mod binaries;
#[path = "check.rs"]
mod check;
#[path = "configuration.rs"]
mod configuration;
#[path = "converge.rs"]
mod converge;
#[path = "day_two.rs"]
mod day_two;
#[path = "deno_runtime.rs"]
mod deno_runtime;
#[path = "deploy.rs"]
mod deploy;
#[path = "edit_loop.rs"]
mod edit_loop;
#[path = "emulator_fidelity.rs"]
mod emulator_fidelity;
#[path = "every_setting.rs"]
mod every_setting;
#[path = "faults.rs"]
mod faults;
#[path = "first_hour.rs"]
mod first_hour;
#[path = "help.rs"]
mod help;
#[path = "import.rs"]
mod import;
#[path = "init.rs"]
mod init;
#[path = "invoke_faults.rs"]
mod invoke_faults;
#[path = "kill_sweep.rs"]
mod kill_sweep;
#[path = "layers.rs"]
mod layers;
#[path = "local_runtime.rs"]
mod local_runtime;
#[path = "log_group.rs"]
mod log_group;
#[path = "many_functions.rs"]
mod many_functions;
#[path = "ownership.rs"]
mod ownership;
#[path = "pages.rs"]
mod pages;
#[path = "permissions.rs"]
mod permissions;
#[path = "readme.rs"]
mod readme;
#[path = "round_trip.rs"]
mod round_trip;
#[path = "runtime_api.rs"]
mod runtime_api;
#[path = "s3_staging.rs"]
mod s3_staging;
#[path = "schedules.rs"]
mod schedules;
#[path = "second_look.rs"]
mod second_look;
#[path = "security.rs"]
mod security;
#[path = "serve.rs"]
mod serve;
#[path = "serve_bounds.rs"]
mod serve_bounds;
#[path = "throttling.rs"]
mod throttling;
#[path = "tools.rs"]
mod tools;
#[path = "web.rs"]
mod web;
