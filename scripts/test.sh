#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (Rust and Python 3 present, nothing else):
# installs the AWS API emulator moto_server into .venv when it is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test tools, pinned: the AWS API emulator, and the AWS CLI (a real client for `serve`).
MOTO_VERSION="5.2.5"
AWSCLI_VERSION="1.46.3"
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/aws ]; then
  echo "installing moto[server]==$MOTO_VERSION and awscli==$AWSCLI_VERSION into .venv (first run only)" >&2
  [ -d .venv ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION"
fi
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export AWS_CLI="$PWD/.venv/bin/aws"

# With arguments (e.g. `--test faults`), runs only what they select.
if [ $# -eq 0 ]; then
  set -- --all-targets
fi
cargo test "$@"
