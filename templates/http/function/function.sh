# lambda-rt's `http` template: a handler for a Function URL (`lambda-rt create --url`) or for
# `lambda-rt serve --http`. The event ($1) is the Function URL request as JSON (payload format
# 2.0); what the handler prints is the HTTP response: a JSON object with statusCode, headers and
# body (a string).

# Sets REPLY to $1 as a JSON string literal (quotes included), with bash alone.
json_string () {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[$'\001'-$'\037']/}
  REPLY="\"$s\""
}

# Prints an HTTP response: respond STATUS CONTENT-TYPE BODY.
respond () {
  json_string "$2"
  local type=$REPLY
  json_string "$3"
  printf '{"statusCode":%d,"headers":{"content-type":%s},"body":%s}' "$1" "$type" "$REPLY"
}

handler () {
  local event=$1 method=GET path=/ name=world
  [[ $event =~ \"method\":\"([A-Z]+)\" ]] && method=${BASH_REMATCH[1]}
  [[ $event =~ \"rawPath\":\"([^\"]*)\" ]] && path=${BASH_REMATCH[1]}
  # ?name=..., JSON-escaped in the event: undo the escapes of quotes and backslashes (json_string
  # escapes them again; other escapes stay as they are, and the response stays valid JSON).
  if [[ $event =~ \"queryStringParameters\":\{[^}]*\"name\":\"(([^\"\\]|\\.)*)\" ]]; then
    name=${BASH_REMATCH[1]}
    name=${name//\\\"/\"}
    name=${name//\\\\/\\}
  fi
  case "$method $path" in
    "GET /hello")
      json_string "Hello, $name!"
      respond 200 application/json "{\"message\":$REPLY}"
      ;;
    *)
      respond 404 text/plain "no route for $method $path: try GET /hello?name=you"
      ;;
  esac
}
