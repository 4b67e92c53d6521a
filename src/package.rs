//! Deterministic deployment zips and their CodeSha256.
//!
//! The same input files always give the same bytes: entries are sorted by name, every entry has
//! the zip epoch (1980-01-01 00:00) as its time, and modes are explicit (`bootstrap` and executable
//! files 0755, everything else 0644, whatever the local umask). That is what lets `update` compare
//! the local CodeSha256 with the function's and skip the upload, with no local state file.

use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::deno::{self, DenoSource};
use crate::settings::{Architecture, Settings, Template};
use crate::UsageError;

/// Files named like this in `function/` (in any directory) list patterns to leave out of the zip.
pub const IGNORE_FILE: &str = ".lambdaignore";

/// Lambda's direct-upload limit for a zip (50 MB).
pub const MAX_ZIPPED_BYTES: u64 = 50 * 1024 * 1024;
/// Lambda's limit on unzipped code, layers included (250 MB).
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

/// Size limits a package must respect.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub zipped: u64,
    pub unzipped: u64,
}

impl Limits {
    /// Lambda's limits for how the project deploys: through S3 a zip may be larger than 50 MB
    /// (the 250 MB unzipped limit still holds).
    pub fn for_settings(settings: &Settings) -> Self {
        Limits {
            zipped: if settings.s3.is_some() {
                u64::MAX
            } else {
                MAX_ZIPPED_BYTES
            },
            unzipped: MAX_UNZIPPED_BYTES,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            zipped: MAX_ZIPPED_BYTES,
            unzipped: MAX_UNZIPPED_BYTES,
        }
    }
}

/// One file to put in a zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name inside the zip, `/`-separated, relative to the zip root.
    pub name: String,
    /// Where the bytes come from.
    pub source: PathBuf,
    /// Unix mode bits stored in the zip.
    pub mode: u32,
}

/// A built zip.
#[derive(Debug, Clone)]
pub struct Package {
    pub bytes: Vec<u8>,
    /// base64(sha256(bytes)), the form Lambda reports as CodeSha256.
    pub code_sha256: String,
    pub unzipped_size: u64,
    pub entry_names: Vec<String>,
}

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
    limits: Limits,
    with_runtime: OnceLock<Package>,
    without_runtime: OnceLock<Package>,
}

impl FunctionCode {
    /// Collects `function/` and `runtime/` (minus `.lambdaignore` patterns).
    pub fn build(settings: &Settings) -> Result<Self> {
        let files = collect_dir(&settings.function_dir(), &settings.project_dir)?;
        let runtime = runtime_dir_entries(settings)?;
        let mut code = Self::from_entries(files, runtime, Limits::for_settings(settings))?;
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
            limits,
            with_runtime: OnceLock::new(),
            without_runtime: OnceLock::new(),
        })
    }

    /// The zip to deploy: only `function/` while the runtime comes from a layer (a bootstrap in
    /// the function code would win over the layer's), `function/` plus the runtime otherwise.
    pub fn package(&self, runtime_in_layer: bool) -> Result<&Package> {
        let (cell, entries) = if runtime_in_layer {
            (&self.without_runtime, self.files.clone())
        } else {
            let mut entries = self.files.clone();
            entries.extend(self.runtime.iter().cloned());
            if let Some(settings) = &self.deno_for {
                add_deno(&mut entries, settings, settings.architecture)?;
            }
            (&self.with_runtime, entries)
        };
        if let Some(package) = cell.get() {
            return Ok(package);
        }
        let package = build_zip(entries, self.limits)?;
        Ok(cell.get_or_init(|| package))
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
    let mut entries = runtime_dir_entries(settings)?;
    add_deno(&mut entries, settings, settings.architecture)?;
    build_zip(entries, Limits::for_settings(settings))
}

