#!/usr/bin/env bash
# The load benchmark (tests/load_bench.rs): distinct customer messages across three tenants and
# every channel, one in ten delivered twice, a long poll behind every web chat message, against
# `switchboard serve`'s embedded app and against the inbound function on DynamoDB Local and moto.
# Exits non-zero on any error or any message not answered exactly once; prints the figures.
#
#   scripts/load.sh                        # both, 10,000 messages each (docs/benchmarks.md's figures)
#   scripts/load.sh aws --messages 2000 --concurrency 64 --unanswered 200   # (200 is the default)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/local-aws.sh start)"
cargo build --release --locked -p switchboard-tests --bin load-bench
# stdout carries the functions' metric lines (CloudWatch EMF); the report is on stderr.
target/release/load-bench "$@" >/dev/null
