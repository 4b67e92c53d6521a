//! The kill sweep (issue 32): each command that writes is stopped right after its k-th AWS request
//! — SIGKILL, or SIGINT as a Ctrl-C would — for every k, then run again at once, while the function
//! may still be Pending or InProgress. Every point must converge: the re-run exits 0 and leaves
//! what a clean run leaves, a further re-run makes 0 writes, and `delete` then leaves nothing.
//!
//! The real binary against one moto_server behind one realism proxy per worker (the proxy holds
//! the (k+1)-th request, the signal lands while it is held, and the held request is dropped, never
//! forwarded). In the suite the sweep takes every `LAMBDA_RT_SWEEP_EVERY`-th point (default 4),
//! alternating the signal, at test durations; `scripts/reliability.sh` runs every point with both
//! signals at Lambda's own durations (Pending 2 s, InProgress 1.5 s) and writes the table into
//! docs/reliability.md.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::proxy::{AwsProxy, Realism};
use crate::common::*;
use nix::sys::signal::Signal;

/// One command swept, from the state its setup commands leave.
struct Scenario {
    name: &'static str,
    /// Run to completion first (each must exit 0).
    setup: &'static [&'static [&'static str]],
    /// Whether the handler and the memory are changed after the setup (so `update` has work).
    edit: bool,
    /// The command stopped at every point, then run again.
    command: &'static [&'static str],
}

const CREATE_ALL: &[&str] = &[
    "create",
    "--url",
    "--url-auth",
    "none",
    "--publish",
    "--alias",
    "live",
];

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "create --url --publish --alias",
        setup: &[],
        edit: false,
        command: CREATE_ALL,
    },
    Scenario {
        name: "update (code and memory)",
        setup: &[&["create"]],
        edit: true,
        command: &["update"],
    },
    Scenario {
        name: "publish-layer",
        setup: &[&["create"]],
        edit: false,
        command: &["publish-layer"],
    },
    Scenario {
        name: "delete",
        setup: &[CREATE_ALL, &["publish-layer"]],
        edit: false,
        command: &["delete"],
    },
];

/// How the sweep is sized, from the environment.
struct Plan {
    /// Every how many points to take (1: all).
    every: usize,
    /// Both signals at every point taken, or one, alternating.
    both_signals: bool,
    realism: Realism,
    workers: usize,
    /// Only the scenario whose command starts with this (`LAMBDA_RT_SWEEP_ONLY=delete`), to
    /// look closer at one.
    only: Option<String>,
}

