#!/usr/bin/env bash
# Install what is needed, build from scratch and run the whole test suite:
#   1. gcc build, all tests (ctest)
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer, all tests
#   3. clang libFuzzer build of the frame decoder, run briefly
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

run() { # name, ctest filter, build target, cmake args...
  local dir="build-test-$1" filter="$2" target="$3"; shift 3
  echo "== $dir: $*"
  rm -rf "$dir"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" --target "$target"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -R "$filter")
}

run gcc . all -DCMAKE_C_COMPILER=gcc
[ "${1:-}" = "--quick" ] && exit 0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run asan . all -DCMAKE_C_COMPILER=clang -DZN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
run fuzz '^fuzz' fuzz_frame -DCMAKE_C_COMPILER=clang -DZN_SANITIZE=ON -DZN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
echo "all tests passed"
