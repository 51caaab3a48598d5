# When each clause's verdict would settle under `--until-decided`, from a fixed run's windows.csv
# (a stopped run is the first N replications of a fixed run, so this is what it would print):
# the first n at which ln M_n(q) >= ln(1/alpha), the beta-binomial mixture of src/plan/sequential.rs
# re-derived here with lgamma alone, and the look the run stops at (first look after FIRST
# replications, then every BATCH). For clauses still open at the end: the estimate, and how many
# replications they would need if it held (a projection).
# Usage: python3 until_decided_settle.py OUT/windows.csv [--prior 2026-11-29] [--first 4] [--batch 8]
#   --prior 2026-11-29: the earlier prior (0.9 centred Beta(10q, 10(1-q)), 0.1 Jeffreys), for comparison.
import argparse, csv, math
from collections import defaultdict
ap = argparse.ArgumentParser()
ap.add_argument("windows")
ap.add_argument("--prior", default="current", choices=["current", "2026-11-29"])
ap.add_argument("--first", type=int, default=4)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--confidence", type=float, default=0.95)
args = ap.parse_args()
q, alpha = args.confidence, 0.05
if args.prior == "current":
    prior = [(0.7, 0.5 * (10 / (1 - q) - 1), 0.5), (0.25, 10 * q, 10 * (1 - q)), (0.05, 0.5, 0.5)]
else:
    prior = [(0.9, 10 * q, 10 * (1 - q)), (0.1, 0.5, 0.5)]
lbeta = lambda a, b: math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
def ln_m(S, n, p):
    F = n - S
    terms = [math.log(w) + lbeta(a + S, b + F) - lbeta(a, b) for w, a, b in prior]
    top = max(terms)
    mix = top + math.log(sum(math.exp(t - top) for t in terms))
    return mix - (S * math.log(p) if S else 0) - (F * math.log(1 - p) if F else 0)
settles = lambda S, n: ln_m(S, n, q) >= math.log(1 / alpha)
rows = defaultdict(lambda: defaultdict(lambda: [0, 0]))
names = {}
for r in csv.DictReader(open(args.windows)):
    c = int(r["clause_index"]); rep = int(r["replication"])
    rows[c][rep][0] += 1; rows[c][rep][1] += r["met"] == "true"
    names[c] = (r["tenant"], r["metric"])
slowest = 0
for c in sorted(rows):
    S = 0.0; settled = None
    for n, rep in enumerate(sorted(rows[c]), 1):
        w, m = rows[c][rep]; S += m / w
        if settles(S, n):
            settled = (n, "enforceable" if S / n > q else "not enforceable"); break
    if settled:
        slowest = max(slowest, settled[0])
        print(c, names[c], "settles after", settled[0], settled[1], "(S/n=%.3f)" % (S / n))
    else:
        est = S / n
        proj = next((k for k in range(n, 100000) if settles(est * k, k)), None)
        print(c, names[c], "open after", n, "replications: S/n=%.3f" % est,
              "; at that estimate it would settle after", proj if proj else "more than 100000")
        slowest = None if slowest is None else max(slowest, 10**9)
if slowest is not None and slowest < 10**9:
    look = args.first if slowest <= args.first else args.first + math.ceil((slowest - args.first) / args.batch) * args.batch
    print("every clause settles; the run stops at the look after", look, "replications")
else:
    print("some clause is still open at the end of this run")
