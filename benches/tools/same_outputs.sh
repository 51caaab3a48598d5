#!/bin/bash
# Whether two builds of slaplan write byte-identical outputs: the reference
# month (one replication, one thread) and the quickstart (its replications,
# two threads), every file `run` writes compared with cmp, run.json's timing
# figures (wall_seconds, calls_per_second) aside. A speed change must pass
# this unless its change of results is deliberate and explained.
#
# Usage: benches/tools/same_outputs.sh BEFORE_BINARY AFTER_BINARY
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
for side in before after; do
    bin=$1; shift || true
    "$bin" run "$root/scenarios/reference.toml" --threads 1 --replications 1 --out "$tmp/$side/month" > /dev/null 2>&1 \
        || { echo "same_outputs.sh: $bin failed on the reference month" >&2; exit 2; }
    "$bin" run "$root/scenarios/quickstart.toml" --threads 2 --out "$tmp/$side/quick" > /dev/null 2>&1 \
        || { echo "same_outputs.sh: $bin failed on the quickstart" >&2; exit 2; }
done
timing='"(wall_seconds|calls_per_second)"'
for run in month quick; do
    for f in "$tmp/before/$run"/*; do
        name=$(basename "$f")
        if [ "$name" = run.json ]; then
            diff <(grep -v -E "$timing" "$f") <(grep -v -E "$timing" "$tmp/after/$run/$name") > /dev/null
        else
            cmp -s "$f" "$tmp/after/$run/$name"
        fi || { echo "differs: $run/$name"; rc=1; }
    done
    [ "$(ls "$tmp/before/$run")" = "$(ls "$tmp/after/$run")" ] || { echo "differs: the files of $run"; rc=1; }
done
[ $rc = 0 ] && echo "byte-identical: reference month and quickstart"
exit $rc
