# lambda-rt's `job` template: a nightly job. Its schedule is [schedules.nightly] in lambda-rt.toml;
# each run gets that table's payload as the event ($1). What the handler prints is the run's
# result; what it writes to stderr goes to the function's log group. A non-zero exit fails the
# run, and Lambda retries it as lambda-rt.toml says (max-retry-attempts), then sends it to the
# on-failure destination if there is one.
#
# Try it here: `lambda-rt invoke --local --schedule nightly`.

handler () {
  local event=$1 job=unnamed day=today
  [[ $event =~ \"job\":[[:space:]]*\"([^\"]*)\" ]] && job=${BASH_REMATCH[1]}
  [[ $event =~ \"day\":[[:space:]]*\"([^\"]*)\" ]] && day=${BASH_REMATCH[1]}
  local date
  if ! date=$(date -u -d "$day" +%F 2>/dev/null); then
    echo "job $job: cannot read the day \"$day\" (try \"yesterday\" or 2026-12-01)" >&2
    return 1
  fi
  echo "job $job: processing $date" >&2
  # The work goes here: fetch, transform, store. With `tools = ["jq"]` in lambda-rt.toml, jq runs
  # on Lambda too.
  printf '{"job":"%s","processed":"%s","status":"done"}' "$job" "$date"
}
