//! `serve --watch`: rebuilds the environment when `runtime/` or `function/` change
//! ([`crate::watch`]: file events, debounced), and tells every invocation what is wrong while the
//! project cannot run. The settings are read once: a change to `lambda-rt.toml` takes a restart.

use std::sync::Arc;

use super::pool::Pool;
use super::Environment;
use crate::project;
use crate::watch::{ProjectWatcher, DEBOUNCE};

/// Rebuilds the environment after each batch of changes, until watching fails.
pub async fn watch(pool: Arc<Pool>) {
    let mut watcher = match ProjectWatcher::new(&pool.settings.project_dir, DEBOUNCE) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!("not watching the project: {error:#}");
            return;
        }
    };
    loop {
        if let Err(error) = watcher.next().await {
            tracing::warn!("stopped watching the project: {error:#}");
            return;
        }
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
