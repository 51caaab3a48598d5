#!/usr/bin/env bash
# Ray's overhead for slaplan_ray: wall time of a scenario's replications in
# 4 shards through a local two-node Ray cluster (one CPU per node), against
# the same replications run directly with 2 threads. Figures in
# BENCHMARKS.md ("Scale-out").
#
# Usage: benches/ray_overhead.sh SLAPLAN_BINARY RAY_VENV [SCENARIO] [REPLICATIONS...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "$1")"
venv="$2"
scenario="${3:-scenarios/quickstart.toml}"
shift 3 2>/dev/null || shift $#
counts=("${@:-4}")
py="$venv/bin/python"
export PYTHONPATH="$PWD/python"
# shellcheck source=.ci/ray-cluster.sh
source .ci/ray-cluster.sh
start_cluster

# Wall seconds of a command (which must succeed).
seconds() {
    "$py" -c 'import subprocess, sys, time
t = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True)
sys.exit(done.stderr.decode()) if done.returncode else print(f"{time.monotonic() - t:.2f}")' "$@"
}
for n in "${counts[@]}"; do
    direct=$(seconds "$bin" run "$scenario" --replications "$n" --threads 2 --out "$work/direct-$n")
    ray=$(seconds "$py" -m slaplan_ray run "$scenario" --replications "$n" --shards 4 \
        --address "$address" --slaplan "$bin" --out "$work/ray-$n")
    printf '%s, %s replications: direct (2 threads) %.1f s, Ray (4 shards, 2 nodes x 1 CPU) %.1f s\n' \
        "$scenario" "$n" "$direct" "$ray"
done
