//! What the user sees: one line per resource and action on stderr, a spinner (on a terminal) or a
//! plain line (otherwise) during waits, and with `--output json` one JSON document on stdout, in
//! the versioned format described by `docs/output.schema.json` ([`SCHEMA_VERSION`]).

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::cli::OutputFormat;

/// The version of the JSON documents `--output json` prints (their `schema` field); it changes
/// only when a document changes in a way that could break a reader.
pub const SCHEMA_VERSION: u32 = 1;

/// What happened (or, in a dry run, would happen) to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Deleted,
    /// It was not there to delete.
    Absent,
    /// Deliberately left alone (not lambda-rt's, or the user asked to keep it).
    Kept,
}

impl Action {
    /// The action's name in JSON: a dry run says what it would do (`would_create`).
    pub fn json_name(self, dry_run: bool) -> &'static str {
        self.names(dry_run).0
    }

    pub fn describe(self, dry_run: bool) -> &'static str {
        self.names(dry_run).1
    }

    /// The name in JSON and the words in text, in one table so that they cannot drift apart.
    fn names(self, dry_run: bool) -> (&'static str, &'static str) {
        match (self, dry_run) {
            (Action::Created, true) => ("would_create", "would create"),
            (Action::Updated, true) => ("would_update", "would update"),
            (Action::Deleted, true) => ("would_delete", "would delete"),
            (Action::Created, false) => ("created", "created"),
            (Action::Updated, false) => ("updated", "updated"),
            (Action::Deleted, false) => ("deleted", "deleted"),
            (Action::Unchanged, _) => ("unchanged", "unchanged"),
            (Action::Absent, _) => ("absent", "absent"),
            (Action::Kept, _) => ("kept", "kept"),
        }
    }
}

/// One difference between what is deployed and what should be, e.g. memory 128 → 256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `code`, `memory`, `environment.API_KEY`, `layers`, ...
    pub field: String,
    /// The value before (`None`: absent). Secret values (environment) are never shown.
    pub from: Option<String>,
    /// The value after (`None`: removed).
    pub to: Option<String>,
}

impl Change {
    pub fn new(field: impl Into<String>, from: Option<String>, to: Option<String>) -> Change {
        Change {
            field: field.into(),
            from,
            to,
        }
    }

    /// A change whose values are not worth showing (the code, a description).
    pub fn named(field: impl Into<String>) -> Change {
        Change::new(field, None, None)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = self.field.strip_prefix("environment.") {
            // Values may be secrets: only say what happened to the variable.
            return match (&self.from, &self.to) {
                (None, Some(_)) => write!(f, "environment: added {key}"),
                (Some(_), None) => write!(f, "environment: removed {key}"),
                _ => write!(f, "environment: changed {key}"),
            };
        }
        match (&self.from, &self.to) {
            (Some(from), Some(to)) => write!(f, "{} {from} → {to}", self.field),
            (None, Some(to)) => write!(f, "{} {to}", self.field),
            (Some(from), None) => write!(f, "{}: removed {from}", self.field),
            (None, None) => f.write_str(&self.field),
        }
    }
}

/// One line of a command's result.
#[derive(Debug, Clone)]
pub struct ResourceReport {
    pub kind: &'static str,
    pub name: String,
    pub action: Action,
    pub arn: Option<String>,
    /// What changed, e.g. code, memory 128 → 256.
    pub changes: Vec<Change>,
    /// Why, when the action needs explaining (e.g. why a role was kept).
    pub note: Option<String>,
}

impl ResourceReport {
    pub fn new(kind: &'static str, name: impl Into<String>, action: Action) -> Self {
        ResourceReport {
            kind,
            name: name.into(),
            action,
            arn: None,
            changes: Vec::new(),
            note: None,
        }
    }

    pub fn arn(mut self, arn: Option<impl Into<String>>) -> Self {
        self.arn = arn.map(Into::into);
        self
    }

    pub fn changes(mut self, changes: Vec<Change>) -> Self {
        self.changes = changes;
        self
    }

    /// Adds a note (after any earlier one).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(earlier) => format!("{earlier}; {note}"),
            None => note,
        });
        self
    }
}

/// The whole result of create/update/delete/publish-layer, printed as JSON with `--output json`.
#[derive(Debug)]
pub struct Report {
    pub command: &'static str,
    pub dry_run: bool,
    pub resources: Vec<ResourceReport>,
    pub code_sha256: Option<String>,
    /// What `publish-layer` did with the runtime layer.
    pub layer: Option<LayerSummary>,
    /// What needs attention but was not changed (already printed on stderr by [`Ui::warn`]).
    pub warnings: Vec<String>,
}

