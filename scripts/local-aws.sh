#!/usr/bin/env bash
# Local stand-ins for AWS, from the package registries: Amazon's DynamoDB Local (the jar inside
# the npm package amplify-dynamodb-simulator, on the machine's Java) and moto's server (PyPI) for
# SQS and SSM. Idempotent: installs once under .local/, starts only what is not running, waits
# until healthy, prints the endpoints.
#
#   scripts/local-aws.sh start    # install if needed, start, wait, print `export ...` lines
#   scripts/local-aws.sh install  # install only (the test command does it while it compiles)
#   scripts/local-aws.sh stop
#   scripts/local-aws.sh env      # the export lines only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.local
dynamo_port=${SWITCHBOARD_DYNAMODB_PORT:-8765}
moto_port=${SWITCHBOARD_MOTO_PORT:-8766}
mkdir -p "$root/run"

up() { curl -s -o /dev/null --max-time 1 "$1"; }

install_dynamodb() {
  [ -f "$root/dynamodb/package/emulator/DynamoDBLocal.jar" ] && return
  echo "installing DynamoDB Local (npm: amplify-dynamodb-simulator)..." >&2
  rm -rf "$root/dynamodb" && mkdir -p "$root/dynamodb"
  (cd "$root/dynamodb" && npm pack --silent amplify-dynamodb-simulator >/dev/null && tar xzf amplify-dynamodb-simulator-*.tgz && rm -f ./*.tgz)
}

install_moto() {
  [ -x "$root/moto/bin/moto_server" ] && return
  echo "installing moto server (PyPI: moto[server])..." >&2
  rm -rf "$root/moto"
  python3 -m venv "$root/moto"
  "$root/moto/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
}

start() {
  install_dynamodb
  install_moto
  # Every descriptor of a server is redirected on the backgrounded command itself: this script
  # runs inside `$(...)`, and a server that inherited that pipe would keep the caller waiting
  # for ever (the cause of a CI run that hung after "local AWS ready").
  if ! up "http://127.0.0.1:$dynamo_port"; then
    (cd "$root/dynamodb/package/emulator" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -sharedDb -port "$dynamo_port" -disableTelemetry) </dev/null >"$root/run/dynamodb.log" 2>&1 &
    echo $! >"$root/run/dynamodb.pid"
  fi
  if ! up "http://127.0.0.1:$moto_port/moto-api/"; then
    "$root/moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" </dev/null >"$root/run/moto.log" 2>&1 &
    echo $! >"$root/run/moto.pid"
  fi
  for _ in $(seq 1 150); do
    if up "http://127.0.0.1:$dynamo_port" && up "http://127.0.0.1:$moto_port/moto-api/"; then
      echo "local AWS ready: DynamoDB Local on :$dynamo_port, moto (SQS, SSM) on :$moto_port" >&2
      env_lines
      return
    fi
    sleep 0.2
  done
  echo "local AWS did not come up; logs in $root/run/" >&2
  tail -20 "$root/run/"*.log >&2 || true
  exit 1
}

stop() {
  for name in dynamodb moto; do
    if [ -f "$root/run/$name.pid" ]; then kill "$(cat "$root/run/$name.pid")" 2>/dev/null || true; rm -f "$root/run/$name.pid"; fi
  done
  echo "local AWS stopped" >&2
}

env_lines() {
  cat <<ENV
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$dynamo_port
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_SSM=http://127.0.0.1:$moto_port
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true
ENV
}

case "${1:-start}" in
  start) start ;;
  install) install_dynamodb; install_moto ;;
  stop) stop ;;
  env) env_lines ;;
  *) echo "usage: $0 start|install|stop|env" >&2; exit 2 ;;
esac