impl Plan {
    fn from_env() -> Plan {
        let full = std::env::var_os("LAMBDA_RT_SWEEP_FULL").is_some();
        let only = std::env::var("LAMBDA_RT_SWEEP_ONLY").ok();
        let every = std::env::var("LAMBDA_RT_SWEEP_EVERY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { 1 } else { 4 });
        let realism = if full {
            // Lambda's own state durations (the latency benchmark's); IAM propagation shorter than
            // its 4 s, since every point starts by making a role and the sweep is about the
            // function's states.
            Realism {
                latency: Duration::from_millis(5),
                pending: Duration::from_millis(2000),
                in_progress: Duration::from_millis(1500),
                iam_propagation: Duration::from_millis(1000),
                one_item_pages: true,
                invoke_delay: Duration::ZERO,
                lambda_requests_per_second: None,
            }
        } else {
            Realism::short()
        };
        Plan {
            every: every.max(1),
            both_signals: full,
            realism,
            workers: if full { 6 } else { 3 },
            only,
        }
    }
}

/// What one point came to.
#[derive(Debug)]
struct Outcome {
    scenario: &'static str,
    after_request: usize,
    signal: Signal,
    /// Whether the command was stopped there (false: it ended before its (k+1)-th request).
    stopped: bool,
    /// Empty when the point converged; otherwise what went wrong.
    problems: Vec<String>,
}

#[test]
fn every_command_stopped_after_any_request_converges_on_the_next_run() {
    require_runtime_tools();
    let plan = Plan::from_env();
    let moto = Moto::start();
    let started = Instant::now();
    // One clean run of each scenario: its request count sizes the sweep, its end state is what
    // every point must reach.
    let proxy = AwsProxy::start_with(moto.port, plan.realism.clone());
    let references: Vec<(usize, Vec<String>)> = SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, scenario)| clean_run(&moto, &proxy, scenario, &format!("ks{i}-ref")))
        .collect();
    drop(proxy);

    let mut points = Vec::new();
    for (i, (requests, _)) in references.iter().enumerate() {
        if plan
            .only
            .as_ref()
            .is_some_and(|only| !SCENARIOS[i].name.starts_with(only.as_str()))
        {
            continue;
        }
        for k in (1..=*requests).step_by(plan.every) {
            if plan.both_signals {
                points.push((i, k, Signal::SIGKILL));
                points.push((i, k, Signal::SIGINT));
            } else {
                let signal = [Signal::SIGKILL, Signal::SIGINT][(k / plan.every) % 2];
                points.push((i, k, signal));
            }
        }
    }
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..plan.workers {
            scope.spawn(|| {
                let proxy = AwsProxy::start_with(moto.port, plan.realism.clone());
                while let Some(&(i, k, signal)) = points.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let name = format!("ks{i}-{k}-{}", signal.as_str().to_ascii_lowercase());
                    let outcome = sweep_point(&moto, &proxy, i, k, signal, &name, &references[i].1);
                    outcomes.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by_key(|o| (o.scenario, o.after_request, o.signal as i32));
    report(&plan, &references, &outcomes, started.elapsed());

    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.problems.is_empty()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} kill points did not converge:\n{failed:#?}",
        failed.len(),
        outcomes.len()
    );
    // A sweep whose signals never landed proves nothing.
    let stopped = outcomes.iter().filter(|o| o.stopped).count();
    assert!(
        stopped * 10 >= outcomes.len() * 8,
        "only {stopped} of {} points stopped the command: the hold is not working",
        outcomes.len()
    );
}

/// A fresh project for function `name`, after the scenario's setup (and edit).
fn prepare(moto: &Moto, proxy: &AwsProxy, scenario: &Scenario, name: &str) -> Project {
    let project = Project::new().with("lambda-rt.toml", &format!("function-name = \"{name}\"\n"));
    let env = proxy.env(&moto.env());
    for setup in scenario.setup {
        let out = lambda_rt(project.path(), &env, setup);
        assert_exit(&out, 0);
    }
    if scenario.edit {
        project.write(
            "lambda-rt.toml",
            &format!("function-name = \"{name}\"\nmemory = 256\n"),
        );
        let handler = project.path().join("function/function.sh");
        let mut text = std::fs::read_to_string(&handler).unwrap();
        text.push_str("\n# edited for the kill sweep\n");
        std::fs::write(&handler, text).unwrap();
    }
    project
}

/// Runs `scenario` without interruption; its request count and its end state (then deletes it
/// and checks that nothing is left).
fn clean_run(
    moto: &Moto,
    proxy: &AwsProxy,
    scenario: &Scenario,
    name: &str,
) -> (usize, Vec<String>) {
    let project = prepare(moto, proxy, scenario, name);
    let env = proxy.env(&moto.env());
    proxy.reset_counts();
    assert_exit(&lambda_rt(project.path(), &env, scenario.command), 0);
    let requests = proxy.counts().values().sum::<u64>() as usize;
    assert!(
        requests > 0,
        "the proxy counted no request of {}",
        scenario.name
    );
    let state = snapshot(moto, name);
    assert_exit(&lambda_rt(project.path(), &env, &["delete"]), 0);
    let left = snapshot(moto, name);
    assert!(
        left.is_empty(),
        "a clean {} then delete left {left:?}",
        scenario.name
    );
    (requests, state)
}

/// Stops the scenario's command right after its `k`-th request with `signal`, runs it again, and
/// checks the result against the clean run's `reference`.
fn sweep_point(
    moto: &Moto,
    proxy: &AwsProxy,
    scenario_index: usize,
    k: usize,
    signal: Signal,
    name: &str,
    reference: &[String],
) -> Outcome {
    let scenario = &SCENARIOS[scenario_index];
    let project = prepare(moto, proxy, scenario, name);
    let env = proxy.env(&moto.env());
    let mut problems = Vec::new();

    let seen = AtomicUsize::new(0);
    proxy.hold(move |_| seen.fetch_add(1, Ordering::SeqCst) == k);
    let mut run = Spawned::new(
        lambda_rt_command(project.path(), &env, scenario.command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let limit = Instant::now() + Duration::from_secs(120);
    let mut stopped = false;
    loop {
        if proxy.wait_held(Duration::from_millis(5)) {
            stopped = true;
            break;
        }
        if matches!(run.child.try_wait(), Ok(Some(_))) || Instant::now() > limit {
            break;
        }
    }
    if stopped {
        run.signal(signal);
    }
    let status = run.wait_for_exit(Duration::from_secs(20));
    proxy.release();
    match (stopped, signal, status.map(|s| s.code())) {
        (_, _, None) => problems.push(format!("still running 20 s after {signal}")),
        (true, Signal::SIGINT, Some(code)) if code != Some(130) => {
            use std::os::unix::process::ExitStatusExt;
            let killed_by = status.and_then(|s| s.signal());
            let mut stderr = String::new();
            if let Some(pipe) = run.child.stderr.as_mut() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            problems.push(format!(
                "exit {code:?} (signal {killed_by:?}) after SIGINT, not 130: {}",
                stderr.trim()
            ))
        }
        (false, _, Some(code)) if code != Some(0) => {
            problems.push(format!("the unstopped run exited {code:?}"))
        }
        _ => {}
    }
    if !problems.is_empty() {
        return Outcome::new(scenario, k, signal, stopped, problems);
    }

    // At once, while the function may still be Pending or InProgress.
    let rerun = lambda_rt(project.path(), &env, scenario.command);
    if rerun.status.code() != Some(0) {
        problems.push(format!(
            "the re-run exited {:?}: {}",
            rerun.status.code(),
            stderr(&rerun).trim()
        ));
        return Outcome::new(scenario, k, signal, stopped, problems);
    }
    let state = snapshot(moto, name);
    if state != reference {
        problems.push(format!(
            "the re-run left a different state than a clean run:\n  got      {state:?}\n  expected {reference:?}"
        ));
    }
    proxy.reset_counts();
    let again = lambda_rt(project.path(), &env, scenario.command);
    let counts = Counts(proxy.counts());
    if again.status.code() != Some(0) || counts.total() == 0 || !counts.writes().is_empty() {
        problems.push(format!(
            "a further re-run exited {:?} after {} requests, writes {:?}",
            again.status.code(),
            counts.total(),
            counts.writes()
        ));
    }
    let delete = lambda_rt(project.path(), &env, &["delete"]);
    let left = snapshot(moto, name);
    if delete.status.code() != Some(0) || !left.is_empty() {
        problems.push(format!(
            "delete exited {:?} and left {left:?}: {}",
            delete.status.code(),
            stderr(&delete).trim()
        ));
    }
    Outcome::new(scenario, k, signal, stopped, problems)
}

impl Outcome {
    fn new(
        scenario: &Scenario,
        after_request: usize,
        signal: Signal,
        stopped: bool,
        problems: Vec<String>,
    ) -> Outcome {
        Outcome {
            scenario: scenario.name,
            after_request,
            signal,
            stopped,
            problems,
        }
    }
}

/// What exists in AWS for function `name` (its function, role, layer, log group and what hangs
/// off them), with the name replaced by `FN` so that points compare with the clean run; empty
/// when nothing does.
fn snapshot(moto: &Moto, name: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut lines = runtime.block_on(read_state(moto, name));
    for line in &mut lines {
        *line = line.replace(name, "FN");
    }
    lines
}

async fn read_state(moto: &Moto, name: &str) -> Vec<String> {
    let (lambda, iam, logs) = (moto.lambda().await, moto.iam().await, moto.logs().await);
    let mut lines = Vec::new();
    if let Ok(config) = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        let layers: Vec<&str> = config
            .layers()
            .iter()
            .filter_map(|l| l.arn()?.rsplit_once(':').map(|(layer, _)| layer))
            .collect();
        lines.push(format!(
            "function: code {:?}, handler {:?}, memory {:?}, timeout {:?}, role {:?}, layers {layers:?}",
            config.code_sha256(),
            config.handler(),
            config.memory_size(),
            config.timeout(),
            config.role().map(|r| r.rsplit('/').next().unwrap_or(r)),
        ));
        let function_arn = config.function_arn().unwrap_or_default();
        let tags = lambda.list_tags().resource(function_arn).send().await;
        let tags: BTreeMap<String, String> = tags
            .ok()
            .and_then(|t| t.tags().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect();
        lines.push(format!("function tags: {tags:?}"));
        let versions = lambda
            .list_versions_by_function()
            .function_name(name)
            .send()
            .await
            .unwrap();
        let published: BTreeMap<&str, Option<&str>> = versions
            .versions()
            .iter()
            .filter(|v| v.version() != Some("$LATEST"))
            .map(|v| (v.version().unwrap_or_default(), v.code_sha256()))
            .collect();
        lines.push(format!("versions: {published:?}"));
        let aliases = lambda
            .list_aliases()
            .function_name(name)
            .send()
            .await
            .unwrap();
        let aliases: Vec<String> = aliases
            .aliases()
            .iter()
            .map(|a| format!("{:?} -> {:?}", a.name(), a.function_version()))
            .collect();
        lines.push(format!("aliases: {aliases:?}"));
        if let Ok(url) = lambda
            .get_function_url_config()
            .function_name(name)
            .send()
            .await
        {
            lines.push(format!("url: {:?}", url.auth_type()));
        }
        if let Ok(policy) = lambda.get_policy().function_name(name).send().await {
            let policy: serde_json::Value =
                serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap_or_default();
            let mut sids: Vec<String> = policy["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s["Sid"].to_string())
                .collect();
            sids.sort();
            lines.push(format!("policy statements: {sids:?}"));
        }
    }
    let role = format!("{name}-role");
    if iam.get_role().role_name(&role).send().await.is_ok() {
        let attached = iam
            .list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        let mut policies: Vec<&str> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_name())
            .collect();
        policies.sort();
        lines.push(format!("role: policies {policies:?}"));
    }
    let layer = layer_versions(&lambda, &format!("{name}-layer")).await;
    if !layer.is_empty() {
        lines.push(format!("layer versions: {}", layer.len()));
    }
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{name}"))
        .send()
        .await
        .unwrap();
    for group in groups.log_groups() {
        if group.log_group_name() == Some(&format!("/aws/lambda/{name}")) {
            lines.push("log group".to_string());
        }
    }
    lines
}

/// Prints the sweep's table and, when `LAMBDA_RT_RELIABILITY_REPORT` is set, records it for
/// docs/reliability.md.
fn report(plan: &Plan, references: &[(usize, Vec<String>)], outcomes: &[Outcome], took: Duration) {
    let mut rows = Vec::new();
    for (scenario, (requests, _)) in SCENARIOS.iter().zip(references) {
        let mine: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.scenario == scenario.name)
            .collect();
        let row = serde_json::json!({
            "command": scenario.name,
            "requests": requests,
            "points": mine.len(),
            "stopped": mine.iter().filter(|o| o.stopped).count(),
            "sigkill": mine.iter().filter(|o| o.signal == Signal::SIGKILL).count(),
            "sigint": mine.iter().filter(|o| o.signal == Signal::SIGINT).count(),
            "converged": mine.iter().filter(|o| o.problems.is_empty()).count(),
            "failures": mine
                .iter()
                .filter(|o| !o.problems.is_empty())
                .map(|o| format!("after request {} ({}): {}", o.after_request, o.signal, o.problems.join("; ")))
                .collect::<Vec<_>>(),
        });
        eprintln!("kill sweep: {row}");
        rows.push(row);
    }
    record(
        "kill_sweep",
        serde_json::json!({
            "every": plan.every,
            "pending_ms": plan.realism.pending.as_millis() as u64,
            "in_progress_ms": plan.realism.in_progress.as_millis() as u64,
            "iam_propagation_ms": plan.realism.iam_propagation.as_millis() as u64,
            "one_item_pages": plan.realism.one_item_pages,
            "seconds": took.as_secs(),
            "rows": rows,
        }),
    );
}