impl Report {
    /// The JSON document of the report (see docs/output.schema.json).
    pub fn to_json(&self) -> serde_json::Value {
        let resources: Vec<serde_json::Value> = self
            .resources
            .iter()
            .map(|r| {
                let mut item = serde_json::json!({
                    "kind": r.kind,
                    "name": r.name,
                    "action": r.action.json_name(self.dry_run),
                    "changes": r.changes,
                });
                if let Some(arn) = &r.arn {
                    item["arn"] = arn.as_str().into();
                }
                if let Some(note) = &r.note {
                    item["note"] = note.as_str().into();
                }
                item
            })
            .collect();
        let mut document = serde_json::json!({
            "schema": SCHEMA_VERSION,
            "command": self.command,
            "dry_run": self.dry_run,
            "resources": resources,
        });
        if let Some(sha) = &self.code_sha256 {
            document["code_sha256"] = sha.as_str().into();
        }
        if let Some(layer) = &self.layer {
            document["layer"] = serde_json::to_value(layer).expect("a layer summary is JSON");
        }
        if !self.warnings.is_empty() {
            document["warnings"] = self.warnings.clone().into();
        }
        document
    }
}

/// Prints one JSON document on stdout.
/// The JSON document of `command` (see docs/output.schema.json): `schema` and `command`, then
/// the command's own `fields`.
pub fn document(command: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut document = serde_json::json!({ "schema": SCHEMA_VERSION, "command": command });
    add_fields(&mut document, fields);
    document
}

/// Adds the fields of object `fields` to object `document`.
pub fn add_fields(document: &mut serde_json::Value, fields: serde_json::Value) {
    if let (Some(document), serde_json::Value::Object(fields)) = (document.as_object_mut(), fields)
    {
        document.extend(fields);
    }
}

pub fn print_json(document: &serde_json::Value) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, document)?;
    writeln!(stdout)?;
    Ok(())
}

/// The JSON document of a failed command (see docs/output.schema.json): `code` names the kind of
/// failure (the exit code's meaning), `message` the first line of the error, `hint` what to do.
pub fn error_json(command: &str, code: &str, exit_code: i32, text: &str) -> serde_json::Value {
    let (message, hint) = match text.split_once("\nhint: ") {
        Some((message, hint)) => (message, Some(hint)),
        None => (text, None),
    };
    serde_json::json!({
        "schema": SCHEMA_VERSION,
        "command": command,
        "error": {
            "code": code,
            "exit_code": exit_code,
            "message": message,
            "hint": hint,
        }
    })
}

/// The runtime layer after `publish-layer` (or what it would be, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub name: String,
    /// `None` in a dry run that would publish a new version.
    pub layer_version_arn: Option<String>,
    pub version: Option<i64>,
    /// CodeSha256 of the local layer zip.
    pub code_sha256: String,
    /// A new version was (or would be) published; `false` means the newest one was reused.
    pub published: bool,
    /// The version is (or would be) in the function's layers.
    pub attached: bool,
    /// Older versions deleted by `--keep`.
    pub pruned_versions: Vec<i64>,
}

/// Output settings shared by every command.
#[derive(Debug, Clone)]
pub struct Ui {
    pub format: OutputFormat,
    pub quiet: bool,
    stderr_is_terminal: bool,
    /// The one spinner line on a terminal, shared by waits that overlap (an upload that also
    /// waits for IAM, parallel deletes): it shows the newest wait still in progress.
    spinner: Arc<Mutex<Spinner>>,
    /// In a project of several functions: the function every line is about (`[name] ` before
    /// it), and where its JSON document goes (into one document for the whole run).
    function: Option<Arc<str>>,
    collected: Option<Arc<Mutex<Vec<serde_json::Value>>>>,
}

#[derive(Debug, Default)]
struct Spinner {
    bar: Option<indicatif::ProgressBar>,
    /// The waits in progress, oldest first, by id.
    waits: Vec<(u64, String)>,
    next_id: u64,
}

