#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (Rust and Python 3 present, nothing else):
# installs the AWS API emulator moto_server into .venv when it is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
if [ ! -x .venv/bin/moto_server ]; then
  echo "installing moto[server]==$MOTO_VERSION into .venv (first run only)" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
export MOTO_SERVER="$PWD/.venv/bin/moto_server"

cargo test --all-targets "$@"
