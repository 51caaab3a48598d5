#!/usr/bin/env bash
# Gateway memory over a million calls (BENCHMARKS.md): the resident set of
# `slaplan serve` (in front of `slaplan emulate`, benches/gateway_overhead.toml)
# before any call, then after each batch of calls from benches/tools/loadgen.rs.
#
# Usage: benches/gateway_memory.sh [BATCHES] [CALLS_PER_BATCH] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-4}
per=${2:-250000}
rate=${3:-3000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slaplan-target}"
cargo build --release --quiet --bin slaplan --example loadgen
bin="$CARGO_TARGET_DIR/release/slaplan"
loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"
export BENCH_KEY=bench-key
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "${tmp:-}"; }
trap cleanup EXIT
tmp=$(mktemp -d)
addr_of() {
    local file=$1 addr=""
    for _ in $(seq 200); do
        addr=$(grep -o 'http://[0-9.:]*/v1' "$file" 2>/dev/null | head -1 || true)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    echo "$addr"
}
"$bin" emulate benches/gateway_overhead.toml --listen 127.0.0.1:0 > "$tmp/emu" & pids+=($!)
emu=$(addr_of "$tmp/emu")
"$bin" serve benches/gateway_overhead.toml --listen 127.0.0.1:0 --default-upstream "$emu" \
    --request-log "$tmp/requests.jsonl" --audit-log "$tmp/audit.jsonl" > "$tmp/gw" & gw_pid=$!
pids+=($gw_pid)
gw=$(addr_of "$tmp/gw")
rss() { awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status"; }
# Calls the gateway holds state for, as its /metrics says (0 between batches
# if nothing is kept after a call ends).
live() { curl -s "${gw%/v1}/metrics" | awk '/^slaplan_live_calls / {print $2}'; }
sessions() { curl -s "${gw%/v1}/metrics" | awk '/^slaplan_sessions_remembered / {print $2}'; }
echo "{\"calls\":0,\"rss_kib\":$(rss),\"live_calls\":$(live),\"sessions\":$(sessions),\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
seconds=$(awk -v n="$per" -v r="$rate" 'BEGIN { print n / r }')
for b in $(seq "$batches"); do
    "$loadgen" --url "$gw" --key bench-key --model bench --rate "$rate" --seconds "$seconds" --warmup 0 > "$tmp/last.json"
    errors=$(grep -o '"errors":[0-9]*' "$tmp/last.json")
    echo "{\"calls\":$((b * per)),\"rss_kib\":$(rss),\"live_calls\":$(live),\"sessions\":$(sessions),$errors,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
done
echo "request log: $(wc -l < "$tmp/requests.jsonl") lines" >&2
