//! `serve --watch`: rebuilds the environment when `runtime/` or `function/` change, and tells
//! every invocation what is wrong while the project cannot run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::pool::Pool;
use super::Environment;
use crate::project;

/// Polls `runtime/` and `function/` (names, sizes, modification times) and rebuilds the
/// environment when they change. Polling keeps this predictable across editors that save by
/// rename, with no extra dependency.
pub async fn watch(pool: Arc<Pool>) {
    let dirs = [
        pool.settings.project_dir.join("runtime"),
        pool.settings.function_dir(),
    ];
    let mut last = fingerprint(&dirs);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = fingerprint(&dirs);
        if now == last {
            continue;
        }
        last = now;
        // The same checks as `invoke --local`, so that a broken project says what is wrong.
        let rebuilt = project::check_project_files(&pool.settings)
            .and_then(|_| project::check_runs_here(&pool.settings))
            .and_then(|_| Environment::prepare(&pool.settings));
        match rebuilt {
            Ok(environment) => {
                pool.replace_environment(environment).await;
                pool.set_broken(None);
                tracing::info!("change detected: rebuilt the environment; new invocations use it");
            }
            Err(error) => {
                tracing::warn!(
                    "change detected, and the project cannot run: {error:#}; invocations get this \
                     error until it is fixed"
                );
                pool.set_broken(Some(format!("{error:#}")));
            }
        }
    }
}

fn fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut entries = Vec::new();
    for dir in dirs {
        collect(dir, &mut entries);
    }
    entries.sort();
    entries
}

fn collect(dir: &Path, entries: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            collect(&path, entries);
        } else {
            entries.push((path, metadata.len(), metadata.modified().ok()));
        }
    }
}
