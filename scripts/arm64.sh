#!/usr/bin/env bash
# What ships, run as it ships: the arm64 bootstraps `sam build` made (infra/.aws-sam/build, by
# scripts/deploy-check.sh), with the environment the template gives them, answering the events in
# events/ — tests/deployed.rs with SWITCHBOARD_BOOTSTRAPS=sam — under Debian's qemu-aarch64-static
# (Graviton2's CPU features; the responder's encoder layer at /opt). Emulated timings are not
# performance figures. Expects scripts/local-aws.sh start's variables.
# `scripts/arm64.sh install`: only Debian's qemu-user-static and libc6:arm64 (idempotent; root).
# scripts/test.sh runs the same tests itself after the suite (no second build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/qemu-aarch64-static ] || [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  # One apt at a time: the test command installs chromium (scripts/browser-check.sh) at the same moment.
  flock /tmp/switchboard-apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive flock /tmp/switchboard-apt.lock \
    apt-get install -y -qq --no-install-recommends qemu-user-static libc6:arm64 libgcc-s1:arm64 >/dev/null
fi
if [ "${1:-}" = install ]; then exit 0; fi
[ -f infra/.aws-sam/build/template.yaml ] || { echo "arm64: no sam build output: run scripts/deploy-check.sh first" >&2; exit 1; }
SWITCHBOARD_BOOTSTRAPS=sam cargo test --workspace --locked --test integration deployed:: -- --test-threads 2
