#!/bin/bash
# Instructions executed (Ir, callgrind) by one `slaplan run` of the reference
# scenario shortened to 3 days (572,665 model calls at seed 2026; its one
# scripted outage moved into the period), and Ir per call. Callgrind counts
# are deterministic, so a change of 0.5 % shows on a loaded machine where
# wall time cannot; confirm with user CPU on an idle machine (BENCHMARKS.md).
# Needs valgrind (Debian: valgrind).
#
# Usage: benches/tools/icount.sh BINARY [CALLGRIND_OUT]
#   then: callgrind_annotate --inclusive=yes CALLGRIND_OUT | less
set -euo pipefail
bin=$(readlink -f "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${2:-$tmp/callgrind.out}
sed -e 's/^duration = "31d"/duration = "3d"/' -e 's/2026-03-12T09:30:00/2026-03-02T09:30:00/' \
    "$root/scenarios/reference.toml" > "$tmp/reference-3d.toml"
grep -q '^duration = "3d"' "$tmp/reference-3d.toml" || { echo "icount.sh: scenarios/reference.toml has no 31-day duration line to shorten" >&2; exit 2; }
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" run "$tmp/reference-3d.toml" \
    --threads 1 --replications 1 --out "$tmp/run" > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
ir=$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}')
calls=$(grep -o '"calls": [0-9]*' "$tmp/run/run.json" | head -1 | awk '{print $2}')
echo "Ir $ir for $calls calls: $((ir / calls)) per call"
