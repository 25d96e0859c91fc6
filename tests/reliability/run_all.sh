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
# Exit status: 0 when every scenario run passed. Sizes: SLOW_CLIENTS (300; --long 1000), OVERSIZED_ROUNDS.
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
kv() { awk -v k="$1" '$1 == k {print $2}' "$2"; }   # kv KEY FILE: the value of a "key value" line
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
  if start_devidp idp-rot && start_apid apid-rot; then
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
  if start_devidp idp-flood && start_apid apid-flood --jwks-refetch-cooldown $cooldown; then
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
# Slow clients (slowloris) with the default settings: $SLOW_CLIENTS connections (300; --long 1000)
# send a request line and then one header line a second. 300 is more than cpp-httplib's old
# thread-per-connection pool (256 threads by default), so the old front end fails this check.
# Well-formed requests must still be served promptly; then, with --header-timeout 2, every
# trickling client is answered 408 and closed, and silent connections are closed without answer.
if want slow_clients; then
  begin slow_clients
  nslow=${SLOW_CLIENTS:-$([ $long = 1 ] && echo 1000 || echo 300)}
  hold=$([ $long = 1 ] && echo 60 || echo 7)
  cat >"$work/slowloris.py" <<'EOF'
# slowloris.py probe PORT N HOLD: N trickling connections, replaced when the daemon answers or
#   closes them (so N stay open); apid_open_connections read once all N trickle, then 20 probes
#   (GET /healthz on a fresh connection, 3 s timeout) spread over HOLD seconds.
# slowloris.py timeout PORT N HOLD SILENT: N trickling and SILENT silent connections, never
#   replaced, until the daemon closed all of them or HOLD seconds passed.
# Prints "key value" lines.
import collections, http.client, re, select, socket, sys, threading, time
mode, port, nslow, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
nsilent = int(sys.argv[5]) if len(sys.argv) > 5 else 0
now = time.monotonic

class Slow:
    def __init__(self, silent=False):
        self.silent = silent
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.t0 = now()
        if not silent:
            self.sock.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.sock.setblocking(False)
        self.data = b""
        self.answered = None   # seconds from the first byte sent to the first answer byte
        self.closed = None     # seconds to the daemon's EOF or reset

lock = threading.Lock()
open_conns = {}
done = []
statuses = collections.Counter()
replaced = 0
first_round = threading.Event()
stop = threading.Event()

def pump(replace):
    global replaced
    poller = select.poll()
    def add(c):
        open_conns[c.sock.fileno()] = c
        poller.register(c.sock.fileno(), select.POLLIN)
    def close(c):
        c.closed = now() - c.t0
        poller.unregister(c.sock.fileno())
        del open_conns[c.sock.fileno()]
        c.sock.close()
        done.append(c)
        statuses[c.data.split(b" ")[1].decode() if c.data.startswith(b"HTTP/1.1 ") else ("unanswered" if not c.data else "garbage")] += 1
        if replace and not stop.is_set():
            global replaced
            add(Slow())
            replaced += 1
    with lock:
        for i in range(nslow): add(Slow())
        for i in range(nsilent): add(Slow(silent=True))
    next_line = now() + 1.0
    while not stop.is_set():
        for fd, ev in poller.poll(max(0, next_line - now()) * 1000):
            with lock:
                c = open_conns.get(fd)
                if c is None: continue
                try:
                    chunk = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    if c.answered is None: c.answered = now() - c.t0
                    c.data += chunk
                else:
                    close(c)
        if now() >= next_line:
            with lock:
                for c in list(open_conns.values()):
                    if c.silent or c.answered is not None: continue
                    try:
                        c.sock.send(b"X-a: b\r\n")
                    except BlockingIOError:
                        pass
                    except OSError:
                        close(c)
            next_line += 1.0
            first_round.set()
        if not replace and not open_conns: break

def get(path, timeout=3):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path); r = c.getresponse(); body = r.read()
        return r.status, body
    finally:
        c.close()

