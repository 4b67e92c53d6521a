//! Watching a project's files: `runtime/`, `function/` and `lambda-rt.toml`, through the
//! operating system's file events (inotify on Linux, via the `notify` crate) rather than a
//! polling loop, with bursts of events (an editor's save, a `git checkout`) debounced into one
//! batch, and reads (which lambda-rt itself makes on every deploy) left out. Used by `update --watch` and `serve --watch`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::event::{EventKind, MetadataKind, ModifyKind};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::settings::sources::CONFIG_FILE;

/// How long the files must be quiet before a batch of changes is handed on: long enough to take
/// an editor's write-rename-chmod as one save, short enough to feel immediate.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The changes to a project's files, batch by batch.
pub struct ProjectWatcher {
    // Dropping it stops the watching.
    _watcher: RecommendedWatcher,
    events: mpsc::UnboundedReceiver<Result<Vec<PathBuf>, String>>,
    project_dir: PathBuf,
    debounce: Duration,
}

impl ProjectWatcher {
    /// Starts watching `project_dir`'s `runtime/` and `function/` (those that exist) and its
    /// `lambda-rt.toml` (through the directory, so that a save by rename is seen).
    pub fn new(project_dir: &Path, debounce: Duration) -> Result<Self> {
        let project_dir = project_dir
            .canonicalize()
            .with_context(|| format!("failed to read `{}`", project_dir.display()))?;
        let (sender, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |result: notify::Result<Event>| {
            let paths = match result {
                // Reading a file is not changing it: lambda-rt reads the whole project on each
                // deploy, and would otherwise set off the next one.
                Ok(event) if !changes_content(&event.kind) => return,
                Ok(event) => Ok(event.paths),
                Err(error) => Err(error.to_string()),
            };
            let _ = sender.send(paths);
        })
        .context("failed to start watching the project's files")?;
        watcher
            .watch(&project_dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("failed to watch `{}`", project_dir.display()))?;
        for dir in ["runtime", "function"] {
            let dir = project_dir.join(dir);
            if dir.is_dir() {
                watcher
                    .watch(&dir, RecursiveMode::Recursive)
                    .with_context(|| format!("failed to watch `{}`", dir.display()))?;
            }
        }
        Ok(ProjectWatcher {
            _watcher: watcher,
            events,
            project_dir,
            debounce,
        })
    }

    /// The next batch of changed paths that matter (relative to the project): the first change,
    /// and every other one until the files have been quiet for the debounce time. `Err` when
    /// watching failed.
    pub async fn next(&mut self) -> Result<Vec<PathBuf>> {
        let mut changed = Vec::new();
        while changed.is_empty() {
            let paths = self.receive().await?;
            changed = self.relevant(paths);
        }
        // Quiet means no change that matters: a log file the function appends to in the project
        // directory must not hold a deploy back.
        let mut quiet_at = tokio::time::Instant::now() + self.debounce;
        while let Ok(paths) = tokio::time::timeout_at(quiet_at, self.receive()).await {
            let relevant = self.relevant(paths?);
            if !relevant.is_empty() {
                changed.extend(relevant);
                quiet_at = tokio::time::Instant::now() + self.debounce;
            }
        }
        changed.sort();
        changed.dedup();
        Ok(changed)
    }

    async fn receive(&mut self) -> Result<Vec<PathBuf>> {
        match self.events.recv().await {
            Some(batch) => batch.map_err(|error| anyhow::anyhow!("watching the files: {error}")),
            None => anyhow::bail!("the file watcher stopped"),
        }
    }

    /// Of `paths`, those in `runtime/` or `function/`, and `lambda-rt.toml`: the project
    /// directory's other entries (`.lambda-rt/`, where lambda-rt keeps its records) are not
    /// the project's code or settings.
    fn relevant(&self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .filter_map(|path| {
                path.strip_prefix(&self.project_dir)
                    .ok()
                    .map(Path::to_path_buf)
            })
            .filter(|path| {
                path.starts_with("runtime")
                    || path.starts_with("function")
                    || path == Path::new(CONFIG_FILE)
            })
            .collect()
    }
}

/// Whether an event may mean new contents, names or modes (not a read, nor an access time).
fn changes_content(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))
    )
}
