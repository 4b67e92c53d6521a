#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (Rust and Python 3 present, nothing else):
# installs moto_server, the AWS CLI and Deno into .venv when they are missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-tools.sh
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export AWS_CLI="$PWD/.venv/bin/aws"
export DENO="$PWD/.venv/bin/deno"

# The benchmark helpers, for the benchmarks' smoke test (tests/bench_smoke.rs).
cargo build --examples --quiet

# With arguments (e.g. `--test suite -- faults::`), runs only what they select.
if [ $# -eq 0 ]; then
  set -- --all-targets --no-fail-fast
fi
cargo test "$@"
