#!/usr/bin/env python3
"""The official runtime clients as test cases of lambda-rt's emulator (issue 29, point 6).

Builds a function on the Rust `lambda_runtime` crate (bench/official-runtimes/rust, into
target/official-runtimes) and runs it through `lambda-rt check` (with `--echo-handler echo
--error-handler fail`), `invoke --local` and `serve` (one Invoke API request, one failing). Exits
1 naming the first thing that did not hold; prints a JSON summary on stdout, which bench/run.py
puts into BENCHMARKS.md.

Why not in the test suite: compiling lambda_runtime and its dependencies takes about a minute in
release on this 2-core machine, a sixth of the suite's budget, for one case. The Python client
(awslambdaric, from PyPI) is already in the suite (tests/check.rs). Go's aws-lambda-go is not here:
its module comes from proxy.golang.org, which is not one of the package registries this machine
reaches, and no Go toolchain is installed.

Usage: python3 bench/official_runtimes.py [--bin target/debug/lambda-rt]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "bench" / "official-runtimes" / "rust"
TARGET = ROOT / "target" / "official-runtimes"


def fail(message):
    print(f"official runtimes: {message}", file=sys.stderr)
    sys.exit(1)


def build_rust_runtime():
    """Builds the lambda_runtime function; returns (binary, seconds, crate version)."""
    start = time.perf_counter()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--locked",
                    "--manifest-path", str(CRATE / "Cargo.toml")],
                   check=True, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    seconds = time.perf_counter() - start
    lock = (CRATE / "Cargo.lock").read_text()
    version = lock.split('name = "lambda_runtime"\nversion = "', 1)[1].split('"', 1)[0]
    return TARGET / "release" / "official-rust-runtime", seconds, version


def lambda_rt(binary, project, *args, check=True):
    result = subprocess.run([str(binary), *args], cwd=project, capture_output=True, timeout=300)
    if check and result.returncode != 0:
        fail(f"`lambda-rt {' '.join(args)}` exited {result.returncode}:\n"
             f"{result.stderr.decode(errors='replace')}")
    return result


def invoke_through_serve(binary, project, handler, payload):
    """Starts `serve`, sends one Invoke API request, returns (status, function error, body)."""
    server = subprocess.Popen([str(binary), "serve", "--port", "0", "--handler", handler, "-q"],
                              cwd=project, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = server.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            fail(f"serve did not start: {line!r}")
        address = line[len("listening on "):].rstrip("/")
        request = urllib.request.Request(
            f"{address}/2015-03-31/functions/official/invocations", data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return (response.status, response.headers.get("X-Amz-Function-Error"),
                        response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("X-Amz-Function-Error"), error.read()
    finally:
        server.terminate()
        server.wait(timeout=20)


def check_rust_runtime(binary, runtime):
    with tempfile.TemporaryDirectory() as workdir:
        project = Path(workdir)
        (project / "runtime").mkdir()
        (project / "function").mkdir()
        shutil.copy(runtime, project / "runtime" / "bootstrap")
        (project / "lambda-rt.toml").write_text('function-name = "official"\n')

        start = time.perf_counter()
        report = json.loads(lambda_rt(binary, project, "check", "--output", "json",
                                      "--echo-handler", "echo", "--error-handler", "fail",
                                      check=False).stdout)
        check_seconds = time.perf_counter() - start
        verdicts = [case["verdict"] for case in report["cases"]]
        failed = [case["name"] for case in report["cases"] if case["verdict"] == "fail"]
        if failed or not report["passed"]:
            fail(f"check failed the lambda_runtime crate on: {failed}")

        out = lambda_rt(binary, project, "invoke", "--local", "--handler", "echo",
                        "--payload", '{"a":1}').stdout
        if json.loads(out) != {"a": 1}:
            fail(f"invoke --local answered {out!r}")
        out = lambda_rt(binary, project, "invoke", "--local", "--handler", "fail",
                        "--payload", "{}", check=False)
        if out.returncode != 3 or b"the handler failed on purpose" not in out.stdout + out.stderr:
            fail(f"invoke --local of the failing handler: exit {out.returncode}, {out.stdout!r}")

        status, error, body = invoke_through_serve(binary, project, "echo", b'{"a":1}')
        if status != 200 or error is not None or json.loads(body) != {"a": 1}:
            fail(f"serve answered {status} {error} {body!r}")
        status, error, body = invoke_through_serve(binary, project, "fail", b"{}")
        if status != 200 or error != "Unhandled" or b"the handler failed on purpose" not in body:
            fail(f"serve answered the failing handler with {status} {error} {body!r}")
        return {
            "passed": verdicts.count("pass"),
            "failed": verdicts.count("fail"),
            "skipped": verdicts.count("skip"),
            "warnings": verdicts.count("warn"),
            "check_seconds": round(check_seconds, 2),
            "error_document": body.decode(errors="replace"),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(ROOT / "target" / "debug" / "lambda-rt"))
    args = parser.parse_args()
    runtime, build_seconds, version = build_rust_runtime()
    result = check_rust_runtime(Path(args.bin).resolve(), runtime)
    result.update({"runtime": f"lambda_runtime {version} (Rust)",
                   "build_seconds": round(build_seconds, 1)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
