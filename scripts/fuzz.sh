#!/usr/bin/env bash
# Fuzzes every parser and verifier that reads outside input (fuzz/, cargo-fuzz + libFuzzer).
#
#   scripts/fuzz.sh smoke [target…]    every target over its corpus, then 3 s of new inputs (CI)
#   scripts/fuzz.sh runs N [target…]   N executions per target; prints a Markdown table of counts
#
# Installs cargo-fuzz into .local/fuzz once. libFuzzer needs unstable compiler flags: the stable
# toolchain is told so with RUSTC_BOOTSTRAP, so no nightly toolchain is needed. Built without a
# sanitizer (safe Rust: a memory error would be in a dependency's unsafe code, and a 2–3× slower
# fuzzer finds less) and with debug assertions, so an overflow is a crash. A crash leaves its input
# in fuzz/artifacts/<target>/ and fails the run; it then becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .local/fuzz/bin/cargo-fuzz ]; then
  cargo install cargo-fuzz --version 0.13.2 --locked --root .local/fuzz --quiet
fi
export PATH=$PWD/.local/fuzz/bin:$PATH
export RUSTC_BOOTSTRAP=1

targets_all=$(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^switchboard-fuzz$')
mode=${1:-smoke}
shift || true
case $mode in
  # The smoke run is built unoptimised: it builds in half the time, and a few seconds of
  # fuzzing need no speed. The long runs are optimised.
  smoke) runs=-1; seconds=3; targets=${*:-$targets_all}; build=--dev ;;
  runs) runs=${1:?runs N}; shift; seconds=0; targets=${*:-$targets_all}; build=--release ;;
  *) echo "usage: scripts/fuzz.sh smoke | runs N [target…]" >&2; exit 2 ;;
esac

cargo fuzz build "$build" --sanitizer none --debug-assertions --fuzz-dir fuzz
# New inputs go to fuzz/target/corpus: the corpus in the repository holds the seeds and the
# minimised corpus (`cargo fuzz cmin`), not every input a run keeps.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '| target | executions | seconds | per second | edges covered | corpus | crashes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n' > "$scratch/table"
failed=0
for t in $targets; do
  mkdir -p "fuzz/target/corpus/$t" "fuzz/artifacts/$t"
  log=fuzz/target/$t-$mode.log
  start=$(date +%s)
  rc=0
  cargo fuzz run "$build" --sanitizer none --debug-assertions --fuzz-dir fuzz "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 > "$log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(sed -n 's/^#[0-9]*[[:space:]]*DONE.*corp: \([0-9]*\).*/\1/p' "$log" | tail -1)
  # Slow inputs are noted by libFuzzer too (slow-unit-*): only these are failures.
  crashes=$(find "fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "$took" "$(( ${execs:-0} / (took > 0 ? took : 1) ))" \
    "${cov:-?}" "${corpus:-?}" "$crashes" >> "$scratch/table"
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "fuzz: $t failed (exit $rc); its input is in fuzz/artifacts/$t/:" >&2
    grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5 >&2 || true
  fi
done
cat "$scratch/table"
exit "$failed"
