#!/usr/bin/env bash
# The deploy path as ops run it, without an AWS account: installs cargo-lambda, ziglang and
# aws-sam-cli from PyPI into .local/deploy (once), adds Rust's aarch64 target, validates the
# template with `sam validate --lint`, builds every function for arm64 as deployed
# (`sam build --beta-features`, BuildMethod rust-cargolambda: release builds linked with zig),
# and prints each function's bootstrap, architecture and size. The two functions that share the
# `inbound` binary are built once. A cold build takes about ten minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .local/deploy/bin/sam ] || [ ! -x .local/deploy/bin/cargo-lambda ]; then
  python3 -m venv .local/deploy
  .local/deploy/bin/pip install --quiet --disable-pip-version-check cargo-lambda ziglang aws-sam-cli
fi
export PATH=$PWD/.local/deploy/bin:$PATH
export SAM_CLI_TELEMETRY=0
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
# `scripts/deploy-check.sh install`: only the above (the test command does it while it compiles).
if [ "${1:-}" = install ]; then exit 0; fi

scripts/fetch-encoder.sh
cd infra
sam validate --lint
sam build --beta-features

fail() { echo "deploy check: $*" >&2; exit 1; }
# Each function's code directory in the built template (functions sharing a binary share one).
code_of() {
  awk -v want="  $1:" '$0 == want { inside = 1; next } /^  [A-Za-z]/ { inside = 0 } inside && /CodeUri:/ { print $2; exit }' \
    .aws-sam/build/template.yaml
}
built=0
for function in InboundFunction PollFunction ResponderFunction EscalationFunction; do
  code=$(code_of "$function")
  [ -n "$code" ] || fail "$function has no CodeUri in the built template"
  bootstrap=.aws-sam/build/$code/bootstrap
  [ -x "$bootstrap" ] || fail "$function: no bootstrap at infra/$bootstrap"
  file -b "$bootstrap" | grep -q 'ARM aarch64' || fail "$function: infra/$bootstrap is not arm64: $(file -b "$bootstrap")"
  printf '%-18s infra/%-44s arm64  %s bytes\n' "$function" "$bootstrap" "$(stat -c %s "$bootstrap")"
  built=$((built + 1))
done
# The layer has no BuildMethod: `sam build` leaves its folder where it is, the built template
# points there, and `sam deploy` zips it.
grep -A8 '^  EncoderLayer:' .aws-sam/build/template.yaml | grep -qE 'ContentUri:.*(\.local/encoder/layer|EncoderLayer)' \
  || fail "the built template has no EncoderLayer with the encoder's folder"
for file in encoder.bin encoder-en.bin; do
  layer=../.local/encoder/layer/switchboard/$file
  [ -s "$layer" ] || fail "the encoder layer has no switchboard/$file (scripts/fetch-encoder.sh makes it)"
  printf '%-18s %-50s        %s bytes\n' EncoderLayer "${layer#../}" "$(stat -Lc %s "$layer")"
done
echo "deploy check: $built functions built for arm64, and the encoder layer"
