#!/usr/bin/env bash
# bench-micro.sh [benchmark flags...]: builds jose_bench in a separate Release tree without
# sanitizers (build/bench), runs it, and writes the figures into docs/benchmarks.md between the
# "jose-bench" markers (the rest of the file is left alone).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/bench}
# Explicit options: the tree may be shared with scripts/bench.sh, whose cache must not leak in.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOAUTHDEMO_SANITIZE=OFF -DOAUTHDEMO_FUZZ=OFF >/dev/null
ninja -C "$BUILD_DIR" jose_bench

raw=$("$BUILD_DIR"/bench/jose_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=1 "$@" 2>&1)
printf '%s\n' "$raw"

# Median CPU time per benchmark, in microseconds.
medians=$(printf '%s\n' "$raw" | awk '$1 ~ /_median$/ {
  name = $1; sub(/_median$/, "", name); v = $4; u = $5;
  if (u == "ns") v = v / 1000; else if (u == "ms") v = v * 1000;
  printf "%s %.2f\n", name, v }')
get() { printf '%s\n' "$medians" | awk -v n="$1" '$1 == n { print $2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.0f %%", (a / b - 1) * 100; else print "n/a" }'; }

# Table order (--benchmark_enable_random_interleaving shuffles the output).
order="BM_BareRsa2048Verify BM_BareRsa2048VerifyPreInit BM_BareRsa2048VerifyPkeyCtx BM_VerifySignatureRS256
  BM_VerifyJwtRS256 BM_DecodeAndClaimsRS256 BM_ParseClaimsStrict BM_ParseClaimsNlohmann BM_BareEs256Verify
  BM_VerifyJwtES256 BM_BareEd25519Verify BM_VerifyJwtEdDSA"
bare=$(get BM_BareRsa2048Verify); pre=$(get BM_BareRsa2048VerifyPreInit); full=$(get BM_VerifyJwtRS256)
es_bare=$(get BM_BareEs256Verify); es_full=$(get BM_VerifyJwtES256)
ed_bare=$(get BM_BareEd25519Verify); ed_full=$(get BM_VerifyJwtEdDSA)

block=$(cat <<EOT
<!-- jose-bench:begin (written by scripts/bench-micro.sh) -->
Measured $(date -u +%Y-%m-%d) on $(nproc) CPU(s), $(openssl version | cut -d' ' -f1-2), load average $(cut -d' ' -f1 /proc/loadavg) at the start.
Median CPU time of 5 repetitions:

| Benchmark | µs per op |
|---|---|
$(for n in $order; do v=$(get "$n"); [ -n "$v" ] && printf '| `%s` | %s |\n' "$n" "$v"; done)

| Comparison | Overhead |
|---|---|
| RS256 full validation vs bare RSA-2048 verify (fresh init per call) | $(ratio "$full" "$bare") |
| RS256 full validation vs bare RSA-2048 verify (pre-initialised context) | $(ratio "$full" "$pre") |
| ES256 full validation vs bare P-256 verify (fresh init) | $(ratio "$es_full" "$es_bare") |
| EdDSA full validation vs bare Ed25519 verify (fresh init) | $(ratio "$ed_full" "$ed_bare") |
<!-- jose-bench:end -->
EOT
)

doc=docs/benchmarks.md
mkdir -p docs
[ -f "$doc" ] || printf '# Benchmarks\n' >"$doc"
if ! grep -q '<!-- jose-bench:begin' "$doc"; then
  printf '\n## Micro-benchmark: RS256 validation vs bare OpenSSL verify\n\nCommand: `scripts/bench-micro.sh`.\n\n%s\n' \
    "$block" >>"$doc"
else
  tmp=$(mktemp)
  BLOCK="$block" awk '
    /<!-- jose-bench:begin/ { print ENVIRON["BLOCK"]; skip = 1; next }
    /<!-- jose-bench:end/ { skip = 0; next }
    !skip { print }' "$doc" >"$tmp"
  mv "$tmp" "$doc"
fi
echo "updated $doc"
