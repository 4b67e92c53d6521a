//! One file per subcommand: what `lambda-rt <command>` does, in terms of `aws/`, `package/` and
//! `emulator/`, and what it prints. Beside them: the run's [`context`] (settings, output, clients),
//! the flow `create` and `update` share ([`deploy`]), and whose a function is ([`ownership`]).

pub mod check;
pub mod completions;
pub mod context;
pub mod create;
pub mod delete;
pub mod deploy;
pub mod import;
pub mod init;
pub mod invoke;
pub mod jobs;
pub mod logs;
pub mod man;
pub mod many;
pub mod ownership;
pub mod publish_layer;
pub mod serve;
pub mod status;
pub mod update;
pub mod versions;
pub mod watch;
