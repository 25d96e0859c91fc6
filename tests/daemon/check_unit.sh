#!/bin/sh
# Checks scripts/oauthdemo-apid.service with systemd's own tools: `systemd-analyze verify` and an
# exposure score at most $3/10 (default 25, i.e. 2.5) from `systemd-analyze security --offline=yes`.
# Usage: check_unit.sh UNIT_FILE APID_BINARY [THRESHOLD]
set -eu
unit_src=$1
binary=$2
threshold=${3:-25}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/local/bin/oauthdemo-apid#$binary#" "$unit_src" > "$dir/oauthdemo-apid.service"
systemd-analyze verify "$dir/oauthdemo-apid.service"
out=$(systemd-analyze security --offline=yes --threshold="$threshold" "$dir/oauthdemo-apid.service")
echo "$out" | tail -n 1
