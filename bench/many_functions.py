"""A project of several functions in bench/run.py (issue 31): through the realism proxy with
real-AWS timings and Lambda's control-plane quota (requests other than Invoke, GetFunction and
GetPolicy beyond 15 a second answered 429), the time of `create`, of a no-op `create` and of
`delete` for projects of 1, 10 and 50 functions. Each size is compared with one function, and with
the floor the quota sets: the Lambda requests the run needed (those the proxy accepted: not the
429s, nor the CreateFunctions refused while IAM propagated a new role), 15 a second, or one
function's time if that is longer.
"""

import shutil
import subprocess
import time
from pathlib import Path

SIZES = (1, 10, 50)
LAMBDA_RATE = 15
STEPS = ("create", "create, nothing changed", "delete")


def project(root, workdir, size, run_number):
    """A project of `size` functions, each its own handler, sharing the repository's runtime."""
    path = Path(workdir) / f"many-{size}-{run_number}"
    shutil.copytree(Path(root) / "runtime", path / "runtime")
    tables = []
    for index in range(size):
        name = f"m{size}r{run_number}f{index:02d}"
        handler = path / "functions" / name / "function.sh"
        handler.parent.mkdir(parents=True)
        handler.write_text(f"handler () {{ printf '{{\"job\":\"{name}\"}}'; }}\n")
        tables.append(f"[functions.{name}]\n")
    (path / "lambda-rt.toml").write_text(
        f'layer-name = "many-{size}-{run_number}"\n' + "".join(tables))
    return path


def counts_against_quota(key):
    """Whether Lambda's control-plane quota counts `service:Operation`."""
    service, action = key.split(":", 1)
    return service == "lambda" and action not in ("Invoke", "GetFunction", "GetPolicy")


def measure(binary, proxy_class, bin_dir, moto, runs, workdir, timings, root, sizes=SIZES):
    """{size: {step: [seconds], "lambda requests": [count]}}, `runs` runs a size."""
    proxy = proxy_class(bin_dir, moto, lambda_rate=LAMBDA_RATE, **timings)
    results = {}
    try:
        for size in sizes:
            results[size] = {step: [] for step in STEPS}
            results[size]["lambda requests"] = []
            for run_number in range(runs):
                path = project(root, workdir, size, run_number)
                for step in STEPS:
                    proxy.reset()
                    command = ["create"] if step.startswith("create") else ["delete"]
                    start = time.perf_counter()
                    result = subprocess.run([binary, *command, "-q"], cwd=path, env=proxy.env,
                                            capture_output=True, timeout=1800)
                    elapsed = time.perf_counter() - start
                    if result.returncode != 0:
                        raise SystemExit(f"`lambda-rt {command[0]}` of {size} functions failed:\n"
                                         f"{result.stderr.decode(errors='replace')}")
                    results[size][step].append(elapsed)
                    if step == "create":
                        counts = proxy.counts()
                        sent = sum(n for key, n in counts.items() if counts_against_quota(key))
                        refused = sum(proxy.refusals().values())
                        results[size]["lambda requests"].append(sent - refused)
                        results[size].setdefault("429s", []).append(
                            proxy.refusals().get("429 rate exceeded", 0))
    finally:
        proxy.stop()
    return results


def report(results, fmt_ms, median, verdict, timings):
    """The section's lines."""
    out = ["## Several functions in one project\n",
           f"Through the realism proxy ({timings['latency_ms']} ms round trip, Pending "
           f"{timings['pending_ms'] / 1000:g} s, InProgress {timings['in_progress_ms'] / 1000:g} s, "
           f"IAM {timings['iam_propagation_ms'] / 1000:g} s) with Lambda's control-plane quota: "
           f"requests beyond {LAMBDA_RATE} a second (but Invoke, GetFunction and GetPolicy) are "
           "answered 429. Each function has its own role; up to 25 are worked on at once, and "
           f"lambda-rt paces its Lambda requests at {LAMBDA_RATE} a second. The floor of a "
           f"`create` is one function's time or the run's Lambda requests at {LAMBDA_RATE} a "
           "second, whichever is longer. Target (issue 31): ten functions within 2× the time of "
           "one.\n",
           "| functions | create | × one function | floor | × floor | 429s | create, nothing "
           "changed | delete |",
           "|---|---|---|---|---|---|---|---|"]
    one = median(results[min(results)]["create"])
    for size in sorted(results):
        row = results[size]
        create = median(row["create"])
        floor = max(one, median(row["lambda requests"]) / LAMBDA_RATE)
        out.append(f"| {size} | {fmt_ms(row['create'])} | {create / one:.1f}× | "
                   f"{floor * 1000:.0f} ms | {create / floor:.1f}× | {median(row['429s']):g} | "
                   f"{fmt_ms(row['create, nothing changed'])} | {fmt_ms(row['delete'])} |")
    ten = median(results[10]["create"]) if 10 in results else None
    if ten is not None:
        out.append(f"\nTen functions: {ten / one:.1f}× one — {verdict(ten <= 2 * one)}.")
    out.append("")
    return out
