#!/usr/bin/env bash
# slaplan_ray against a real two-node Ray cluster on this machine (loopback
# addresses 127.0.0.2 and 127.0.0.3, one CPU and pinned memory each):
#   - 4 shards of a scenario merge into exactly the single-machine run;
#   - one shard's worker process is killed once: the shard is retried and
#     the result is still identical;
#   - a sweep (two seeds), a threshold frontier and a capacity bisection
#     agree with `slaplan run --seed`, `slaplan frontier` and the M/M/c
#     answer.
# The cluster (.ci/ray-cluster.sh) is stopped at the end whatever happens.
#
# Usage: .ci/ray.sh SLAPLAN_BINARY RAY_VENV
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "$1")"
venv="$2"
py="$venv/bin/python"
export PYTHONPATH="$PWD/python"

# shellcheck source=.ci/ray-cluster.sh
source .ci/ray-cluster.sh
start_cluster

slaplan_ray() { timeout 900 "$py" -m slaplan_ray "$@" --address "$address" --slaplan "$bin"; }
# Every file identical; run.json identical but for its timing block.
same_outputs() {
    "$py" - "$1" "$2" <<'EOF'
import json, os, sys
a, b = sys.argv[1:]
names = sorted(os.listdir(a))
assert names == sorted(os.listdir(b)), (names, sorted(os.listdir(b)))
for n in names:
    x, y = (open(os.path.join(d, n), "rb").read() for d in (a, b))
    if n == "run.json":
        x, y = json.loads(x), json.loads(y)
        x.pop("timing"); y.pop("timing")
    assert x == y, f"{n} differs between {a} and {b}"
print(f"{b}: {len(names)} files identical to {a}")
EOF
}

scenario=tests/fixtures/small.toml
"$bin" run "$scenario" --replications 8 --threads 2 --out "$work/direct" >/dev/null

echo "== 4 shards through Ray"
slaplan_ray run "$scenario" --replications 8 --shards 4 --out "$work/ray" --keep-shards "$work/ray-shards" 2>&1 | grep -v '^ \|^---\|^tenant\|^gold\|^bronze'
same_outputs "$work/direct" "$work/ray"

echo "== one worker killed while it runs shard 2/4: the shard is retried"
(
    for _ in $(seq 1 1200); do
        pid=$(pgrep -f "slaplan-shard-.*/bin/slaplan run .*--shard 2/4" | head -1 || true)
        if [ -n "$pid" ]; then
            worker=$(ps -o ppid= -p "$pid" | tr -d ' ')
            echo "killing Ray worker $worker ($(ps -o comm= -p "$worker")) and its slaplan $pid"
            kill -KILL "$worker" "$pid"
            exit 0
        fi
        sleep 0.1
    done
    echo "shard 2/4 never seen running"
) >"$work/killer.log" 2>&1 &
killer=$!
slaplan_ray run "$scenario" --replications 8 --shards 4 --out "$work/ray-killed" \
    --keep-shards "$work/killed-shards" >"$work/killed.log" 2>&1 \
    || { cat "$work/killed.log"; exit 1; }
wait "$killer"
cat "$work/killer.log"
grep -v '^ \|^---\|^tenant\|^gold\|^bronze\|(raylet)' "$work/killed.log"
grep -q '^killing Ray worker' "$work/killer.log"
grep -q 'shard small 2/4 lost on attempt 1' "$work/killed.log"
grep -q 'shard small 2/4 done .*attempt 2' "$work/killed.log"
same_outputs "$work/direct" "$work/ray-killed"
# The retried shard's bytes are the first run's (its run.json differs in timing only).
for f in replications.jsonl scenario.toml; do
    cmp "$work/ray-shards/shard-2-of-4/$f" "$work/killed-shards/shard-2-of-4/$f"
done
echo "the retried shard 2/4 is byte-identical to the same shard of the first Ray run"

echo "== sweep: one scenario at two seeds"
slaplan_ray sweep tests/fixtures/tiny.toml --seeds 7-8 --replications 6 --shards 2 --out "$work/sweep" 2>&1 | grep -v '^ \|^---\|^tenant\|^acme'
for seed in 7 8; do
    "$bin" run tests/fixtures/tiny.toml --replications 6 --seed "$seed" --out "$work/tiny-$seed" >/dev/null
    same_outputs "$work/tiny-$seed" "$work/sweep/tiny/seed-$seed"
done
test "$(grep -c '^tests/fixtures/tiny.toml,' "$work/sweep/sweep.csv")" -eq 4

echo "== frontier: threshold from a fanned-out run, capacity bisection with fanned-out probes"
slaplan_ray frontier tests/fixtures/tiny.toml --tenant acme --clause-index 0 --replications 40 --shards 2 --out "$work/frontier" 2>&1 | grep -v '^ \|^---\|^tenant\|^acme  '
"$bin" frontier tests/fixtures/tiny.toml --tenant acme --clause-index 0 --replications 40 --out "$work/frontier-direct" >/dev/null
cmp "$work/frontier/frontier.csv" "$work/frontier-direct/frontier.csv"
slaplan_ray frontier tests/fixtures/capacity.toml --capacity pool --confidence 0.8 --shards 2 --out "$work/capacity" 2>&1 | tee "$work/capacity.log" | grep -v '^ \|^---\|^tenant\|^acme'
# M/M/c with load 3 and mean service 1 s: c = 4 is the smallest capacity
# holding p95 <= 5 s (the fixture's comment works it out).
grep -q 'making every clause enforceable: 4$' "$work/capacity.log"
echo "Ray cluster checks: 5 passed, 0 failed"
