# The example handler: the event arrives in $1, the response is whatever is printed on stdout.
function handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2
  printf "Echoing request: '%s'" "$EVENT_DATA"
}
