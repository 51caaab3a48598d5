#!/bin/bash
# Runs a scenario as a sharded slaplan run on the current kubectl context:
#   deploy/kubernetes/run.sh SCENARIO [LOCAL_OUT_DIR]
# 1. puts the scenario in the ConfigMap slaplan-scenario (a scenario that
#    replays traces needs them in the image or on the volume instead);
# 2. applies slaplan-shards.yaml (the volume and the Indexed Job) and waits
#    for every index to complete;
# 3. applies slaplan-merge.yaml and waits for it;
# 4. copies /work/merged to LOCAL_OUT_DIR (default ./slaplan-merged) through
#    a short-lived pod that mounts the volume.
# The image slaplan:latest must be pullable by the cluster (Dockerfile here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scenario="${1:?usage: run.sh SCENARIO [LOCAL_OUT_DIR]}"
local_out="${2:-./slaplan-merged}"
kubectl create configmap slaplan-scenario --from-file=scenario.toml="$scenario" \
    --dry-run=client -o yaml | kubectl apply -f -
kubectl delete job slaplan-shards slaplan-merge --ignore-not-found
kubectl apply -f "$here/slaplan-shards.yaml"
kubectl wait --for=condition=complete job/slaplan-shards --timeout=24h
kubectl apply -f "$here/slaplan-merge.yaml"
kubectl wait --for=condition=complete job/slaplan-merge --timeout=2h
kubectl logs job/slaplan-merge
kubectl run slaplan-fetch --image=busybox:1.36 --restart=Never --overrides='{
  "spec": {"containers": [{"name": "fetch", "image": "busybox:1.36", "command": ["sleep", "600"],
    "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
    "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": "slaplan-work"}}]}}'
kubectl wait --for=condition=ready pod/slaplan-fetch --timeout=5m
kubectl cp slaplan-fetch:/work/merged "$local_out"
kubectl delete pod slaplan-fetch --wait=false
echo "merged outputs in $local_out"
