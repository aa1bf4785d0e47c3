#!/usr/bin/env bash
# The `switchboard` CLI's AWS subcommands against the local servers (DynamoDB Local, moto): what
# ops run by hand. `aws-setup` creates a table, queues and the deployment key and prints the
# functions' variables; `tenants-put` stores a tenant; `dlq list` reads a dead-letter queue;
# `costs` reads the cost ledger.
# Expects the AWS_ENDPOINT_URL_* variables of `scripts/local-aws.sh start`.
set -euo pipefail
cd "$(dirname "$0")/.."
run=$(mktemp -u sbcli-XXXXXX | tr -cd 'a-z0-9-')
cli() { cargo run -q --locked -p switchboard-cli --features aws --bin switchboard -- "$@"; }
exports=$(cli aws-setup --table "$run" --prefix "$run")
eval "$exports"
fail() { echo "cli check: $*" >&2; exit 1; }
for name in SWITCHBOARD_TABLE SWITCHBOARD_MESSAGES_QUEUE_URL SWITCHBOARD_ESCALATIONS_QUEUE_URL \
            SWITCHBOARD_MESSAGES_DLQ_URL SWITCHBOARD_ESCALATIONS_DLQ_URL SWITCHBOARD_KEY_PARAMETER; do
  [ -n "${!name:-}" ] || fail "aws-setup did not print $name"
done
# Running setup again keeps the deployment key (replacing it would orphan every conversation).
again=$(cli aws-setup --table "$run" --prefix "$run")
[ "$(echo "$again" | grep KEY_PARAMETER)" = "$(echo "$exports" | grep KEY_PARAMETER)" ] || fail "the key parameter moved"
# Output captured first: `grep -q` would close the pipe at its first match and the CLI's next
# line would die of SIGPIPE.
put=$(cli tenants-put demo 2>&1) || fail "tenants-put failed: $put"
grep -q "tenant demo: configuration and 4 seed customer profiles stored" <<<"$put" || fail "tenants-put: $put"
letters=$(cli dlq --queue escalations list 2>&1) || fail "dlq list failed: $letters"
grep -q "0 dead letters" <<<"$letters" || fail "dlq list: $letters"
# The cost report reads the ledger in the table: JSON for tools; a malformed month is refused.
report=$(cli costs --tenant demo --format json 2>&1) || fail "costs failed: $report"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["tenant"]=="demo" and r["total_nanos"]==sum(r["by_component"].values()), r' <<<"$report" \
  || fail "costs: $report"
if bad=$(cli costs --tenant demo --month 2026-13 2>&1); then fail "a bad month was accepted: $bad"; fi
grep -q "expected YYYY-MM" <<<"$bad" || fail "costs --month 2026-13: $bad"
# The operator's report of what no tenant is billed for (refused requests) reads its own partition.
refused=$(cli costs --refused --format json 2>&1) || fail "costs --refused failed: $refused"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["tenant"]=="_deployment", r' <<<"$refused" \
  || fail "costs --refused: $refused"
echo "cli check: 7 passed, 0 failed"
