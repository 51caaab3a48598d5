# The prior of `--until-decided`'s confidence sequence against the earlier one: replications a
# clause needs at --confidence 0.95 when it holds in every month ("clean"), when it failed in one
# month ("1 fail", every other month held), and the mean over 400 simulated Bernoulli(p) sequences
# (looking after every replication, cap 1000) for several true p. The mixture is re-derived here
# with lgamma alone, as in until_decided_settle.py. Usage: python3 until_decided_priors.py
import math, random
q, alpha, cap, runs = 0.95, 0.05, 1000, 400
lbeta = lambda a, b: math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
priors = {
    "current (0.7 Beta(99.5, .5), 0.25 Beta(9.5, .5), 0.05 Jeffreys)":
        [(0.7, 0.5 * (10 / (1 - q) - 1), 0.5), (0.25, 10 * q, 10 * (1 - q)), (0.05, 0.5, 0.5)],
    "2026-11-29 (0.9 Beta(9.5, .5), 0.1 Jeffreys)": [(0.9, 10 * q, 10 * (1 - q)), (0.1, 0.5, 0.5)],
}
def settles(prior, S, n):
    F = n - S
    terms = [math.log(w) + lbeta(a + S, b + F) - lbeta(a, b) for w, a, b in prior]
    top = max(terms)
    mix = top + math.log(sum(math.exp(t - top) for t in terms))
    return mix - (S * math.log(q) if S else 0) - (F * math.log(1 - q) if F else 0) >= math.log(1 / alpha)
for name, prior in priors.items():
    clean = next(n for n in range(1, cap) if settles(prior, n, n))
    one = next(n for n in range(2, cap) if settles(prior, n - 1, n))
    out = [f"clean {clean}", f"1 fail {one}"]
    for p in (0.995, 0.99, 0.98, 0.9, 0.8, 0.5):
        rng = random.Random(2026)
        total = 0
        for _ in range(runs):
            S, n = 0, 0
            while n < cap:
                n += 1
                S += rng.random() < p
                if settles(prior, S, n):
                    break
            total += n
        out.append(f"p={p}: {total / runs:.0f}")
    print(name + ":", ", ".join(out), flush=True)
