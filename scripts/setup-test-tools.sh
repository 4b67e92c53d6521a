#!/usr/bin/env bash
# Installs the tools the tests and benchmarks drive, pinned, into .venv (first run only): the AWS
# API emulator moto_server, the AWS CLI (a real client for `serve`, and the benchmarks'
# baseline), Deno (PyPI's `deno` ships the official binary) for the Deno template's tests,
# jsonschema to check every `--output json` document against docs/output.schema.json, and the
# official Python runtime interface client (awslambdaric) as a real third-party runtime.
# Needs only Python 3. Prints nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
AWSCLI_VERSION="1.46.3"
DENO_VERSION="2.9.8"
JSONSCHEMA_VERSION="4.26.0"
AWSLAMBDARIC_VERSION="4.2.2"
ready() {
  [ -x .venv/bin/moto_server ] && [ -x .venv/bin/aws ] && [ -x .venv/bin/deno ] &&
    .venv/bin/python -c "import jsonschema, awslambdaric" 2>/dev/null
}
if ! ready; then
  echo "installing moto[server]==$MOTO_VERSION, awscli==$AWSCLI_VERSION, deno==$DENO_VERSION," \
    "jsonschema==$JSONSCHEMA_VERSION and awslambdaric==$AWSLAMBDARIC_VERSION into .venv (first run only)" >&2
  [ -d .venv ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" "deno==$DENO_VERSION" \
    "jsonschema==$JSONSCHEMA_VERSION" "awslambdaric==$AWSLAMBDARIC_VERSION"
fi
