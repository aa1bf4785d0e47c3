#!/usr/bin/env bash
# Starts `switchboard serve` on a free loopback port and drives its chat page in headless
# Chromium (Debian's package) with playwright-core (pinned in tests/browser/package-lock.json):
# a visitor asks, a signed-in customer gets a personal answer, a request for a person escalates;
# then the cost report page shows what that traffic cost; then the embeddable widget, on a page
# from another origin under a strict Content-Security-Policy.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium..."
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  # One apt at a time: the test command installs qemu (scripts/arm64.sh) at the same moment.
  as_root flock /tmp/switchboard-apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root flock /tmp/switchboard-apt.lock apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
# `scripts/browser-check.sh install`: only the above (the test command does it while it compiles).
if [ "${1:-}" = install ]; then exit 0; fi

cargo build --quiet --locked --bin switchboard
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$target/browser-serve.log
"$target/debug/switchboard" serve --port "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

# A debug build trains the demo tenant at start, its encoder head included: seconds, not ms.
ready=
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "switchboard serve exited:"; cat "$log"; exit 1; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "switchboard serve not ready after 60 s:"; cat "$log"; exit 1; }

BASE="http://127.0.0.1:$port" SCREENSHOT="$target/browser-check.png" node tests/browser/chat.mjs || {
  echo "--- server log ---"; tail -50 "$log"; exit 1;
}
BASE="http://127.0.0.1:$port" SCREENSHOT="$target/browser-costs.png" node tests/browser/costs.mjs || {
  echo "--- server log ---"; tail -50 "$log"; exit 1;
}
BASE="http://127.0.0.1:$port" SCREENSHOT="$target/browser-widget.png" node tests/browser/widget.mjs || {
  echo "--- server log ---"; tail -50 "$log"; exit 1;
}