t_start = now()
if mode == "probe":
    t = threading.Thread(target=pump, args=(True,)); t.start()
    first_round.wait(30)
    try:
        status, body = get("/metrics")
        m = re.search(rb"^apid_open_connections (\d+)$", body, re.M)
        gauge = int(m.group(1)) if status == 200 and m else 0
    except Exception:
        gauge = 0
    lat, served = [], 0
    interval = max(0.1, (hold - 1) / 20)
    end = now() + hold
    while now() < end and len(lat) < 20:
        t0 = now()
        try:
            if get("/healthz")[0] == 200: served += 1
        except Exception:
            pass
        lat.append(now() - t0)
        stop.wait(max(0, t0 + interval - now()))
    with lock:
        alive = sum(1 for c in open_conns.values() if not c.silent)
    stop.set(); t.join()
    for c in open_conns.values(): c.sock.close()
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("served", served); print("probes", len(lat))
    print("p50", round(p(0.5), 3)); print("max", round(lat[-1], 3))
    print("open_connections_gauge", gauge); print("slow_open_at_end", alive)
    print("reconnects", replaced)
    print("slow_answers", ",".join("%s:%d" % kv for kv in sorted(statuses.items())) or "none")
else:
    t = threading.Thread(target=pump, args=(False,)); t.start()
    t.join(hold)
    stop.set(); t.join()
    for c in open_conns.values(): c.sock.close()
    slow = [c for c in done if not c.silent]
    silent = [c for c in done if c.silent]
    got408 = [c for c in slow if c.data.startswith(b"HTTP/1.1 408 ")]
    print("slow_408", len(got408))
    print("slow_closed_after_408", sum(1 for c in got408 if c.closed is not None))
    other = collections.Counter(c.data[9:12].decode() if c.data.startswith(b"HTTP/1.1 ") else
                                ("unanswered" if not c.data else "garbage") for c in slow if c not in got408)
    other["still_open"] = sum(1 for c in open_conns.values() if not c.silent)
    print("slow_other", ",".join("%s:%d" % kv for kv in sorted(other.items()) if kv[1]) or "none")
    print("silent_closed_unanswered", sum(1 for c in silent if not c.data))
    print("still_open", len(open_conns))
    print("min_408_s", round(min((c.answered for c in got408), default=0), 2))
    print("max_408_s", round(max((c.answered for c in got408), default=0), 2))
    print("max_silent_close_s", round(max((c.closed for c in silent), default=0), 2))
    print("seconds", round(now() - t_start, 2))
