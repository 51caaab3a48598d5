"""Paired fidelity: the gateway's measured calls against the simulator's
replication 0, call by call, on common random numbers.

Since draws are keyed (a call's tokens, and each attempt's service-time
noise and error, are functions of the seed and the call's identity), a
fidelity run and the simulator's replication 0 of the same scenario make
the same calls with the same draws; every call carries its key
(`draw_key`) in both request logs. What still differs between the two is
what the simulator does not model (gateway overhead, timer jitter, the
emulator's pacing) or models differently (queueing order), so the paired
difference of a percentile isolates the model's error from the
month-to-month spread that a single run's prediction interval carries.

    slaplan fidelity scenarios/fidelity/steady.toml --duration 10m \
        --replications 30 --out f-steady --logs f-steady-logs
    slaplan run scenarios/fidelity/steady.toml --replications 1 \
        --request-log sim-steady.jsonl --out sim-steady
    python3 notebooks/fidelity_paired.py f-steady-logs/gateway.jsonl sim-steady.jsonl

Per tenant: the calls served on both sides, the per-call latency
correlation, and for p50, p95 and p99 of call latency (end less arrival,
nearest rank, the calls served) the measured and simulated values, the
relative error and a 95 % block bootstrap interval of it (blocks of
60 s of arrivals, resampled as pairs, 2,000 resamples, seed 1), which
keeps the queue's correlation within a minute; and availability (the
share served of the calls judged on both sides, as `fidelity` judges it)
with the difference in percentage points and its interval. Analysis only: the figures
go to FIDELITY.md with the commands that made them.
"""

import json
import sys
from datetime import datetime

import numpy as np

BLOCK_S = 60.0
RESAMPLES = 2000
PERCENTILES = (50, 95, 99)


def stamp(s):
    """Nanoseconds since the epoch of an RFC 3339 UTC stamp (exact)."""
    head, _, frac = s.rstrip("Z").partition(".")
    whole = int(datetime.fromisoformat(head + "+00:00").timestamp())
    return whole * 10**9 + int((frac + "000000000")[:9])


CLIENT_OUTCOMES = ("cancelled", "client_error", "invalid_request")


def calls(path):
    """Key -> (tenant, arrival offset s, latency ms or None when not
    served) of the calls that are not the client's doing (as `fidelity`
    judges availability); calls without a key (logs from before keyed
    draws) are left out."""
    rows = {}
    first = None
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            arrival = stamp(r["arrival"])
            first = arrival if first is None else min(first, arrival)
            if r.get("outcome") in CLIENT_OUTCOMES or not r.get("draw_key"):
                continue
            served = r.get("outcome") == "success"
            latency = (stamp(r["end"]) - arrival) / 1e6 if served else None
            rows[r["draw_key"]] = (r["tenant"], arrival, latency)
    return {k: (t, (a - first) / 1e9, ms) for k, (t, a, ms) in rows.items()}


def served(all_calls):
    """The served calls of a `calls` map."""
    return {k: v for k, v in all_calls.items() if v[2] is not None}


