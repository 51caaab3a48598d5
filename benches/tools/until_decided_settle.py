# When each clause's verdict would settle under `--until-decided`, from a fixed run's windows.csv
# (a stopped run is the first N replications of a fixed run, so this is what it would print):
# the first n at which ln M_n(q) >= ln(1/alpha), the beta-binomial mixture of src/plan/sequential.rs
# re-derived here with lgamma alone. Usage: python3 until_decided_settle.py OUT/windows.csv
import csv, math, sys
from collections import defaultdict
q, alpha = 0.95, 0.05
prior = [(0.9, 10*q, 10*(1-q)), (0.1, 0.5, 0.5)]
lbeta = lambda a, b: math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
def ln_m(S, n, p):
    F = n - S
    terms = [math.log(w) + lbeta(a + S, b + F) - lbeta(a, b) for w, a, b in prior]
    top = max(terms)
    mix = top + math.log(sum(math.exp(t - top) for t in terms))
    return mix - (S * math.log(p) if S else 0) - (F * math.log(1 - p) if F else 0)
rows = defaultdict(lambda: defaultdict(lambda: [0, 0]))
names = {}
for r in csv.DictReader(open(sys.argv[1])):
    c = int(r["clause_index"]); rep = int(r["replication"])
    rows[c][rep][0] += 1; rows[c][rep][1] += r["met"] == "true"
    names[c] = (r["tenant"], r["metric"])
for c in sorted(rows):
    S = 0.0; settled = None
    for n, rep in enumerate(sorted(rows[c]), 1):
        w, m = rows[c][rep]; S += m / w
        if ln_m(S, n, q) >= math.log(1 / alpha):
            settled = (n, "enforceable" if S / n > q else "not enforceable"); break
    print(c, names[c], len(rows[c]), "reps;", "S/n=%.3f" % (S / n), settled)
