#!/bin/bash
# Queues a sharded slaplan run on Slurm: an array of SHARDS tasks
# (slaplan-shards.sbatch), then the merge (slaplan-merge.sbatch) once every
# task has succeeded.
#
#   deploy/slurm/submit.sh SHARDS SCENARIO [slaplan run flags]
#   e.g. SLAPLAN_WORK=/scratch/$USER/q deploy/slurm/submit.sh 8 scenarios/quickstart.toml --replications 200
#
# SLAPLAN_BIN and SLAPLAN_WORK are passed on to both jobs (sbatch exports the
# environment by default). The merged outputs land in $SLAPLAN_WORK/merged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shards="${1:?usage: submit.sh SHARDS SCENARIO [slaplan run flags]}"
shift
[ "$#" -ge 1 ] || { echo "usage: submit.sh SHARDS SCENARIO [slaplan run flags]" >&2; exit 2; }
export SLAPLAN_WORK="${SLAPLAN_WORK:-$PWD/slaplan-work}"
if [ -e "$SLAPLAN_WORK/shards" ]; then
    echo "$SLAPLAN_WORK/shards exists: remove it or set SLAPLAN_WORK elsewhere (old shards would be merged)" >&2
    exit 2
fi
array=$(sbatch --parsable --array="1-$shards" "$here/slaplan-shards.sbatch" "$@")
array="${array%%;*}"
merge=$(sbatch --parsable --dependency="afterok:$array" "$here/slaplan-merge.sbatch")
echo "queued shards as job array $array (1-$shards) and the merge as job ${merge%%;*}; outputs: $SLAPLAN_WORK/merged"
