# Shared helpers for tests/e2e/run_e2e.sh and tests/interop/run_interop.sh (sourced, not run).
# - every process started with `start_bg` is stopped by PID at exit (SIGTERM, then SIGKILL after 5 s);
# - `ok`/`not_ok` count results; `finish` prints "N passed, N failed" and sets the exit status;
# - nothing is ever skipped: a missing tool or binary is a failure with a message.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NPM_DIR=$ROOT/tests/npm
PASSED=0
FAILED=0
PIDS=()
W=$(mktemp -d "${TMPDIR:-/tmp}/oauthdemo-${SUITE:-test}.XXXXXX")

log() { echo "${SUITE:-test}: $*" >&2; }
die() {
  echo "${SUITE:-test}: FATAL: $*" >&2
  FAILED=$((FAILED + 1))
  echo "$PASSED passed, $FAILED failed"
  exit 1
}
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() {
  FAILED=$((FAILED + 1))
  echo "not ok - $1"
  shift
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "  --- last lines of $(basename "$f"):"
    # Scrub anything secret-shaped before printing (query values of codes/state, JWTs).
    tail -n 15 "$f" | sed -E 's/((code|state|nonce|code_challenge|code_verifier|user_code|device_code|token)=)[^&[:space:]]*/\1.../g; s/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*/[jwt]/g; s/^/  | /'
  done
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then log "work dir kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "${SUITE:-test}: interrupted" >&2; exit 130' INT TERM

# start_bg NAME CMD... : background process (cwd = work dir, no stray .env), output in W/NAME.log; sets LAST_PID
start_bg() {
  local name=$1
  shift
  (cd "$W" && exec "$@") >"$W/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
# wait_ready FILE PID NAME [SECONDS] : polls for the ready file with a deadline; dies if the process exits
wait_ready() {
  local file=$1 pid=$2 name=$3 deadline=$((SECONDS + ${4:-60}))
  while [ ! -s "$file" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then not_ok "$name starts" "$W/$name.log"; die "$name exited before it was ready"; fi
    if [ $SECONDS -ge $deadline ]; then not_ok "$name starts" "$W/$name.log"; die "$name not ready in time"; fi
    sleep 0.05
  done
}
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

require_tools() {
  local t
  for t in node jq curl; do command -v "$t" >/dev/null || die "$t is not installed (scripts/bootstrap.sh installs it)"; done
  [ -x "${OAUTHDEMO_CHROMIUM:-/usr/bin/chromium}" ] || die "Debian chromium is not installed at /usr/bin/chromium (apt package chromium; scripts/bootstrap.sh)"
  [ -d "$NPM_DIR/node_modules/playwright-core" ] || die "tests/npm/node_modules is missing: run scripts/bootstrap.sh (npm ci in tests/npm)"
}
require_bin() { # NAME PATH
  [ -n "$2" ] || die "no path given for $1"
  [ -x "$2" ] || die "$1 binary not found or not executable: $2"
}

# run_cli NAME EXPECTED_EXIT ARGS... : runs the CLI with CLI_ENV (array) in the work dir; output in W/NAME.{out,err};
# records ok/not ok on the exit status; returns 0 when it matched.
run_cli() {
  local name=$1 want=$2
  shift 2
  local rc=0
  (cd "$W" && env -u AUTH0_DOMAIN -u OAUTHDEMO_ACCESS_TOKEN "${CLI_ENV[@]}" timeout 180 "$CLI" "$@" \
    </dev/null >"$W/$name.out" 2>"$W/$name.err") || rc=$?
  if [ "$rc" = "$want" ]; then
    ok "$name (exit $rc)"
    return 0
  fi
  not_ok "$name: exit $rc, expected $want" "$W/$name.err" "$W/$name.out"
  return 1
}
# expect NAME CONDITION_EXIT_STATUS FILES... : records a check
expect() {
  local name=$1 status=$2
  shift 2
  if [ "$status" = 0 ]; then ok "$name"; else not_ok "$name" "$@"; fi
}
