//! Where settings come from: `lambda-rt.toml` (with the line and column of every value, so an error
//! can point at it), `LAMBDA_RT_*` variables and flags (told apart by [`crate::cli::Cli::parse_args`]),
//! and defaults. [`Origin`] names a value's source in messages.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use toml::Spanned;

use crate::cli::common::SettingsInput;
use crate::error::UsageError;
use crate::template::Template;

pub const CONFIG_FILE: &str = "lambda-rt.toml";

/// Where one setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--memory`.
    Flag(String),
    /// A `LAMBDA_RT_*` environment variable.
    Env(String),
    /// `lambda-rt.toml`, at this line and column (1-based).
    File { line: usize, column: usize },
    /// lambda-rt's built-in default.
    Default,
}

impl Origin {
    /// The origin of a value clap parsed for the argument `id` (a field name like `memory`).
    pub fn of_arg(id: &str, input: &SettingsInput) -> Origin {
        if input.from_env.contains(id) {
            Origin::Env(format!("LAMBDA_RT_{}", id.to_ascii_uppercase()))
        } else {
            Origin::Flag(format!("--{}", id.replace('_', "-")))
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => f.write_str(var),
            Origin::File { line, column } => write!(f, "{CONFIG_FILE}:{line}:{column}"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// The optional `lambda-rt.toml`; every key is optional and unknown keys are an error.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    pub function_name: Option<Spanned<String>>,
    pub role_name: Option<Spanned<String>>,
    pub role_arn: Option<Spanned<String>>,
    pub layer_name: Option<Spanned<String>>,
    pub handler: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    pub architecture: Option<Spanned<String>>,
    pub memory: Option<Spanned<i64>>,
    pub timeout: Option<Spanned<i64>>,
    pub description: Option<Spanned<String>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub region: Option<Spanned<String>>,
    pub profile: Option<Spanned<String>>,
    pub endpoint_url: Option<Spanned<String>>,
    pub template: Option<Spanned<Template>>,
    pub deno: Option<Spanned<PathBuf>>,
    pub s3_bucket: Option<Spanned<String>>,
    pub s3_key: Option<Spanned<String>>,
    pub log_retention_days: Option<Spanned<i64>>,
    pub policies: Option<Spanned<Vec<String>>>,
    pub ephemeral_storage: Option<Spanned<i64>>,
    pub tracing: Option<Spanned<String>>,
    pub log_format: Option<Spanned<String>>,
    pub application_log_level: Option<Spanned<String>>,
    pub system_log_level: Option<Spanned<String>>,
    /// A number, or "none".
    pub reserved_concurrency: Option<Spanned<toml::Value>>,
    pub tags: Option<Spanned<BTreeMap<String, String>>>,
    pub layers: Option<Spanned<Vec<String>>>,
    pub vpc_subnets: Option<Spanned<Vec<String>>>,
    pub vpc_security_groups: Option<Spanned<Vec<String>>>,
    pub policy_file: Option<Spanned<PathBuf>>,
    pub tools: Option<Spanned<Vec<String>>>,
    pub schedules: Option<Spanned<BTreeMap<String, ScheduleTable>>>,
    pub max_retry_attempts: Option<Spanned<i64>>,
    pub max_event_age: Option<Spanned<i64>>,
    pub on_failure: Option<Spanned<String>>,
    /// `[functions.<name>]`: a project of several functions, each table over the top level's
    /// settings (settings/functions.rs).
    pub functions: Option<Spanned<BTreeMap<String, FileSettings>>>,
}

/// One `[schedules.<name>]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScheduleTable {
    pub expression: Spanned<String>,
    pub timezone: Option<Spanned<String>>,
    pub payload: Option<Spanned<String>>,
    pub enabled: Option<bool>,
}

/// `lambda-rt.toml` as read from a project (or an empty one when there is none).
#[derive(Debug, Default, Clone)]
pub struct ConfigFile {
    pub settings: FileSettings,
    /// Whether the file exists.
    pub exists: bool,
    text: String,
}

impl ConfigFile {
    /// Reads `DIR/lambda-rt.toml`; a missing file is the same as an empty one. Syntax errors and
    /// unknown keys are usage errors that say where they are.
    pub fn load(project_dir: &Path) -> Result<Self> {
        let path = project_dir.join(CONFIG_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read `{}`", path.display()))
            }
        };
        // TOML is UTF-8; another encoding is the user's to fix, like a syntax error.
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_column(
                &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
                usize::MAX,
            );
            UsageError(format!(
                "failed to parse `{}:{line}:{column}`: the file is not UTF-8 text; save it as \
                 UTF-8",
                path.display()
            ))
        })?;
        Self::parse(text).map_err(|(message, position)| {
            let place = match position {
                Some((line, column)) => format!("{}:{line}:{column}", path.display()),
                None => path.display().to_string(),
            };
            UsageError(format!("failed to parse `{place}`: {message}")).into()
        })
    }

    /// Parses the text of a config file; on error, the message and its line and column.
    pub fn parse(text: String) -> Result<Self, (String, Option<(usize, usize)>)> {
        match toml::from_str::<FileSettings>(&text) {
            Ok(settings) => Ok(ConfigFile {
                settings,
                exists: true,
                text,
            }),
            Err(e) => {
                let position = e.span().map(|span| line_column(&text, span.start));
                Err((plain_message(e.message().trim()), position))
            }
        }
    }

    /// The same file with other settings (a function's table over the top level).
    pub fn with_settings(&self, settings: FileSettings) -> ConfigFile {
        ConfigFile {
            settings,
            exists: self.exists,
            text: self.text.clone(),
        }
    }

    /// The origin of a value found at `span` in this file.
    pub fn origin(&self, span: Range<usize>) -> Origin {
        let (line, column) = line_column(&self.text, span.start);
        Origin::File { line, column }
    }

    /// Picks the value of one setting: the flag or `LAMBDA_RT_*` variable `arg` (clap id `id`),
    /// else the file's, else `None`.
    pub fn pick<T: Clone>(
        &self,
        input: &SettingsInput,
        id: &str,
        arg: Option<&T>,
        file: Option<&Spanned<T>>,
    ) -> Option<(T, Origin)> {
        match (arg, file) {
            (Some(value), _) => Some((value.clone(), Origin::of_arg(id, input))),
            (None, Some(spanned)) => Some((spanned.get_ref().clone(), self.origin(spanned.span()))),
            (None, None) => None,
        }
    }
}

