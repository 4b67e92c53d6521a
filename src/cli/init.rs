//! Flags of `lambda-rt init`.

use std::path::PathBuf;

use clap::Args;

use super::common::AwsArgs;
use crate::template::Template;

/// Flags of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory for the project (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The template to start from: bash, deno, http, job (a nightly job) or custom
    #[arg(long, value_enum, default_value_t = Template::Bash, hide_possible_values = true)]
    pub template: Template,

    /// Function name written to lambda-rt.toml [default: DIR's name]
    #[arg(long, value_name = "NAME")]
    pub function_name: Option<String>,

    /// Overwrite the template's files where they exist (other files are left alone)
    #[arg(long, conflicts_with = "from_function")]
    pub force: bool,

    /// Make the project from this deployed function instead of a template: its code (bootstrap
    /// to runtime/, the rest to function/) and every setting lambda-rt manages
    #[arg(long, value_name = "NAME", conflicts_with = "template")]
    pub from_function: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,
}
