#!/usr/bin/env bash
# run_fuzzer.sh BINARY SEED_DIR WORK_DIR SECONDS: a bounded libFuzzer run that fails on any
# crash, leak or sanitizer report; prints libFuzzer's final statistics.
set -euo pipefail
bin=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
"$bin" -max_total_time="$seconds" -max_len=20000 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus"
