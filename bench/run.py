#!/usr/bin/env python3
"""lambda-rt's benchmarks, side by side with the tools a user would pick instead, in one run on one
machine, written to BENCHMARKS.md. Run it through bench/run.sh (which installs moto and the AWS CLI
into .venv); `--smoke` runs every benchmark once at a tiny size (the test suite does that).

Every figure is a median with min-max over the runs; every number in the output comes from this
run. Nothing here touches the internet: moto_server runs on 127.0.0.1."""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import edit_loop  # noqa: E402  (bench/ is on sys.path when this script runs)
import many_functions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short run of each benchmark")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write")
    parser.add_argument("--bin-dir", default=str(ROOT / "target" / "release"),
                        help="directory with lambda-rt and examples/ (already built)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (at least 5)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    elif args.runs < 5:
        parser.error("--runs must be at least 5")
    return args


# ---------------------------------------------------------------------------------------------
# helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env=None, cwd=None, stdout=subprocess.DEVNULL):
    """Runs a command to completion (bounded) and returns (seconds, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit(f"{cmd} did not finish within 600 s")
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{cmd} failed ({process.returncode}):\n{err.decode(errors='replace')}")
    return elapsed, out


def peak_rss(cmd, cwd=None):
    """Runs a command and returns (seconds, peak resident memory in MiB, CPU seconds) of that
    process alone."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd or ".")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def summary(values):
    return statistics.median(values), min(values), max(values)


def fmt_ms(values):
    median, low, high = summary([v * 1000 for v in values])
    return f"{median:.1f} ms ({low:.1f}–{high:.1f})"


def project_copy(where, name="project"):
    target = Path(where) / name
    for sub in ("runtime", "function"):
        shutil.copytree(ROOT / sub, target / sub)
    return target


class Moto:
    """moto_server on 127.0.0.1 with invokes echoed (no Docker)."""

    def __init__(self, workdir):
        program = os.environ.get("MOTO_SERVER") or str(ROOT / ".venv" / "bin" / "moto_server")
        if not Path(program).exists():
            raise SystemExit("moto_server not found: run bench/run.sh, which installs it")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self.process = subprocess.Popen([program, "-H", "127.0.0.1", "-p", str(self.port)],
                                        cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("moto_server did not start within 30 s")
                time.sleep(0.1)
        self.post("/moto-api/config", b'{"lambda":{"use_docker":false}}')
        empty = Path(workdir) / "empty"
        empty.write_text("")
        self.env = dict(os.environ, AWS_ENDPOINT_URL=self.url, AWS_ACCESS_KEY_ID="testing",
                        AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                        AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(empty),
                        AWS_SHARED_CREDENTIALS_FILE=str(empty))
        for key in list(self.env):
            if key.startswith("LAMBDA_RT_"):
                del self.env[key]

    def post(self, path, body=b""):
        urllib.request.urlopen(urllib.request.Request(f"{self.url}{path}", data=body), timeout=10)

    def stop(self):
        self.process.kill()
        self.process.wait()


def is_write(key):
    """Whether `service:Operation` changes something (as tests/common/proxy/ classifies it)."""
    service, action = key.split(":", 1)
    read = action.startswith(("Get", "List", "Describe", "Head", "Filter"))
    return not (read or (service == "lambda" and action == "Invoke"))


class Proxy:
    """The test suite's realism proxy (`examples/realism-proxy`, tests/common/proxy/) in front of
    moto: counts every request by operation and, with timings, behaves like real AWS (latency,
    Pending and InProgress, IAM propagation)."""

    def __init__(self, bin_dir, moto, latency_ms=0, pending_ms=0, in_progress_ms=0,
                 iam_propagation_ms=0, lambda_rate=None):
        program = Path(bin_dir) / "examples" / "realism-proxy"
        rate = ["--lambda-rate", str(lambda_rate)] if lambda_rate else []
        self.process = subprocess.Popen(
            [str(program), "--upstream", str(moto.port), "--latency-ms", str(latency_ms),
             "--pending-ms", str(pending_ms), "--in-progress-ms", str(in_progress_ms),
             "--iam-propagation-ms", str(iam_propagation_ms), *rate],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = self.process.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            raise SystemExit(f"realism-proxy did not start: {self.url!r}")
        self.env = dict(moto.env, AWS_ENDPOINT_URL=self.url)

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/__proxy/reset", data=b""),
                               timeout=10)

    def calls(self):
        """(reads, writes, names) since reset()."""
        counts = json.loads(urllib.request.urlopen(f"{self.url}/__proxy/counts",
                                                   timeout=10).read())
        reads = sum(n for key, n in counts.items() if not is_write(key))
        writes = sum(n for key, n in counts.items() if is_write(key))
        names = [f"{key}×{n}" if n > 1 else key for key, n in sorted(counts.items())]
        return reads, writes, names

    def counts(self):
        """Requests by operation since reset()."""
        return json.loads(urllib.request.urlopen(f"{self.url}/__proxy/counts", timeout=10).read())

    def refusals(self):
        """What the realism refused since reset(), by kind (e.g. "429 rate exceeded")."""
        return json.loads(urllib.request.urlopen(f"{self.url}/__proxy/refusals",
                                                 timeout=10).read())

    def stop(self):
        self.process.kill()
        self.process.wait()


# ---------------------------------------------------------------------------------------------
# 1. deploy cycle vs the AWS CLI

CYCLE = ["create", "update (no change)", "update (handler edited)", "invoke", "publish-layer",
         "delete"]


def edit_handler(project, marker):
    (project / "function" / "function.sh").write_text(
        f"function handler () {{\n  printf '{marker}: %s' \"$1\"\n}}\n")


def lambda_rt_step(binary, step, name, project):
    command = step.split(" ")[0]
    args = [binary, command, "--function-name", name, "--project-dir", str(project), "-q"]
    if command == "invoke":
        args += ["--payload", '{"text":"Hello"}']
    return args


def cli_step(step, name, project):
    return ["bash", str(ROOT / "bench" / "aws-cli-cycle.sh"), step.split(" ")[0], name,
            str(project)]


def deploy_cycle(binary, moto, runs, workdir):
    times = {tool: {step: [] for step in CYCLE} for tool in ("lambda-rt", "aws-cli")}
    env = dict(moto.env, AWS_CLI=os.environ.get("AWS_CLI", str(ROOT / ".venv" / "bin" / "aws")))
    # One cycle of each, not counted: moto loads IAM's managed policies on its first IAM call.
    for tool in ("lambda-rt", "aws-cli"):
        project = project_copy(workdir, f"warm-up-{tool}")
        for step in CYCLE:
            command = (lambda_rt_step(binary, step, f"warm-{tool}", project)
                       if tool == "lambda-rt" else cli_step(step, f"warm-{tool}", project))
            run(command, env=env)
    for run_number in range(runs):
        # Alternate which tool goes first, so neither always meets a cold moto.
        tools = ["lambda-rt", "aws-cli"] if run_number % 2 == 0 else ["aws-cli", "lambda-rt"]
        for tool in tools:
            project = project_copy(workdir, f"{tool}-{run_number}")
            name = f"bench-{tool}-{run_number}"
            for step in CYCLE:
                if step == "update (handler edited)":
                    edit_handler(project, f"edit {run_number}")
                command = (lambda_rt_step(binary, step, name, project) if tool == "lambda-rt"
                           else cli_step(step, name, project))
                elapsed, _ = run(command, env=env)
                times[tool][step].append(elapsed)
    return times


# ---------------------------------------------------------------------------------------------
# 2. API calls per command

# (scenario, lambda-rt command, minimum reads, minimum writes, why that is the minimum); the
# scenarios whose name says "nothing" are no-ops, which the target wants write-free.
CALL_SCENARIOS = [
    ("create, from nothing", "create", 2, 3,
     "read role and function to see they are missing; CreateRole, AttachRolePolicy, CreateFunction"),
    ("create, nothing changed", "create", 5, 0,
     "the role, its two policy lists, the function, its log group (retention, tag): one read "
     "each to compare"),
    ("update, nothing changed", "update", 5, 0,
     "GetFunction holds CodeSha256 and configuration; the role and its two policy lists; the "
     "log group"),
    ("update, handler edited", "update", 5, 1,
     "GetFunction, the role's three reads and the log group, UpdateFunctionCode (its answer "
     "says whether to wait)"),
    ("invoke", "invoke", 0, 0, "Invoke alone (not a write)"),
    ("publish-layer, first", "publish-layer", 2, 3,
     "function and layer versions; PublishLayerVersion, layers, code without bootstrap"),
    ("publish-layer, nothing changed", "publish-layer", 3, 0,
     "function, newest version, its CodeSha256 (ListLayerVersions does not return it)"),
    ("delete", "delete", 6, 5,
     "function, role, layer versions, the role's three lists (managed and inline policies, "
     "instance profiles); DeleteFunction, DeleteLogGroup, DeleteLayerVersion, DetachRolePolicy, "
     "DeleteRole"),
    ("delete, nothing left", "delete", 3, 0, "function, role, layer versions: all gone"),
]


def is_noop(scenario):
    return "nothing changed" in scenario or "nothing left" in scenario


def api_calls(binary, bin_dir, moto, workdir):
    project = project_copy(workdir, "calls")
    proxy = Proxy(bin_dir, moto)
    rows = []
    try:
        for scenario, command, min_reads, min_writes, why in CALL_SCENARIOS:
            if scenario == "update, handler edited":
                edit_handler(project, "calls")
            args = lambda_rt_step(binary, command, "bench-calls", project)
            proxy.reset()
            run(args, env=proxy.env)
            reads, writes, names = proxy.calls()
            rows.append((scenario, reads, writes, min_reads, min_writes, why, names))
    finally:
        proxy.stop()
    return rows


# ---------------------------------------------------------------------------------------------
# 2b. latency on real-AWS timings

# The realism proxy's timings for this benchmark (issue: 40 ms round trip, 2 s Pending after
# CreateFunction, 1.5 s InProgress after each update, 4 s IAM propagation after CreateRole).
REAL_TIMINGS = {"latency_ms": 40, "pending_ms": 2000, "in_progress_ms": 1500,
                "iam_propagation_ms": 4000}
SMOKE_TIMINGS = {"latency_ms": 5, "pending_ms": 200, "in_progress_ms": 150,
                 "iam_propagation_ms": 300}

LATENCY_CYCLE = ["create (new role)", "update (code)", "update (memory)", "publish-layer",
                 "invoke", "delete"]


def round_trip(proxy, samples=20):
    """One round trip through the proxy as measured: its added latency plus the emulator's own
    time to answer a simple read (a GetFunction of a function that does not exist)."""
    times = []
    for _ in range(samples):
        request = urllib.request.Request(
            f"{proxy.url}/2015-03-31/functions/bench-no-such-function",
            headers={"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"
                                      "lambda/aws4_request, SignedHeaders=host, Signature=0"})
        start = time.perf_counter()
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except urllib.error.HTTPError as answer:
            answer.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floors(t, rt):
    """Each command's floor: the round trips (`rt` seconds each, as measured) of its minimal
    request chain, one after the other, plus the waits AWS imposes (seconds), with the chain."""
    pending, progress, iam = (t["pending_ms"] / 1000, t["in_progress_ms"] / 1000,
                              t["iam_propagation_ms"] / 1000)
    return {
        "create (new role)": (2 * rt + iam + pending,
                              "CreateRole; IAM propagation; CreateFunction; Pending"),
        "update (code)": (2 * rt + progress, "GetFunction; UpdateFunctionCode; InProgress"),
        "update (memory)": (2 * rt + progress,
                            "GetFunction; UpdateFunctionConfiguration; InProgress"),
        "publish-layer": (3 * rt + 2 * progress,
                          "PublishLayerVersion; layers (InProgress); code (InProgress)"),
        "invoke": (rt, "Invoke"),
        "delete": (3 * rt, "the role's policies listed; detached, and the function, log group "
                           "and layer deleted, at once; DeleteRole"),
    }


def latency_step(binary, step, name, project):
    args = {"create (new role)": ["create"], "update (code)": ["update"],
            "update (memory)": ["update", "--memory", "256"], "publish-layer": ["publish-layer"],
            "invoke": ["invoke", "--payload", '{"text":"Hello"}'], "delete": ["delete"]}[step]
    return [binary, *args, "--function-name", name, "--project-dir", str(project), "-q"]


def latency_peer_step(step, name, project):
    command = {"create (new role)": "create", "update (code)": "update",
               "update (memory)": "update-memory", "publish-layer": "publish-layer",
               "invoke": "invoke", "delete": "delete"}[step]
    return ["bash", str(ROOT / "bench" / "aws-cli-cycle.sh"), command, name, str(project)]


def latency(binary, bin_dir, moto, runs, workdir, timings):
    """Each command of the cycle, for lambda-rt and for the AWS CLI script with waiters, through
    the realism proxy with `timings`."""
    proxy = Proxy(bin_dir, moto, **timings)
    env = dict(proxy.env, AWS_CLI=os.environ.get("AWS_CLI", str(ROOT / ".venv" / "bin" / "aws")))
    times = {tool: {step: [] for step in LATENCY_CYCLE} for tool in ("lambda-rt", "aws-cli")}
    times["round trip"] = round_trip(proxy)
    try:
        for run_number in range(runs):
            tools = ["lambda-rt", "aws-cli"] if run_number % 2 == 0 else ["aws-cli", "lambda-rt"]
            for tool in tools:
                project = project_copy(workdir, f"latency-{tool}-{run_number}")
                name = f"latency-{tool}-{run_number}"
                for step in LATENCY_CYCLE:
                    if step == "update (code)":
                        edit_handler(project, f"latency {run_number}")
                    command = (latency_step(binary, step, name, project) if tool == "lambda-rt"
                               else latency_peer_step(step, name, project))
                    elapsed, _ = run(command, env=env)
                    times[tool][step].append(elapsed)
    finally:
        proxy.stop()
    return times


# ---------------------------------------------------------------------------------------------
# 3. packaging

def synthetic_function(where, files, file_size):
    """`files` files in 50 directories: half compressible text, half random bytes."""
    directory = Path(where) / "synthetic"
    words = ("lambda runtime bootstrap handler event response request deadline layer function "
             "invoke package deploy region role policy timeout memory zip archive").split()
    rng = __import__("random").Random(7)
    for index in range(files):
        sub = directory / f"d{index % 50:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        if index % 2 == 0:
            text = []
            size = 0
            while size < file_size:
                word = rng.choice(words)
                text.append(word)
                size += len(word) + 1
            (sub / f"f{index:05d}.txt").write_text(" ".join(text))
        else:
            (sub / f"f{index:05d}.bin").write_bytes(rng.randbytes(file_size))
    return directory


def zip_comparator():
    """`zip -X -r -6` (what bench/run.sh installs), or Python's zipfile where zip is missing (the
    test suite's smoke run, which installs nothing more)."""
    if shutil.which("zip"):
        return "zip", lambda out: ["zip", "-X", "-r", "-6", "-q", str(out), "."]
    return "Python zipfile", lambda out: [sys.executable, "-m", "zipfile", "-c", str(out), "."]


def packaging(bin_dir, runs, workdir, files, file_size):
    directory = synthetic_function(workdir, files, file_size)
    total = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    label, comparator = zip_comparator()
    results = {"lambda-rt": [], "zip": []}
    sizes = {}
    for run_number in range(runs):
        for tool in (["lambda-rt", "zip"] if run_number % 2 == 0 else ["zip", "lambda-rt"]):
            out = Path(workdir) / f"{tool}.zip"
            out.unlink(missing_ok=True)
            if tool == "lambda-rt":
                cmd = [str(Path(bin_dir) / "examples" / "bench-package"), str(directory), str(out)]
                measured = peak_rss(cmd)
            else:
                measured = peak_rss(comparator(out), cwd=directory)
            results[tool].append(measured)
            sizes[tool] = out.stat().st_size
    # The floor: the same bytes deflated at the same level on every core, from memory.
    floor = []
    for _ in range(runs):
        _, out = run([str(Path(bin_dir) / "examples" / "bench-package"), "--floor",
                      str(directory)], stdout=subprocess.PIPE)
        floor.append(float(out.decode().strip()) / 1000)
    return {"files": files, "bytes": total, "results": results, "sizes": sizes, "zip": label,
            "floor": floor}


# ---------------------------------------------------------------------------------------------
# 4. local execution

def cold_invoke(binary, runs, workdir):
    project = project_copy(workdir, "cold")
    times = []
    for _ in range(max(runs, 1) * 4):
        elapsed, out = run([binary, "invoke", "--local", "--payload", '{"a":1}', "--project-dir",
                            str(project)], stdout=subprocess.PIPE)
        assert out.startswith(b"Echoing request"), out
        times.append(elapsed)
    return times


def warm_serve(binary, bin_dir, runtime, concurrency, invokes, workdir):
    project = project_copy(workdir, f"serve-{runtime}-{concurrency}")
    if runtime == "compiled":
        bootstrap = project / "runtime" / "bootstrap"
        shutil.copy(Path(bin_dir) / "examples" / "bench-runtime", bootstrap)
    server = subprocess.Popen([binary, "serve", "--port", "0", "--concurrency", str(concurrency),
                               "--function-name", "bench", "--project-dir", str(project), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = server.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"serve did not start: {line!r}")
        address = line[len("listening on "):]
        # Warm every runtime first, so the figures are about warm invokes.
        run([str(Path(bin_dir) / "examples" / "bench-load"), address, "bench",
             str(concurrency * 4), str(concurrency)])
        _, out = run([str(Path(bin_dir) / "examples" / "bench-load"), address, "bench",
                      str(invokes), str(concurrency)], stdout=subprocess.PIPE)
        return json.loads(out)
    finally:
        server.terminate()
        server.wait(timeout=20)


# ---------------------------------------------------------------------------------------------
# 5b. the bash runtime: lambda-rt's against the tutorial's

NOOP_HANDLER = "handler () { printf '{}'; }\n"
FAILING_HANDLER = "handler () { echo failing >&2; return 1; }\n"


def last_pid():
    """The kernel's last process id: how many processes were started since another reading (other
    processes on the machine can only make a difference larger)."""
    return int(Path("/proc/sys/kernel/ns_last_pid").read_text())


def pids_since(before):
    """Processes started since `before` (a `last_pid()` reading), across a wrap of the counter."""
    delta = last_pid() - before
    if delta < 0:
        delta += int(Path("/proc/sys/kernel/pid_max").read_text()) - 300
    return delta


def bash_runtime(binary, bin_dir, bootstrap, handler, invokes, workdir):
    """invokes/s and process starts per event of one bash runtime under `lambda-rt serve`, warm,
    one runtime, with `handler` as function/function.sh."""
    project = Path(workdir) / "project"
    (project / "runtime").mkdir(parents=True)
    (project / "function").mkdir()
    shutil.copy(bootstrap, project / "runtime" / "bootstrap")
    (project / "function" / "function.sh").write_text(handler)
    server = subprocess.Popen([binary, "serve", "--port", "0", "--function-name", "bench",
                               "--project-dir", str(project), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    load = str(Path(bin_dir) / "examples" / "bench-load")
    try:
        line = server.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"serve did not start: {line!r}")
        address = line[len("listening on "):]
        run([load, address, "bench", "20", "1"])
        before = last_pid()
        _, out = run([load, address, "bench", str(invokes), "1"], stdout=subprocess.PIPE)
        forks = pids_since(before) / invokes
        result = json.loads(out)
        result["process_starts"] = forks
        return result
    finally:
        server.terminate()
        server.wait(timeout=20)


def rie_runtime(bin_dir, rie, bootstrap, handler, invokes, workdir):
    """The same under AWS's Runtime Interface Emulator (`LAMBDA_RT_RIE`), or None."""
    if not rie:
        return None
    task = Path(workdir) / "task"
    task.mkdir(parents=True)
    (task / "function.sh").write_text(handler)
    port = free_port()
    env = dict(os.environ, _HANDLER="function.handler", LAMBDA_TASK_ROOT=str(task))
    server = subprocess.Popen([rie, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                               str(bootstrap)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    load = str(Path(bin_dir) / "examples" / "bench-load")
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the Runtime Interface Emulator did not start")
                time.sleep(0.1)
        run([load, f"127.0.0.1:{port}", "function", "20", "1"])
        _, out = run([load, f"127.0.0.1:{port}", "function", str(invokes), "1"],
                     stdout=subprocess.PIPE)
        return json.loads(out)
    finally:
        server.terminate()
        server.wait(timeout=20)


def bash_runtimes(binary, bin_dir, runs, invokes, workdir):
    ours = ROOT / "runtime" / "bootstrap"
    tutorial = ROOT / "bench" / "tutorial-bootstrap"
    rie = os.environ.get("LAMBDA_RT_RIE")
    results = {}
    for label, bootstrap, handler in [("lambda-rt", ours, NOOP_HANDLER),
                                      ("tutorial", tutorial, NOOP_HANDLER),
                                      ("lambda-rt, failing handler", ours, FAILING_HANDLER)]:
        results[label] = {
            "serve": [bash_runtime(binary, bin_dir, bootstrap, handler, invokes,
                                   tempfile.mkdtemp(dir=workdir)) for _ in range(runs)],
            "rie": [r for r in (rie_runtime(bin_dir, rie, bootstrap, handler, invokes,
                                            tempfile.mkdtemp(dir=workdir))
                                for _ in range(runs if rie else 0)) if r],
        }
    return results


# ---------------------------------------------------------------------------------------------
# 5. start-up

def startup(binary, runs):
    results = {}
    for flag in ("--version", "--help"):
        results[flag] = [run([binary, flag])[0] for _ in range(max(runs, 1) * 4)]
    return results


# ---------------------------------------------------------------------------------------------
# report

def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {memory}, {os_name}, Python {platform.python_version()}"


def tool_version(cmd):
    """The first line a `--version`-like command prints (on stdout or stderr)."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError:
        return "unknown"
    lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
    return lines[0] if lines else "unknown"


def verdict(met):
    return "met" if met else "**missed**"


def write_report(path, args, data):
    out = []
    smoke = " (SMOKE RUN: tiny sizes, one run; not a measurement)" if args.smoke else ""
    out.append(f"# Benchmarks{smoke}\n")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or "unknown"
    out.append(f"Produced by `bench/run.sh` on {datetime.date.today()} at commit `{commit}`, in one "
               f"run; every figure is the median with min–max over {args.runs} runs unless said "
               "otherwise. All AWS calls go to a local `moto_server`: sections 1 and 2 measure the "
               "tools alone; section 3 puts real-AWS latencies and waits in between.\n")
    out.append(f"- Machine: {machine()}")
    out.append(f"- lambda-rt: release build; AWS CLI: `{data['versions']['aws']}`; "
               f"moto_server {data['versions']['moto']}; zip: `{data['versions']['zip']}`\n")

    # 1
    times = data["cycle"]
    out.append("## 1. Deploy cycle: lambda-rt vs a bash script around the AWS CLI\n")
    out.append("The same steps, against the same moto server, runs alternating between the tools "
               "(`bench/aws-cli-cycle.sh` follows the tutorial's calls: zip, create-function or "
               "update-function-code, the CLI's waiters, publish-layer-version, "
               "update-function-configuration --layers).\n")
    out.append("| step | lambda-rt | AWS CLI script | ratio |")
    out.append("|---|---|---|---|")
    totals = {tool: [sum(times[tool][s][i] for s in CYCLE) for i in range(args.runs)]
              for tool in times}
    for step in CYCLE + ["total"]:
        ours = totals["lambda-rt"] if step == "total" else times["lambda-rt"][step]
        theirs = totals["aws-cli"] if step == "total" else times["aws-cli"][step]
        ratio = statistics.median(theirs) / statistics.median(ours)
        label = f"**{step}**" if step == "total" else step
        out.append(f"| {label} | {fmt_ms(ours)} | {fmt_ms(theirs)} | {ratio:.1f}× |")
    total_ratio = statistics.median(totals["aws-cli"]) / statistics.median(totals["lambda-rt"])
    out.append(f"\nTarget: lambda-rt ≥ 20× faster in total — {verdict(total_ratio >= 20)} "
               f"({total_ratio:.1f}×).")
    if total_ratio < 20:
        out.append(" Most of the AWS CLI's time is Python start-up per call; lambda-rt's is moto's "
                   "own handling of the requests, which a faster emulator (or real AWS, where both "
                   "wait on the network) changes for both tools alike.")
    out.append("")

    # 2
    out.append("## 2. API calls per command\n")
    out.append("Counted by the test suite's proxy (`examples/realism-proxy`, transparent here) in "
               "front of moto.\n")
    out.append("| scenario | lambda-rt reads | lambda-rt writes | minimum reads | minimum writes "
               "| why that minimum |")
    out.append("|---|---|---|---|---|---|")
    noop_ok = True
    for scenario, reads, writes, min_reads, min_writes, why, _ in data["calls"]:
        out.append(f"| {scenario} | {reads} | {writes} | {min_reads} | {min_writes} | {why} |")
        if is_noop(scenario) and (writes > 0 or reads > 3):
            noop_ok = False
    out.append(f"\nTarget: every no-op is write-free with at most 3 reads — {verdict(noop_ok)}.")
    for scenario, reads, writes, _, _, _, names in data["calls"]:
        if is_noop(scenario) and (writes > 0 or reads > 3):
            out.append(f" `{scenario}` made {reads} reads and {writes} writes "
                       f"({', '.join(names)}).")
    out.append(" lambda-rt reads a function's state only when the last answer said it was busy "
               "(the answer to a write says so), so on moto, where every update is done at once, "
               "writes cost no extra read. Reads of one command are sent at once (one round trip).")
    if not noop_ok:
        out.append(" `create` and `update` read the role lambda-rt manages and both its policy "
                   "lists beside the function, since the role's policies are part of the desired "
                   "state (a policy attached or removed by hand is reported and undone): four "
                   "reads, sent at once, in one round trip.")
        out.append(" `delete` reads the role's three lists in its first round, before it knows "
                   "whether the role goes (listing after GetRole would cost every real delete a "
                   "round trip, see section 3), and the log group of a function that is gone, to "
                   "report one left behind (it never deletes that one: whose it was cannot be told "
                   "any more); with nothing left these are the reads above the minimum, all sent "
                   "at once, in one round trip.")
    out.append("")

    # 3
    lat = data["latency"]
    timings = data["timings"]
    rt = lat["round trip"]
    floor = floors(timings, rt)
    out.append("## 3. Latency on real-AWS timings\n")
    out.append(f"Each command of the cycle through the realism proxy in front of moto, with "
               f"{timings['latency_ms']} ms per round trip, {timings['pending_ms'] / 1000:g} s "
               f"Pending after CreateFunction, {timings['in_progress_ms'] / 1000:g} s InProgress "
               f"after each update and {timings['iam_propagation_ms'] / 1000:g} s of IAM "
               "propagation after CreateRole — what a user waits on real AWS. The peer is "
               "`bench/aws-cli-cycle.sh` with the AWS CLI's waiters after every write and a "
               "one-second retry loop around create-function for IAM propagation (without them "
               "it fails under these timings). A command's **floor** is the round trips of its "
               "minimal request chain, one after the other, plus the waits AWS imposes; a round "
               f"trip is {rt * 1000:.1f} ms as measured in this run (the proxy's "
               f"{timings['latency_ms']} ms plus moto's own time to answer a simple read, median "
               "of 20). Reads that can go out beside the chain's requests are not counted. The "
               "target is 1.2 × floor + 50 ms (process start and packaging).\n")
    out.append("| command | lambda-rt | AWS CLI + waiters | floor (chain) | lambda-rt / floor "
               "| within 1.2× floor + 50 ms | faster than the peer |")
    out.append("|---|---|---|---|---|---|---|")
    all_within, all_faster = True, True
    for step in LATENCY_CYCLE:
        ours, theirs = lat["lambda-rt"][step], lat["aws-cli"][step]
        bound, chain = floor[step]
        median = statistics.median(ours)
        within = median <= 1.2 * bound + 0.05
        faster = median < statistics.median(theirs)
        all_within &= within
        all_faster &= faster
        out.append(f"| {step} | {fmt_ms(ours)} | {fmt_ms(theirs)} | {bound * 1000:.0f} ms "
                   f"({chain}) | {median / bound:.2f}× | {verdict(within)} | "
                   f"{verdict(faster)} |")
    out.append(f"\nTarget: every command within 1.2× its floor plus 50 ms — "
               f"{verdict(all_within)}; every command faster than the peer — "
               f"{verdict(all_faster)}. lambda-rt polls state every 200 ms (±20 %) and retries "
               "IAM propagation every 400 ms (±20 %), so it overshoots a transition by at most "
               "one interval and a round trip.\n")

    # 3
    pack = data["packaging"]
    out.append("## 4. Packaging\n")
    out.append(f"A synthetic function directory: {pack['files']} files, "
               f"{pack['bytes'] / 1e6:.0f} MB, half compressible text and half random bytes. "
               "lambda-rt's packager (`bench-package`, the code `create` uses) against "
               f"{'`zip -X -r -6`' if pack['zip'] == 'zip' else pack['zip']}.\n")
    out.append("| tool | time | cores used (CPU time / wall time) | peak memory | output size |")
    out.append("|---|---|---|---|---|")
    cores = {}
    for tool in ("lambda-rt", "zip"):
        seconds = [r[0] for r in pack["results"][tool]]
        memory = [r[1] for r in pack["results"][tool]]
        cores[tool] = statistics.median(r[2] / r[0] for r in pack["results"][tool])
        m, lo, hi = summary(memory)
        label = tool if tool == "lambda-rt" else pack["zip"]
        out.append(f"| {label} | {fmt_ms(seconds)} | {cores[tool]:.2f} | "
                   f"{m:.0f} MiB ({lo:.0f}–{hi:.0f}) | {pack['sizes'][tool] / 1e6:.1f} MB |")
    ours = statistics.median([r[0] for r in pack["results"]["lambda-rt"]])
    theirs = statistics.median([r[0] for r in pack["results"]["zip"]])
    smaller = pack["sizes"]["lambda-rt"] <= pack["sizes"]["zip"]
    our_memory = statistics.median([r[1] for r in pack["results"]["lambda-rt"]])
    both = cores["lambda-rt"] >= 1.5
    out.append(f"\nTarget: at least as fast as zip — {verdict(ours <= theirs)} "
               f"({theirs / ours:.2f}× zip's speed); output no larger — {verdict(smaller)}; "
               f"using both cores — {verdict(both)} ({cores['lambda-rt']:.2f} cores busy on "
               f"average); peak memory not far above the output size — "
               f"{verdict(our_memory <= 1.5 * pack['sizes']['lambda-rt'] / 2**20 + 32)} "
               f"({our_memory:.0f} MiB for a {pack['sizes']['lambda-rt'] / 2**20:.0f} MiB zip: "
               "the zip is built in memory because it is uploaded from memory).")
    out.append(" The packager compresses entries on every core and merges the compressed entries "
               "in name order, so the bytes do not depend on the core count; like zip, it stores "
               "what deflate cannot shrink.")
    if pack.get("floor"):
        floor = statistics.median(pack["floor"])
        out.append(f" The compression floor — the same bytes, already in memory, deflated at the "
                   f"same level on every core, with no reading, merging or writing — takes "
                   f"{fmt_ms(pack['floor'])}: the packager takes {ours / floor:.2f}× the floor, "
                   "the rest being reading the files, checksums and merging.")
    if our_memory > 1.5 * pack["sizes"]["lambda-rt"] / 2**20 + 32:
        out.append(" Peak memory above the zip's size is freed compressor state that glibc's "
                   "per-thread malloc arenas keep mapped (with `MALLOC_MMAP_THRESHOLD_=131072` it "
                   "stays close to the zip's size, at some cost in speed); reusing one compressor "
                   "per thread, which the zip crate's API does not offer, would close the gap.")
    out.append("")

    # 4
    out.append("## 5. Local execution\n")
    out.append(f"(a) Cold: `lambda-rt invoke --local` end to end for the bash runtime (process start "
               f"to response), {len(data['cold'])} runs: {fmt_ms(data['cold'])}. Target ≤ 100 ms "
               f"— {verdict(statistics.median(data['cold']) <= 0.1)}.\n")
    out.append(f"(b) Warm: `serve` answering {data['invokes']} invokes per run through the Invoke "
               "API, after warming every runtime; `bench-load` (standard-library Rust, keep-alive "
               "connections) sends them. The compiled runtime is `bench/runtime_client.rs`.\n")
    out.append("| runtime | concurrency | p50 latency | p99 latency | invokes per second |")
    out.append("|---|---|---|---|---|")
    compiled_p50 = None
    for (runtime, concurrency), results in data["warm"].items():
        p50 = [r["p50_us"] / 1000 for r in results]
        p99 = [r["p99_us"] / 1000 for r in results]
        rate = [r["per_second"] for r in results]
        m50, l50, h50 = summary(p50)
        m99, l99, h99 = summary(p99)
        mr, lr, hr = summary(rate)
        out.append(f"| {runtime} | {concurrency} | {m50:.3f} ms ({l50:.3f}–{h50:.3f}) | "
                   f"{m99:.3f} ms ({l99:.3f}–{h99:.3f}) | {mr:.0f} ({lr:.0f}–{hr:.0f}) |")
        if runtime == "compiled" and concurrency == 1:
            compiled_p50 = m50
    out.append(f"\nTarget: emulator overhead ≤ 0.2 ms p50 per invoke with the compiled client — "
               f"{verdict(compiled_p50 is not None and compiled_p50 <= 0.2)} ({compiled_p50:.3f} ms, "
               "which also includes the load generator, the runtime client and two loopback "
               "round trips: an upper bound on the emulator's share).")
    out.append("")

    bash = data["bash"]
    compiled = statistics.median(r["per_second"] for r in data["warm"][("compiled", 1)])
    out.append("(c) The bash runtime against the tutorial's (`bench/tutorial-bootstrap`, the "
               "curl-based loop of the AWS custom-runtime tutorial), each with the same no-op "
               "handler (`handler () { printf '{}'; }`), one warm runtime under `lambda-rt serve`, "
               f"{data['bash_invokes']} invokes per run. Per-event overhead = time per event minus "
               "the compiled runtime client's (what the emulator, the load generator and HTTP cost "
               "anyway; the handler's own time is nil). Process starts per event are counted from "
               "the kernel's last-PID counter over the invokes (anything else on the machine could "
               "only raise them).\n")
    out.append("| runtime | invokes per second | time per event | per-event overhead | process "
               "starts per event |")
    out.append("|---|---|---|---|---|")
    rates = {}
    for label, result in bash.items():
        rate = [r["per_second"] for r in result["serve"]]
        per_event = [1000 / r for r in rate]
        overhead = [max(t - 1000 / compiled, 0) for t in per_event]
        forks = [r["process_starts"] for r in result["serve"]]
        rates[label] = statistics.median(rate)
        m, lo, hi = summary(rate)
        pe, pe_lo, pe_hi = summary(per_event)
        ov, ov_lo, ov_hi = summary(overhead)
        fk, fk_lo, fk_hi = summary(forks)
        out.append(f"| {label} | {m:.0f} ({lo:.0f}–{hi:.0f}) | {pe:.2f} ms ({pe_lo:.2f}–"
                   f"{pe_hi:.2f}) | {ov:.2f} ms ({ov_lo:.2f}–{ov_hi:.2f}) | {fk:.1f} "
                   f"({fk_lo:.1f}–{fk_hi:.1f}) |")
    speedup = rates["lambda-rt"] / rates["tutorial"]
    failing = statistics.median(r["process_starts"]
                                for r in bash["lambda-rt, failing handler"]["serve"])
    out.append(f"\nTarget: lambda-rt's bash runtime ≥ 5× the tutorial's invokes per second — "
               f"{verdict(speedup >= 5)} ({speedup:.1f}×; aim 10× — {verdict(speedup >= 10)}); a "
               f"handler failure costs at most a few process starts — {verdict(failing <= 3)} "
               f"({failing:.1f}). (The tutorial's runtime exits on a failing handler, under "
               "`set -e`, so it has no failure figure.)")
    if any(result["rie"] for result in bash.values()):
        out.append("\nUnder AWS's Runtime Interface Emulator (`LAMBDA_RT_RIE`):\n")
        out.append("| runtime | invokes per second |")
        out.append("|---|---|")
        for label, result in bash.items():
            if result["rie"]:
                m, lo, hi = summary([r["per_second"] for r in result["rie"]])
                out.append(f"| {label} | {m:.0f} ({lo:.0f}–{hi:.0f}) |")
    else:
        out.append(" Under AWS's Runtime Interface Emulator: not measured (set `LAMBDA_RT_RIE` to an "
                   "`aws-lambda-rie` binary).")
    out.append("")

    # 5
    out.append("## 6. Start-up\n")
    out.append("| command | wall time |")
    out.append("|---|---|")
    for flag, values in data["startup"].items():
        out.append(f"| `lambda-rt {flag}` | {fmt_ms(values)} |")
    worst = max(statistics.median(v) for v in data["startup"].values())
    out.append(f"\nTarget ≤ 5 ms — {verdict(worst <= 0.005)} (measured from Python's "
               "`subprocess`, whose own fork/exec cost is included).\n")

    out.extend(edit_loop.report(data["edit_loop"], fmt_ms, statistics.median, verdict))
    out.extend(many_functions.report(data["many"], fmt_ms, statistics.median, verdict,
                                     data["timings"]))
    if "official" in data:
        official = data["official"]
        out.append("## 7. Official runtime clients under the emulator\n")
        out.append("A function on AWS's own runtime client, run by `check --echo-handler echo "
                   "--error-handler fail`, `invoke --local` and `serve` (an answer and an error "
                   "each); bench/official_runtimes.py fails the run if any of them does not hold. "
                   "The Python client (awslambdaric) is a case of the test suite; Go's "
                   "aws-lambda-go cannot be fetched here (proxy.golang.org is not reachable).\n")
        out.append("| runtime client | check | error document through `serve` | check time |")
        out.append("|---|---|---|---|")
        out.append(f"| {official['runtime']} | {official['passed']} passed, {official['failed']} "
                   f"failed, {official['skipped']} skipped (they need handlers an echo handler "
                   f"cannot be) | `{official['error_document']}` | {official['check_seconds']} s |\n")

    out.append("## Reproduce\n")
    out.append("```sh\nbench/run.sh            # builds the release binary, installs moto, the AWS "
               "CLI and zip if missing, writes BENCHMARKS.md\n```")
    Path(path).write_text("\n".join(out) + "\n")


def main():
    args = parse_args()
    args.bin_dir = str(Path(args.bin_dir).resolve())  # commands run in project directories
    binary = str(Path(args.bin_dir) / "lambda-rt")
    for needed in [binary] + [str(Path(args.bin_dir) / "examples" / name)
                              for name in ("bench-runtime", "bench-package", "bench-load",
                                           "realism-proxy")]:
        if not Path(needed).exists():
            raise SystemExit(f"{needed} is missing: build it with `cargo build --release --bin "
                             "lambda-rt --examples` (bench/run.sh does)")
    if shutil.which("zip") is None and not args.smoke:
        raise SystemExit("zip is missing: install it (`apt-get install zip`; bench/run.sh does)")
    data = {}
    with tempfile.TemporaryDirectory(prefix="lambda-rt-bench.") as workdir:
        moto = Moto(workdir)
        try:
            aws = os.environ.get("AWS_CLI", str(ROOT / ".venv" / "bin" / "aws"))
            data["versions"] = {
                "aws": tool_version([aws, "--version"]),
                "moto": tool_version([str(ROOT / ".venv" / "bin" / "python"), "-c",
                                      "import importlib.metadata as m; print(m.version('moto'))"]),
                "zip": next((line.strip() for line in subprocess.run(
                    ["zip", "-v"], capture_output=True, text=True).stdout.splitlines()
                    if line.startswith("This is Zip")), "unknown") if shutil.which("zip")
                else "not installed (Python's zipfile instead)",
            }
            print("1/6 deploy cycle", file=sys.stderr)
            data["cycle"] = deploy_cycle(binary, moto, args.runs, workdir)
            print("2/6 API calls", file=sys.stderr)
            data["calls"] = api_calls(binary, args.bin_dir, moto, workdir)
            print("+ edit loop", file=sys.stderr)
            data["edit_loop"] = edit_loop.measure(binary, moto, args.runs, workdir,
                                                  str(ROOT / ".venv" / "bin"))
            print("3/6 latency on real-AWS timings", file=sys.stderr)
            data["timings"] = SMOKE_TIMINGS if args.smoke else REAL_TIMINGS
            data["latency"] = latency(binary, args.bin_dir, moto, args.runs, workdir,
                                      data["timings"])
            print("+ several functions", file=sys.stderr)
            data["many"] = many_functions.measure(
                binary, Proxy, args.bin_dir, moto, 1 if args.smoke else min(args.runs, 3),
                workdir, data["timings"], ROOT,
                sizes=(1, 3) if args.smoke else many_functions.SIZES)
        finally:
            moto.stop()
        print("4/6 packaging", file=sys.stderr)
        files, size = (50, 2000) if args.smoke else (5000, 20_000)
        data["packaging"] = packaging(args.bin_dir, args.runs, workdir, files, size)
        print("5/6 local execution", file=sys.stderr)
        data["cold"] = cold_invoke(binary, args.runs, workdir)
        data["invokes"] = 20 if args.smoke else 1000
        data["warm"] = {}
        for runtime in ("bash", "compiled"):
            for concurrency in (1, 4):
                data["warm"][(runtime, concurrency)] = [
                    warm_serve(binary, args.bin_dir, runtime, concurrency, data["invokes"],
                               tempfile.mkdtemp(dir=workdir))
                    for _ in range(args.runs)
                ]
        data["bash_invokes"] = 20 if args.smoke else 500
        data["bash"] = bash_runtimes(binary, args.bin_dir, args.runs, data["bash_invokes"],
                                     workdir)
        print("6/6 start-up", file=sys.stderr)
        data["startup"] = startup(binary, args.runs)
        if not args.smoke:
            # Compiling the lambda_runtime crate takes a minute: not in the smoke run.
            print("+ official runtime clients", file=sys.stderr)
            _, out = run([sys.executable, str(ROOT / "bench" / "official_runtimes.py"),
                          "--bin", binary], stdout=subprocess.PIPE)
            data["official"] = json.loads(out)
    write_report(args.out, args, data)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
