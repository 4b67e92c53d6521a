//! Does the handler load? Before a deployment, the handler file must parse and define the function
//! `_HANDLER` names; otherwise Lambda answers every cold start with an init error that only a
//! local run would have shown. A bash file is parsed with `bash -n` (it runs nothing); whether it
//! defines the function is read from its text, because sourcing it would run its top-level code.
//! Deno: whether the module exports the function is read from its text; type-checking it (`deno
//! check`) may fetch remote imports, so it is left to `invoke --local`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;

use crate::error::UsageError;
use crate::project::{self, RuntimeKind};
use crate::settings::Settings;

/// Refuses a handler file that cannot load: a syntax error (bash) or no definition of the
/// handler's function, naming `file:line` when the parser gives one.
pub fn check_handler_loads(settings: &Settings, kind: RuntimeKind) -> Result<()> {
    let Some(file) = project::handler_file(settings, kind) else {
        return Ok(());
    };
    let Some((_, function)) = settings.function.handler.split_once('.') else {
        return Ok(());
    };
    let shown = project::shown(settings, &file);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| UsageError(format!("cannot read `{shown}`: {e}")))?;
    match kind {
        RuntimeKind::Bash => {
            check_bash_syntax(settings, &file, &shown)?;
            if !defines_bash_function(&text, function) && !loads_code_dynamically(&text) {
                return Err(missing(settings, &shown, function, "define"));
            }
        }
        RuntimeKind::Deno => {
            if !exports_function(&text, function) {
                return Err(missing(settings, &shown, function, "export"));
            }
        }
        RuntimeKind::Custom => {}
    }
    Ok(())
}

fn missing(settings: &Settings, shown: &str, function: &str, verb: &str) -> anyhow::Error {
    UsageError(format!(
        "`{shown}` does not {verb} a function `{function}` (handler `{}`): Lambda would fail \
         every start with Runtime.HandlerNotFound; {verb} it there, or set --handler (`handler` in \
         lambda-rt.toml) to the function that is the handler",
        settings.function.handler
    ))
    .into()
}

/// `bash -n`, run from the project directory so its messages name the file as the user knows
/// it; its `file: line N: message` becomes `file:N: message`. Without bash on this machine the
/// check is skipped (Lambda's bash is what matters, and the text checks still run).
fn check_bash_syntax(settings: &Settings, file: &Path, shown: &str) -> Result<()> {
    let relative = file.strip_prefix(&settings.project_dir).unwrap_or(file);
    let output = Command::new("bash")
        .arg("-n")
        .arg(relative)
        .current_dir(&settings.project_dir)
        .stdin(Stdio::null())
        .output();
    let Ok(output) = output else {
        tracing::debug!("no bash here: `{shown}` is not parsed before deploying");
        return Ok(());
    };
    if output.status.success() {
        return Ok(());
    }
    let errors = String::from_utf8_lossy(&output.stderr);
    let prefix = format!("{}: line ", relative.display());
    let lines: Vec<String> = errors
        .lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(rest) => format!("{shown}:{rest}"),
            None => line.to_string(),
        })
        .collect();
    Err(UsageError(format!(
        "`{shown}` does not parse (bash -n), so Lambda could not load it:\n  {}\nfix it, then run \
         `lambda-rt invoke --local` to try it",
        lines.join("\n  ")
    ))
    .into())
}

/// `name() {`, `name () (`, `function name {` or `function name() {`, at the start of a line.
fn defines_bash_function(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let (has_keyword, rest) = match line.strip_prefix("function") {
            Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
            _ => (false, line),
        };
        let Some(after) = rest.strip_prefix(name) else {
            return false;
        };
        if !(after.is_empty() || after.starts_with([' ', '\t', '(', '{'])) {
            return false;
        }
        let after = after.trim_start();
        let body = match after.strip_prefix('(') {
            Some(parens) => match parens.trim_start().strip_prefix(')') {
                Some(body) => body.trim_start(),
                None => return false,
            },
            // Only `function name {` may leave the parentheses out.
            None if has_keyword => after,
            None => return false,
        };
        body.is_empty() || body.starts_with(['{', '(', '#'])
    })
}

/// A file that sources others or evals may define its functions in ways its text does not show:
/// then the definition check stands aside (a syntax error is still refused).
fn loads_code_dynamically(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with("source ") || line.starts_with(". ") || line.contains("eval ")
    })
}

/// `export function name`, `export async function name`, `export const name`/`let`/`var`, or
/// `name` inside an `export { … }` list; `export *` or a re-export from another module counts as
/// possibly exporting anything.
fn exports_function(text: &str, name: &str) -> bool {
    let is_name_end =
        |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
    text.lines().any(|line| {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("export") else {
            return false;
        };
        let rest = rest.trim_start();
        if rest.starts_with('*') || (rest.starts_with('{') && line.contains(" from ")) {
            return true;
        }
        if let Some(list) = rest.strip_prefix('{') {
            let list = list.split('}').next().unwrap_or_default();
            return list.split(',').any(|item| {
                let exported = item.split(" as ").last().unwrap_or_default().trim();
                exported == name
            });
        }
        let rest = rest
            .strip_prefix("async")
            .map(str::trim_start)
            .unwrap_or(rest);
        ["function", "function*", "const", "let", "var"]
            .iter()
            .any(|keyword| {
                rest.strip_prefix(keyword)
                    .filter(|r| r.starts_with(char::is_whitespace))
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix(name))
                    .is_some_and(is_name_end)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_definitions_are_recognised_in_their_usual_forms() {
        for text in [
            "handler() {\n}",
            "handler () {\n}",
            "  handler()\n{\n}",
            "function handler {\n}",
            "function handler() {\n}",
            "function handler () ( echo )",
        ] {
            assert!(defines_bash_function(text, "handler"), "{text:?}");
        }
        for text in [
            "handler_two() {\n}",
            "# handler() {}\n",
            "echo handler\n",
            "functionhandler() {\n}",
            "my_handler() {\n}",
        ] {
            assert!(!defines_bash_function(text, "handler"), "{text:?}");
        }
    }

    #[test]
    fn deno_exports_are_recognised_in_their_usual_forms() {
        for text in [
            "export async function handler(event) {}",
            "export function handler() {}",
            "export const handler = async () => {};",
            "const h = 1;\nexport { h as handler, other };",
            "export { handler };",
            "export * from './impl.ts';",
        ] {
            assert!(exports_function(text, "handler"), "{text:?}");
        }
        for text in [
            "async function handler() {}",
            "export const handlerX = 1;",
            "export { handler as other };",
        ] {
            assert!(!exports_function(text, "handler"), "{text:?}");
        }
    }
}
