//! The project templates lambda-rt knows (`init --template`, `template` in lambda-rt.toml). A
//! module of its own so that `cli` and `settings` can both name them without depending on each
//! other.

use serde::Deserialize;

/// Which runtime template a project follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    /// runtime/bootstrap is a bash script; handlers are function/<file>.sh
    #[default]
    Bash,
    /// runtime/bootstrap starts Deno on runtime/runtime.ts; handlers are function/<file>.ts, and
    /// the Deno binary goes into the runtime as bin/deno
    Deno,
    /// A minimal runtime to replace with your own (a compiled binary, a runtime interface
    /// client); handlers are whatever it runs (here: the executable function/<handler>)
    Custom,
    /// The bash runtime with a handler for HTTP requests (a Function URL, or `serve --http`)
    Http,
    /// The bash runtime with a nightly job: a schedule, retries and log retention in
    /// lambda-rt.toml
    Job,
}

impl Template {
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Bash => "bash",
            Template::Deno => "deno",
            Template::Custom => "custom",
            Template::Http => "http",
            Template::Job => "job",
        }
    }
}
