#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md (see bench/run.py): builds the release binary and
# the benchmark helpers, installs moto_server and the AWS CLI into .venv and `zip` (Debian) if
# they are missing, then measures. Takes a few minutes; extra arguments go to bench/run.py
# (e.g. `--runs 7`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-tools.sh
if ! command -v zip >/dev/null; then
  echo "installing zip (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q zip >/dev/null; else sudo apt-get install -y -q zip >/dev/null; fi
fi
cargo build --release --bin lambda-rt --examples
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export AWS_CLI="$PWD/.venv/bin/aws"
python3 bench/run.py --bin-dir target/release "$@"
