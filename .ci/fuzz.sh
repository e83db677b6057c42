#!/usr/bin/env bash
# CI step: builds the libFuzzer targets of tests/fuzz (every decoder of bytes
# from another rank; docs/fuzzing.md) with clang-16 and runs them over their
# committed corpora for 60 s in all, split evenly. Fails on any crash,
# sanitizer report (ASan, UBSan), leak, timeout or out-of-memory; the input
# that did it is left in <build>/fuzz-artifacts/<target>/. Installs nothing:
# needs clang-16 and libclang-rt-16-dev (plus what .ci/setup.sh installs).
#   RAYMPI_FUZZ_SECONDS  total fuzzing time (default 60)
#   RAYMPI_FUZZ_BUILD    build folder (default build-fuzz)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
total_s=${RAYMPI_FUZZ_SECONDS:-60}
build=${RAYMPI_FUZZ_BUILD:-build-fuzz}
targets=(messages objects startup timeline)

for tool in clang-16 clang++-16 cmake; do
  command -v "$tool" >/dev/null || {
    echo "fuzz: $tool not found; install it: apt-get install clang-16 libclang-rt-16-dev cmake" >&2
    exit 1
  }
done
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
  -DRAYMPI_BUILD_FUZZERS=ON -DRAYMPI_BUILD_TESTS=OFF -DRAYMPI_BUILD_EXAMPLES=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target raympi_fuzzers

per_target=$((total_s / ${#targets[@]}))
((per_target > 0)) || per_target=1
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)  # new inputs land here: the committed corpus stays as it is
  artifacts="$build/fuzz-artifacts/$t/"
  log="$build/fuzz-$t.log"
  mkdir -p "$artifacts"
  if "$build/fuzz_$t" -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    result=clean
  else
    result=FAILED
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz: $t: ${runs:-?} executions in ${per_target} s (${rate:-?}/s): $result"
  if [[ $result == FAILED ]]; then
    grep -E "ERROR|runtime error|raympi fuzz|what\(\)|#[0-9]+ 0x" "$log" | head -40 >&2 || tail -40 "$log" >&2
    echo "fuzz: $t: the failing input is in $artifacts (full log: $log); reproduce with $build/fuzz_$t <input>" >&2
  fi
  rm -rf "$work"
done
exit "$status"
