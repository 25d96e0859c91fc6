#!/usr/bin/env bash
# Side-by-side benchmark: oauthdemo-apid against the seed's Express API (bench/reference-express), on loopback,
# loaded alternately by wrk with the same threads/connections/duration. Writes the section
# "Daemon vs Express reference" of docs/benchmarks.md and the chart docs/bench-connections.png.
# Then the uncached path against HAProxy 2.6's jwt_verify (scripts/lib/bench_uncached.sh, bench/haproxy/):
# the section "Uncached path vs HAProxy jwt_verify".
#
#   scripts/bench.sh [--quick] [-t THREADS] [-c CONNECTIONS] [-d DURATION] [--rounds N] [--sweep "1 16 64 256"]
#                    [--build-dir build/bench] [--no-build] [--express-only] [--out docs/benchmarks.md]
#                    [--png docs/bench-connections.png] [--keep-workdir] [--uncached-only] [--many 10000]
#
# Defaults: -t2 -c8 -d10s, 3 alternating rounds (median reported), sweep 1/16/64/256 connections.
# --quick: -d3s, 1 round, sweep "1 64", two token sizes: a sanity run (still writes the report, marked quick).
# --express-only: no C++ binaries; the key server doubles as issuer; measures the reference alone (development).
# --uncached-only: only the HAProxy section (no Express, no sweep); --many: distinct tokens of its many-tokens scenario.
# Binaries: built here (Release, no sanitizers) unless APID_BIN / DEVIDP_BIN / CLI_BIN point at existing ones.
# Every process it starts is stopped by PID on exit (trap EXIT INT TERM). Only 127.0.0.1 is ever contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0; THREADS=2; CONNS=8; DURATION=10s; ROUNDS=3; SWEEP="1 16 64 256"; SIZES="0,2048,4096,7168"
BUILD_DIR=build/bench; NO_BUILD=0; EXPRESS_ONLY=0; KEEP=0; UNCACHED_ONLY=0; MANY=10000
OUT=docs/benchmarks.md; PNG=docs/bench-connections.png
ROUNDS_SET=0; DURATION_SET=0; SWEEP_SET=0

die() { echo "bench: ERROR: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    -t|--threads) THREADS=$2; shift ;;
    -c|--connections) CONNS=$2; shift ;;
    -d|--duration) DURATION=$2; DURATION_SET=1; shift ;;
    --rounds) ROUNDS=$2; ROUNDS_SET=1; shift ;;
    --sweep) SWEEP=$2; SWEEP_SET=1; shift ;;
    --token-sizes) SIZES=$2; shift ;;
    --build-dir) BUILD_DIR=$2; shift ;;
    --no-build) NO_BUILD=1 ;;
    --express-only) EXPRESS_ONLY=1 ;;
    --out) OUT=$2; shift ;;
    --png) PNG=$2; shift ;;
    --keep-workdir) KEEP=1 ;;
    --uncached-only) UNCACHED_ONLY=1 ;;
    --many) MANY=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  [ "$DURATION_SET" = 1 ] || DURATION=3s
  [ "$ROUNDS_SET" = 1 ] || ROUNDS=1
  [ "$SWEEP_SET" = 1 ] || SWEEP="1 64"
  SIZES="0,4096"
  MANY=2000
fi
[ "$EXPRESS_ONLY" = 1 ] && [ "$UNCACHED_ONLY" = 1 ] && die "--express-only and --uncached-only exclude each other"
WARMUP=2s; [ "$QUICK" = 1 ] && WARMUP=1s
AUDIENCE=https://api.example.com

for tool in wrk node curl jq python3; do command -v "$tool" >/dev/null || die "$tool not found (scripts/bootstrap.sh installs it)"; done
command -v gnuplot >/dev/null || log "gnuplot not found: no chart (apt package gnuplot-nox)"
[ -d bench/reference-express/node_modules ] || (cd bench/reference-express && npm ci --no-audit --no-fund --loglevel=error)