/// serde's wording made for a user: Rust type names become words, and an unknown key gets the
/// nearest known one (`memroy` → did you mean `memory`?).
fn plain_message(message: &str) -> String {
    let mut text = message.to_string();
    for (rust, plain) in [
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
    ] {
        text = text.replace(rust, plain);
    }
    let unknown = text
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key.to_string());
    if let (Some(key), Some((_, known))) = (unknown, message.split_once("expected one of ")) {
        let nearest = known
            .split(", ")
            .map(|k| k.trim_matches('`'))
            .map(|k| (strsim::damerau_levenshtein(&key, k), k))
            .min();
        text = match nearest {
            Some((distance, k)) if distance <= 2 => {
                format!("unknown key `{key}`: did you mean `{k}`?")
            }
            _ => format!("unknown key `{key}`; the keys are {known}"),
        };
    }
    text
}

/// 1-based line and column (in characters) of byte offset `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_reported_for_values_and_errors() {
        let file = ConfigFile::parse("# comment\nmemory = 512\n".into()).unwrap();
        let memory = file.settings.memory.as_ref().unwrap();
        assert_eq!(
            file.origin(memory.span()),
            Origin::File {
                line: 2,
                column: 10
            }
        );
        let (message, position) =
            ConfigFile::parse("memory = 512\ntimeout = \n".into()).unwrap_err();
        assert_eq!(position.map(|(line, _)| line), Some(2), "{message}");
        let (message, position) = ConfigFile::parse("\n\nmemroy = 256\n".into()).unwrap_err();
        assert!(message.contains("memroy"), "{message}");
        assert_eq!(position, Some((3, 1)));
    }

    #[test]
    fn origins_name_the_flag_or_the_variable() {
        let mut input = SettingsInput::default();
        assert_eq!(
            Origin::of_arg("function_name", &input).to_string(),
            "--function-name"
        );
        input.from_env.insert("function_name".into());
        assert_eq!(
            Origin::of_arg("function_name", &input).to_string(),
            "LAMBDA_RT_FUNCTION_NAME"
        );
        assert_eq!(
            Origin::File { line: 3, column: 7 }.to_string(),
            "lambda-rt.toml:3:7"
        );
    }
}
