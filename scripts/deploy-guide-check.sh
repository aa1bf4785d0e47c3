#!/usr/bin/env bash
# docs/deploy.md, run as written: every ```sh block marked `<!-- guide-check -->`, in order, in one
# shell, against a moto server of its own (a fresh account: no stack, no parameter). What moto
# cannot be is stood in for, and said here:
#   sam build   skipped (scripts/deploy-check.sh builds the same functions for arm64);
#   sam deploy  scripts/guide/sam_deploy_on_moto.py: the template transformed by aws-sam-translator
#               and created in moto's CloudFormation (no parameter constraints, IAM or quotas
#               checked, no API served);
#   switchboard the debug build with --features aws (the guide installs it with cargo install).
# Then checks what the guide promises: a wrong-region key is refused, the tenant is stored, the
# reports read. `scripts/deploy-guide-check.sh install` only installs (moto, aws-sam-translator and
# the AWS CLI from PyPI into .local/guide).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ ! -x .local/guide/bin/aws ] || ! .local/guide/bin/python -c 'import samtranslator, moto' 2>/dev/null; then
  python3 -m venv .local/guide
  .local/guide/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.6' aws-sam-translator awscli
fi
if [ "${1:-}" = install ]; then exit 0; fi

fail() { echo "deploy guide check: $*" >&2; exit 1; }
port=${SWITCHBOARD_GUIDE_MOTO_PORT:-8767}
mkdir -p .local/run
.local/guide/bin/moto_server -H 127.0.0.1 -p "$port" </dev/null >.local/run/guide-moto.log 2>&1 &
moto=$!
bin=$(mktemp -d)
trap 'kill $moto 2>/dev/null; rm -rf "$bin"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null || fail "moto did not start on :$port"

cargo build -q --locked -p switchboard-cli --features aws
target=${CARGO_TARGET_DIR:-target}
ln -s "$(cd "$target" && pwd)/debug/switchboard" "$bin/switchboard"
ln -s "$root/.local/guide/bin/aws" "$bin/aws"
cat >"$bin/sam" <<SAM
#!/usr/bin/env bash
case "\$1" in
  build) echo "sam build: skipped (scripts/deploy-check.sh builds the functions)" ;;
  deploy) shift; exec "$root/.local/guide/bin/python" "$root/scripts/guide/sam_deploy_on_moto.py" "\$@" ;;
  *) echo "sam \$1: not stood in for" >&2; exit 2 ;;
esac
SAM
chmod +x "$bin/sam"

# A fresh account: every service at this moto, nothing of the caller's AWS settings.
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_SSM AWS_PROFILE AWS_REGION \
  SWITCHBOARD_TABLE SWITCHBOARD_KEY_PARAMETER SWITCHBOARD_FIXED_MONTHLY
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=guide AWS_SECRET_ACCESS_KEY=guide
export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 PATH="$bin:$PATH"

# The guide's blocks, in order.
python3 - docs/deploy.md >"$bin/guide.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- guide-check -->\n```sh\n(.*?)```", text, re.S)
assert blocks, "no guide-check block in docs/deploy.md"
for i, block in enumerate(blocks, 1):
    print(f"echo '== guide block {i} of {len(blocks)}' >&2")
    print(block)
PY
blocks=$(grep -c '^echo .== guide block' "$bin/guide.sh")
# A key in the wrong region is what the guide warns of: preflight refuses it before the guide runs.
aws ssm put-parameter --region us-west-2 --type SecureString --name /switchboard/deployment-key --value elsewhere >/dev/null
if wrong=$(AWS_REGION=eu-west-1 switchboard preflight 2>&1); then fail "preflight accepted a key in another region: $wrong"; fi
grep -q "does not exist in eu-west-1" <<<"$wrong" || fail "preflight: $wrong"

out=$(bash -euo pipefail "$bin/guide.sh" 2>&1) || { echo "$out" >&2; fail "a block of docs/deploy.md failed (above)"; }
echo "$out" | grep -E '^(== guide block|sam deploy|preflight|tenant )' >&2 || true

# What the blocks promised.
grep -q "sam deploy (on moto): stack switchboard CREATE_COMPLETE" <<<"$out" || fail "the stack was not created: $out"
grep -q "tenant acme: configuration and 0 seed customer profiles stored" <<<"$out" || fail "the starter tenant was not stored: $out"
grep -q "0 dead letters" <<<"$out" || fail "dlq list: $out"
eval "$(AWS_REGION=eu-west-1 switchboard env --stack switchboard)"
[ "$AWS_REGION" = eu-west-1 ] || fail "env --stack gave region $AWS_REGION"
report=$(switchboard costs --tenant acme --format json) || fail "costs --tenant acme"
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["tenant"]=="acme" and r["budget"]["limit_nanos"]==25_000_000_000, r' <<<"$report" \
  || fail "costs --tenant acme: $report"
echo "deploy guide check: $blocks blocks of docs/deploy.md ran in order against moto; 4 checks passed"