# ---- processes: started here (cwd = work dir W, so no stray .env is read, log W/NAME.log), stopped here, by PID ----
# shellcheck source=lib/processes.sh
. scripts/lib/processes.sh
PROC_KEEP_DIR=$KEEP
proc_init bench
W=$PROC_DIR
# wait_ready NAME FILE : the process started as NAME has written its ready file FILE (60 s deadline)
wait_ready() { proc_wait_ready "$1" "$2" || die "$1 did not get ready"; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

# ---- binaries ----
APID=${APID_BIN:-}; DEVIDP=${DEVIDP_BIN:-}; CLI=${CLI_BIN:-}
if [ "$EXPRESS_ONLY" = 0 ]; then
  if [ -z "$APID" ] || [ -z "$DEVIDP" ]; then
    if [ "$NO_BUILD" = 0 ]; then
      log "building Release binaries in $BUILD_DIR"
      launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
      compiler=(); command -v clang++ >/dev/null && compiler=(-DCMAKE_CXX_COMPILER=clang++)
      cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" "${compiler[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DOAUTHDEMO_SANITIZE=OFF -DOAUTHDEMO_FUZZ=OFF -DOAUTHDEMO_WERROR=OFF >"$W/cmake.log" 2>&1 \
        || { tail -30 "$W/cmake.log" >&2; die "cmake failed"; }
      targets=()
      for t in oauthdemo-apid oauthdemo-devidp oauthdemo; do
        ninja -C "$BUILD_DIR" -t query "$t" >/dev/null 2>&1 && targets+=("$t")
      done
      [ ${#targets[@]} -gt 0 ] || die "no oauthdemo targets in this tree yet (use --express-only)"
      ninja -C "$BUILD_DIR" "${targets[@]}" >"$W/build.log" 2>&1 || { tail -40 "$W/build.log" >&2; die "build failed"; }
    fi
    find_bin() { find "$BUILD_DIR/src" -maxdepth 3 -type f -name "$1" -perm -u+x 2>/dev/null | head -1; }
    [ -n "$APID" ] || APID=$(find_bin oauthdemo-apid)
    [ -n "$DEVIDP" ] || DEVIDP=$(find_bin oauthdemo-devidp)
    [ -n "$CLI" ] || CLI=$(find_bin oauthdemo)
  fi
  APID=$(realpath "$APID" 2>/dev/null || true); DEVIDP=$(realpath "$DEVIDP" 2>/dev/null || true)
  if [ -n "$CLI" ]; then CLI=$(realpath "$CLI"); fi
  [ -x "$APID" ] || die "oauthdemo-apid binary not found (APID_BIN, or build it; --express-only measures the reference alone)"
  [ -x "$DEVIDP" ] || die "oauthdemo-devidp binary not found (DEVIDP_BIN)"
fi

# ---- the servers ----
RESULTS=$W/results.jsonl; : >"$RESULTS"
META=$W/meta.env; : >"$META"
echo "LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"
declare -A SRV_PID SRV_URL
ISSUER=""
if [ "$EXPRESS_ONLY" = 0 ]; then
  export DEVIDP_CI_CLIENT_SECRET
  DEVIDP_CI_CLIENT_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  proc_start devidp "$DEVIDP" --host 127.0.0.1 --port 0 --ready-file "$W/devidp.json" --log-level warn
  wait_ready devidp "$W/devidp.json"
  ISSUER=$(jq -r '.issuer // .url' "$W/devidp.json")
  DEVIDP_JWKS=$(curl -fsS "${ISSUER}.well-known/openid-configuration" | jq -r .jwks_uri)
  log "devidp: issuer $ISSUER"
  # A valid access token by client credentials (never printed; kept in a 0600 file for wrk's Lua script).
  (umask 077; curl -fsS -X POST "${ISSUER}oauth/token" \
      --data-urlencode grant_type=client_credentials --data-urlencode client_id=oauthdemo-ci \
      --data-urlencode "client_secret=$DEVIDP_CI_CLIENT_SECRET" --data-urlencode "audience=$AUDIENCE" \
    | jq -er .access_token >"$W/token-devidp.txt") || die "could not mint a token at the devidp (client credentials)"
  unset DEVIDP_CI_CLIENT_SECRET
  proc_start keyserver node "$ROOT/bench/reference-express/bench-keyserver.mjs" --ready-file "$W/keys.json" \
    --issuer "$ISSUER" --audience "$AUDIENCE" --tokens-dir "$W" --keys 50 --include-jwks "$DEVIDP_JWKS" --token-sizes "$SIZES" \
    --many "$MANY"
  proc_wait_ready keyserver "$W/keys.json" 300 || die "keyserver did not get ready (key generation and token minting; 300 s)"
else
  proc_start keyserver node "$ROOT/bench/reference-express/bench-keyserver.mjs" --ready-file "$W/keys.json" \
    --audience "$AUDIENCE" --tokens-dir "$W" --keys 50 --token-sizes "$SIZES"
  proc_wait_ready keyserver "$W/keys.json" 300 || die "keyserver did not get ready (key generation and token minting; 300 s)"
  ISSUER=$(jq -r .issuer "$W/keys.json")
  DEVIDP_JWKS=$(jq -r .jwks_1 "$W/keys.json")
  cp "$W/token-0.txt" "$W/token-devidp.txt"
fi
JWKS_1=$(jq -r .jwks_1 "$W/keys.json"); JWKS_N=$(jq -r .jwks_n "$W/keys.json")

# Servers start with SRV_PREFIX and wrk runs with WRK_PREFIX (both empty: every process shares
# every CPU; the "isolated" scenario pins them apart with taskset).
SRV_PREFIX=(); WRK_PREFIX=()
# start_apid NAME [ENV=V...] -- [FLAGS...]
start_apid() {
  local name=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  proc_start "$name" "${SRV_PREFIX[@]}" env "${envs[@]}" "$APID" --host 127.0.0.1 --port 0 --ready-file "$W/$name.json" \
    --issuer "$ISSUER" --audience "$AUDIENCE" "$@"
  wait_ready "$name" "$W/$name.json"
  SRV_PID[$name]=$(jq -r .pid "$W/$name.json"); SRV_URL[$name]="http://127.0.0.1:$(jq -r .port "$W/$name.json")"
}
# start_express NAME JWKS_URI
start_express() {
  local name=$1 jwks=$2
  proc_start "$name" "${SRV_PREFIX[@]}" env NODE_ENV=production BACKEND_PORT=0 READY_FILE="$W/$name.json" ISSUER_BASE_URL="$ISSUER" \
    API_AUDIENCE="$AUDIENCE" JWKS_URI="$jwks" node "$ROOT/bench/reference-express/server.js"
  wait_ready "$name" "$W/$name.json"
  SRV_PID[$name]=$(jq -r .pid "$W/$name.json"); SRV_URL[$name]="http://127.0.0.1:$(jq -r .port "$W/$name.json")"
}

cat >"$W/bench.lua" <<'LUA'
local tokenfile = os.getenv("BENCH_TOKEN_FILE")
if tokenfile ~= nil and tokenfile ~= "" then
  local f = assert(io.open(tokenfile, "r"))
  local t = f:read("*l")
  f:close()
  wrk.headers["Authorization"] = "Bearer " .. t
  if os.getenv("BENCH_JUNK") == "1" then
    -- Distinct bad signatures: the first 8 characters of the signature replaced by random base64url ones
    -- (still a well-formed token with a known kid, so only the signature check can refuse it).
    local head, sig = t:match("^(.*%.)(.*)$")
    local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
    local rest = sig:sub(9)
    request = function()
      local p = {}
      for i = 1, 8 do local r = math.random(1, 64); p[i] = alphabet:sub(r, r) end
      wrk.headers["Authorization"] = "Bearer " .. head .. table.concat(p) .. rest
      return wrk.format()
    end
  end
end
local manyfile = os.getenv("BENCH_TOKENS_FILE")
if manyfile ~= nil and manyfile ~= "" then
  -- Round-robin over distinct tokens; each wrk thread starts at its own offset.
  local list = {}
  for line in io.lines(manyfile) do if line ~= "" then list[#list + 1] = "Bearer " .. line end end
  local n, i = #list, 0
  setup = function(thread) thread:set("offset", math.floor(math.random() * n)) end
  init = function() i = tonumber(offset) or 0 end
  request = function()
    i = i % n + 1
    wrk.headers["Authorization"] = list[i]
    return wrk.format()
  end
end
done = function(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_RESULT_FILE"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"connect_err":%d,"read_err":%d,"write_err":%d,"status_err":%d,"timeout_err":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  out:close()
end
LUA

# load SCENARIO SERVER_KIND INSTANCE PATH TOKEN_FILE|- CONNECTIONS [DURATION] : one wrk run, appended to RESULTS
load() {
  local scenario=$1 kind=$2 inst=$3 path=$4 tokfile=$5 conns=$6 dur=${7:-$DURATION}
  local pid=${SRV_PID[$inst]} url=${SRV_URL[$inst]}$4 t=$THREADS
  [ "$t" -le "$conns" ] || t=$conns
  [ "$tokfile" = - ] && tokfile=""
  kill -0 "$pid" 2>/dev/null || die "$inst (pid $pid) is not running"
  local c0 c1; c0=$(cpu_ticks "$pid")
  BENCH_TOKEN_FILE=$tokfile BENCH_RESULT_FILE=$W/wrk.json \
    "${WRK_PREFIX[@]}" wrk -t"$t" -c"$conns" -d"$dur" --latency --timeout 10s -s "$W/bench.lua" "$url" >"$W/wrk.out" 2>&1 \
    || { cat "$W/wrk.out" >&2; die "wrk failed against $inst"; }
  c1=$(cpu_ticks "$pid")
  [ -z "$scenario" ] && return 0   # warm-up
  jq -c --arg s "$scenario" --arg k "$kind" --arg i "$inst" --arg p "$path" --argjson c "$conns" \
    --argjson cpu "$(( c1 - c0 ))" --argjson tck "$CLK_TCK" --argjson hwm "$(hwm_kib "$pid")" \
    '. + {scenario:$s, server:$k, instance:$i, path:$p, conns:$c, cpu_ticks:$cpu, clk_tck:$tck, hwm_kib:$hwm}' \
    "$W/wrk.json" >>"$RESULTS"
  local rps; rps=$(jq -r '(.requests / (.duration_us / 1e6)) | floor' "$W/wrk.json")
  log "  $scenario $kind c=$conns: $rps req/s, p99 $(jq -r '.p99_us/1000' "$W/wrk.json") ms, non-2xx $(jq -r .status_err "$W/wrk.json")"
}
warm() { load "" "" "$1" "$2" "$3" "$CONNS" "$WARMUP"; }
# interleave SPEC... : ROUNDS rounds, each running every SPEC once, apid then Express
# (SPEC = "SCENARIO|APID_INST|EXPRESS_INST|PATH_APID|PATH_EXPRESS|TOKEN|CONNS", an empty instance is
# skipped). Scenarios compared with each other share rounds, so a drift in the machine's speed
# (other tenants of a VM) hits them alike instead of one of them.
interleave() {
  local spec sc a e pa pe tok c
  for _ in $(seq "$ROUNDS"); do
    for spec in "$@"; do
      IFS='|' read -r sc a e pa pe tok c <<<"$spec"
      if [ -n "$a" ]; then load "$sc" apid "$a" "$pa" "$tok" "$c"; fi
      if [ -n "$e" ]; then load "$sc" express "$e" "$pe" "$tok" "$c"; fi
    done
  done
}
# pair SCENARIO APID_INST EXPRESS_INST PATH_APID PATH_EXPRESS TOKEN CONNS : one scenario's rounds
pair() { interleave "$1|$2|$3|$4|$5|$6|$7"; }

# shellcheck source=lib/bench_uncached.sh
. scripts/lib/bench_uncached.sh
# uncached_section : the HAProxy scenarios and their report section
uncached_section() {
  uncached_bench
  {
    echo "LOAD_END_UNCACHED=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "NPROC=$(nproc)"; echo "CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "OPENSSL=$(openssl version 2>/dev/null | awk '{print $2}')"
    echo "GIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
    echo "DATE_UNCACHED=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "THREADS=$THREADS"; echo "CONNS=$CONNS"; echo "DURATION=$DURATION"; echo "ROUNDS=$ROUNDS"; echo "QUICK=$QUICK"
  } >>"$META"
  python3 scripts/lib/bench_uncached_report.py "$W/uncached.jsonl" "$META" "$OUT"
}
if [ "$UNCACHED_ONLY" = 1 ]; then
  uncached_section
  log "report: $OUT (section 'Uncached path vs HAProxy jwt_verify')"
  errors=$(jq -s 'map(select(.scenario != "junk-flood") | .status_err + .connect_err + .read_err + .write_err + .timeout_err) | add // 0' "$W/uncached.jsonl")
  [ "$errors" = 0 ] || die "$errors errors during the load runs (see the report)"
  exit 0
fi

# Scenario servers: default pair (devidp keys), cache off, 1-key and 50-key sets (key server tokens).
EX=express; EX1=express-k1; EXN=express-k50
start_express "$EX" "$DEVIDP_JWKS"
start_express "$EX1" "$JWKS_1"
start_express "$EXN" "$JWKS_N"
AP=""; AP0=""; AP1=""; APN=""; APL=""
if [ "$EXPRESS_ONLY" = 0 ]; then
  AP=apid; AP0=apid-nocache; AP1=apid-k1; APN=apid-k50; APL=apid-nolog
  start_apid "$AP"
  start_apid "$AP0" TOKEN_CACHE=off --
  start_apid "$APL" ACCESS_LOG=off --
  start_apid "$AP1" -- --jwks-uri "$JWKS_1"
  start_apid "$APN" -- --jwks-uri "$JWKS_N"
fi
TOK=$W/token-devidp.txt; TOK0=$W/token-0.txt
# Sanity: every server answers 200 with the seed message before any load.
for inst in "$AP" "$AP0" "$APL" "$EX" "$AP1" "$APN" "$EX1" "$EXN"; do
  [ -n "$inst" ] || continue
  tok=$TOK; case "$inst" in *-k1|*-k50) tok=$TOK0 ;; esac
  body=$(printf 'Authorization: Bearer %s\n' "$(cat "$tok")" | curl -sS -H @- "${SRV_URL[$inst]}/hello") \
    || die "$inst: /hello failed"
  [ "$(jq -r .message <<<"$body" 2>/dev/null)" = "Hello! Your token is valid." ] \
    || die "$inst: /hello did not accept the token: $(jq -c 'del(.user)' <<<"$body" 2>/dev/null || echo "$body" | head -c 200)"
done
log "all servers accept the tokens; warming up"
for inst in "$AP" "$AP0" "$APL" "$AP1" "$APN"; do [ -n "$inst" ] || continue
  tok=$TOK; case "$inst" in *-k1|*-k50) tok=$TOK0 ;; esac; warm "$inst" /hello "$tok"; done
for inst in "$EX" "$EX1" "$EXN"; do
  tok=$TOK; case "$inst" in *-k1|*-k50) tok=$TOK0 ;; esac; warm "$inst" /hello "$tok"; done
if [ -n "$AP" ]; then warm "$AP" /healthz -; fi
warm "$EX" /noauth -

log "measuring: -t$THREADS -c$CONNS -d$DURATION, $ROUNDS round(s)"
# unauth-hdr: the unauthenticated routes sent the same Authorization header (ignored there): the
# HTTP stack then parses identical requests, so the difference to /hello is the authentication alone.
interleave "hello|$AP|$EX|/hello|/hello|$TOK|$CONNS" "unauth|$AP|$EX|/healthz|/noauth|-|$CONNS" \
  "unauth-hdr|$AP|$EX|/healthz|/noauth|$TOK|$CONNS" "nocache|$AP0||/hello|/hello|$TOK|$CONNS" \
  "nolog|$APL||/hello|/hello|$TOK|$CONNS"
# Peak RSS at the default load, before the connection sweep inflates it.
for inst in "$AP" "$AP0" "$EX"; do
  if [ -n "$inst" ]; then echo "HWM_DEFAULT_$inst=$(hwm_kib "${SRV_PID[$inst]}")" | tr - _ >>"$META"; fi
done
for c in $SWEEP; do pair "conns" "$AP" "$EX" /hello /hello "$TOK" "$c"; done
pair keys1 "$AP1" "$EX1" /hello /hello "$TOK0" "$CONNS"
pair keys50 "$APN" "$EXN" /hello /hello "$TOK0" "$CONNS"
for s in ${SIZES//,/ }; do
  [ "$s" = 0 ] && continue
  pair "size-$s" "$AP1" "$EX1" /hello /hello "$W/token-$s.txt" "$CONNS"
done
# The load generator on CPUs of its own (half of them; at least 2 CPUs): each server gets the same
# other half, where the daemon's default loop count follows its affinity mask. Here p99 is the
# servers' latency, not the time wrk and the server spend taking CPUs from each other.
mapfile -t CPU_IDS < <(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status | tr ',' '\n' |
  awk -F- '{ if (NF == 2) { for (i = $1; i <= $2; i++) print i } else print $1 }')
ISO_SERVER_CPUS=""; ISO_WRK_CPUS=""
if [ "${#CPU_IDS[@]}" -ge 2 ]; then
  half=$(( ${#CPU_IDS[@]} / 2 ))
  ISO_SERVER_CPUS=$(IFS=,; echo "${CPU_IDS[*]:0:$half}"); ISO_WRK_CPUS=$(IFS=,; echo "${CPU_IDS[*]:$half}")
  log "isolated load generator: servers on CPU(s) $ISO_SERVER_CPUS, wrk on CPU(s) $ISO_WRK_CPUS"
  SRV_PREFIX=(taskset -c "$ISO_SERVER_CPUS")
  if [ -n "$AP" ]; then start_apid apid-iso; fi
  start_express express-iso "$DEVIDP_JWKS"
  SRV_PREFIX=(); WRK_PREFIX=(taskset -c "$ISO_WRK_CPUS")
  if [ -n "$AP" ]; then warm apid-iso /hello "$TOK"; fi
  warm express-iso /hello "$TOK"
  interleave "isolated|${AP:+apid-iso}|express-iso|/hello|/hello|$TOK|$CONNS" \
    "isolated-unauth|${AP:+apid-iso}|express-iso|/healthz|/noauth|-|$CONNS"
  WRK_PREFIX=()
  for inst in apid-iso express-iso; do
    if [ -n "${SRV_PID[$inst]:-}" ]; then echo "HWM_END_$inst=$(hwm_kib "${SRV_PID[$inst]}")" | tr - _ >>"$META"; fi
  done
  echo "ISO_SERVER_CPUS=$ISO_SERVER_CPUS" >>"$META"; echo "ISO_WRK_CPUS=$ISO_WRK_CPUS" >>"$META"
  if [ -n "${SRV_PID[apid-iso]:-}" ]; then
    echo "ISO_APID_LOOPS=$(grep -o '[0-9]* event loop' "$W/apid-iso.log" 2>/dev/null | head -1 | awk '{print $1}')" >>"$META"
  fi
fi
for inst in "$AP" "$AP0" "$APL" "$EX" "$AP1" "$APN" "$EX1" "$EXN"; do
  if [ -n "$inst" ]; then echo "HWM_END_$inst=$(hwm_kib "${SRV_PID[$inst]}")" | tr - _ >>"$META"; fi
done

if [ "$EXPRESS_ONLY" = 0 ]; then uncached_section; fi

# CLI start-up (hyperfine), when the CLI exists.
HF=""
if [ -n "$CLI" ] && [ -x "$CLI" ] && command -v hyperfine >/dev/null && [ -n "$AP" ]; then
  log "CLI start-up with hyperfine"
  mkdir -p "$W/home" "$W/cfg"
  runs=100; [ "$QUICK" = 1 ] && runs=30
  if (cd "$W" && env HOME="$W/home" XDG_CONFIG_HOME="$W/cfg" OAUTHDEMO_ACCESS_TOKEN="$(cat "$TOK")" \
        ISSUER_BASE_URL="$ISSUER" AUTH0_CLIENT_ID=oauthdemo-cli API_AUDIENCE="$AUDIENCE" API_BASE_URL="${SRV_URL[$AP]}" \
        hyperfine -N --warmup 5 --runs "$runs" --export-json "$W/hyperfine.json" \
          "$CLI token show --raw" "$CLI --help" "$CLI call-api /hello" >"$W/hyperfine.out" 2>&1); then
    HF=$W/hyperfine.json
  else
    log "hyperfine failed (CLI start-up not reported):"; tail -15 "$W/hyperfine.out" >&2
  fi
fi

# ---- machine description ----
{
  echo "LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "NPROC=$(nproc)"
  echo "CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "KERNEL=$(uname -sr)"
  echo "NODE=$(node --version)"
  echo "WRK=$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  echo "OPENSSL=$(openssl version 2>/dev/null | awk '{print $2}')"
  echo "CXX=$( (clang++ --version 2>/dev/null || g++ --version) | head -1)"
  echo "GIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "DATE=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "REF_VERSIONS=$(cd bench/reference-express && node -e 'const l=require("./package-lock.json").packages;console.log(["express","express-jwt","jwks-rsa","jsonwebtoken","cors"].map(n=>n+" "+l["node_modules/"+n].version).join(", "))')"
  echo "HYPERFINE=$(hyperfine --version 2>/dev/null | awk '{print $2}')"
  echo "THREADS=$THREADS"; echo "CONNS=$CONNS"; echo "DURATION=$DURATION"; echo "ROUNDS=$ROUNDS"; echo "QUICK=$QUICK"
  echo "EXPRESS_ONLY=$EXPRESS_ONLY"; echo "SWEEP=$SWEEP"
  echo "TOKEN_BYTES_DEVIDP=$(tr -d '\n' <"$TOK" | wc -c)"
  echo "TOKEN_SIZES=$(jq -c '.tokens | with_entries(.value = .value.bytes)' "$W/keys.json")"
} >>"$META"

python3 - "$RESULTS" "$META" "$OUT" "$W/conns.dat" "${HF:-none}" <<'PY'
import json, os, re, statistics, sys
results_file, meta_file, out_file, dat_file, hf_file = sys.argv[1:6]
rows = [json.loads(l) for l in open(results_file) if l.strip()]
meta = {}
for line in open(meta_file):
    k, _, v = line.rstrip("\n").partition("=")
    meta[k] = v

def agg(scenario, server, conns=None):
    rs = [r for r in rows if r["scenario"] == scenario and r["server"] == server and (conns is None or r["conns"] == conns)]
    if not rs:
        return None
    rps = [r["requests"] / (r["duration_us"] / 1e6) for r in rs]
    cpu10k = [r["cpu_ticks"] / r["clk_tck"] / max(r["requests"], 1) * 10000 for r in rs]
    errs = sum(r["status_err"] + r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] for r in rs)
    return {
        "rps": statistics.median(rps), "p50": statistics.median(r["p50_us"] for r in rs) / 1000,
        "p99": statistics.median(r["p99_us"] for r in rs) / 1000, "cpu10k": statistics.median(cpu10k),
        "hwm": max(r["hwm_kib"] for r in rs) / 1024, "errors": errs, "n": len(rs), "requests": sum(r["requests"] for r in rs),
    }

conns_default = int(meta["CONNS"])
def fmt(v, d=0):
    return "–" if v is None else f"{v:,.{d}f}"
def ratio(a, b, key, inv=False):
    if not a or not b or not b[key] or not a[key]:
        return None
    return b[key] / a[key] if inv else a[key] / b[key]

A = agg("hello", "apid"); E = agg("hello", "express")
UA = agg("unauth", "apid"); UE = agg("unauth", "express"); N0 = agg("nocache", "apid")
UHA = agg("unauth-hdr", "apid"); UHE = agg("unauth-hdr", "express"); NL = agg("nolog", "apid")
hwm_a = float(meta.get("HWM_DEFAULT_apid", 0) or 0) / 1024 or None
hwm_e = float(meta.get("HWM_DEFAULT_express", 0) or 0) / 1024 or None
lines = []
P = lines.append
P("## Daemon vs Express reference")
P("")
P("Produced by `scripts/bench.sh%s` on %s (commit %s). Both servers run on 127.0.0.1 with the same issuer, audience and RS256 tokens; "
  "wrk (same machine, same cores) loads them alternately with the same threads, connections and duration; each figure is the median of %s round(s)."
  % (" --quick" if meta["QUICK"] == "1" else "", meta["DATE"], meta["GIT"], meta["ROUNDS"]))
if meta["QUICK"] == "1":
    P("")
    P("**Quick sanity run** (short durations, one round): indicative only; rerun `scripts/bench.sh` for the reference figures.")
if meta["EXPRESS_ONLY"] == "1":
    P("")
    P("**Express-only run**: the C++ binaries were not used; only the reference's figures are meaningful.")
P("")
P("Machine: %s CPU(s), %s; %s. Tools: wrk %s, Node.js %s, OpenSSL %s, %s, hyperfine %s. Reference: %s (NODE_ENV=production, started as `node server.js`, i.e. `npm start`)."
  % (meta["NPROC"], meta["CPU"], meta["KERNEL"], meta["WRK"], meta["NODE"], meta["OPENSSL"], meta["CXX"], meta["HYPERFINE"], meta["REF_VERSIONS"]))
P("")
P("Load average (1/5/15 min) at the start: %s; at the end: %s (other work on the machine skews every figure; the ratios come from alternating runs)." % (meta["LOAD_START"], meta["LOAD_END"]))
P("")
P("Load: `wrk -t%s -c%s -d%s --latency` (threads capped at the connection count); the daemon with its default configuration "
  "(verified-token cache on), tokens from the dev authorization server (client credentials, %s bytes) unless noted." % (meta["THREADS"], meta["CONNS"], meta["DURATION"], meta["TOKEN_BYTES_DEVIDP"]))
P("")
P("### Headline (valid RS256 token, GET /hello, %d connections)" % conns_default)
P("")
P("| | oauthdemo-apid | Express reference | ratio | target |")
P("|---|---:|---:|---:|---|")
def target(ok):
    return "" if ok is None else ("met" if ok else "**not met**")
r_rps = ratio(A, E, "rps"); r_p99 = ratio(A, E, "p99", inv=True); r_cpu = ratio(A, E, "cpu10k", inv=True)
r_rss = (hwm_e / hwm_a) if (hwm_a and hwm_e) else None
P("| requests/s | %s | %s | %s× | ≥ 12× %s |" % (fmt(A and A["rps"]), fmt(E and E["rps"]), fmt(r_rps, 1), target(None if r_rps is None else r_rps >= 12)))
P("| p50 latency (ms) | %s | %s | 1/%s | |" % (fmt(A and A["p50"], 3), fmt(E and E["p50"], 3), fmt(ratio(A, E, "p50", inv=True), 1)))
P("| p99 latency (ms) | %s | %s | 1/%s | ≤ 1/5 %s |" % (fmt(A and A["p99"], 3), fmt(E and E["p99"], 3), fmt(r_p99, 1), target(None if r_p99 is None else r_p99 >= 5)))
P("| CPU seconds per 10k requests | %s | %s | 1/%s | |" % (fmt(A and A["cpu10k"], 3), fmt(E and E["cpu10k"], 3), fmt(r_cpu, 1)))
P("| peak RSS (MiB, VmHWM) | %s | %s | 1/%s | ≤ 1/5 %s |" % (fmt(hwm_a, 1), fmt(hwm_e, 1), fmt(r_rss, 1), target(None if r_rss is None else r_rss >= 5)))
if N0:
    r0 = ratio(N0, E, "rps")
    P("| requests/s, daemon's token cache off | %s | %s | %s× | ≥ 7× %s |" % (fmt(N0["rps"]), fmt(E and E["rps"]), fmt(r0, 1), target(None if r0 is None else r0 >= 7)))
    P("| p99 (ms), daemon's token cache off | %s | %s | 1/%s | |" % (fmt(N0["p99"], 3), fmt(E and E["p99"], 3), fmt(ratio(N0, E, "p99", inv=True), 1)))
    P("| CPU s per 10k, daemon's token cache off | %s | %s | 1/%s | |" % (fmt(N0["cpu10k"], 3), fmt(E and E["cpu10k"], 3), fmt(ratio(N0, E, "cpu10k", inv=True), 1)))
P("")
P("### Authentication cost on the same server")
P("")
P("| | authenticated GET /hello req/s | unauthenticated route req/s | /hello as share of unauthenticated | target |")
P("|---|---:|---:|---:|---|")
if A and UA:
    s = A["rps"] / UA["rps"]
    P("| oauthdemo-apid (/healthz) | %s | %s | %.0f%% | ≥ 90%% %s |" % (fmt(A["rps"]), fmt(UA["rps"]), 100 * s, target(s >= 0.9)))
if E and UE:
    P("| Express reference (/noauth) | %s | %s | %.0f%% | |" % (fmt(E["rps"]), fmt(UE["rps"]), 100 * E["rps"] / UE["rps"]))
if A and UHA:
    s = A["rps"] / UHA["rps"]
    P("| oauthdemo-apid (/healthz sent the same Authorization header) | %s | %s | %.0f%% | (same request bytes) %s |" % (fmt(A["rps"]), fmt(UHA["rps"]), 100 * s, target(s >= 0.9)))
if E and UHE:
    P("| Express reference (/noauth sent the same Authorization header) | %s | %s | %.0f%% | |" % (fmt(E["rps"]), fmt(UHE["rps"]), 100 * E["rps"] / UHE["rps"]))
P("")
if A and NL:
    P("Access log: GET /hello with `ACCESS_LOG=off` %s req/s (p99 %s ms) against %s req/s (p99 %s ms) with the default `on`: the log line costs %.0f%% of the throughput."
      % (fmt(NL["rps"]), fmt(NL["p99"], 3), fmt(A["rps"]), fmt(A["p99"], 3), 100 * (1 - A["rps"] / NL["rps"])))
    P("")
IA = agg("isolated", "apid"); IE = agg("isolated", "express")
IUA = agg("isolated-unauth", "apid"); IUE = agg("isolated-unauth", "express")
if IA or IE:
    loops = meta.get("ISO_APID_LOOPS") or "?"
    P("### Load generator on CPUs of its own")
    P("")
    P("The same load with wrk pinned to CPU(s) %s and each server to CPU(s) %s (`taskset`), the daemon with its default "
      "configuration (which follows its affinity mask: %s event loop(s)). In the runs above, wrk's threads and the servers "
      "take the same CPUs from each other, and a request waits whenever the process that must act next is not running: "
      "at saturation that scheduling, not the server, makes the tail. Here the p99 is the servers' own."
      % (meta.get("ISO_WRK_CPUS", "?"), meta.get("ISO_SERVER_CPUS", "?"), loops))
    P("")
    P("| | oauthdemo-apid | Express reference | ratio | target |")
    P("|---|---:|---:|---:|---|")
    ir = ratio(IA, IE, "rps"); ip = ratio(IA, IE, "p99", inv=True)
    P("| requests/s | %s | %s | %s× | ≥ 12× %s |" % (fmt(IA and IA["rps"]), fmt(IE and IE["rps"]), fmt(ir, 1), target(None if ir is None else ir >= 12)))
    P("| p50 latency (ms) | %s | %s | 1/%s | |" % (fmt(IA and IA["p50"], 3), fmt(IE and IE["p50"], 3), fmt(ratio(IA, IE, "p50", inv=True), 1)))
    P("| p99 latency (ms) | %s | %s | 1/%s | ≤ 1/5 %s |" % (fmt(IA and IA["p99"], 3), fmt(IE and IE["p99"], 3), fmt(ip, 1), target(None if ip is None else ip >= 5)))
    P("| CPU seconds per 10k requests | %s | %s | 1/%s | |" % (fmt(IA and IA["cpu10k"], 3), fmt(IE and IE["cpu10k"], 3), fmt(ratio(IA, IE, "cpu10k", inv=True), 1)))
    if IA and IUA:
        sh = IA["rps"] / IUA["rps"]
        P("| /hello as share of the unauthenticated route (no token) | %.0f%% | %s | | ≥ 90%% %s |"
          % (100 * sh, ("%.0f%%" % (100 * IE["rps"] / IUE["rps"])) if (IE and IUE) else "–", target(sh >= 0.9)))
    P("")
P("### Connections")
P("")
P("| connections | apid req/s | Express req/s | ratio | apid p99 (ms) | Express p99 (ms) | apid CPU s/10k | Express CPU s/10k |")
P("|---:|---:|---:|---:|---:|---:|---:|---:|")
sweep = [int(c) for c in meta["SWEEP"].split()]
with open(dat_file, "w") as dat:
    dat.write("# conns apid_rps express_rps apid_p99_ms express_p99_ms\n")
    for c in sweep:
        a = agg("conns", "apid", c); e = agg("conns", "express", c)
        P("| %d | %s | %s | %s× | %s | %s | %s | %s |" % (c, fmt(a and a["rps"]), fmt(e and e["rps"]), fmt(ratio(a, e, "rps"), 1),
          fmt(a and a["p99"], 3), fmt(e and e["p99"], 3), fmt(a and a["cpu10k"], 3), fmt(e and e["cpu10k"], 3)))
        dat.write("%d %s %s %s %s\n" % (c, a["rps"] if a else "NaN", e["rps"] if e else "NaN", a["p99"] if a else "NaN", e["p99"] if e else "NaN"))
P("")
P("![req/s and p99 latency against connections](bench-connections.png)")
P("")
P("### Key-set size and token size (%d connections; tokens signed by the benchmark key server's key)" % conns_default)
P("")
P("| case | token bytes | apid req/s | Express req/s | ratio | apid p99 (ms) | Express p99 (ms) |")
P("|---|---:|---:|---:|---:|---:|---:|")
sizes = json.loads(meta["TOKEN_SIZES"])
for sc, label, tb in [("keys1", "1 key in the key set", sizes.get("0")), ("keys50", "50 keys, the signing key last", sizes.get("0"))] + \
        [("size-%s" % s, "token padded to ~%s bytes (1 key)" % s, b) for s, b in sorted(sizes.items(), key=lambda kv: int(kv[0])) if s != "0"]:
    a = agg(sc, "apid"); e = agg(sc, "express")
    P("| %s | %s | %s | %s | %s× | %s | %s |" % (label, tb, fmt(a and a["rps"]), fmt(e and e["rps"]), fmt(ratio(a, e, "rps"), 1),
      fmt(a and a["p99"], 3), fmt(e and e["p99"], 3)))
P("")
errors = sum(r["status_err"] + r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] for r in rows)
P("Errors (non-2xx, socket errors, timeouts) over all %d runs and %s requests: %d." % (len(rows), f"{sum(r['requests'] for r in rows):,}", errors))
P("Peak RSS (VmHWM) of every instance after the whole run (incl. the connection sweep), MiB: " + ", ".join(
    "%s %.1f" % (k[len("HWM_END_"):].replace("_", "-"), int(v) / 1024) for k, v in meta.items() if k.startswith("HWM_END_") and v))
P("")
if hf_file != "none" and os.path.exists(hf_file):
    hf = json.load(open(hf_file))
    P("### CLI start-up (hyperfine)")
    P("")
    P("| command | mean (ms) | σ (ms) | min (ms) |")
    P("|---|---:|---:|---:|")
    for res in hf["results"]:
        cmd = re.sub(r"^\S*/oauthdemo", "oauthdemo", res["command"])
        P("| `%s` | %.2f | %.2f | %.2f |" % (cmd, res["mean"] * 1000, res["stddev"] * 1000, res["min"] * 1000))
    P("")
    P("`token show --raw` reads OAUTHDEMO_ACCESS_TOKEN; `call-api /hello` includes one loopback request to the daemon.")
    P("")
section = "\n".join(lines)
sys.path.insert(0, "scripts/lib")
from doc_section import write_section
write_section(out_file, "bench.sh", section)
print(section)
if errors:
    print("\nbench: %d errors during the runs" % errors, file=sys.stderr)
PY

if command -v gnuplot >/dev/null; then
  mkdir -p "$(dirname "$PNG")"
  gnuplot <<GP || log "gnuplot failed: no chart"
set terminal pngcairo size 1100,450 font "sans,10"
set output "$PNG"
set multiplot layout 1,2 title "oauthdemo-apid vs Express reference: GET /hello, valid RS256 token (wrk -t$THREADS -d$DURATION, $(nproc) CPUs)"
set logscale x 2
set xtics ($(echo "$SWEEP" | sed 's/ /, /g'))
set xrange [$(echo "$SWEEP" | tr ' ' '\n' | sort -n | head -1)*0.8:$(echo "$SWEEP" | tr ' ' '\n' | sort -n | tail -1)*1.25]
set xlabel "connections"
set grid
set key top left
set ylabel "requests/s (log scale)"
set logscale y 10
plot "$W/conns.dat" using 1:2 with linespoints lw 2 pt 7 title "oauthdemo-apid", "" using 1:3 with linespoints lw 2 pt 5 title "Express reference"
set ylabel "p99 latency (ms, log scale)"
plot "$W/conns.dat" using 1:4 with linespoints lw 2 pt 7 title "oauthdemo-apid", "" using 1:5 with linespoints lw 2 pt 5 title "Express reference"
unset multiplot
GP
  if [ -s "$PNG" ]; then log "chart: $PNG"; fi
fi
log "report: $OUT (section 'Daemon vs Express reference')"
errors=$(jq -s 'map(.status_err + .connect_err + .read_err + .write_err + .timeout_err) | add // 0' "$RESULTS")
[ "$errors" = 0 ] || die "$errors errors during the load runs (see the report)"
