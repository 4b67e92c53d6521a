//! Deterministic deployment zips and their CodeSha256: what goes in ([`collect`]), how it is zipped
//! ([`archive`]), and the two zips lambda-rt deploys — the function code (with or without the runtime)
//! and the runtime layer.
//!
//! The same input files always give the same bytes: entries are sorted by name, every entry has
//! the zip epoch (1980-01-01 00:00) as its time, and modes are explicit (`bootstrap` and executable
//! files 0755, everything else 0644, whatever the local umask). That is what lets `update` compare
//! the local CodeSha256 with the function's and skip the upload, with no local state file.

pub mod archive;
pub mod collect;
pub mod imported;
pub mod lazy;
pub mod parts;
pub mod record;
pub mod tools;

use std::sync::OnceLock;

use anyhow::Result;

use crate::architecture::Architecture;
use crate::deno::{self, DenoSource};
use crate::error::UsageError;
use crate::settings::{Settings, Template};
pub use archive::{build_zip, code_sha256, extract};
pub use collect::{collect_dir, left_out};
pub use lazy::LazyPackage;
pub use parts::{
    CodeIdentity, Entry, Limits, Package, IGNORE_FILE, MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES,
};

/// The function's files and its runtime's, collected and checked once, zipped on demand.
///
/// Whether the deployed zip carries the runtime (`runtime/`, `bootstrap` at its root) depends on
/// the function's remote configuration (a runtime layer attached or not), which is only known after
/// a read; [`FunctionCode::package`] then builds the right zip, once. The Deno binary of a Deno
/// project is only looked for when the zip with the runtime is wanted, so updating the handler of a
/// function whose runtime is in a layer needs no local Deno.
#[derive(Debug)]
pub struct FunctionCode {
    files: Vec<Entry>,
    runtime: Vec<Entry>,
    /// The settings to find the Deno binary with, for projects that may need one.
    deno_for: Option<Settings>,
    /// What `init --from-function` recorded about the deployed zip, if anything.
    imported: Option<imported::Record>,
    /// Where the local record of packages lives ([`record`]); `None`: always build.
    project_dir: Option<std::path::PathBuf>,
    limits: Limits,
    with_runtime: OnceLock<LazyPackage>,
    without_runtime: OnceLock<LazyPackage>,
}

impl FunctionCode {
    /// Collects `function/` and `runtime/` (minus `.lambdaignore` patterns).
    pub fn build(settings: &Settings) -> Result<Self> {
        Self::build_with(settings, Limits::for_settings(settings))
    }

    /// [`FunctionCode::build`] with other size limits.
    pub fn build_with(settings: &Settings, limits: Limits) -> Result<Self> {
        let files = collect_dir(&settings.function_dir(), &settings.project_dir)?;
        let runtime = runtime_dir_entries(settings)?;
        let mut code = Self::from_entries(files, runtime, limits)?;
        code.imported = imported::read(&settings.project_dir);
        code.project_dir = Some(settings.project_dir.clone());
        if settings.template == Template::Deno || settings.deno.is_some() {
            code.deno_for = Some(settings.clone());
        }
        Ok(code)
    }

    /// The same from explicit entries (for tests).
    pub fn from_entries(files: Vec<Entry>, runtime: Vec<Entry>, limits: Limits) -> Result<Self> {
        if let Some(clash) = files
            .iter()
            .find(|f| runtime.iter().any(|r| r.name == f.name))
        {
            return Err(UsageError(format!(
                "`{}` would replace runtime/{} in the function zip, where Lambda expects the \
                 runtime's file; rename or remove it",
                clash.source.display(),
                clash.name
            ))
            .into());
        }
        Ok(FunctionCode {
            files,
            runtime,
            deno_for: None,
            imported: None,
            project_dir: None,
            limits,
            with_runtime: OnceLock::new(),
            without_runtime: OnceLock::new(),
        })
    }

    /// Every file that goes into the function zip with its runtime: `function/`, `runtime/`, and
    /// the Deno binary of a Deno project.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let mut entries: Vec<Entry> = self.files.iter().chain(&self.runtime).cloned().collect();
        if let Some(settings) = &self.deno_for {
            add_deno(&mut entries, settings, settings.function.architecture)?;
        }
        Ok(entries)
    }

    /// Which code the zip to deploy is ([`FunctionCode::package`]), from the local record when
    /// its inputs zipped before: a no-op builds no zip.
    pub fn identity(&self, runtime_in_layer: bool) -> Result<CodeIdentity> {
        self.lazy(runtime_in_layer)?.identity()
    }

    /// The zip to deploy: only `function/` while the runtime comes from a layer (a bootstrap in
    /// the function code would win over the layer's), `function/` plus the runtime otherwise.
    pub fn package(&self, runtime_in_layer: bool) -> Result<&Package> {
        self.lazy(runtime_in_layer)?.package()
    }

    fn lazy(&self, runtime_in_layer: bool) -> Result<&LazyPackage> {
        let cell = if runtime_in_layer {
            &self.without_runtime
        } else {
            &self.with_runtime
        };
        if let Some(lazy) = cell.get() {
            return Ok(lazy);
        }
        let entries = if runtime_in_layer {
            self.files.clone()
        } else {
            self.entries()?
        };
        Ok(cell.get_or_init(|| {
            LazyPackage::new(
                entries,
                self.limits,
                self.project_dir.clone(),
                self.imported.clone(),
            )
        }))
    }
}

/// Builds the function zip: `function/` (minus `.lambdaignore` patterns), plus the runtime
/// (as [`layer_zip`] has it) when `with_runtime`.
pub fn function_zip(settings: &Settings, with_runtime: bool) -> Result<Package> {
    let code = FunctionCode::build(settings)?;
    Ok(code.package(!with_runtime)?.clone())
}