/// The files of `runtime/` as zip entries (`bootstrap` and `bin/*` made executable), without the
/// Deno binary that [`layer_zip`] adds; local runs link that in instead of copying it.
pub fn runtime_dir_entries(settings: &Settings) -> Result<Vec<Entry>> {
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

/// Lists the files under `dir` as zip entries named relative to `dir`, honouring `.lambdaignore`.
///
/// Symbolic links are followed only when they stay inside `root` (the project), so a link can never
/// smuggle files from elsewhere on the machine into a deployment.
pub fn collect_dir(dir: &Path, root: &Path) -> Result<Vec<Entry>> {
    let root = root
        .canonicalize()
        .with_context(|| format!("failed to read the project directory `{}`", root.display()))?;
    let mut entries = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(true)
        .build();
    for item in walker {
        let item = item.with_context(|| format!("failed to list `{}`", dir.display()))?;
        let path = item.path();
        if path == dir || item.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        if item.file_name() == IGNORE_FILE {
            continue;
        }
        if item.path_is_symlink() {
            let target = path.canonicalize().with_context(|| {
                format!("failed to resolve the symbolic link `{}`", path.display())
            })?;
            if !target.starts_with(&root) {
                return Err(UsageError(format!(
                    "`{}` links to `{}`, outside the project: copy the file in instead",
                    path.display(),
                    target.display()
                ))
                .into());
            }
        }
        let relative = path
            .strip_prefix(dir)
            .expect("walker yields paths under its root");
        let name = zip_name(relative)?;
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let executable = metadata.permissions().mode() & 0o111 != 0;
        entries.push(Entry {
            name,
            source: path.to_path_buf(),
            mode: if executable { 0o755 } else { 0o644 },
        });
    }
    Ok(entries)
}

/// Turns a relative path into a zip entry name, refusing anything that could escape the zip root.
fn zip_name(relative: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(part) => match part.to_str() {
                Some(part) => parts.push(part),
                None => bail!(
                    "`{}` is not valid UTF-8: rename it, zip entry names must be UTF-8",
                    relative.display()
                ),
            },
            _ => bail!("`{}` would escape the zip root", relative.display()),
        }
    }
    Ok(parts.join("/"))
}

/// Zips `entries` deterministically (sorted by name) and checks the size limits.
pub fn build_zip(mut entries: Vec<Entry>, limits: Limits) -> Result<Package> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        bail!(
            "two files would both be stored as `{}` in the zip",
            pair[0].name
        );
    }

    let mut sizes = Vec::with_capacity(entries.len());
    for entry in &entries {
        sizes.push(
            std::fs::metadata(&entry.source)
                .with_context(|| format!("failed to read `{}`", entry.source.display()))?
                .len(),
        );
    }
    let unzipped_size = sizes.iter().sum();
    check_limit("unzipped", unzipped_size, limits.unzipped)?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bytes = zip_entries(&entries, &sizes, cores)?;
    check_limit("zipped", bytes.len() as u64, limits.zipped)?;

    Ok(Package {
        code_sha256: code_sha256(&bytes),
        bytes,
        unzipped_size,
        entry_names: entries.into_iter().map(|e| e.name).collect(),
    })
}

/// Compresses the entries on every core, each into a one-entry zip of its own, and merges those
/// in name order into the final zip. Merging copies the compressed entries as they are, so the
/// bytes do not depend on the number of cores (a unit test checks it).
fn zip_entries(entries: &[Entry], sizes: &[u64], threads: usize) -> Result<Vec<u8>> {
    let threads = threads.min(entries.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(threads * 4);
        for _ in 0..threads {
            let (sender, next) = (sender.clone(), &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(entry) = entries.get(index) else {
                    break;
                };
                if sender.send((index, compress_entry(entry))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        // Reserved at the largest size the zip can take: pages are only touched as they are
        // written, and the growing zip is never copied into a buffer twice its size.
        let headers: usize = entries.iter().map(|e| 2 * e.name.len() + 128).sum();
        let most = sizes.iter().sum::<u64>() as usize + headers + 64;
        let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(most)));
        let mut ready = std::collections::BTreeMap::new();
        let mut wanted = 0;
        for (index, single) in receiver {
            ready.insert(index, single?);
            while let Some(single) = ready.remove(&wanted) {
                writer.merge_archive(single).with_context(|| {
                    format!("failed to add `{}` to the zip", entries[wanted].name)
                })?;
                wanted += 1;
            }
        }
        Ok(writer
            .finish()
            .context("failed to finish the zip")?
            .into_inner())
    })
}

/// One entry as a one-entry zip: deflated, or stored like zip(1) does when deflate cannot shrink
/// it (already-compressed or random data), since deflating that only adds bytes.
fn compress_entry(entry: &Entry) -> Result<zip::ZipArchive<Cursor<Vec<u8>>>> {
    let contents = std::fs::read(&entry.source)
        .with_context(|| format!("failed to read `{}`", entry.source.display()))?;
    let mut single = single_entry_zip(entry, &contents, CompressionMethod::Deflated)?;
    if single.by_index_raw(0)?.compressed_size() >= contents.len() as u64 {
        single = single_entry_zip(entry, &contents, CompressionMethod::Stored)?;
    }
    Ok(single)
}