impl Ui {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        Ui {
            format,
            quiet,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            spinner: Arc::default(),
            function: None,
            collected: None,
        }
    }

    /// This output for one function of a run over several: its lines start with `[name] `, and
    /// its JSON document goes into `collected` instead of stdout.
    pub fn for_function(&self, name: &str, collected: Arc<Mutex<Vec<serde_json::Value>>>) -> Ui {
        Ui {
            function: Some(name.into()),
            collected: Some(collected),
            ..self.clone()
        }
    }

    /// `[name] ` in a run over several functions, else nothing.
    pub fn prefix(&self) -> String {
        self.function
            .as_deref()
            .map(|name| format!("[{name}] "))
            .unwrap_or_default()
    }

    /// The JSON document kept for this function's run, if any.
    pub fn take_document(&self) -> Option<serde_json::Value> {
        let collected = self.collected.as_ref()?;
        let mut documents = collected
            .lock()
            .expect("the collector lock is never poisoned");
        (!documents.is_empty()).then(|| documents.remove(0))
    }

    /// A JSON document on stdout, or — for one function of a run over several — kept for the
    /// run's one document.
    pub fn print_document(&self, document: &serde_json::Value) -> anyhow::Result<()> {
        match &self.collected {
            Some(collected) => {
                collected
                    .lock()
                    .expect("the collector lock is never poisoned")
                    .push(document.clone());
                Ok(())
            }
            None => print_json(document),
        }
    }

    /// Prints one resource line on stderr as soon as it is known (text output only).
    pub fn resource(&self, report: &ResourceReport, dry_run: bool) {
        if self.quiet || self.format == OutputFormat::Json {
            return;
        }
        let mut line = format!(
            "{:>12}  {} `{}`",
            report.action.describe(dry_run),
            report.kind,
            report.name
        );
        if !report.changes.is_empty() {
            let changes: Vec<String> = report.changes.iter().map(Change::to_string).collect();
            line.push_str(&format!(" ({})", changes.join(", ")));
        }
        if let Some(note) = &report.note {
            line.push_str(&format!(" - {note}"));
        }
        eprintln!("{}{line}", self.prefix());
    }

    /// Prints a free-form progress line on stderr (text output, not quiet).
    pub fn info(&self, message: &str) {
        if !self.quiet && self.format == OutputFormat::Text {
            eprintln!("{}{message}", self.prefix());
        }
    }

    /// Prints a line on stderr that matters in either output format (stdout carries the JSON; not
    /// with --quiet).
    pub fn notice(&self, message: &str) {
        if !self.quiet {
            eprintln!("{}{message}", self.prefix());
        }
    }

    /// Prints a warning line on stderr (in either output format: stdout carries the JSON; not
    /// with --quiet).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("{}warning: {message}", self.prefix());
        }
    }

    /// Prints the final report: JSON on stdout, or nothing more in text mode (lines went out live).
    pub fn finish(&self, report: &Report) -> anyhow::Result<()> {
        if self.format == OutputFormat::Json {
            self.print_document(&report.to_json())?;
        }
        Ok(())
    }

    /// Shows that a wait is in progress until the returned guard is dropped: a spinner on a
    /// terminal, a log line at -v otherwise.
    pub fn waiting(&self, message: String) -> Waiting {
        if self.quiet {
            return Waiting { wait: None };
        }
        if !self.stderr_is_terminal {
            tracing::info!("{message}");
            return Waiting { wait: None };
        }
        let mut spinner = self
            .spinner
            .lock()
            .expect("the spinner lock is never poisoned");
        let id = spinner.next_id;
        spinner.next_id += 1;
        let bar = spinner.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        bar.set_message(message.clone());
        spinner.waits.push((id, message));
        Waiting {
            wait: Some((Arc::clone(&self.spinner), id)),
        }
    }
}

/// A wait in progress; takes its message off the spinner when dropped.
pub struct Waiting {
    wait: Option<(Arc<Mutex<Spinner>>, u64)>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some((spinner, id)) = self.wait.take() else {
            return;
        };
        let Ok(mut spinner) = spinner.lock() else {
            return;
        };
        spinner.waits.retain(|(wait, _)| *wait != id);
        match spinner.waits.last().map(|(_, message)| message.clone()) {
            Some(message) => {
                if let Some(bar) = &spinner.bar {
                    bar.set_message(message);
                }
            }
            None => {
                if let Some(bar) = spinner.bar.take() {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

/// One line of a function's log as `logs` and `invoke --log` print it: time and stream when known,
/// then the message without its line ending.
pub fn log_line(time_ms: Option<i64>, stream: Option<&str>, message: &str) -> String {
    let message = message.trim_end_matches(['\n', '\r']);
    let mut line = String::new();
    if let Some(ms) = time_ms {
        let time = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
        line.push_str(&humantime::format_rfc3339_millis(time).to_string());
        line.push_str("  ");
    }
    if let Some(stream) = stream {
        line.push_str(stream);
        line.push_str("  ");
    }
    line.push_str(message);
    line
}

/// A size for people, in the units Lambda's limits are written in ("50 MB" = 50 × 1024 × 1024
/// bytes): `1.5 MB`, `312 kB`. The one size formatter of lambda-rt.
pub fn human_size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::WINDOWS)
}

/// [`human_size`] with the exact byte count, for limits where the last byte matters.
pub fn exact_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{} ({bytes} bytes)", human_size(bytes))
    }
}

/// `text` as one shell word: as is when it needs no quoting, else in single quotes.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_lambdas_units() {
        assert_eq!(human_size(50 * 1024 * 1024), "50 MB");
        assert_eq!(exact_size(1000), "1000 bytes");
        assert_eq!(exact_size(1536 * 1024), "1.50 MB (1572864 bytes)");
    }
}
