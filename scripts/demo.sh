#!/usr/bin/env bash
# The main job in one command: set up, start the dev authorization server and the API daemon on
# free loopback ports, log in with the CLI (PKCE through a loopback listener), show the token and
# call the API. Stops everything it started, also on Ctrl-C.
#
#   scripts/demo.sh                 headless: the browser step is scripted (demo user alice)
#   scripts/demo.sh --interactive   log in yourself in your own browser (needs a display)
#   scripts/demo.sh --user bob      log in as the user without the admin permission
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=lib/processes.sh
. scripts/lib/processes.sh

interactive=0
user=alice
while [ $# -gt 0 ]; do
  case "$1" in
    --interactive) interactive=1 ;;
    --user) user=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

step "Setting up (packages, build)"
scripts/bootstrap.sh
BUILD=$(realpath -m "${DEMO_BUILD_DIR:-build/demo}")  # absolute: the servers run in the work dir
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -G Ninja "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DOAUTHDEMO_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target oauthdemo oauthdemo-apid oauthdemo-devidp

proc_init demo  # stops every process it starts, by PID, also on failures and Ctrl-C
WORK=$PROC_DIR

step "Starting the dev authorization server (oauthdemo-devidp) on a free loopback port"
proc_start devidp "$BUILD/src/devidp/oauthdemo-devidp" --port 0 --ready-file "$WORK/devidp.json"
proc_wait_ready devidp "$WORK/devidp.json" 30 || exit 1
ISSUER=$(proc_ready_field "$WORK/devidp.json" issuer)
echo "issuer: $ISSUER" >&2

step "Starting the API daemon (oauthdemo-apid), validating tokens from $ISSUER"
proc_start apid env ISSUER_BASE_URL="$ISSUER" API_AUDIENCE=https://api.example.com \
  "$BUILD/src/daemon/oauthdemo-apid" --port 0 --ready-file "$WORK/apid.json"
proc_wait_ready apid "$WORK/apid.json" 30 || exit 1
API_URL="http://127.0.0.1:$(proc_ready_field "$WORK/apid.json" port)"
echo "API: $API_URL" >&2

# The CLI reads the seed's settings; its token store lives in a throwaway config dir.
export XDG_CONFIG_HOME=$WORK/config
export ISSUER_BASE_URL=$ISSUER AUTH0_CLIENT_ID=oauthdemo-cli API_AUDIENCE=https://api.example.com API_BASE_URL=$API_URL
CLI="$BUILD/src/cli/oauthdemo"

step "oauthdemo login (Authorization Code + PKCE S256 through a loopback listener)"
if [ "$interactive" = 1 ]; then
  "$CLI" login
else
  password_var="DEVIDP_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  password=${!password_var:-$user-password}
  echo "(headless: the browser step is scripted by scripts/devidp-browser.sh as '$user')" >&2
  "$CLI" login --port-list 0 --browser-command "$ROOT/scripts/devidp-browser.sh --user $user --password $password"
fi

step "oauthdemo token show"
"$CLI" token show

step "oauthdemo call-api /hello"
"$CLI" call-api /hello

step "Done: stopping the servers"