/// A zip holding just `entry` with `contents`, compressed with `method`.
fn single_entry_zip(
    entry: &Entry,
    contents: &[u8],
    method: CompressionMethod,
) -> Result<zip::ZipArchive<Cursor<Vec<u8>>>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(
        contents.len() + 2 * entry.name.len() + 192,
    )));
    let level = (method == CompressionMethod::Deflated).then_some(6);
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::default())
        .unix_permissions(entry.mode);
    writer
        .start_file(entry.name.as_str(), options)
        .and_then(|()| writer.write_all(contents).map_err(Into::into))
        .and_then(|()| writer.finish())
        .map_err(anyhow::Error::from)
        .and_then(|cursor| Ok(zip::ZipArchive::new(Cursor::new(cursor.into_inner()))?))
        .with_context(|| format!("failed to compress `{}`", entry.name))
}

fn check_limit(what: &str, size: u64, limit: u64) -> Result<()> {
    if size > limit {
        let remedy = if what == "zipped" {
            "stage the zip in S3 with --s3-bucket (Lambda takes larger zips from there), or leave \
             large files out with a .lambdaignore file"
        } else {
            "leave large files out with a .lambdaignore file in function/ or runtime/"
        };
        return Err(UsageError(format!(
            "the package is {} {what}, over Lambda's {} {what} limit by {}: {remedy}",
            human_bytes(size),
            human_bytes(limit),
            human_bytes(size - limit)
        ))
        .into());
    }
    Ok(())
}

/// `base64(sha256(bytes))`, as Lambda reports CodeSha256.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB ({n} bytes)", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{n} bytes")
    }
}

