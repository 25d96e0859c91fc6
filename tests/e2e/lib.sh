# Shared helpers for tests/e2e/run_e2e.sh and tests/interop/run_interop.sh (sourced, not run).
# - processes come from scripts/lib/processes.sh: every one started with `proc_start` is stopped by PID at exit
#   (SIGTERM, then SIGKILL after 5 s), also on failures and Ctrl-C; the work dir W goes unless KEEP_WORKDIR=1;
# - `ok`/`not_ok` count results; `finish` prints the servers' logs if anything failed, then "N passed, N failed",
#   and sets the exit status;
# - nothing is ever skipped: a missing tool or binary is a failure with a message.
# The drivers set AUDIENCE, ISSUER, API and APID (start_apid, cli_env) and CLI (run_cli).
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NPM_DIR=$ROOT/tests/npm
PASSED=0
FAILED=0
# shellcheck source=../../scripts/lib/processes.sh
. "$ROOT/scripts/lib/processes.sh"
PROC_KEEP_DIR=${KEEP_WORKDIR:-0}
proc_init "${SUITE:-test}"
W=$PROC_DIR

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
  for f in "$@"; do proc_print_log "$f" 15; done
}
finish() {
  if [ "$FAILED" -gt 0 ]; then proc_stop_all --logs; fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}

# wait_ready NAME FILE [SECONDS] : the process started as NAME has written its ready file FILE; else a failure
wait_ready() {
  proc_wait_ready "$@" && return 0
  not_ok "$1 starts"
  die "$1 did not get ready"
}
# start_apid NAME ISSUER [FLAGS...] : $APID for ISSUER and $AUDIENCE on a free loopback port; sets APID_URL
start_apid() {
  local name=$1 issuer=$2
  shift 2
  proc_start "$name" "$APID" --host 127.0.0.1 --port 0 --ready-file "$W/$name.json" --issuer "$issuer" \
    --audience "$AUDIENCE" "$@"
  wait_ready "$name" "$W/$name.json"
  # shellcheck disable=SC2034  # read by the drivers
  APID_URL=http://127.0.0.1:$(proc_ready_field "$W/$name.json" port)
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

# browser_cmd ARGS... : browser-login.mjs with ARGS as a --browser-command string (the CLI appends the URL)
browser_cmd() {
  local cmd a
  cmd="node $(printf %q "$NPM_DIR/browser-login.mjs") --timeout 90"
  for a in "$@"; do cmd+=" $(printf %q "$a")"; done
  printf '%s' "$cmd"
}
# cli_env NAME : a fresh HOME/XDG_CONFIG_HOME per scenario, Auth0-style settings pointing at ISSUER and API
cli_env() {
  mkdir -p "$W/$1/home" "$W/$1/cfg"
  CLI_ENV=(HOME="$W/$1/home" XDG_CONFIG_HOME="$W/$1/cfg" ISSUER_BASE_URL="$ISSUER" AUTH0_CLIENT_ID=oauthdemo-cli
           API_AUDIENCE="$AUDIENCE" API_BASE_URL="$API")
}
# expect_no_jwt_in_stderr : no token ever printed by the CLI outside `token show`
expect_no_jwt_in_stderr() {
  if grep -lE 'eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.' "$W"/*.err >/dev/null 2>&1; then
    # Name the files only: their content would print the token.
    not_ok "no JWT in the CLI's stderr (found in: $(grep -lE 'eyJ[A-Za-z0-9_-]{10,}\.eyJ' "$W"/*.err | xargs -n1 basename | tr '\n' ' '))"
  else
    ok "no JWT in the CLI's stderr"
  fi
}
