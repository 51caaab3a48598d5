#!/usr/bin/env bash
# deploy/slurm/ against a real Slurm: a one-node cluster (Debian's slurm-wlm:
# munged, slurmctld and slurmd with a private configuration, state and
# sockets in a temporary directory, ports picked free) on this machine.
#   - deploy/slurm/submit.sh queues 4 array tasks and the dependent merge:
#     the merged outputs equal the direct run's;
#   - an offset, stepped, throttled array (--array=3-9:2%2) also merges
#     into the direct run;
#   - a list array (--array=1,3,5,7), which --shard auto cannot place, fails
#     every task with exit 2.
# The daemons are stopped at the end (by their process ids) whatever happens.
#
# Usage: .ci/slurm.sh SLAPLAN_BINARY PYTHON
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin="$(realpath "$1")"
py="$2"
t=$(mktemp -d /tmp/slurm.XXXXXX)
pids=()
stop_slurm() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$t"
}
trap stop_slurm EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
mkdir -p "$t/state" "$t/spool" "$t/log" "$t/run"
cat >"$t/slurm.conf" <<EOF
ClusterName=slaplanci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$t/munge.sock
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/log/slurmctld.log
SlurmdLogFile=$t/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$t/slurm.conf"
wait_pid() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no $1"; return 1; }
munged --force --socket="$t/munge.sock" --pid-file="$t/munged.pid" --log-file="$t/log/munged.log" \
    --seed-file="$t/munge.seed" --key-file=/etc/munge/munge.key
wait_pid "$t/munged.pid"; pids+=("$(cat "$t/munged.pid")")
slurmctld -f "$SLURM_CONF"
wait_pid "$t/slurmctld.pid"; pids+=("$(cat "$t/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N "$host"
wait_pid "$t/slurmd.pid"; pids+=("$(cat "$t/slurmd.pid")")
for _ in $(seq 1 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo

cd "$t/run"
cp "$repo/tests/fixtures/tiny.toml" .
export SLAPLAN_BIN="$bin"
"$bin" run tiny.toml --replications 50 --out direct >/dev/null
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
# Waits for every job to leave the queue.
drain() { for _ in $(seq 1 600); do [ -z "$(squeue -h)" ] && return 0; sleep 0.5; done; squeue; return 1; }

echo "== submit.sh: 4 array tasks, then the merge"
SLAPLAN_WORK="$t/run/w1" bash "$repo/deploy/slurm/submit.sh" 4 tiny.toml --replications 50
drain
grep -h 'shard auto' slaplan-shards-*.out
same_outputs direct w1/merged

echo "== --array=3-9:2%2"
SLAPLAN_WORK="$t/run/w2" sbatch --parsable --wait --array=3-9:2%2 -o 'stepped-%A_%a.out' \
    "$repo/deploy/slurm/slaplan-shards.sbatch" tiny.toml --replications 50
grep -h 'shard auto' stepped-*.out
SLAPLAN_WORK="$t/run/w2" sbatch --parsable --wait "$repo/deploy/slurm/slaplan-merge.sbatch"
same_outputs direct w2/merged

echo "== --array=1,3,5,7 is refused"
SLAPLAN_WORK="$t/run/w3" sbatch --parsable --array=1,3,5,7 -o 'list-%A_%a.out' \
    "$repo/deploy/slurm/slaplan-shards.sbatch" tiny.toml --replications 50
drain
test "$(grep -l 'not one range with a step' list-*.out | wc -l)" -eq 4
test -z "$(ls w3/shards)"
echo "Slurm checks: 3 passed, 0 failed"
