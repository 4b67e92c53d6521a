//! `lambda-rt serve`: a long-running local endpoint speaking the Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`), so the AWS CLI and SDKs can invoke the
//! project's functions locally with `--endpoint-url`; in a project of several, every function is
//! served and `--function-name` picks one (`--only NAME` narrows them). Runtimes stay warm between
//! invocations; up to `--concurrency` runtime processes per function each serve one event at a
//! time, as in Lambda; a runtime that crashed or timed out is replaced; `--watch` rebuilds a
//! function's environment when the runtime or its code change. `--http` serves one function as its
//! Function URL, so a project of several names it with `--only`.
//! This file starts and stops the servers; the parts are the emulator's: the warm pool
//! ([`crate::emulator::pool`]), the Invoke API ([`crate::emulator::invoke_api`]), the Function
//! URL front ([`crate::emulator::url_front`]), the request guard and the watcher.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

use crate::cli::serve::ServeArgs;
use crate::emulator::guard::Guard;
use crate::emulator::invoke_api::Functions;
use crate::emulator::pool::Pool;
use crate::emulator::server::{self, Limits};
use crate::emulator::{invoke_api, url_front, watch};
use crate::error::UsageError;
use crate::output::Ui;
use crate::project;
use crate::settings::Settings;

/// Serves `all`, the project's functions (`--only` applied), until a signal stops it.
pub async fn run(all: Vec<Settings>, ui: &Ui, args: &ServeArgs) -> Result<i32> {
    super::context::name_project_found_above(&all[0], ui);
    if args.concurrency == 0 {
        return Err(UsageError("--concurrency must be at least 1".into()).into());
    }
    let names: Vec<String> = all.iter().map(|s| s.function_name.clone()).collect();
    if args.http.is_some() && all.len() > 1 {
        return Err(UsageError(format!(
            "--http serves one function as its Function URL and this project has {}: {}; name \
             it with --only NAME",
            names.len(),
            names.join(", ")
        ))
        .into());
    }
    for settings in &all {
        project::check_project_files(settings)?;
        project::check_runs_here(settings)?;
    }
    let mut pools = Vec::new();
    for settings in all {
        match Pool::new(settings, args.concurrency, args.max_queue) {
            Ok(pool) => pools.push(Arc::new(pool)),
            Err(error) => {
                stop_all(&pools).await;
                return Err(error);
            }
        }
    }
    let functions: Functions = pools.into();
    let limits = Limits {
        max_connections: args.max_connections,
        header_timeout: args.header_timeout,
    };
    let listeners = async {
        let api = listen(&args.host, args.port, "--port").await?;
        let http = match args.http {
            Some(port) => Some(listen(&args.host, port, "--http").await?),
            None => None,
        };
        Ok::<_, anyhow::Error>((api, http))
    };
    let (listener, http_listener) = match listeners.await {
        Ok(listeners) => listeners,
        Err(error) => {
            stop_all(&functions).await;
            return Err(error);
        }
    };
    let addr: SocketAddr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        // Anyone who can reach this address runs the function, with its environment's secrets,
        // and (with --http) any web page a browser here opens may try to.
        ui.warn(&format!(
            "serving on {} (--host {}): every machine that can reach it can invoke the functions \
             and read what they answer; use the default 127.0.0.1 to keep it to this machine",
            addr.ip(),
            args.host
        ));
    }
    let http_addr = match &http_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let served = match names.as_slice() {
        [one] => format!("function `{one}`"),
        many => format!("{} functions ({})", many.len(), many.join(", ")),
    };
    let concurrency = match names.len() {
        1 => format!("concurrency {}", args.concurrency),
        _ => format!("concurrency {} each", args.concurrency),
    };
    ui.info(&format!(
        "serving {served} on http://{addr} ({concurrency}); invoke {} with\n  aws lambda invoke --endpoint-url http://{addr} --function-name {} out.json\nCtrl-C stops",
        if names.len() == 1 { "it" } else { "one" },
        names[0]
    ));
    let mut signals = crate::signals::Signals::install();
    // Machine-readable line for scripts and tests, on stdout: text, or one JSON document per line.
    if ui.format == crate::cli::OutputFormat::Json {
        print_event(serde_json::json!({
            "event": "listening",
            "url": format!("http://{addr}"),
            "function_url": http_addr.map(|a| format!("http://{a}")),
            "function_name": names[0],
            "functions": names,
        }));
    } else {
        println!("listening on http://{addr}");
        if let Some(http_addr) = http_addr {
            println!("function URL on http://{http_addr}");
        }
    }

    let watchers: Vec<_> = match args.watch {
        true => functions
            .iter()
            .map(|pool| tokio::spawn(watch::watch(pool.clone())))
            .collect(),
        false => Vec::new(),
    };
    let router = invoke_api::router(
        functions.clone(),
        Guard::for_server(addr, &args.allow_origin),
    )
    .layer(axum::middleware::from_fn_with_state(
        addr,
        crate::emulator::peer::same_user_only,
    ));
    let signal = Arc::new(Mutex::new(None));
    let seen = signal.clone();
    // One signal stops both servers.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let name = signals.recv().await;
        *seen.lock().unwrap() = Some(name);
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let http_server = http_listener.zip(http_addr).map(|(listener, http_addr)| {
        // --http comes with one function (refused above otherwise).
        let router = url_front::router(
            functions[0].clone(),
            Guard::for_server(http_addr, &args.allow_origin),
        )
        .layer(axum::middleware::from_fn_with_state(
            http_addr,
            crate::emulator::peer::same_user_only,
        ));
        let stopped = stopped.clone();
        tokio::spawn(server::serve(
            listener,
            router,
            limits,
            until_stopped(stopped),
        ))
    });
    server::serve(listener, router, limits, until_stopped(stopped)).await;
    if let Some(server) = http_server {
        server.await.context("the HTTP server stopped abnormally")?;
    }
    for watcher in watchers {
        watcher.abort();
        let _ = watcher.await;
    }
    stop_all(&functions).await;
    let name = signal.lock().unwrap().unwrap_or("shutdown");
    ui.info(&format!(
        "stopped by {name}; every runtime process has been stopped and its files removed"
    ));
    if ui.format == crate::cli::OutputFormat::Json {
        print_event(serde_json::json!({ "event": "stopped", "signal": name }));
    }
    // Stopped by a signal, as shells report it.
    Ok(crate::error::exit_code::INTERRUPTED)
}

/// Stops every runtime process of every function and removes its files.
async fn stop_all(pools: &[Arc<Pool>]) {
    for pool in pools {
        pool.stop_all().await;
    }
}

/// One JSON line on stdout for `--output json`.
fn print_event(event: serde_json::Value) {
    println!("{}", crate::output::document("serve", event));
}

/// A listener on `host:port`; a port in use says how to pick another (`flag` is the option that
/// gave the port).
async fn listen(host: &str, port: u16, flag: &str) -> Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind((host, port)).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
            "failed to listen on {host}:{port} ({flag}): the port is in use\nhint: another server \
             (perhaps another `lambda-rt serve`) listens there: stop it, or pass {flag} 0 to pick \
             a free port (the first line on stdout says which)"
        ),
        Err(e) => Err(e).with_context(|| format!("failed to listen on {host}:{port} ({flag})")),
    }
}
