#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for a bounded time from the saved corpus. CI runs it with the default 30 s per target; run it
# for hours with a larger FUZZ_SECONDS. A crash leaves its input in $build/artifacts: copy it into
# tests/fuzz/corpus/<target>/ (so that every test run replays it) and fix the decoder.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CORRAL_FUZZ_BUILD_DIR:-$here/build-fuzz}"
seconds="${1:-${FUZZ_SECONDS:-30}}"
targets=(jute_stream capnp_stream log_entry segment_file snapshot_file)

echo "==> building the fuzz targets (clang, ASan + UBSan) in $build"
CC=clang CXX=clang++ cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DCORRAL_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  work="$(mktemp -d)"
  echo "==> fuzz_$t for $seconds s (seeds: tests/fuzz/corpus/$t)"
  if ! "$build/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "$work" "$here/tests/fuzz/corpus/$t" \
       2> "$build/fuzz_$t.log"; then
    echo "fuzz_$t FAILED; its input is in $build/artifacts, its report:" >&2
    tail -40 "$build/fuzz_$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/fuzz_$t.log" | tail -2
  fi
  rm -rf "$work"
done
exit $status
