#!/usr/bin/env bash
# Mutation testing (issue 33): how many bugs planted in the code the tests catch.
#
#   scripts/mutants.sh sample [SEED] [SIZE]   a seeded random sample (default seed 33, 60 mutants)
#                                            of the mutants of src/aws, src/commands, src/package,
#                                            src/settings and src/emulator/api, each run against
#                                            the tests of its area (AREAS below)
#   scripts/mutants.sh file PATH...           every mutant of these files, against the tests of
#                                            their area
#   scripts/mutants.sh diff FILE              the mutants in a diff (`git diff main > FILE`), for a
#                                            change; against the whole suite
#
# Installs cargo-mutants into .tools/ if it is missing; the suite's tools like scripts/test.sh.
# Results go to target/mutants/<run>/ (cargo-mutants' mutants.out: caught.txt, missed.txt,
# timeout.txt, unviable.txt, outcomes.json); docs/mutants.md records the runs and each survivor.
# A run of the sample does not fit CI: each mutant is an incremental build and a test run of its
# area (one to five minutes here).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_MUTANTS_VERSION=27.1.0
export PATH="$PWD/.tools/bin:$PATH"
if ! cargo mutants --version 2>/dev/null | grep -q "$CARGO_MUTANTS_VERSION"; then
  echo "installing cargo-mutants $CARGO_MUTANTS_VERSION into .tools/" >&2
  cargo install --locked --quiet cargo-mutants --version "$CARGO_MUTANTS_VERSION" --root .tools
fi
scripts/setup-test-tools.sh
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export AWS_CLI="$PWD/.venv/bin/aws"

# The tests of each area: unit tests of the module (their names start with it) and the suite's
# files that exercise it (a file's tests are named `<file>::`). Filters are substrings.
declare -A AREAS=(
  [package]="package:: binaries:: edit_loop:: ownership:: security:: tools:: layers:: s3_staging:: deploy:: import::"
  [settings]="settings:: help:: configuration:: permissions:: every_setting:: second_look:: first_hour:: round_trip::"
  [emulator]="emulator:: invocation:: check:: serve:: serve_bounds:: emulator_fidelity:: web:: local:: security::"
  [aws]="aws:: aws_realism:: converge:: deploy:: faults:: layers:: permissions:: configuration:: log_group:: round_trip:: invoke_faults:: pages:: ownership:: every_setting:: day_two:: import:: s3_staging:: edit_loop:: web:: many_functions:: schedules:: throttling::"
  [commands]="commands:: aws_realism:: converge:: deploy:: faults:: layers:: permissions:: configuration:: log_group:: round_trip:: invoke_faults:: pages:: ownership:: every_setting:: day_two:: import:: s3_staging:: edit_loop:: first_hour:: check:: web:: init:: serve:: many_functions:: schedules:: throttling::"
)
COMMON=(--baseline=skip --timeout 900 --build-timeout 900 --no-shuffle)

# The source files of each area (cargo-mutants' --re alone also lets through every "delete field
# ... expression" mutant of the crate, whatever the expression: the files keep a run to its area).
declare -A FILES=(
  [package]="src/package/**" [settings]="src/settings/**" [emulator]="src/emulator/api/**"
  [aws]="src/aws/**" [commands]="src/commands/**"
)

# Runs cargo-mutants on the mutants matching regular expression $2 (area $1), writing to $3.
run_area() {
  local area=$1 re=$2 out=$3
  # shellcheck disable=SC2086 # the filters are words
  cargo mutants "${COMMON[@]}" -f "${FILES[$area]}" --re "$re" --output "$out" \
    -- --lib --test suite -- ${AREAS[$area]} || true
}

mode=${1:-sample}
case "$mode" in
  sample)
    seed=${2:-33}
    size=${3:-60}
    run=target/mutants/sample-$seed
    rm -rf "$run" && mkdir -p "$run"
    cargo mutants --list --json \
      -f 'src/aws/**' -f 'src/commands/**' -f 'src/package/**' -f 'src/settings/**' \
      -f 'src/emulator/api/**' >"$run/all.json"
    for area in $(python3 scripts/mutants_sample.py --seed "$seed" --size "$size" --out "$run" <"$run/all.json"); do
      run_area "$area" "$(cat "$run/$area.re")" "$run/$area"
    done
    python3 scripts/mutants_report.py "$run"
    ;;
  file)
    shift
    run=target/mutants/files
    rm -rf "$run" && mkdir -p "$run"
    for path in "$@"; do
      area=$(python3 -c "import sys; sys.path.insert(0, 'scripts'); import mutants_sample as m; print(m.area_of(sys.argv[1]) or 'commands')" "$path")
      cargo mutants "${COMMON[@]}" -f "$path" --output "$run/$(basename "$path" .rs)" \
        -- --lib --test suite -- ${AREAS[$area]} || true
    done
    python3 scripts/mutants_report.py "$run"
    ;;
  diff)
    run=target/mutants/diff
    rm -rf "$run" && mkdir -p "$run"
    cargo mutants "${COMMON[@]}" --in-diff "$2" --output "$run/diff" || true
    python3 scripts/mutants_report.py "$run"
    ;;
  *)
    echo "usage: scripts/mutants.sh sample [SEED] [SIZE] | file PATH... | diff FILE" >&2
    exit 2
    ;;
esac
