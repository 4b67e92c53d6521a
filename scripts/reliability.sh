#!/usr/bin/env bash
# Runs the reliability tests at full size (50 seeded fault-injection runs of the whole cycle, the
# kill sweep at every request with both signals and Lambda's own state durations, plus the
# interruption, timeout, ownership, secret-leak and bad-input tests) and writes
# docs/reliability.md from the counts the tests themselves record.
#
#   scripts/reliability.sh            # 50 runs, seed 20261121, full sweep (about 15 minutes)
#   LAMBDA_RT_FAULT_RUNS=10 LAMBDA_RT_FAULT_SEED=7 scripts/reliability.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export LAMBDA_RT_FAULT_RUNS="${LAMBDA_RT_FAULT_RUNS:-50}"
export LAMBDA_RT_FAULT_SEED="${LAMBDA_RT_FAULT_SEED:-20261121}"
export LAMBDA_RT_SWEEP_FULL=1
mkdir -p target docs
export LAMBDA_RT_RELIABILITY_REPORT="$PWD/target/reliability.jsonl"
rm -f "$LAMBDA_RT_RELIABILITY_REPORT"

scripts/test.sh --test suite -- faults:: deploy:: layers:: kill_sweep::
python3 scripts/reliability_report.py "$LAMBDA_RT_RELIABILITY_REPORT" > docs/reliability.md
echo "wrote docs/reliability.md" >&2
