#!/usr/bin/env bash
# Interop with an independent, OpenID Certified provider: npm oidc-provider (tests/npm/oidc-provider-peer.mjs).
#
#   tests/interop/run_interop.sh --cli PATH --apid PATH [--artifacts DIR]
#
# The CLI logs in against it through Debian's Chromium (PKCE loopback), calls oauthdemo-apid (which validates the
# provider's at+jwt access tokens), refreshes, logs out (revocation); then the device flow approved in the browser;
# then a JWT corpus (tests/npm/make-corpus.mjs) is judged by oauthdemo-apid and by npm jose, and any disagreement
# — with each other or with the corpus's expectation — fails. Prints "N passed, N failed".
# Only standards are used: anything our tools need beyond them is a bug in our tools.
set -uo pipefail
# shellcheck disable=SC2034  # SUITE is used by lib.sh
SUITE=interop
# shellcheck source=../e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

CLI=""; APID=""; ART=$ROOT/tests/e2e/artifacts/interop
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) CLI=$2; shift ;;
    --apid) APID=$2; shift ;;
    --artifacts) ART=$2; shift ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
require_tools
require_bin oauthdemo "$CLI"; require_bin oauthdemo-apid "$APID"
CLI=$(realpath "$CLI"); APID=$(realpath "$APID")  # processes run in the work dir
mkdir -p "$ART"
rm -rf "$ART"/*.png "$ART"/login-steps "$ART"/device-steps
AUDIENCE=https://api.example.com
SEED_MESSAGE='Hello! Your token is valid.'

# ---- the provider and the API daemon ----
proc_start peer node "$NPM_DIR/oidc-provider-peer.mjs" --ready-file "$W/peer.json" --audience "$AUDIENCE"
wait_ready peer "$W/peer.json"
ISSUER=$(jq -r .issuer "$W/peer.json")
start_apid apid "$ISSUER" --allowed-algs RS256
API=$APID_URL
log "oidc-provider $ISSUER, apid $API"

# ---- 1. PKCE loopback login through the browser, API call, refresh, logout ----
cli_env alice
if run_cli login-alice 0 login --port-list 0 --timeout 120 --browser-command \
    "$(browser_cmd --mode oidc-provider --user alice --password any --screenshot "$ART/login.png" --trace-dir "$ART/login-steps" --expect-text 'You are logged in')"; then
  run_cli status-alice 0 status
  if run_cli hello-alice 0 call-api /hello; then
    jq -e --arg m "$SEED_MESSAGE" --arg a "$AUDIENCE" \
      '.message == $m and .user.sub == "alice" and (.user.aud == $a or (.user.aud | type == "array" and index($a) != null))' \
      "$W/hello-alice.out" >/dev/null
    expect "apid accepts oidc-provider's at+jwt access token (sub alice, aud the API)" $? "$W/hello-alice.out"
  fi
  run_cli admin-alice 0 call-api /admin
  run_cli refresh-alice 0 token refresh
  run_cli hello-after-refresh 0 call-api /hello
  run_cli logout-alice 0 logout
  run_cli status-after-logout 4 status
fi

# ---- 2. bob: /admin refused ----
cli_env bob
if run_cli login-bob 0 login --port-list 0 --timeout 120 --browser-command \
    "$(browser_cmd --mode oidc-provider --user bob --password any --expect-text 'You are logged in')"; then
  run_cli admin-bob 6 call-api -i /admin
fi

# ---- 3. denied at the provider ----
cli_env denied
run_cli login-denied 5 login --port-list 0 --timeout 120 --browser-command \
  "$(browser_cmd --mode oidc-provider --deny --screenshot "$ART/denied.png" --expect-text 'Login failed')"

# ---- 4. device flow approved in the browser ----
cli_env device
if run_cli login-device 0 login --device --timeout 120 --browser-command \
    "$(browser_cmd --mode device --user alice --password any --screenshot "$ART/device.png" --trace-dir "$ART/device-steps" --expect-text 'Sign-in Success')"; then
  run_cli hello-device 0 call-api /hello
  run_cli refresh-device 0 token refresh
  run_cli hello-after-device-refresh 0 call-api /hello
  revoked_before=$(grep -c 'grant.revoked' "$W/peer.log")
  run_cli logout-device 0 logout
  if [ "$(grep -c 'grant.revoked' "$W/peer.log")" -gt "$revoked_before" ] && ! grep -q 'revocation.error' "$W/peer.log"; then
    ok "logout revoked the grant at the provider"
  else not_ok "logout revoked the grant at the provider" "$W/peer.log"; fi
  run_cli status-after-device-logout 4 status
fi

# ---- 5. the same token corpus judged by oauthdemo-apid and by npm jose ----
proc_start corpus node "$NPM_DIR/make-corpus.mjs" --ready-file "$W/corpus-ready.json" --out "$W/corpus.json" --audience "$AUDIENCE"
wait_ready corpus "$W/corpus-ready.json"
start_apid apid-corpus "$(jq -r .issuer "$W/corpus-ready.json")" --allowed-algs RS256 --leeway 0
API2=$APID_URL
node "$NPM_DIR/jose-crosscheck.mjs" --corpus "$W/corpus.json" >"$W/jose.json" 2>"$W/jose.err"
expect "jose-crosscheck ran" $? "$W/jose.err"
n=$(jq '.tokens | length' "$W/corpus.json")
disagree=0; wrong=0
for i in $(seq 0 $((n - 1))); do
  jq -r ".tokens[$i].token" "$W/corpus.json" >"$W/tok"
  status=$(curl -s -o /dev/null -w '%{http_code}' -H @- "$API2/hello" < <(printf 'Authorization: Bearer %s\n' "$(cat "$W/tok")"))
  apid_valid=false; [ "$status" = 200 ] && apid_valid=true
  jose_valid=$(jq -r ".[$i].valid" "$W/jose.json")
  expected=$(jq -r ".tokens[$i].expect_valid" "$W/corpus.json")
  name=$(jq -r ".tokens[$i].name" "$W/corpus.json")
  if [ "$apid_valid" != "$jose_valid" ]; then
    disagree=$((disagree + 1))
    echo "  disagreement on #$i ($name): apid HTTP $status, jose $(jq -r ".[$i].reason" "$W/jose.json"), expected valid=$expected"
  elif [ "$apid_valid" != "$expected" ]; then
    wrong=$((wrong + 1))
    echo "  both differ from the expectation on #$i ($name): valid=$apid_valid, expected $expected"
  fi
done
rm -f "$W/tok"
expect "apid and jose agree on all $n corpus tokens" "$([ "$disagree" = 0 ]; echo $?)"
expect "both match the corpus expectations" "$([ "$wrong" = 0 ]; echo $?)"

expect_no_jwt_in_stderr
log "artifacts (screenshots): $ART"
finish
