#!/usr/bin/env bash
# A two-node Ray cluster on this machine, for .ci/ray.sh and
# benches/ray_overhead.sh (source it; needs $venv and $py). Nodes on the
# loopback addresses 127.0.0.2 (head) and 127.0.0.3, one CPU, 1 GB of
# scheduling memory and a 200 MB object store each, ports picked free.
# start_cluster sets $address and a trap that stops the cluster on exit,
# whatever happens. `ray stop` would stop every Ray process on the machine,
# so each node is started in its own process group and exactly those
# groups are ended.
export RAY_USAGE_STATS_ENABLED=0
work=$(mktemp -d /tmp/slaplan-ray.XXXXXX)
# A short path: Ray's socket paths must stay under 108 bytes.
ray_tmp=$(mktemp -d /tmp/sr.XXXXXX)
pgids=()
stop_cluster() {
    local g strays
    for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 2
    for g in "${pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    # Workers that left their node's process group: found by this cluster's
    # own temporary directory, ended by process id.
    strays=$(pgrep -f -- "$ray_tmp" || true)
    [ -z "$strays" ] || kill -KILL $strays 2>/dev/null || true
    rm -rf "$work" "$ray_tmp"
}
trap stop_cluster EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])'; }
# Starts `ray start ARGS...` in a new session; records its process group.
start_node() {
    local pgfile="$work/pgid.${#pgids[@]}"
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pgfile" timeout 120 "$venv/bin/ray" start "$@" --disable-usage-stats \
        --num-cpus=1 --memory=1000000000 --object-store-memory=200000000 >"$work/node.${#pgids[@]}.log" 2>&1 \
        || { cat "$work/node.${#pgids[@]}.log"; return 1; }
    pgids+=("$(cat "$pgfile")")
}

start_cluster() {
    local gcs
    gcs=$(free_port)
    start_node --head --node-ip-address=127.0.0.2 --port="$gcs" --temp-dir="$ray_tmp" \
        --include-dashboard=false --dashboard-host=127.0.0.2 --dashboard-port="$(free_port)" \
        --dashboard-agent-listen-port="$(free_port)" --ray-client-server-port="$(free_port)"
    start_node --address="127.0.0.2:$gcs" --node-ip-address=127.0.0.3 --dashboard-agent-listen-port="$(free_port)"
    address="127.0.0.2:$gcs"
    "$venv/bin/ray" status --address="$address" | sed -n '/Resources/,/object_store/p'
}