/// Builds the runtime layer zip: everything in `runtime/` (minus `.lambdaignore` patterns), which
/// Lambda extracts to `/opt`, plus `bin/deno` for a Deno project. `bootstrap` and files under
/// `bin/` are always executable.
pub fn layer_zip(settings: &Settings) -> Result<Package> {
    Ok(layer_package(layer_entries(settings)?, settings)
        .package()?
        .clone())
}

/// The runtime layer of `entries` ([`layer_entries`]), zipped only when its bytes are needed.
pub fn layer_package(entries: Vec<Entry>, settings: &Settings) -> LazyPackage {
    LazyPackage::new(
        entries,
        Limits::for_settings(settings),
        Some(settings.project_dir.clone()),
        None,
    )
}

/// The files of the runtime layer: `runtime/`, plus `bin/deno` for a Deno project.
pub fn layer_entries(settings: &Settings) -> Result<Vec<Entry>> {
    let mut entries = runtime_dir_entries(settings)?;
    add_deno(&mut entries, settings, settings.function.architecture)?;
    Ok(entries)
}

/// The files of `runtime/` as zip entries (`bootstrap` and `bin/*` made executable), with the
/// project's `tools` ([`tools`]), without the Deno binary that [`layer_zip`] adds; local runs link that in instead of copying it.
pub fn runtime_dir_entries(settings: &Settings) -> Result<Vec<Entry>> {
    if let Some(bootstrap) = &settings.bootstrap_override {
        // `check --bootstrap`: that executable in place of runtime/bootstrap, with the rest of
        // runtime/ if there is one.
        let mut entries = if settings.runtime_dir().is_dir() {
            collect_dir(&settings.runtime_dir(), &settings.project_dir)?
        } else {
            Vec::new()
        };
        entries.retain(|e| e.name != "bootstrap");
        entries.push(Entry {
            name: "bootstrap".into(),
            source: bootstrap.clone(),
            mode: 0o755,
        });
        return with_tools(settings, entries);
    }
    let mut entries = collect_dir(&settings.runtime_dir(), &settings.project_dir)?;
    if !entries.iter().any(|e| e.name == "bootstrap") {
        return Err(UsageError(format!(
            "`{}` is missing or left out by .lambdaignore: the runtime needs bootstrap at its root",
            settings.bootstrap_path().display()
        ))
        .into());
    }
    for entry in &mut entries {
        if entry.name == "bootstrap" || entry.name.starts_with("bin/") {
            entry.mode = 0o755;
        }
    }
    with_tools(settings, entries)
}

/// `entries` of the runtime plus the project's `tools` (with the libraries they need).
fn with_tools(settings: &Settings, mut entries: Vec<Entry>) -> Result<Vec<Entry>> {
    let tools = tools::entries(settings, &entries)?;
    entries.extend(tools);
    Ok(entries)
}

/// Adds the Deno binary as `bin/deno` when the project needs one from outside `runtime/`.
fn add_deno(
    entries: &mut Vec<Entry>,
    settings: &Settings,
    architecture: Architecture,
) -> Result<()> {
    if let Some(DenoSource::External(path)) = deno::resolve(settings, architecture)? {
        entries.retain(|e| e.name != deno::LAYER_PATH);
        entries.push(Entry {
            name: deno::LAYER_PATH.to_string(),
            source: path,
            mode: 0o755,
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_files;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::test_files::*;
    use std::path::Path;

    fn settings_for(dir: &Path) -> Settings {
        let mut input = crate::cli::common::SettingsInput::default();
        input.project.project_dir = Some(dir.to_path_buf());
        Settings::resolve(&input).unwrap()
    }

    #[test]
    fn layer_zip_holds_the_runtime_directory_with_executables() {
        let dir = tree(&[
            ("runtime/bootstrap", "#!/bin/bash", 0o600),
            ("runtime/bin/tool", "#!/bin/sh", 0o644),
            ("runtime/lib/helper.sh", "x", 0o644),
        ]);
        let layer = layer_zip(&settings_for(dir.path())).unwrap();
        assert_eq!(
            modes(&layer),
            vec![
                ("bin/tool".to_string(), 0o755),
                ("bootstrap".to_string(), 0o755),
                ("lib/helper.sh".to_string(), 0o644),
            ]
        );
        // Deterministic like the function zip.
        assert_eq!(
            layer.code_sha256,
            layer_zip(&settings_for(dir.path())).unwrap().code_sha256
        );
    }

    #[test]
    fn layer_zip_needs_a_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("runtime/other"), "x", 0o644);
        let err = layer_zip(&settings_for(dir.path())).unwrap_err();
        assert!(err.to_string().contains("bootstrap"), "{err}");
    }

    #[test]
    fn function_code_with_and_without_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("runtime/bootstrap"), "#!/bin/bash", 0o755);
        write(&dir.path().join("runtime/lib/helper.sh"), "y", 0o644);
        write(&dir.path().join("function/function.sh"), "x", 0o644);
        let code = FunctionCode::build(&settings_for(dir.path())).unwrap();
        let with = code.package(false).unwrap();
        let without = code.package(true).unwrap();
        // Without a layer the function zip carries the whole runtime, as the layer would.
        assert_eq!(
            with.entry_names,
            vec!["bootstrap", "function.sh", "lib/helper.sh"]
        );
        assert_eq!(without.entry_names, vec!["function.sh"]);
        assert_ne!(with.code_sha256, without.code_sha256);
    }
}
