//! LiteLLM load balancing to slaplan pools: a model group's deployments
//! are one pool (consecutive chain steps at one tier), balanced by the
//! `routing_strategy` mapped to a [`BalancePolicy`], with each deployment's
//! `weight` as its endpoint `weight`.

use super::Unmapped;
use crate::policy::BalancePolicy;

/// The pools' balancing for LiteLLM's `routing_strategy` (`path` says where
/// it was set): `simple-shuffle` (LiteLLM's default) is weighted random,
/// `least-busy` least outstanding, `latency-based-routing` power of two
/// choices on a peak-EWMA latency (an approximation); any other strategy is
/// reported and falls back to simple-shuffle.
pub(super) fn strategy(
    setting: Option<(String, String)>,
    unmapped: &mut Vec<Unmapped>,
    notes: &mut Vec<String>,
) -> BalancePolicy {
    let Some((name, path)) = setting else {
        notes.push(
            "no routing_strategy: LiteLLM's default simple-shuffle, so each group's pool balances by weighted \
             random (weights from weight, else rpm, else tpm, else equal)"
                .into(),
        );
        return BalancePolicy::WeightedRandom;
    };
    match name.as_str() {
        "simple-shuffle" => BalancePolicy::WeightedRandom,
        "least-busy" => BalancePolicy::LeastOutstanding,
        "latency-based-routing" => {
            notes.push(format!(
                "{path} = latency-based-routing became p2c_peak_ewma balancing: LiteLLM picks among the fastest \
                 deployments by their recent latencies; slaplan compares two random deployments' peak-EWMA latency \
                 times their attempts in flight"
            ));
            BalancePolicy::P2cPeakEwma
        }
        other => {
            unmapped.push(Unmapped::new(
                path,
                format!(
                    "{other} is not modelled: the pools balance by LiteLLM's default simple-shuffle (weighted random)"
                ),
            ));
            BalancePolicy::WeightedRandom
        }
    }
}

/// Endpoint weights for the deployments of one group (`weights[k]` of its
/// `k`-th deployment, `paths[k]` where it is written): whole numbers are
/// kept; if any is fractional, all are scaled by 1,000 and rounded (at
/// least 1). A weight must be positive. Returns the weights or the path and
/// problem of the first bad one.
pub(super) fn group_weights(
    group: &str,
    weights: &[Option<f64>],
    paths: &[String],
    notes: &mut Vec<String>,
) -> Result<Vec<Option<u32>>, (String, String)> {
    for (w, path) in weights.iter().zip(paths) {
        if let Some(w) = *w
            && !(w.is_finite() && w > 0.0 && w <= f64::from(u32::MAX) / 1_000.0)
        {
            return Err((
                path.clone(),
                format!("is {w}, expected a positive number, e.g. 2 (a deployment's share of its group)"),
            ));
        }
    }
    let given = weights.iter().flatten().count();
    if given > 0 && given < weights.len() {
        notes.push(format!(
            "only some deployments of {group:?} have a weight: a pool uses weights only when every deployment \
             has one, so {group:?} balances by rpm, else tpm, else equally"
        ));
    }
    let whole = weights.iter().flatten().all(|w| w.fract() == 0.0);
    if !whole {
        notes.push(format!(
            "the weights of {group:?} are fractional: scaled by 1,000 and rounded to whole numbers"
        ));
    }
    Ok(weights
        .iter()
        .map(|w| {
            w.map(|w| {
                if whole {
                    w as u32
                } else {
                    ((w * 1_000.0).round() as u32).max(1)
                }
            })
        })
        .collect())
}
