# The uncached-path scenarios of scripts/bench.sh (issue 15), sourced by it, not run: oauthdemo-apid against
# HAProxy 2.6's built-in jwt_verify (bench/haproxy/jwt-verify.cfg), both checking every token of the key
# server (bench-keyserver.mjs) with the same key and claim rules, loaded in the same interleaved rounds.
# Uses bench.sh's W, ISSUER, AUDIENCE, ROUNDS, CONNS, THREADS, DURATION, WARMUP, SRV_PID, SRV_URL and its
# functions start_apid, load, warm, die, log. Rows go to W/uncached.jsonl; the report is
# scripts/lib/bench_uncached_report.py.
# shellcheck shell=bash

# free_port : a free TCP port on 127.0.0.1 (HAProxy cannot report the port of a `bind :0`; it is checked
# for a 200 from /healthz right after the start, so a port taken in between fails loudly).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_haproxy NAME : HAProxy with bench/haproxy/jwt-verify.cfg on a free loopback port, in the foreground
# (-db: no daemon, so proc_start's PID is HAProxy's own and it is stopped by that PID)
start_haproxy() {
  local name=$1 port url i
  command -v haproxy >/dev/null || die "haproxy not found (scripts/bootstrap.sh installs it)"
  port=$(free_port)
  proc_start "$name" env BENCH_HAPROXY_BIND="127.0.0.1:$port" BENCH_HAPROXY_THREADS="$(nproc)" \
    BENCH_ISSUER="$ISSUER" BENCH_AUDIENCE="$AUDIENCE" BENCH_RSA_PEM="$(jq -r '.pem["bench-0"]' "$W/keys.json")" \
    BENCH_EC_PEM="$(jq -r '.pem["bench-es"]' "$W/keys.json")" haproxy -db -f "$ROOT/bench/haproxy/jwt-verify.cfg"
  SRV_PID[$name]=$PROC_PID; url="http://127.0.0.1:$port"; SRV_URL[$name]=$url
  # Readiness: HAProxy writes no ready file; poll its /healthz for at most 20 s (a deadline, not a delay).
  for i in $(seq 200); do
    curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && return 0
    kill -0 "$PROC_PID" 2>/dev/null || { cat "$W/$name.log" >&2; die "$name exited at start"; }
    sleep 0.1
  done
  cat "$W/$name.log" >&2; die "$name did not answer on $url within 20 s"
}

# expect_status INST TOKEN_FILE CODE : one request with the token answers CODE
expect_status() {
  local code
  code=$(printf 'Authorization: Bearer %s\n' "$(head -1 "$2")" | curl -sS -o /dev/null -w '%{http_code}' -H @- "${SRV_URL[$1]}/hello")
  [ "$code" = "$3" ] || die "$1: $(basename "$2") answered $code, expected $3"
}

# jwks_fetches INST : the daemon's JWKS fetch attempts so far (all results)
jwks_fetches() {
  curl -fsS "${SRV_URL[$1]}/metrics" | awk '/^apid_jwks_fetches_total/ {n += $2} END {print n + 0}'
}

# flood_junk INST TOKEN_FILE DURATION : a second wrk in the background sending distinct bad signatures
# (bench.lua's BENCH_JUNK mode); sets JUNK_PID; the result lands in W/junk.json
flood_junk() {
  BENCH_TOKEN_FILE=$2 BENCH_JUNK=1 BENCH_RESULT_FILE=$W/junk.json \
    wrk -t"$THREADS" -c"$CONNS" -d"$3" --latency --timeout 10s -s "$W/bench.lua" "${SRV_URL[$1]}/hello" >"$W/junk.out" 2>&1 &
  JUNK_PID=$!
  proc_track "$JUNK_PID"
}

