#!/usr/bin/env bash
# Gateway overhead on loopback (BENCHMARKS.md): the same open-loop load
# (benches/tools/loadgen.rs) against the emulator directly, through `slaplan
# serve`, and through the LiteLLM proxy, all in front of one `slaplan
# emulate` of benches/gateway_overhead.toml; non-streaming and streaming, at
# each rate. Prints one JSON line per run.
#
# Usage: benches/gateway_overhead.sh [RATES] [SECONDS]
#   LITELLM=/path/to/venv/bin/litellm  also measure the LiteLLM proxy
set -euo pipefail
cd "$(dirname "$0")/.."
rates=${1:-"500 2000"}
seconds=${2:-20}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slaplan-target}"
cargo build --release --quiet --bin slaplan --example loadgen
bin="$CARGO_TARGET_DIR/release/slaplan"
loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"
export BENCH_KEY=bench-key
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "${tmp:-}"; }
trap cleanup EXIT
addr_of() { # the http://ADDR/v1 a server printed on its first line
    local file=$1 addr=""
    for _ in $(seq 200); do
        addr=$(grep -o 'http://[0-9.:]*/v1' "$file" 2>/dev/null | head -1 || true)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    echo "$addr"
}
tmp=$(mktemp -d)
"$bin" emulate benches/gateway_overhead.toml --listen 127.0.0.1:0 > "$tmp/emu" & pids+=($!)
emu=$(addr_of "$tmp/emu")
"$bin" serve benches/gateway_overhead.toml --listen 127.0.0.1:0 --default-upstream "$emu" > "$tmp/gw" & pids+=($!)
gw=$(addr_of "$tmp/gw")
echo "emulator $emu, gateway $gw (pid ${pids[1]})" >&2
targets=("direct $emu" "slaplan $gw")
if [ -n "${LITELLM:-}" ]; then
    cat > "$tmp/litellm.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: $emu
      api_key: none
litellm_settings:
  num_retries: 0
  request_timeout: 30
general_settings:
  master_key: sk-bench-key
YAML
    # An ephemeral loopback port for the proxy (its CLI takes no port 0).
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$LITELLM" --config "$tmp/litellm.yaml" --host 127.0.0.1 --port "$port" --num_workers 1 > "$tmp/litellm.log" 2>&1 & pids+=($!)
    for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/health/liveliness" >/dev/null && break; sleep 1; done
    targets+=("litellm http://127.0.0.1:$port/v1")
fi
for rate in $rates; do
    for mode in "" "--stream"; do
        for t in "${targets[@]}"; do
            name=${t%% *}; url=${t#* }
            key=bench-key; [ "$name" = litellm ] && key=sk-bench-key
            out=$("$loadgen" --url "$url" --key "$key" --model bench \
                  --rate "$rate" --seconds "$seconds" $mode)
            echo "{\"target\":\"$name\",\"result\":$out}"
        done
    done
done
