#!/usr/bin/env bash
# The deploy cycle done by hand with the AWS CLI, following the AWS custom-runtime tutorial (the
# manage.sh that lambda-rt replaces), made to work on real AWS: the CLI's own waiters after each
# write (`aws lambda wait function-active-v2` / `function-updated-v2`) and a retry loop for IAM
# propagation around create-function. It is the baseline of bench/run.py.
#
#   aws-cli-cycle.sh STEP FUNCTION PROJECT_DIR
#     STEP: create | update | update-memory | invoke | publish-layer | delete
#
# Uses $AWS_CLI (default `aws`) with the usual AWS_* environment (bench/run.py points it at moto,
# or at the realism proxy in front of moto). Zips with Python's zipfile module (`python3 -m
# zipfile`), since Python is there anyway and the `zip` command may not be.
set -euo pipefail
step=$1 name=$2 project=$3
aws=${AWS_CLI:-aws}
role="$name-role" layer="$name-layer"
policy=arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

zip_dir() { # zip_dir DIR OUT: the files of DIR at the root of OUT
  (cd "$1" && python3 -m zipfile -c "$2" $(ls -A))
}

zip_function() { # $1: with or without bootstrap
  mkdir -p "$work/stage"
  cp -R "$project/function/." "$work/stage/"
  if [ "$1" = with ]; then cp "$project/runtime/bootstrap" "$work/stage/"; fi
  zip_dir "$work/stage" "$work/function.zip"
}

case $step in
create)
  if ! $aws iam get-role --role-name "$role" >/dev/null 2>&1; then
    $aws iam create-role --role-name "$role" --assume-role-policy-document \
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
    $aws iam attach-role-policy --role-name "$role" --policy-arn "$policy"
  fi
  arn=$($aws iam get-role --role-name "$role" --query Role.Arn --output text)
  zip_function with
  if $aws lambda get-function --function-name "$name" >/dev/null 2>&1; then
    $aws lambda update-function-code --function-name "$name" --zip-file "fileb://$work/function.zip" >/dev/null
    $aws lambda wait function-updated-v2 --function-name "$name"
  else
    # A new role is refused ("cannot be assumed") until IAM has propagated it: try every second.
    for attempt in $(seq 1 120); do
      if $aws lambda create-function --function-name "$name" --runtime provided.al2023 \
          --handler function.handler --role "$arn" --zip-file "fileb://$work/function.zip" \
          >/dev/null 2>"$work/error"; then
        break
      fi
      grep -q "cannot be assumed" "$work/error" || { cat "$work/error" >&2; exit 1; }
      sleep 1
    done
    $aws lambda wait function-active-v2 --function-name "$name"
  fi
  ;;
update)
  zip_function with
  $aws lambda update-function-code --function-name "$name" --zip-file "fileb://$work/function.zip" >/dev/null
  $aws lambda wait function-updated-v2 --function-name "$name"
  ;;
update-memory)
  $aws lambda update-function-configuration --function-name "$name" --memory-size 256 >/dev/null
  $aws lambda wait function-updated-v2 --function-name "$name"
  ;;
invoke)
  $aws lambda invoke --function-name "$name" --payload '{"text":"Hello"}' "$work/response.json" >/dev/null
  ;;
publish-layer)
  zip_dir "$project/runtime" "$work/runtime.zip"
  version=$($aws lambda publish-layer-version --layer-name "$layer" \
    --compatible-runtimes provided.al2023 provided.al2 --zip-file "fileb://$work/runtime.zip" \
    --query LayerVersionArn --output text)
  $aws lambda update-function-configuration --function-name "$name" --layers "$version" >/dev/null
  $aws lambda wait function-updated-v2 --function-name "$name"
  zip_function without
  $aws lambda update-function-code --function-name "$name" --zip-file "fileb://$work/function.zip" >/dev/null
  $aws lambda wait function-updated-v2 --function-name "$name"
  ;;
delete)
  $aws lambda delete-function --function-name "$name" 2>/dev/null || true
  for version in $($aws lambda list-layer-versions --layer-name "$layer" \
      --query 'LayerVersions[].Version' --output text); do
    $aws lambda delete-layer-version --layer-name "$layer" --version-number "$version"
  done
  $aws logs delete-log-group --log-group-name "/aws/lambda/$name" 2>/dev/null || true
  $aws iam detach-role-policy --role-name "$role" --policy-arn "$policy" 2>/dev/null || true
  $aws iam delete-role --role-name "$role" 2>/dev/null || true
  ;;
*)
  echo "unknown step: $step" >&2
  exit 2
  ;;
esac