def availability(measured, simulated, seed=1):
    """Per tenant, over the calls judged on both sides: each side's share
    served, the difference in percentage points and its 95 % block
    bootstrap interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for tenant in sorted({t for t, _, _ in measured.values()}):
        keys = sorted(k for k, v in measured.items() if v[0] == tenant and k in simulated)
        if not keys:
            nan = float("nan")
            rows.append(dict(tenant=tenant, pairs=0, measured=nan, simulated=nan, difference_pp=nan,
                             low=nan, high=nan, disagree=0))
            continue
        m = np.array([measured[k][2] is not None for k in keys], dtype=float)
        s = np.array([simulated[k][2] is not None for k in keys], dtype=float)
        blocks = np.array([int(measured[k][1] // BLOCK_S) for k in keys])
        members = [np.flatnonzero(blocks == b) for b in np.unique(blocks)]
        boot = []
        for _ in range(RESAMPLES):
            pick = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
            boot.append(100 * (m[pick].mean() - s[pick].mean()))
        lo, hi = np.percentile(boot, [2.5, 97.5])
        rows.append(
            dict(
                tenant=tenant,
                pairs=len(keys),
                measured=m.mean(),
                simulated=s.mean(),
                difference_pp=100 * (m.mean() - s.mean()),
                low=lo,
                high=hi,
                disagree=int((m != s).sum()),
            )
        )
    return rows


def nearest_rank(values, p):
    v = np.sort(values)
    return v[max(int(np.ceil(p / 100 * len(v))) - 1, 0)]


COLUMNS = (
    "tenant,calls_measured,calls_simulated,pairs,correlation,figure,"
    "measured_ms,simulated_ms,error,low,high"
)


def paired(measured, simulated, seed=1):
    """The rows of the comparison (see the module's doc), one per tenant
    and percentile, from two `served` maps."""
    rng = np.random.default_rng(seed)
    rows = []
    for tenant in sorted({t for t, _, _ in measured.values()}):
        keys = sorted(k for k, v in measured.items() if v[0] == tenant and k in simulated)
        m = np.array([measured[k][2] for k in keys])
        s = np.array([simulated[k][2] for k in keys])
        blocks = np.array([int(measured[k][1] // BLOCK_S) for k in keys])
        members = [np.flatnonzero(blocks == b) for b in np.unique(blocks)]
        n_m = sum(1 for v in measured.values() if v[0] == tenant)
        n_s = sum(1 for v in simulated.values() if v[0] == tenant)
        r = np.corrcoef(m, s)[0, 1] if len(keys) > 1 else float("nan")
        for p in PERCENTILES:
            if not keys:
                # No call served on both sides: say so, not nothing.
                nan = float("nan")
                rows.append(dict(tenant=tenant, calls_measured=n_m, calls_simulated=n_s, pairs=0,
                                 correlation=nan, figure=f"p{p}_ms", measured_ms=nan, simulated_ms=nan,
                                 error=nan, low=nan, high=nan))
                continue
            err = nearest_rank(m, p) / nearest_rank(s, p) - 1
            boot = []
            for _ in range(RESAMPLES):
                pick = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
                boot.append(nearest_rank(m[pick], p) / nearest_rank(s[pick], p) - 1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            rows.append(
                dict(
                    tenant=tenant,
                    calls_measured=n_m,
                    calls_simulated=n_s,
                    pairs=len(keys),
                    correlation=r,
                    figure=f"p{p}_ms",
                    measured_ms=nearest_rank(m, p),
                    simulated_ms=nearest_rank(s, p),
                    error=err,
                    low=lo,
                    high=hi,
                )
            )
    return rows


def main(measured_path, simulated_path):
    measured, simulated = calls(measured_path), calls(simulated_path)
    print(COLUMNS)
    for r in paired(served(measured), served(simulated)):
        print(
            f"{r['tenant']},{r['calls_measured']},{r['calls_simulated']},{r['pairs']},"
            f"{r['correlation']:.4f},{r['figure']},{r['measured_ms']:.1f},{r['simulated_ms']:.1f},"
            f"{r['error']:+.4f},{r['low']:+.4f},{r['high']:+.4f}"
        )
    print("\ntenant,pairs,availability_measured,availability_simulated,difference_pp,low,high,calls_disagreeing")
    for r in availability(measured, simulated):
        print(
            f"{r['tenant']},{r['pairs']},{r['measured']:.5f},{r['simulated']:.5f},"
            f"{r['difference_pp']:+.3f},{r['low']:+.3f},{r['high']:+.3f},{r['disagree']}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: fidelity_paired.py MEASURED_REQUEST_LOG SIMULATED_REQUEST_LOG")
    main(sys.argv[1], sys.argv[2])
