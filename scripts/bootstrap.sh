#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, from Debian's packages and npm.
# Idempotent and fast when everything is present: apt-get runs only for missing packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libcli11-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev libspdlog-dev doctest-dev
  libexpected-dev libsystemd-dev libbenchmark-dev libqrencode-dev
  ccache curl ca-certificates openssl procps psmisc iproute2 python3 systemd
  nodejs npm chromium wrk hyperfine gnuplot-nox jq
  # Round 2: config files, shared replay cache, OS keyring and its headless test, real test peers
  libtomlplusplus-dev libhiredis-dev redis-server libsecret-1-dev libsecret-tools gnome-keyring
  dbus dbus-x11 nginx caddy haproxy kubernetes-client help2man
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  # npm may come bundled with the nodejs package (nodesource builds); then it is not a package.
  if [ "$pkg" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$pkg" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  # Any kubectl will do as a test peer (some machines carry one from another package, which
  # conflicts with Debian's kubernetes-client on /usr/bin/kubectl).
  if [ "$pkg" = kubernetes-client ] && command -v kubectl >/dev/null 2>&1; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # The test peers (nginx, redis-server, haproxy) are started by the tests on loopback ports; keep
  # their packages from starting system-wide services on install (policy-rc.d, Debian's switch).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -z "$own_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# npm packages for test peers and browser tests, pinned by their lockfiles. Never a downloaded
# browser: playwright-core drives Debian's /usr/bin/chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in tests/npm bench/reference-express; do
  if [ -f "$dir/package-lock.json" ]; then
    stamp="$dir/node_modules/.bootstrap-stamp"
    if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
      echo "bootstrap: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      touch "$stamp"
    fi
  fi
done
echo "bootstrap: ok"