uncached_bench() {
  local saved_results=$RESULTS keys_algs tok_rs tok_es tok_ed many spec sc kind inst tok mode f0 f1 secs
  RESULTS=$W/uncached.jsonl; : >"$RESULTS"
  keys_algs=$(jq -r .jwks_algs "$W/keys.json")
  tok_rs=$W/token-0.txt; tok_es=$W/token-es256.txt; tok_ed=$W/token-eddsa.txt; many=$(jq -r .tokens_many "$W/keys.json")
  [ -s "$many" ] || die "the key server wrote no tokens-many.txt"
  log "uncached path: oauthdemo-apid vs HAProxy jwt_verify ($(wc -l <"$many") distinct tokens for the many-tokens scenario)"
  start_haproxy haproxy
  # u-nocache also takes the ES256 and EdDSA tokens; every other instance keeps the default (RS256 only).
  start_apid u-nocache TOKEN_CACHE=off ALLOWED_ALGS=RS256,ES256,EdDSA -- --jwks-uri "$keys_algs"
  start_apid u-nocache-nolog TOKEN_CACHE=off ACCESS_LOG=off -- --jwks-uri "$keys_algs"
  start_apid u-default -- --jwks-uri "$keys_algs"
  start_apid u-nolog ACCESS_LOG=off -- --jwks-uri "$keys_algs"
  start_apid u-many -- --jwks-uri "$keys_algs"
  start_apid u-junk -- --jwks-uri "$keys_algs"
  # Sanity: the same tokens are accepted by both, a bad signature refused by both.
  expect_status haproxy "$tok_es" 200; expect_status u-nocache "$tok_es" 200; expect_status u-nocache "$tok_ed" 200
  for inst in haproxy u-nocache u-default; do
    expect_status "$inst" "$tok_rs" 200; expect_status "$inst" "$many" 200
    sed 's/\(.*\.\)\(.....\)/\1AAAAA/' "$tok_rs" >"$W/token-badsig.txt"; expect_status "$inst" "$W/token-badsig.txt" 401
  done
  for inst in haproxy u-nocache u-nocache-nolog u-default u-nolog u-junk; do warm "$inst" /hello "$tok_rs"; done
  BENCH_TOKENS_FILE=$many warm u-many /hello -
  BENCH_TOKENS_FILE=$many warm haproxy /hello -
  # SPEC = SCENARIO|KIND|INSTANCE|TOKEN_FILE|MODE (MODE: one = the same token, many = round-robin, junk = the
  # valid token measured while a second wrk floods the same daemon with distinct bad signatures)
  local specs=(
    "rs256-nocache|apid|u-nocache|$tok_rs|one" "rs256-nocache|haproxy|haproxy|$tok_rs|one"
    "rs256-nocache-nolog|apid|u-nocache-nolog|$tok_rs|one"
    "rs256-cache|apid|u-default|$tok_rs|one" "rs256-cache-nolog|apid|u-nolog|$tok_rs|one"
    "es256-nocache|apid|u-nocache|$tok_es|one" "es256-nocache|haproxy|haproxy|$tok_es|one"
    "eddsa-nocache|apid|u-nocache|$tok_ed|one"
    "many|apid|u-many|$many|many" "many|haproxy|haproxy|$many|many"
    "junk-valid|apid|u-junk|$tok_rs|junk"
  )
  f0=$(jwks_fetches u-junk)
  secs=${DURATION%s}
  for _ in $(seq "$ROUNDS"); do
    for spec in "${specs[@]}"; do
      IFS='|' read -r sc kind inst tok mode <<<"$spec"
      case "$mode" in
        one) load "$sc" "$kind" "$inst" /hello "$tok" "$CONNS" ;;
        many) BENCH_TOKENS_FILE=$tok load "$sc" "$kind" "$inst" /hello - "$CONNS" ;;
        junk)
          # The flood starts first and lasts 1 s longer, so it covers the whole measured run.
          flood_junk "$inst" "$tok" "$((secs + 1))s"
          load "$sc" "$kind" "$inst" /hello "$tok" "$CONNS"
          proc_wait "$JUNK_PID" 30 || true
          [ -s "$W/junk.json" ] || { cat "$W/junk.out" >&2; die "the junk flood's wrk failed"; }
          jq -c '. + {scenario:"junk-flood", server:"apid", instance:"u-junk"}' "$W/junk.json" >>"$W/junk.jsonl"
          log "  junk-flood apid: $(jq -r '(.requests / (.duration_us / 1e6)) | floor' "$W/junk.json") req/s, non-2xx $(jq -r .status_err "$W/junk.json")"
          rm -f "$W/junk.json" ;;
      esac
    done
  done
  f1=$(jwks_fetches u-junk)
  {
    echo "JUNK_FETCHES_BEFORE=$f0"; echo "JUNK_FETCHES_AFTER=$f1"
    echo "MANY_TOKENS=$(wc -l <"$many")"
    echo "HAPROXY=$(haproxy -v 2>/dev/null | head -1 | awk '{print $3}')"
    echo "HAPROXY_THREADS=$(nproc)"
    for inst in u-nocache u-default u-many u-junk haproxy; do echo "HWM_U_$inst=$(hwm_kib "${SRV_PID[$inst]}")" | tr - _; done
    echo "MANY_CACHE_HITS=$(curl -fsS "${SRV_URL[u-many]}/metrics" | awk '/^apid_token_cache_hits_total/ {print $2}')"
    echo "MANY_CACHE_MISSES=$(curl -fsS "${SRV_URL[u-many]}/metrics" | awk '/^apid_token_cache_misses_total/ {print $2}')"
  } >>"$W/meta.env"
  [ -f "$W/junk.jsonl" ] && cat "$W/junk.jsonl" >>"$RESULTS"
  RESULTS=$saved_results
}