EOF
  if start_devidp idp-slow && start_apid apid-slow; then
    "$PY" "$work/slowloris.py" probe "$apid_port" "$nslow" "$hold" >"$work/slow-probe.txt" 2>&1
    out=$work/slow-probe.txt
    served=$(kv served "$out"); probes=$(kv probes "$out"); pmax=$(kv max "$out"); gauge=$(kv open_connections_gauge "$out")
    figure slow_clients "$nslow"
    figure probes_served "${served:-0}/${probes:-0}"
    figure latency_p50_s "$(kv p50 "$out")"
    figure latency_max_s "${pmax:--}"
    figure open_connections_gauge_during_attack "${gauge:-0}"
    figure slow_connections_open_at_end "$(kv slow_open_at_end "$out")"
    figure slow_reconnects "$(kv reconnects "$out")"
    figure slow_answers "$(kv slow_answers "$out")"
    check "the attack held its connections: apid_open_connections ${gauge:-0} >= $nslow" [ "${gauge:-0}" -ge "$nslow" ]
    check "default settings, $nslow slow clients: all 20 probes served promptly (${served:-0}/${probes:-0}, max ${pmax:--} s < 1 s)" \
      "$PY" -c "import sys; sys.exit(0 if '${served:-0}' == '${probes:-0}' == '20' and float('${pmax:-99}') < 1.0 else 1)"
    proc_stop "$apid_pid"
  fi
  # HEADER_TIMEOUT: counted from a head's first byte, not per read, so trickling does not extend it.
  if [ -n "${devidp_pid:-}" ] && kill -0 "$devidp_pid" 2>/dev/null && start_apid apid-slow-timeout --header-timeout 2; then
    nsilent=10
    before=$(metric 'apid_requests_total{route="other",status="408"}')
    "$PY" "$work/slowloris.py" timeout "$apid_port" "$nslow" 6 "$nsilent" >"$work/slow-timeout.txt" 2>&1
    after=$(metric 'apid_requests_total{route="other",status="408"}')
    out=$work/slow-timeout.txt
    n408=$(kv slow_408 "$out"); nclosed=$(kv slow_closed_after_408 "$out"); nsil=$(kv silent_closed_unanswered "$out")
    min408=$(kv min_408_s "$out")
    figure header_timeout.slow_clients "$nslow"
    figure header_timeout.answered_408 "${n408:-0}"
    figure header_timeout.closed_after_408 "${nclosed:-0}"
    figure header_timeout.other_answers "$(kv slow_other "$out")"
    figure header_timeout.still_open_after_6s "$(kv still_open "$out")"
    figure header_timeout.first_byte_to_408_min_s "${min408:-0}"
    figure header_timeout.first_byte_to_408_max_s "$(kv max_408_s "$out")"
    figure header_timeout.silent_closed_unanswered "${nsil:-0}/$nsilent"
    figure header_timeout.silent_close_max_s "$(kv max_silent_close_s "$out")"
    figure header_timeout.seconds "$(kv seconds "$out")"
    figure header_timeout.requests_408_counted "$((after - before))"
    check "--header-timeout 2: every trickling client answered 408 (${n408:-0}/$nslow) and closed (${nclosed:-0})" \
      [ "${n408:-0}" = "$nslow" -a "${nclosed:-0}" = "$nslow" ]
    check "no 408 before the 2 s header deadline (earliest ${min408:-0} s)" \
      "$PY" -c "import sys; sys.exit(0 if float('${min408:-0}') >= 1.95 else 1)"
    check "silent connections closed without an answer (${nsil:-0}/$nsilent)" [ "${nsil:-0}" = "$nsilent" ]
    check "408s counted in apid_requests_total ($((after - before)) of $nslow)" [ "$((after - before))" = "$nslow" ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# Oversized heads, tokens and bodies: each answered with its own 4xx (414, 431, 401 too_large, 413
# before any body byte is sent), no crash, memory flat.
if want oversized; then
  begin oversized
  if start_devidp idp-big && start_apid apid-big; then
    rounds=${OVERSIZED_ROUNDS:-$([ $long = 1 ] && echo 2000 || echo 80)}
    half=$((rounds / 2))
    "$PY" - "$apid_port" 30 >/dev/null <<'EOF'
import sys, http.client
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/hello", headers={"Authorization": "Bearer " + "A" * 20000 + ".B.C"}); c.getresponse().read(); c.close()
EOF
    cat >"$work/oversized.py" <<'EOF'
import sys, socket, collections, time
port, n, with_body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
codes = collections.Counter()
def raw(req, timeout=10):
    """The answer's status ("closed", "reset", "timeout" without one); a 401 counts as
    "401+invalid_token" when its WWW-Authenticate names invalid_token and the too-large reason."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except socket.timeout:
        return "timeout"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.1 "): return "closed"
    status = data.split(b" ")[1].decode()
    head = data.split(b"\r\n\r\n")[0].lower()
    if status == "401" and b"\r\nwww-authenticate: bearer " in head and b'error="invalid_token"' in head \
            and b"the token is too large" in head:
        status += "+invalid_token"
    return status
cases = {
  "token_9k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"A" * 9000 + b".B.C\r\n\r\n"),
  "token_20k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"A" * 20000 + b".B.C\r\n\r\n"),
  "header_100k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"B" * 100000 + b"\r\n\r\n"),
  "headers_2000": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(2000)) + b"\r\n"),
  "url_100k": lambda: raw(b"GET /hello?" + b"q" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
  "headers_100x8k": lambda: raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: " % i + b"v" * 8000 + b"\r\n" for i in range(100)) + b"\r\n"),
}
# Once: a POST announcing a 10 MiB body, the head alone sent (no body byte): the answer must not
# wait for the body. A 3 s client timeout, so a server that waits for it (cpp-httplib: its 5 s
# read timeout) gets "timeout".
if with_body:
    t0 = time.monotonic()
    codes[("body_10m", raw(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n", timeout=3))] += 1
    print("body_10m_seconds", "-", round(time.monotonic() - t0, 3), file=sys.stderr)
for i in range(n):
    for name, f in cases.items():
        codes[(name, f())] += 1
for (name, code), k in sorted(codes.items()):
    print(name, code, k)
EOF
    # Two halves: the first warms the allocator's per-thread arenas up; memory is flat when the
    # second half (same requests again) does not grow RSS further.
    too_large0=$(metric 'apid_auth_failures_total{reason="too_large"}')
    rss0=$(rss_kb "$apid_pid")
    "$PY" "$work/oversized.py" "$apid_port" "$half" 1 >"$work/oversized.txt" 2>"$work/oversized-timing.txt"
    rss_mid=$(rss_kb "$apid_pid")
    "$PY" "$work/oversized.py" "$apid_port" "$half" 0 >>"$work/oversized.txt"
    rss1=$(rss_kb "$apid_pid")
    while read -r name code k; do figure "status.$name.$code" "$k"; done \
      < <(awk '{n[$1" "$2] += $3} END {for (k in n) print k, n[k]}' "$work/oversized.txt" | sort)
    figure requests "$((half * 2 * 6 + 1))"
    figure body_10m_answer_seconds "$(awk '$1 == "body_10m_seconds" {print $3}' "$work/oversized-timing.txt")"
    figure rss_kb_before "$rss0"
    figure rss_kb_after_first_half "$rss_mid"
    figure rss_kb_after "$rss1"
    figure rss_growth_first_half_kb "$((rss_mid - rss0))"
    figure rss_growth_second_half_kb "$((rss1 - rss_mid))"
    too_large=$(( $(metric 'apid_auth_failures_total{reason="too_large"}') - too_large0 ))
    figure too_large_counted "$too_large"
    check "daemon still alive" kill -0 "$apid_pid"
    # Each input, every time, its expected answer (see $work/oversized.txt).
    for expected in token_9k:401+invalid_token token_20k:401+invalid_token header_100k:431 headers_2000:431 \
        headers_100x8k:431 url_100k:414 body_10m:413; do
      name=${expected%%:*} code=${expected#*:}
      want_n=$([ "$name" = body_10m ] && echo 1 || echo $((2 * half)))
      got=$(awk -v n="$name" -v c="$code" '$1 == n && $2 == c {k += $3} END {print k + 0}' "$work/oversized.txt")
      seen=$(awk -v n="$name" '$1 == n {k[$2] += $3} END {for (c in k) printf "%s%s:%s", (i++ ? "," : ""), c, k[c]}' "$work/oversized.txt")
      check "$name: $want_n answers $code (got ${seen:-none})" [ "$got" = "$want_n" ]
    done
    check "too_large counted for every oversized token ($too_large of $((4 * half)))" [ "$too_large" = $((4 * half)) ]
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
# Sustained load at 256 connections with the default settings (zero errors, RSS flat), SIGHUP
# during load, SIGTERM while requests arrive on fresh connections (every accepted connection
# answered 200), SIGTERM with requests queued behind a busy loop (all answered), and a SIGTERM
# with --shutdown-drain 2 (/readyz 503 draining, requests still served with Connection: close,
# idle keep-alive connections closed, exit 0 after the drain).
if want signals; then
  begin signals
  dur=$([ $long = 1 ] && echo 30 || echo 5)
  start_devidp idp-load || true
  token=$(cc_token)
  if [ "$scenario_failed" = 0 ] && start_apid apid-load; then
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
    check "load actually ran ($reqs requests)" [ "$reqs" -gt 100 ]
    check "RSS flat under load (grew $((rss1 - rss0)) kB)" rss_flat "$((rss1 - rss0))" 32768
    # SIGHUP twice during load.
    proc_start wrk-hup wrk -t2 -c64 -d4s -H "Authorization: Bearer $token" "$api/hello"
    wrk_pid=$PROC_PID
    sleep 1   # the load is the background condition, not a synchronisation
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
    # SIGTERM while 32 clients open a fresh connection per request. The daemon accepts what is
    # queued on its listening socket, stops listening and answers every request it received:
    # a request whose connection was accepted gets a 200; after that, connections are refused.
    # A reset or a bare EOF (the connection was accepted by the kernel but never answered) fails.
    "$PY" - "$apid_port" "$token" "$apid_pid" >"$work/sigterm.txt" <<'EOF'
import sys, socket, threading, time, os, signal
port, token, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
req = ("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode()
lock = threading.Lock()
stats = {"ok": 0, "refused": 0, "non200": 0, "reset": 0, "eof": 0}
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
                else: stats["eof"] += 1
        except OSError:
            with lock: stats["reset"] += 1
        finally:
            s.close()
threads = [threading.Thread(target=worker) for _ in range(32)]
for t in threads: t.start()
time.sleep(1.5)   # the load is the background condition
with lock: before = stats["ok"]
t_sig = time.monotonic()
os.kill(pid, signal.SIGTERM)
stop.wait(max(0, t_sig + 1.5 - time.monotonic()))   # the load goes on through the stop
stop.set()
for t in threads: t.join()
print(stats["ok"], stats["refused"], stats["non200"], stats["reset"], stats["eof"], before)
EOF
    read -r ok refused non200 resets eofs ok_before <"$work/sigterm.txt"
    proc_wait "$apid_pid" 20; rc=$?
    figure sigterm_completed "$ok"
    figure sigterm_completed_before_signal "$ok_before"
    figure sigterm_refused_after_close "$refused"
    figure sigterm_non200 "$non200"
    figure sigterm_failed_by_reset "$resets"
    figure sigterm_failed_by_eof "$eofs"
    figure sigterm_exit_code "$rc"
    check "SIGTERM: every accepted connection answered, none reset or closed unanswered (resets $resets, EOFs $eofs)" \
      [ "$resets" = 0 -a "$eofs" = 0 ]
    check "SIGTERM: no non-200 answer ($non200)" [ "$non200" = 0 ]
    check "SIGTERM: requests were completing before the signal ($ok_before) and the listener closed after it ($refused refused)" \
      [ "$ok_before" -gt 0 -a "$refused" -gt 0 ]
    check "SIGTERM: exit code 0 ($rc)" [ "$rc" = 0 ]
  fi
  # SIGTERM with requests queued behind a busy loop: one event loop (--workers 1) is held in a
  # handler (a token with an unknown kid makes it refetch the key set from devidp, which is
  # SIGSTOPped); 50 requests then queue on the listening socket; SIGTERM; once the listener is
  # closed devidp continues. Every queued request must be answered 200 (the stop accepted them
  # and handed them to the loop). cpp-httplib's old stop closed them unanswered (F2).
  if [ -n "${devidp_pid:-}" ] && kill -0 "$devidp_pid" 2>/dev/null && start_apid apid-backlog --workers 1; then
    "$PY" - "$apid_port" "$token" "$apid_pid" "$devidp_pid" "$issuer" "$audience" >"$work/backlog.txt" 2>&1 <<'EOF'
import base64, json, os, signal, socket, sys, time
port, token, pid, idp_pid, iss, aud = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
b64 = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")
unknown_kid = b64({"alg": "RS256", "typ": "JWT", "kid": "held-%d" % os.getpid()}) + "." + \
    b64({"iss": iss, "aud": aud, "exp": int(time.time()) + 600}) + ".c2lnbmF0dXJl"
def request(tok, timeout=20):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n" % tok).encode())
    return s
def answer(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except OSError:
        return "reset"
    finally:
        s.close()
    return data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else ("eof" if not data else "garbage")
def deadline_loop(seconds, probe):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if probe(): return True
        time.sleep(0.02)
    return False
os.kill(idp_pid, signal.SIGSTOP)
try:
    held = request(unknown_kid)
    # The loop is held once a /healthz gets no answer within 0.3 s.
    def loop_busy():
        s = socket.create_connection(("127.0.0.1", port), timeout=0.3)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            s.recv(1)
            return False
        except socket.timeout:
            return True
        finally:
            s.close()
    busy = deadline_loop(10, loop_busy)
    queued = [request(token) for _ in range(50)]
    os.kill(pid, signal.SIGTERM)
    # The listener is closed (connect refused) once the stop has taken the backlog.
    def refused():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); return False
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    closed = deadline_loop(10, refused)
finally:
    os.kill(idp_pid, signal.SIGCONT)
codes = [answer(s) for s in queued]
print("loop_held", int(busy)); print("listener_closed", int(closed))
print("queued", len(codes)); print("queued_200", codes.count("200"))
print("queued_other", ",".join("%s:%d" % (c, codes.count(c)) for c in sorted(set(codes)) if c != "200") or "none")
print("held_answer", answer(held))
EOF
    proc_wait "$apid_pid" 20; rc=$?
    out=$work/backlog.txt
    for k in loop_held listener_closed queued queued_200 queued_other held_answer; do figure "backlog.$k" "$(kv "$k" "$out")"; done
    figure backlog.exit_code "$rc"
    check "backlog: the loop was held and the listener closed while requests were queued (held $(kv loop_held "$out"), closed $(kv listener_closed "$out"))" \
      [ "$(kv loop_held "$out")" = 1 -a "$(kv listener_closed "$out")" = 1 ]
    check "backlog: all 50 requests queued at SIGTERM answered 200 ($(kv queued_200 "$out"); other: $(kv queued_other "$out"))" \
      [ "$(kv queued "$out")" = 50 -a "$(kv queued_200 "$out")" = 50 ]
    check "backlog: exit 0 ($rc)" [ "$rc" = 0 ]
  fi
  # SIGTERM with a drain period: readiness fails at once, requests are still served (each answer
  # with Connection: close), an idle keep-alive connection is closed, then the daemon exits 0.
  if [ -n "${devidp_pid:-}" ] && kill -0 "$devidp_pid" 2>/dev/null && start_apid apid-drain --shutdown-drain 2; then
    "$PY" - "$apid_port" "$token" "$apid_pid" >"$work/drain.txt" <<'EOF'
import http.client, os, signal, socket, sys, time
port, token, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
now = time.monotonic
def get(path, headers={}):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path, headers=headers); r = c.getresponse()
        return r.status, r.read().decode(errors="replace"), r.getheader("Connection") or "-"
    finally:
        c.close()
# A keep-alive connection that has been served once and then sits idle.
idle = socket.create_connection(("127.0.0.1", port), timeout=5)
idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
first = idle.recv(65536)
print("idle_first_answer", first.split(b" ")[1].decode() if first.startswith(b"HTTP/1.1 ") else "none")
print("readyz_before", get("/readyz")[0])
t0 = now()
print("sigterm_epoch", time.time())   # taken before the signal: the exit must come 2 s or more after it
os.kill(pid, signal.SIGTERM)
# /readyz turns 503 (polled with a deadline well inside the 2 s drain).
status = body = None
while now() < t0 + 1.5:
    status, body, _ = get("/readyz")
    if status == 503: break
    time.sleep(0.02)
print("readyz_status", status); print("readyz_body", body.replace(" ", ""))
print("readyz_503_after_s", round(now() - t0, 3))
# A request with a valid token on a fresh keep-alive connection: served, told to close.
status, _, conn = get("/hello", {"Authorization": "Bearer " + token})
print("hello_status", status); print("hello_connection", conn.lower())
print("hello_after_s", round(now() - t0, 3))
# The idle keep-alive connection: closed by the daemon (EOF) without an answer.
idle.settimeout(max(0.1, t0 + 1.8 - now()))
try:
    rest = idle.recv(65536)
    print("idle_closed", "eof" if not rest else "answered")
except socket.timeout:
    print("idle_closed", "still_open")
except OSError:
    print("idle_closed", "reset")
print("idle_checked_after_s", round(now() - t0, 3))
EOF
    proc_wait "$apid_pid" 20; rc=$?
    t_end=$(date +%s.%N)
    out=$work/drain.txt
    exit_after=$("$PY" -c "print(round($t_end - $(kv sigterm_epoch "$out"), 2))" 2>/dev/null || echo 0)
    for k in idle_first_answer readyz_before readyz_status readyz_body readyz_503_after_s hello_status \
        hello_connection hello_after_s idle_closed idle_checked_after_s; do
      figure "drain.$k" "$(kv "$k" "$out")"
    done
    figure drain.exit_code "$rc"
    figure drain.exit_after_s "$exit_after"
    check "drain: /readyz 200 before SIGTERM, 503 {\"status\":\"draining\"} after it (got $(kv readyz_before "$out"), $(kv readyz_status "$out") $(kv readyz_body "$out"))" \
      [ "$(kv readyz_before "$out")" = 200 -a "$(kv readyz_status "$out")" = 503 -a "$(kv readyz_body "$out")" = '{"status":"draining"}' ]
    check "drain: /hello with a valid token still 200, with Connection: close (got $(kv hello_status "$out"), $(kv hello_connection "$out"))" \
      [ "$(kv hello_status "$out")" = 200 -a "$(kv hello_connection "$out")" = close ]
    check "drain: the idle keep-alive connection was closed ($(kv idle_closed "$out"))" \
      [ "$(kv idle_first_answer "$out")" = 200 -a "$(kv idle_closed "$out")" = eof ]
    check "drain: those checks ran inside the 2 s drain ($(kv idle_checked_after_s "$out") s)" \
      "$PY" -c "import sys; sys.exit(0 if float('$(kv idle_checked_after_s "$out")' or 9) < 2.0 else 1)"
    check "drain: exit 0 ($rc) after the drain, not before (${exit_after} s after SIGTERM)" \
      "$PY" -c "import sys; sys.exit(0 if '$rc' == '0' and 2.0 <= float('$exit_after') < 15 else 1)"
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