/// Extracts a zip into `dir`, restoring the stored unix modes (as Lambda does for /var/task and /opt).
pub fn extract(bytes: &[u8], dir: &Path) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("failed to read the zip")?;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index)?;
        let Some(relative) = file.enclosed_name() else {
            bail!(
                "zip entry `{}` would escape the extraction directory",
                file.name()
            );
        };
        let path = dir.join(relative);
        if file.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        std::io::copy(&mut file, &mut out)?;
        if let Some(mode) = file.unix_mode() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn write(path: &Path, text: &str, mode: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn modes(package: &Package) -> Vec<(String, u32)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(&package.bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let f = archive.by_index(i).unwrap();
                (f.name().to_string(), f.unix_mode().unwrap() & 0o777)
            })
            .collect()
    }

    #[test]
    fn same_input_gives_same_bytes_modes_order_and_sha() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join("z.sh"), "echo z", 0o600);
        write(&f.join("a/b.txt"), "b", 0o664);
        write(&f.join("tool"), "#!/bin/sh", 0o700);
        write(&dir.path().join("runtime/bootstrap"), "#!/bin/bash", 0o600);
        let entries = || {
            let mut e = collect_dir(&f, dir.path()).unwrap();
            e.push(Entry {
                name: "bootstrap".into(),
                source: dir.path().join("runtime/bootstrap"),
                mode: 0o755,
            });
            e
        };
        let one = build_zip(entries(), Limits::default()).unwrap();
        // Touch every file: a new mtime must not change the bytes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write(&f.join("z.sh"), "echo z", 0o600);
        let two = build_zip(entries(), Limits::default()).unwrap();
        assert_eq!(one.bytes, two.bytes);
        assert_eq!(one.code_sha256, code_sha256(&two.bytes));
        assert_eq!(
            one.code_sha256,
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&one.bytes))
        );
        assert_eq!(
            modes(&one),
            vec![
                ("a/b.txt".to_string(), 0o644),
                ("bootstrap".to_string(), 0o755),
                ("tool".to_string(), 0o755),
                ("z.sh".to_string(), 0o644),
            ]
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(&one.bytes)).unwrap();
        let stamp = archive.by_index(0).unwrap().last_modified().unwrap();
        assert_eq!((stamp.year(), stamp.month(), stamp.day()), (1980, 1, 1));
    }

    #[test]
    fn lambdaignore_patterns_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join(".lambdaignore"), "*.log\nbuild/\n", 0o644);
        write(&f.join("function.sh"), "x", 0o644);
        write(&f.join("debug.log"), "x", 0o644);
        write(&f.join("build/out"), "x", 0o644);
        write(&f.join("lib/keep.sh"), "x", 0o644);
        let names: Vec<_> = collect_dir(&f, dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, vec!["function.sh", "lib/keep.sh"]);
    }

    #[test]
    fn symlinks_outside_the_project_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("secret"), "s", 0o644);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("function");
        write(&f.join("function.sh"), "x", 0o644);
        symlink(outside.path().join("secret"), f.join("link")).unwrap();
        let err = collect_dir(&f, dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("outside the project"),
            "{err:#}"
        );

        std::fs::remove_file(f.join("link")).unwrap();
        symlink(f.join("function.sh"), f.join("inside")).unwrap();
        assert_eq!(collect_dir(&f, dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn limits_name_the_limit_and_the_excess() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'a'; 2000]).unwrap();
        let entry = Entry {
            name: "big".into(),
            source: path,
            mode: 0o644,
        };
        let err = build_zip(
            vec![entry.clone()],
            Limits {
                zipped: u64::MAX,
                unzipped: 1000,
            },
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("unzipped limit by 1000 bytes"),
            "{err:#}"
        );
        let err = build_zip(
            vec![entry],
            Limits {
                zipped: 10,
                unzipped: u64::MAX,
            },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("zipped limit by"), "{err:#}");
    }

    #[test]
    fn extract_restores_modes() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("src/bootstrap"), "#!/bin/bash", 0o600);
        let entry = Entry {
            name: "bootstrap".into(),
            source: dir.path().join("src/bootstrap"),
            mode: 0o755,
        };
        let package = build_zip(vec![entry], Limits::default()).unwrap();
        let out = dir.path().join("out");
        extract(&package.bytes, &out).unwrap();
        let mode = std::fs::metadata(out.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    fn settings_for(dir: &Path) -> Settings {
        let global = crate::cli::GlobalArgs::default();
        let args = crate::cli::FunctionArgs {
            project_dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        Settings::resolve(&global, &args).unwrap()
    }

    #[test]
    fn layer_zip_holds_the_runtime_directory_with_executables() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("runtime");
        write(&r.join("bootstrap"), "#!/bin/bash", 0o600);
        write(&r.join("bin/tool"), "#!/bin/sh", 0o644);
        write(&r.join("lib/helper.sh"), "x", 0o644);
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

    #[test]
    fn bytes_do_not_depend_on_the_number_of_threads() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for i in 0..40 {
            let path = dir.path().join(format!("f{i:02}"));
            write(&path, &"data ".repeat(i * 100 + 1), 0o644);
            entries.push(Entry {
                name: format!("f{i:02}"),
                source: path,
                mode: 0o644,
            });
        }
        let sizes: Vec<u64> = entries
            .iter()
            .map(|e| std::fs::metadata(&e.source).unwrap().len())
            .collect();
        let one = zip_entries(&entries, &sizes, 1).unwrap();
        for threads in [2, 3, 8] {
            assert_eq!(one, zip_entries(&entries, &sizes, threads).unwrap());
        }
        // And the merged zip reads back entry by entry.
        let mut archive = zip::ZipArchive::new(Cursor::new(&one)).unwrap();
        let mut text = String::new();
        archive
            .by_name("f39")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "data ".repeat(3901));
    }

    #[test]
    fn incompressible_files_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        // A byte sequence deflate cannot shrink (an LCG's high bytes), and plain text.
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 24) as u8
            })
            .collect();
        std::fs::write(dir.path().join("noise.bin"), &noise).unwrap();
        write(&dir.path().join("text.txt"), &"words ".repeat(4000), 0o644);
        let entries = collect_dir(dir.path(), dir.path()).unwrap();
        let package = build_zip(entries, Limits::default()).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&package.bytes)).unwrap();
        let noise_entry = archive.by_name("noise.bin").unwrap();
        assert_eq!(noise_entry.compression(), CompressionMethod::Stored);
        assert_eq!(noise_entry.compressed_size(), 20_000);
        drop(noise_entry);
        assert_eq!(
            archive.by_name("text.txt").unwrap().compression(),
            CompressionMethod::Deflated
        );
    }
}
