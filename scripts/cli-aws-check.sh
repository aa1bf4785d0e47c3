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
# Secrets written in a tenant file would sit in the table in plain text: refused unless asked
# (local servers, the demo, whose values are published).
if literal=$(cli tenants-put demo 2>&1); then fail "a tenant with literal secrets was stored: $literal"; fi
grep -q "these secrets are written in the file, not in SSM: channels.webchat.identity_secret" <<<"$literal" \
  || fail "tenants-put with literal secrets: $literal"
put=$(cli tenants-put --allow-literal-secrets demo 2>&1) || fail "tenants-put failed: $put"
grep -q "tenant demo: configuration and 4 seed customer profiles stored" <<<"$put" || fail "tenants-put: $put"
# A tenant naming an SSM parameter that does not exist is refused, the field named; stored once
# the parameter is there.
shop=$(mktemp --suffix .yaml)
trap 'rm -f "$shop"' EXIT
sed -e "s/^id: demo/id: ssm-$run/" -e "s|auth_token: demo-twilio-auth-token|auth_token: {ssm: /switchboard/ssm-$run/twilio-auth-token}|" \
  infra/tenants/demo.yaml >"$shop"
if missing=$(cli tenants-put --allow-literal-secrets "$shop" 2>&1); then fail "a tenant with a missing SSM parameter was stored: $missing"; fi
grep -q "channels.twilio.auth_token: SSM parameter /switchboard/ssm-$run/twilio-auth-token does not exist" <<<"$missing" \
  || fail "tenants-put with a missing parameter: $missing"
python3 - "$run" <<'PY' || fail "could not create the SSM parameter in moto"
import json, os, sys, urllib.request
body = json.dumps({"Name": f"/switchboard/ssm-{sys.argv[1]}/twilio-auth-token", "Value": "t0ken", "Type": "SecureString"}).encode()
req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL_SSM"], body, {"Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AmazonSSM.PutParameter", "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x"})
urllib.request.urlopen(req).read()
PY
stored=$(cli tenants-put --allow-literal-secrets "$shop" 2>&1) || fail "tenants-put after the parameter exists: $stored"
letters=$(cli dlq --queue escalations list 2>&1) || fail "dlq list failed: $letters"
grep -q "0 dead letters" <<<"$letters" || fail "dlq list: $letters"
# The cost report reads the ledger in the table: JSON for tools; a malformed month is refused.
report=$(cli costs --tenant demo --format json 2>&1) || fail "costs failed: $report"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["tenant"]=="demo" and r["total_nanos"]==sum(r["by_component"].values()), r' <<<"$report" \
  || fail "costs: $report"
if bad=$(cli costs --tenant demo --month 2026-13 2>&1); then fail "a bad month was accepted: $bad"; fi
grep -q "expected YYYY-MM" <<<"$bad" || fail "costs --month 2026-13: $bad"
# A cost owner's report needs no secret: it reads the ledger and the tenant's budget settings
# only, so it works with SSM out of reach (a tenant naming an SSM parameter included).
nossm=$(AWS_ENDPOINT_URL_SSM=http://127.0.0.1:9 cli costs --tenant "ssm-$run" --format json 2>&1) \
  || fail "costs needed SSM: $nossm"
rows=$(cli costs --tenant demo --format csv 2>&1) || fail "costs --format csv failed: $rows"
grep -q "^request_id,tenant,function,channel,conversation,intent,decision,at,cost_nanos" <<<"$rows" || fail "costs csv: $rows"
# Every tenant's month, with the stack's fixed lines, for whoever pays the AWS bill.
all=$(SWITCHBOARD_FIXED_MONTHLY=metrics=12,alarm_metrics=14,dashboards=1 cli costs --all --format json 2>&1) \
  || fail "costs --all failed: $all"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["fixed_nanos"]==8_000_000_000 and r["total_nanos"]==r["ledger_nanos"]+r["fixed_nanos"], r' <<<"$all" \
  || fail "costs --all: $all"
# The operator's report of what no tenant is billed for (refused requests) reads its own partition.
refused=$(cli costs --refused --format json 2>&1) || fail "costs --refused failed: $refused"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["tenant"]=="_deployment", r' <<<"$refused" \
  || fail "costs --refused: $refused"
echo "cli check: 13 passed, 0 failed"
