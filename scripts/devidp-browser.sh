#!/usr/bin/env bash
# A scripted "browser" for oauthdemo-devidp (development and tests only).
#
#   devidp-browser.sh [--user U] [--password P] [--deny] [--print-redirect] URL
#
# URL is either an authorization URL (http://127.0.0.1:PORT/authorize?...) or a device
# verification URL (http://127.0.0.1:PORT/activate?user_code=XXXX-XXXX). With curl and a cookie
# jar it fetches the page, fills the login form (after the code form for /activate), presses
# "login" (or "deny" with --deny), and for the authorization-code flow delivers the final
# redirect to the loopback callback. Exit 0 when it got through; non-zero with a message on
# stderr otherwise. Never prints codes or tokens, except that --print-redirect prints the final
# redirect URL (which carries the code) on stdout instead of delivering it: what a user copies
# from the address bar when the browser cannot reach the loopback listener (SSH, containers).
set -euo pipefail

user=alice
password=
password_set=0
action=login
print_redirect=0
url=

usage() { echo "usage: devidp-browser.sh [--user U] [--password P] [--deny] [--print-redirect] URL" >&2; exit 2; }
die() { echo "devidp-browser: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    --password) [ $# -ge 2 ] || usage; password=$2; password_set=1; shift 2 ;;
    --deny) action=deny; shift ;;
    --print-redirect) print_redirect=1; shift ;;
    -h|--help) usage ;;
    --) shift; url=${1:-}; shift || true ;;
    -*) usage ;;
    *) [ -z "$url" ] || usage; url=$1; shift ;;
  esac
done
[ -n "$url" ] || usage
if [ "$password_set" = 0 ]; then
  case "$user" in
    alice) password=${DEVIDP_ALICE_PASSWORD:-alice-password} ;;
    bob) password=${DEVIDP_BOB_PASSWORD:-bob-password} ;;
    *) password= ;;
  esac
fi

# Only loopback servers: this is a test tool.
is_loopback() {
  case "$1" in
    http://127.0.0.1:*|http://127.0.0.1/*|http://\[::1\]:*|http://\[::1\]/*|http://localhost:*|http://localhost/*) return 0 ;;
    *) return 1 ;;
  esac
}
is_loopback "$url" || die "refusing a non-loopback URL"
origin=$(printf '%s' "$url" | sed -E 's#^(http://[^/?]+).*#\1#')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jar=$work/cookies
page=$work/page.html
curl_base=(curl -sS --max-time 30 --proto "=http" -b "$jar" -c "$jar")

# Reads the value="" of the input named $1 from $page (inputs are one per line).
field() {
  sed -n "s/.*name=\"$1\"[^>]*value=\"\\([^\"]*\\)\".*/\\1/p" "$page" | head -n1 |
    sed -e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}

# GET $1, following redirects within the server; a redirect to another loopback origin (the
# application's callback, e.g. with an error) is delivered there and ends the script with 0.
# Sets $status and $effective for the final page.
fetch() {
  local target=$1 location _
  for _ in 1 2 3 4 5; do
    read -r status location < <("${curl_base[@]}" -o "$page" -w '%{http_code} %{redirect_url}\n' "$target") ||
      die "cannot reach ${target%%\?*}"
    effective=$target
    case "$status" in
      301|302|303|307|308) ;;
      *) return 0 ;;
    esac
    case "$location" in
      "$origin"/*) target=$location ;;
      *) deliver "$location" ;;
    esac
  done
  die "too many redirects at ${target%%\?*}"
}

# Delivers a redirect to the application's loopback callback (or prints it) and exits 0.
deliver() {
  is_loopback "$1" || die "refusing to follow a redirect to a non-loopback URL"
  if [ "$print_redirect" = 1 ]; then
    printf '%s\n' "$1"
    exit 0
  fi
  "${curl_base[@]}" -o /dev/null "$1" || die "could not deliver the redirect to the callback"
  echo "devidp-browser: redirected to the callback (${action})" >&2
  exit 0
}

# POST the urlencoded fields (name=value args) to $1 without following; prints "STATUS LOCATION".
post() {
  local target=$1; shift
  local args=()
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  "${curl_base[@]}" -o "$page" -w '%{http_code} %{redirect_url}\n' "${args[@]}" "$target"
}

fetch "$url"
[ "$status" = 200 ] || die "GET ${url%%\?*} answered HTTP $status: $(sed -n 's/.*class="error"[^>]*>\(.*\)<\/p>.*/\1/p' "$page" | head -n1)"

case "$effective" in
  */activate*)
    code=$(field user_code)
    [ -n "$code" ] || die "the activation URL carries no user_code"
    csrf=$(field csrf)
    read -r status location < <(post "$origin/activate" "csrf=$csrf" "user_code=$code") || die "cannot reach $origin"
    [ "$status" = 302 ] || die "the user code was not accepted (HTTP $status)"
    fetch "$location"
    [ "$status" = 200 ] || die "login page answered HTTP $status"
    ;;
esac

grep -q 'action="/u/login"' "$page" || die "no login form at $effective"
txn=$(field txn)
csrf=$(field csrf)
read -r status location < <(post "$origin/u/login" "txn=$txn" "csrf=$csrf" "username=$user" "password=$password" \
  "action=$action") || die "cannot reach $origin"

# A 302 carries the code (or the error) to the application's loopback receiver.
if [ "$status" = 302 ]; then deliver "$location"; fi
if [ "$status" = 200 ] && grep -q 'Device approved' "$page"; then
  echo "devidp-browser: Device approved" >&2
  exit 0
fi
if [ "$status" = 200 ] && grep -q 'Device denied' "$page"; then
  echo "devidp-browser: Device denied" >&2
  exit 0
fi
if grep -q 'Wrong username or password' "$page"; then die "login failed: wrong username or password"; fi
die "login did not complete (HTTP $status): $(sed -n 's/.*class="error"[^>]*>\(.*\)<\/p>.*/\1/p' "$page" | head -n1)"
