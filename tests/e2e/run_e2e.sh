#!/usr/bin/env bash
# Real-browser end-to-end test: the CLI logs in against oauthdemo-devidp through Debian's Chromium (driven by
# tests/npm/browser-login.mjs with playwright-core), then calls oauthdemo-apid.
#
#   tests/e2e/run_e2e.sh --cli PATH --apid PATH --devidp PATH [--artifacts DIR]
#
# Checks: PKCE loopback login as alice (screenshot of the CLI's success page), status, call-api /hello (the seed's
# message with alice's claims), /admin allowed for alice, token refresh, logout; device flow approved in the
# browser; a denied login exits 5; bob is refused /admin (exit 6, HTTP 403). Prints "N passed, N failed".
# Fails loudly on anything missing; stops every process it started (by PID).
set -uo pipefail
# shellcheck disable=SC2034  # SUITE is used by lib.sh
SUITE=e2e
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CLI=""; APID=""; DEVIDP=""; ART=$ROOT/tests/e2e/artifacts
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) CLI=$2; shift ;;
    --apid) APID=$2; shift ;;
    --devidp) DEVIDP=$2; shift ;;
    --artifacts) ART=$2; shift ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
require_tools
require_bin oauthdemo "$CLI"; require_bin oauthdemo-apid "$APID"; require_bin oauthdemo-devidp "$DEVIDP"
CLI=$(realpath "$CLI"); APID=$(realpath "$APID"); DEVIDP=$(realpath "$DEVIDP")  # processes run in the work dir
mkdir -p "$ART"
rm -rf "$ART"/*.png "$ART"/login-steps "$ART"/device-steps
AUDIENCE=https://api.example.com
SEED_MESSAGE='Hello! Your token is valid.'

# ---- servers ----
proc_start devidp "$DEVIDP" --host 127.0.0.1 --port 0 --ready-file "$W/devidp.json" --device-interval 1
wait_ready devidp "$W/devidp.json"
ISSUER=$(jq -r '.issuer // .url' "$W/devidp.json")
start_apid apid "$ISSUER"
API=$APID_URL
log "devidp $ISSUER, apid $API"

# ---- 1. alice: browser login (PKCE, loopback), status, call-api, refresh, logout ----
cli_env alice
if run_cli login-alice 0 login --port-list 0 --timeout 120 --browser-command \
    "$(browser_cmd --mode devidp --user alice --password alice-password --screenshot "$ART/login.png" --trace-dir "$ART/login-steps" --expect-text 'You are logged in')"; then
  expect "login page screenshot saved" "$([ -s "$ART/login.png" ]; echo $?)"
  run_cli status-alice 0 status
  if run_cli hello-alice 0 call-api /hello; then
    jq -e --arg m "$SEED_MESSAGE" '.message == $m and (.user.sub | type == "string") and (.user | tostring | test("alice"))' \
      "$W/hello-alice.out" >/dev/null
    expect "/hello answers the seed message with alice's claims" $? "$W/hello-alice.out"
    jq -e --arg a "$AUDIENCE" '.user.aud == $a or (.user.aud | type == "array" and index($a) != null)' "$W/hello-alice.out" >/dev/null
    expect "/hello claims carry the API audience" $? "$W/hello-alice.out"
  fi
  run_cli admin-alice 0 call-api /admin
  run_cli refresh-alice 0 token refresh
  run_cli hello-after-refresh 0 call-api /hello
  run_cli logout-alice 0 logout
  run_cli status-after-logout 4 status
fi

# ---- 2. device flow approved in the browser ----
cli_env device
if run_cli login-device 0 login --device --timeout 120 --browser-command \
    "$(browser_cmd --mode device --user alice --password alice-password --screenshot "$ART/device.png" --trace-dir "$ART/device-steps" --expect-text 'Device approved')"; then
  run_cli hello-device 0 call-api /hello
  jq -e --arg m "$SEED_MESSAGE" '.message == $m' "$W/hello-device.out" >/dev/null
  expect "device-flow token accepted by the API" $? "$W/hello-device.out"
fi

# ---- 3. a denied login exits 5 with a clear message ----
cli_env denied
if run_cli login-denied 5 login --port-list 0 --timeout 120 --browser-command \
    "$(browser_cmd --mode devidp --user alice --password alice-password --deny --screenshot "$ART/denied.png" --expect-text 'Login failed')"; then
  grep -qi 'denied' "$W/login-denied.err"
  expect "denied login explains itself" $? "$W/login-denied.err"
  run_cli status-denied 4 status
fi

# ---- 4. bob lacks read:admin: /hello ok, /admin refused (exit 6, 403) ----
cli_env bob
if run_cli login-bob 0 login --port-list 0 --timeout 120 --browser-command \
    "$(browser_cmd --mode devidp --user bob --password bob-password --expect-text 'You are logged in')"; then
  run_cli hello-bob 0 call-api /hello
  if run_cli admin-bob 6 call-api -i /admin; then
    grep -q '403' "$W/admin-bob.out" "$W/admin-bob.err"
    expect "bob's /admin answer is a 403" $? "$W/admin-bob.out" "$W/admin-bob.err"
  fi
fi

# ---- no token ever printed by the CLI outside `token show` ----
expect_no_jwt_in_stderr
log "artifacts (screenshots): $ART"
finish
