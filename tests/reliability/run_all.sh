#!/usr/bin/env bash
# Faults and load against the real binaries on loopback (issue 8).
#
#   tests/reliability/run_all.sh [--long] [--only SCENARIO] [--apid BIN] [--devidp BIN] [--cli BIN] [--work DIR]
#
# Scenarios: provider_down rotation kid_flood slow_clients oversized signals (daemon + devidp) and
# store_kill store_concurrent login_listener (need the CLI). Without --only all run in turn.
# Short mode (the default, what ctest runs) keeps each scenario well under 60 s; --long uses the
# figures promised in docs/reliability.md (30 s at 256 connections, 10,000 kids, ...).
# Every process is started here and stopped by PID (scripts/lib/processes.sh), also on failures and Ctrl-C;
# every wait is a poll with a deadline. When a scenario fails, the logs of its processes are printed.
# Output: "FIGURE <scenario>.<name> <value>" lines, "PASS <scenario>" or "FAIL <scenario>: why".
# Exit status: 0 when every scenario run passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# /usr/bin/python3 first: a pyenv shim costs seconds per call on a loaded machine.
PY=$(command -v /usr/bin/python3 || command -v python3)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/lib/processes.sh
. "$root/scripts/lib/processes.sh"
PROC_STOP_SECONDS=20
long=0
only=""
apid="$root/build/rel-release/src/daemon/oauthdemo-apid"
devidp="$root/build/rel-release/src/devidp/oauthdemo-devidp"
cli="$root/build/rel-release/src/cli/oauthdemo"
work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    --only) only=$2; shift ;;
    --apid) apid=$2; shift ;;
    --devidp) devidp=$2; shift ;;
    --cli) cli=$2; shift ;;
    --work) work=$2; shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
# Under AddressSanitizer RSS is dominated by the allocator quarantine (hundreds of MB by design), so
# memory flatness is checked on uninstrumented builds; under ASan, LeakSanitizer checks the exit.
if grep -q __asan_init "$apid" 2>/dev/null; then asan=1; else asan=0; fi
rss_flat() { # rss_flat GROWTH_KB LIMIT_KB
  [ "$asan" = 1 ] && return 0
  [ "$1" -lt "$2" ]
}
# Processes run in the work dir: absolute paths.
apid=$(realpath -m "$apid"); devidp=$(realpath -m "$devidp"); cli=$(realpath -m "$cli")
[ -n "$work" ] || work=$(mktemp -d "${TMPDIR:-/tmp}/oauthdemo-rel.XXXXXX")
rm -rf "$work"
proc_init run_all "$work" || exit 1   # the work dir is kept (logs, figures)
work=$PROC_DIR
audience="https://api.example.com"
export DEVIDP_CI_CLIENT_SECRET
DEVIDP_CI_CLIENT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(24))')

failures=0
figure() { echo "FIGURE $scenario.$1 $2"; }
fail() { echo "FAIL $scenario: $*"; failures=$((failures + 1)); scenario_failed=1; }
check() { # check "description" test-expression...
  local what=$1; shift
  if ! "$@"; then fail "$what"; fi
}

