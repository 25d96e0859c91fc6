#!/usr/bin/env bash
# The test command: bootstrap, configure, build (clang, ASan+UBSan, libFuzzer targets) and run
# every test with ctest. CI runs exactly this (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

BUILD_DIR=${BUILD_DIR:-build/test}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON

# Share ccache hits between clones and build dirs (paths are made relative to the checkout).
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true} CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DOAUTHDEMO_SANITIZE=ON -DOAUTHDEMO_FUZZ=ON -DOAUTHDEMO_WERROR="$werror" >/dev/null
cmake --build "$BUILD_DIR"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OAUTHDEMO_BUILD_DIR="$PWD/$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"
