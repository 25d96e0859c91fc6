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
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  # npm may come bundled with the nodejs package (nodesource builds); then it is not a package.
  if [ "$pkg" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$pkg" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