# start_devidp NAME [extra flags...]: sets devidp_pid, devidp_port, issuer
start_devidp() {
  local name=$1; shift
  rm -f "$work/$name.ready"
  proc_start "$name" "$devidp" --port 0 --ready-file "$work/$name.ready" "$@"
  devidp_pid=$PROC_PID
  proc_wait_ready "$name" "$work/$name.ready" 30 || { fail "devidp did not get ready"; return 1; }
  devidp_port=$(proc_ready_field "$work/$name.ready" port)
  issuer="http://127.0.0.1:$devidp_port/"
}
# restart_devidp_on PORT NAME [flags...]
restart_devidp_on() {
  local port=$1 name=$2; shift 2
  rm -f "$work/$name.ready"
  local end=$((SECONDS + 20))
  while :; do
    proc_start "$name" "$devidp" --port "$port" --ready-file "$work/$name.ready" "$@"
    devidp_pid=$PROC_PID
    proc_wait_ready "$name" "$work/$name.ready" 10 2>/dev/null && return 0
    [ $SECONDS -ge $end ] && { fail "devidp did not come back on port $port"; return 1; }
    proc_stop "$devidp_pid"
    sleep 0.2   # port still in TIME_WAIT/being released: retry until the deadline
  done
}
# start_apid NAME [extra flags...]: sets apid_pid, apid_port, api
start_apid() {
  local name=$1; shift
  rm -f "$work/$name.ready"
  proc_start "$name" env ACCESS_LOG=off "$apid" --port 0 --ready-file "$work/$name.ready" --issuer "$issuer" \
    --audience "$audience" "$@"
  apid_pid=$PROC_PID
  proc_wait_ready "$name" "$work/$name.ready" 60 || { fail "apid did not get ready"; return 1; }
  apid_port=$(proc_ready_field "$work/$name.ready" port)
  api="http://127.0.0.1:$apid_port"
}
cc_token() { # an access token from devidp's client_credentials grant (never printed)
  curl -sS --max-time 10 -X POST "${issuer}oauth/token" \
    -d grant_type=client_credentials -d client_id=oauthdemo-ci \
    --data-urlencode "client_secret=$DEVIDP_CI_CLIENT_SECRET" --data-urlencode "audience=$audience" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
status_of() { # status_of TOKEN [PATH]
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $1" "$api${2:-/hello}"
}
metric() { # metric 'name{labels}' -> value (0 if absent); name without labels sums all series
  curl -s --max-time 10 "$api/metrics" | "$PY" -c '
import sys
want = sys.argv[1]
total = 0.0
for line in sys.stdin:
    if line.startswith("#"): continue
    parts = line.rsplit(" ", 1)
    if len(parts) != 2: continue
    name = parts[0]
    if name == want or ("{" not in want and name.split("{")[0] == want):
        total += float(parts[1])
print(int(total) if total == int(total) else total)' "$1"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# wrk_run OUT ARGS...: runs wrk, prints nothing; parse with wrk_field
wrk_summary() { # wrk_summary OUTFILE -> "requests non2xx errors rps"
  "$PY" - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
req = re.search(r"(\d+) requests in", t)
non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p99 = re.search(r"99%\s+([\d.]+\w+)", t)
errs = sum(int(x) for x in err.groups()) if err else 0
print(req.group(1) if req else 0, non.group(1) if non else 0, errs, rps.group(1) if rps else 0, p99.group(1) if p99 else "-")
EOF
}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
begin() { scenario=$1; scenario_failed=0; echo "=== $scenario"; }
finish() { # stops the scenario's processes; prints their logs if it failed
  if [ "$scenario_failed" = 0 ]; then
    proc_stop_all
    echo "PASS $scenario"
  else
    proc_stop_all --logs
  fi
}

# ---------------------------------------------------------------------------------------------
# The provider goes down: known keys keep validating, readiness/metrics report it, and the cache
# recovers by itself once the provider is back (same key file, same port).
if want provider_down; then
  begin provider_down
  keyfile="$work/devidp-key.pem"
  if start_devidp idp-down --key-file "$keyfile"; then
    port=$devidp_port
    # Max-age clamped to 2 s so the daemon revalidates constantly; 1 s backoff.
    if start_apid apid-down --jwks-min-max-age 1 --jwks-max-max-age 2 --jwks-max-stale-age 600; then
      token=$(cc_token)
      check "valid token before the outage" [ "$(status_of "$token")" = 200 ]
      errors_before=$(metric 'apid_jwks_fetches_total{result="error"}')
      proc_stop "$devidp_pid" KILL
      down_s=$([ $long = 1 ] && echo 20 || echo 4)
      ok=0 bad=0
      end=$((SECONDS + down_s))
      while [ $SECONDS -lt $end ]; do
        if [ "$(status_of "$token")" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
      done
      errors_during=$(metric 'apid_jwks_fetches_total{result="error"}')
      age=$(metric apid_jwks_age_seconds)
      readyz=$(curl -s -o "$work/readyz-down.json" -w '%{http_code}' "$api/readyz")
      figure requests_while_down_ok "$ok"
      figure requests_while_down_failed "$bad"
      figure jwks_fetch_errors_while_down "$((errors_during - errors_before))"
      figure jwks_age_seconds_while_down "$age"
      figure readyz_status_while_down "$readyz"
      figure readyz_body_while_down "$(tr -d '\n' < "$work/readyz-down.json" | head -c 200)"
      check "known key kept validating while the provider was down ($bad failures)" [ "$bad" = 0 ]
      check "metrics count failed key-set fetches while down" [ "$((errors_during - errors_before))" -ge 1 ]
      # Back on the same port with the same key.
      ok_before=$(metric 'apid_jwks_fetches_total{result="ok"}')
      nm_before=$(metric 'apid_jwks_fetches_total{result="not_modified"}')
      t0=$(date +%s.%N)
      if restart_devidp_on "$port" idp-down2 --key-file "$keyfile"; then
        recovered=0
        end=$((SECONDS + 30))
        while [ $SECONDS -lt $end ]; do
          ok_now=$(metric 'apid_jwks_fetches_total{result="ok"}')
          nm_now=$(metric 'apid_jwks_fetches_total{result="not_modified"}')
          if [ "$ok_now" -gt "$ok_before" ] || [ "$nm_now" -gt "$nm_before" ]; then recovered=1; break; fi
          sleep 0.1
        done
        t1=$(date +%s.%N)
        figure recovery_seconds "$("$PY" -c "print(round($t1 - $t0, 2))")"
        check "the key cache recovered by itself within 30 s" [ "$recovered" = 1 ]
        age=$(metric apid_jwks_age_seconds)
        figure jwks_age_seconds_after_recovery "$age"
        check "jwks age small after recovery ($age)" "$PY" -c "import sys; sys.exit(0 if float('$age') < 5 else 1)"
        check "readyz 200 after recovery" [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")" = 200 ]
        token2=$(cc_token)
        check "a new token from the restarted provider validates" [ "$(status_of "$token2")" = 200 ]
      fi
    fi
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# Key rotation during load: zero non-200 answers for valid tokens, old and new.
if want rotation; then
  begin rotation
  if start_devidp idp-rot && start_apid apid-rot --workers 64; then
    old=$(cc_token)
    # wrk runs until the new-token checks are done (SIGINT makes it stop and print its summary);
    # --long keeps the old-token load going for at least 30 s.
    min_load=$([ $long = 1 ] && echo 30 || echo 0)
    load_t0=$SECONDS
    proc_start wrk-rot wrk -t2 -c32 -d120s --latency -H "Authorization: Bearer $old" "$api/hello"
    wrk_pid=$PROC_PID
    sleep 1   # let the load start (not a synchronisation: the load is the background condition)
    rotated=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '' "${issuer}admin/rotate-keys")
    check "devidp rotated (HTTP $rotated)" [ "$rotated" = 200 ]
    new=$(cc_token)
    newkid=$("$PY" -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$new")
    oldkid=$("$PY" -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$old")
    check "the new token uses a new kid" [ "$newkid" != "$oldkid" ]
    # New tokens while the old-token load runs: every one must be 200.
    # New tokens (fresh ones from devidp, new kid) while the old-token load runs: all must be 200.
    read -r new_total new_bad < <("$PY" - "$issuer" "$api" "$audience" <<'EOF2'
import json, os, sys, time, urllib.parse, urllib.request
issuer, api, aud = sys.argv[1:4]
total = bad = 0
end = time.time() + 3
while time.time() < end:
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "oauthdemo-ci",
        "client_secret": os.environ["DEVIDP_CI_CLIENT_SECRET"], "audience": aud}).encode()
    tok = json.load(urllib.request.urlopen(issuer + "oauth/token", body, timeout=10))["access_token"]
    for _ in range(5):
        total += 1
        try:
            r = urllib.request.urlopen(urllib.request.Request(api + "/hello", headers={"Authorization": "Bearer " + tok}), timeout=10)
            if r.status != 200: bad += 1
        except Exception:
            bad += 1
print(total, bad)
EOF2
)
    kill -0 "$wrk_pid" 2>/dev/null && during=1 || during=0
    figure new_tokens_checked_while_load_ran "$during"
    check "new tokens were checked while the load still ran" [ "$during" = 1 ]
    while [ $((SECONDS - load_t0)) -lt "$min_load" ] && kill -0 "$wrk_pid" 2>/dev/null; do sleep 0.2; done
    proc_stop "$wrk_pid" INT
    figure load_seconds "$((SECONDS - load_t0))"
    read -r reqs non2xx errs rps p99 < <(wrk_summary "$work/wrk-rot.log")
    figure old_token_requests "$reqs"
    figure old_token_non2xx "$non2xx"
    figure old_token_socket_errors "$errs"
    figure new_token_requests "$new_total"
    figure new_token_non200 "$new_bad"
    check "old-token load during rotation: zero non-2xx ($non2xx) and socket errors ($errs)" [ "$non2xx" = 0 -a "$errs" = 0 ]
    check "load actually ran ($reqs requests)" [ "$reqs" -gt 100 ]
    check "new tokens after rotation: zero non-200 ($new_bad of $new_total)" [ "$new_bad" = 0 -a "$new_total" -gt 0 ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# A flood of tokens with made-up kids: at most one key-set fetch per cooldown.
if want kid_flood; then
  begin kid_flood
  cooldown=30
  if start_devidp idp-flood && start_apid apid-flood --jwks-refetch-cooldown $cooldown --workers 32; then
    fetches_before=$(metric apid_jwks_fetches_total)
    idp_before=$(grep -c 'jwks.json' "$work/idp-flood.log" || true)
    cat >"$work/kids.lua" <<EOF
local n = 0
local payload = "$("$PY" -c "import base64,json,time; print(base64.urlsafe_b64encode(json.dumps({'iss':'$issuer','aud':'$audience','exp':int(time.time())+3600}).encode()).decode().rstrip('='))")"
request = function()
  n = n + 1
  local header = '{"alg":"RS256","typ":"JWT","kid":"made-up-' .. n .. '-' .. math.random(1, 1000000000) .. '"}'
  local b64 = require_b64(header)
  return wrk.format("GET", "/hello", {["Authorization"] = "Bearer " .. b64 .. "." .. payload .. ".c2lnbmF0dXJl"})
end
function require_b64(s)
  local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end))
end
EOF
    dur=$([ $long = 1 ] && echo 20 || echo 5)
    t0=$SECONDS
    wrk -t2 -c16 -d"${dur}s" -s "$work/kids.lua" "$api/hello" >"$work/wrk-flood.txt" 2>&1
    elapsed=$((SECONDS - t0))
    read -r reqs non2xx errs rps p99 < <(wrk_summary "$work/wrk-flood.txt")
    fetches=$(( $(metric apid_jwks_fetches_total) - fetches_before ))
    suppressed=$(metric apid_jwks_refetch_suppressed_total)
    kid_unknown=$(metric 'apid_auth_failures_total{reason="kid_unknown"}')
    idp_after=$(grep -c 'jwks.json' "$work/idp-flood.log" || true)
    figure tokens "$reqs"
    figure seconds "$elapsed"
    figure requests_per_second "$rps"
    figure key_set_fetches "$fetches"
    figure devidp_jwks_requests "$((idp_after - idp_before))"
    figure refetch_suppressed "$suppressed"
    figure rejected_kid_unknown "$kid_unknown"
    allowed=$(( elapsed / cooldown + 1 ))
    check "at most one fetch per ${cooldown}s cooldown ($fetches fetches in ${elapsed}s, allowed $allowed)" [ "$fetches" -le "$allowed" ]
    check "every made-up kid refused ($non2xx non-2xx of $reqs)" [ "$non2xx" = "$reqs" ]
    check "kid_unknown counted for each ($kid_unknown of $reqs)" [ "$kid_unknown" -ge "$reqs" ]
    [ $long = 1 ] && check "at least 10,000 tokens ($reqs)" [ "$reqs" -ge 10000 ]
    check "no socket errors ($errs)" [ "$errs" = 0 ]
    valid=$(cc_token)
    check "valid token still 200 after the flood" [ "$(status_of "$valid")" = 200 ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# 100 slow clients holding connections (slowloris): well-formed requests still served promptly.
# $SLOW_WORKERS (default: the daemon's default, 8) picks --workers for the checked run.
if want slow_clients; then
  begin slow_clients
  slow_probe() { # slow_probe WORKERS -> prints "served p50 p99 max" of 20 probes while 100 clients trickle
    "$PY" - "$apid_port" "$1" "$2" <<'EOF'
import socket, sys, threading, time, http.client
port, nslow, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
stop = threading.Event()
socks = []
for i in range(nslow):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    socks.append(s)
def trickle():
    while not stop.is_set():
        for s in list(socks):
            try: s.sendall(b"X-a: b\r\n")
            except OSError: socks.remove(s)
        stop.wait(1.0)
t = threading.Thread(target=trickle); t.start()
time.sleep(0.5)
lat, served = [], 0
end = time.time() + hold
while time.time() < end and len(lat) < 20:
    t0 = time.time()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        c.request("GET", "/healthz"); r = c.getresponse(); r.read(); c.close()
        if r.status == 200: served += 1
    except Exception:
        pass
    lat.append(time.time() - t0)
    time.sleep(0.1)
alive = len(socks)
stop.set(); t.join()
for s in socks: s.close()
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(served, len(lat), round(p(0.5), 3), round(p(0.99), 3), round(lat[-1], 3), alive)
EOF
  }
  hold=$([ $long = 1 ] && echo 60 || echo 7)
  start_devidp idp-slow
  for w in 8 ${SLOW_WORKERS:-128}; do
    if start_apid apid-slow-$w --workers "$w"; then
      read -r served probes p50 p99 pmax alive < <(slow_probe 100 "$hold")
      figure "workers_${w}.probes_served" "$served/$probes"
      figure "workers_${w}.latency_p50_s" "$p50"
      figure "workers_${w}.latency_max_s" "$pmax"
      figure "workers_${w}.slow_connections_still_open" "$alive"
      if [ "$w" = 8 ]; then
        prompt8=$("$PY" -c "print(1 if $served == $probes and $pmax < 1.0 else 0)")
        figure default_workers_prompt "$prompt8"
      else
        check "with --workers $w all probes served promptly (max ${pmax}s, $served/$probes)" \
          "$PY" -c "import sys; sys.exit(0 if $served == $probes and $pmax < 1.0 else 1)"
      fi
      proc_stop "$apid_pid"
    fi
  done
  [ "${prompt8:-0}" = 1 ] || echo "NOTE slow_clients: with the default WORKERS=8, 100 slow clients starve well-formed requests (see figures)"
  finish
fi

# ---------------------------------------------------------------------------------------------
# Oversized headers and tokens: clean 4xx, no crash, memory flat.
if want oversized; then
  begin oversized
  if start_devidp idp-big && start_apid apid-big; then
    rounds=${OVERSIZED_ROUNDS:-$([ $long = 1 ] && echo 2000 || echo 80)}
    "$PY" - "$apid_port" 30 >/dev/null <<'EOF'
import sys, http.client
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/hello", headers={"Authorization": "Bearer " + "A" * 20000 + ".B.C"}); c.getresponse().read(); c.close()
EOF
    cat >"$work/oversized.py" <<'EOF'
import sys, socket, http.client, collections, time
port, n, with_body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
codes = collections.Counter()
def raw(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(req)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        return data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    finally:
        s.close()
cases = {
  "token_9k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"A" * 9000 + b".B.C\r\n\r\n"),
  "token_20k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"A" * 20000 + b".B.C\r\n\r\n"),
  "header_100k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"B" * 100000 + b"\r\n\r\n"),
  "headers_2000": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(2000)) + b"\r\n"),
  "url_100k": lambda: raw(b"GET /hello?" + b"q" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
  "headers_100x8k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: " % i + b"v" * 8000 + b"\r\n" for i in range(100)) + b"\r\n"),
}
# Once: a 10 MB declared body (answered only after the 5 s read timeout; see docs/reliability.md).
t0 = time.time()
if with_body: codes[("body_10m", raw(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n" + b"x" * 65536))] += 1
if with_body: print("body_10m_seconds", "-", round(time.time() - t0, 2), file=sys.stderr)
for i in range(n):
    for name, f in cases.items():
        codes[(name, f())] += 1
for (name, code), k in sorted(codes.items()):
    print(name, code, k)
EOF
    # Two halves: the first warms the allocator's per-thread arenas up; memory is flat when the
    # second half (same requests again) does not grow RSS further.
    rss0=$(rss_kb "$apid_pid")
    "$PY" "$work/oversized.py" "$apid_port" $((rounds / 2)) 1 >"$work/oversized.txt" 2>"$work/oversized-timing.txt"
    rss_mid=$(rss_kb "$apid_pid")
    "$PY" "$work/oversized.py" "$apid_port" $((rounds / 2)) 0 >>"$work/oversized.txt"
    rss1=$(rss_kb "$apid_pid")
    while read -r name code k; do figure "status.$name.$code" "$k"; done \
      < <(awk '{n[$1" "$2] += $3} END {for (k in n) print k, n[k]}' "$work/oversized.txt" | sort)
    figure requests "$((rounds * 6 + 1))"
    figure body_10m_answer_seconds "$(awk '{print $3}' "$work/oversized-timing.txt")"
    figure rss_kb_before "$rss0"
    figure rss_kb_after_first_half "$rss_mid"
    figure rss_kb_after "$rss1"
    figure rss_growth_first_half_kb "$((rss_mid - rss0))"
    figure rss_growth_second_half_kb "$((rss1 - rss_mid))"
    check "daemon still alive" kill -0 "$apid_pid"
    check "all oversized inputs answered 4xx (see $work/oversized.txt)" \
      "$PY" -c "import sys; sys.exit(0 if all(l.split()[1].startswith('4') for l in open('$work/oversized.txt')) else 1)"
    limit=4096
    figure rss_checked "$([ $asan = 1 ] && echo "no (ASan build)" || echo yes)"
    check "RSS flat over the second half (grew $((rss1 - rss_mid)) kB, limit $limit kB)" rss_flat "$((rss1 - rss_mid))" "$limit"
    check "healthz after the abuse" [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/healthz")" = 200 ]
    kill -TERM "$apid_pid"
    proc_wait "$apid_pid"; rc=$?
    figure exit_code_after_sigterm "$rc"
    check "clean exit after the abuse (exit $rc; LeakSanitizer under ASan)" [ "$rc" = 0 ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# Sustained load at 256 connections (zero errors, RSS flat), then SIGHUP and SIGTERM during load.
if want signals; then
  begin signals
  dur=$([ $long = 1 ] && echo 30 || echo 5)
  load_workers=${LOAD_WORKERS:-256}
  start_devidp idp-load || true
  token=$(cc_token)
  if [ $long = 1 ] && start_apid apid-load-default; then
    # The default WORKERS=8 at 256 connections (figure only: thread-per-connection, see the docs).
    wrk -t2 -c256 -d"${dur}s" --latency -H "Authorization: Bearer $token" "$api/hello" >"$work/wrk-load-default.txt" 2>&1
    read -r reqs non2xx errs rps p99 < <(wrk_summary "$work/wrk-load-default.txt")
    figure default_workers.load_requests "$reqs"
    figure default_workers.load_non2xx "$non2xx"
    figure default_workers.load_socket_errors "$errs"
    figure default_workers.load_p99 "$p99"
    proc_stop "$apid_pid"
  fi
  if [ "$scenario_failed" = 0 ] && start_apid apid-load --workers "$load_workers"; then
    figure workers "$load_workers"
    wrk -t2 -c256 -d2s -H "Authorization: Bearer $token" "$api/hello" >/dev/null 2>&1   # warm-up
    rss0=$(rss_kb "$apid_pid")
    wrk -t2 -c256 -d"${dur}s" --latency -H "Authorization: Bearer $token" "$api/hello" >"$work/wrk-load.txt" 2>&1
    rss1=$(rss_kb "$apid_pid")
    read -r reqs non2xx errs rps p99 < <(wrk_summary "$work/wrk-load.txt")
    figure load_seconds "$dur"
    figure load_requests "$reqs"
    figure load_rps "$rps"
    figure load_p99 "$p99"
    figure load_non2xx "$non2xx"
    figure load_socket_errors "$errs"
    figure load_rss_kb_before "$rss0"
    figure load_rss_kb_after "$rss1"
    check "256 connections: zero non-2xx ($non2xx) and socket errors ($errs)" [ "$non2xx" = 0 -a "$errs" = 0 ]
    check "RSS flat under load (grew $((rss1 - rss0)) kB)" rss_flat "$((rss1 - rss0))" 32768
    # SIGHUP twice during load.
    proc_start wrk-hup wrk -t2 -c64 -d4s -H "Authorization: Bearer $token" "$api/hello"
    wrk_pid=$PROC_PID
    sleep 1
    kill -HUP "$apid_pid"
    sleep 1
    kill -HUP "$apid_pid"
    proc_wait "$wrk_pid" 20
    read -r reqs non2xx errs rps p99 < <(wrk_summary "$work/wrk-hup.log")
    figure sighup_requests "$reqs"
    figure sighup_non2xx "$non2xx"
    figure sighup_socket_errors "$errs"
    check "SIGHUP during load: zero non-2xx ($non2xx) and socket errors ($errs)" [ "$non2xx" = 0 -a "$errs" = 0 ]
    check "daemon alive after SIGHUP" kill -0 "$apid_pid"
    # SIGTERM during load: every request the daemon accepted completes.
    "$PY" - "$apid_port" "$token" "$apid_pid" >"$work/sigterm.txt" <<'EOF'
import sys, socket, threading, time, os, signal
port, token, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
req = ("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode()
lock = threading.Lock()
stats = {"ok": 0, "refused": 0, "inflight_failed": 0, "non200": 0, "reset": 0, "eof": 0}
stop = threading.Event()
def worker():
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            with lock: stats["refused"] += 1
            if stop.wait(0.01): break
            continue
        try:
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            with lock:
                if data.startswith(b"HTTP/1.1 200"): stats["ok"] += 1
                elif data: stats["non200"] += 1
                else: stats["inflight_failed"] += 1; stats["eof"] += 1
        except OSError:
            with lock: stats["inflight_failed"] += 1; stats["reset"] += 1
        finally:
            s.close()
threads = [threading.Thread(target=worker) for _ in range(32)]
for t in threads: t.start()
time.sleep(1.5)
os.kill(pid, signal.SIGTERM)
time.sleep(1.5)
stop.set()
for t in threads: t.join()
print(stats["ok"], stats["refused"], stats["inflight_failed"], stats["non200"], stats["reset"], stats["eof"])
EOF
    read -r ok refused inflight non200 resets eofs <"$work/sigterm.txt"
    proc_wait "$apid_pid" 20; rc=$?
    figure sigterm_completed "$ok"
    figure sigterm_refused_after_close "$refused"
    figure sigterm_accepted_but_failed "$inflight"
    figure sigterm_non200 "$non200"
    figure sigterm_failed_by_reset "$resets"
    figure sigterm_failed_by_eof "$eofs"
    figure sigterm_exit_code "$rc"
    # Requests that got a reset or a bare EOF were never read by the daemon: they sat in the kernel's
    # accept backlog or in cpp-httplib's job queue when stop() ran (httplib 0.11.4 closes queued
    # sockets unanswered once the listener is gone). That is a known gap, reported as figures and in
    # docs/reliability.md ("SIGTERM"); what is checked: no wrong answer, every request the daemon
    # answered was a 200, clean exit (LeakSanitizer under ASan), and the load really overlapped.
    check "SIGTERM: no non-200 answer ($non200)" [ "$non200" = 0 ]
    check "SIGTERM: requests were completing around the signal ($ok)" [ "$ok" -gt 0 ]
    check "SIGTERM: exit code 0 ($rc)" [ "$rc" = 0 ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# CLI scenarios (need the oauthdemo binary).
cli_ok() { [ -x "$cli" ]; }
if want store_kill || want store_concurrent || want login_listener; then
  if ! cli_ok; then
    echo "SKIPPED CLI scenarios: no CLI binary at $cli"
    [ -n "$only" ] && exit 1
  else
    # shellcheck source=tests/reliability/cli_scenarios.sh
    . "$here/cli_scenarios.sh"
  fi
fi

echo "failures: $failures"
[ "$failures" = 0 ]
