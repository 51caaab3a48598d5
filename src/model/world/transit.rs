//! The order in which the attempts the router dispatches at one instant
//! reach their endpoints.
//!
//! The router emits the dispatches of a batch wake-up (a cooldown over, a
//! rate limit refilled, a slot freed for several queued calls) one after
//! the other at the same instant. A real gateway sends them as concurrent
//! requests, and nothing (not the network, not the gateway's task
//! scheduler, not the provider's accept loop) keeps their order: which one
//! the provider admits first is anybody's guess. It matters where only
//! some of them can be admitted (the provider's last rate-limit token, its
//! last free slot): admitting them in dispatch order would always favour
//! the call the router happened to list first (under a cooldown, the call
//! that has waited longest), which the measured gateway does not do (see
//! FIDELITY.md, the quota squeeze). So each run of consecutive dispatches
//! the router emits reaches the endpoints in a uniformly random order,
//! drawn from the replication's `transit` stream; everything else keeps
//! the router's order.

use rand::seq::SliceRandom;

use crate::engine::Rng;
use crate::policy::Action;

/// Shuffles each maximal run of consecutive [`Action::Dispatch`] in
/// `actions`, leaving every other action where it is. Draws only for runs
/// of two or more.
pub(super) fn shuffle_dispatch_runs(actions: &mut [Action], rng: &mut Rng) {
    let mut i = 0;
    while i < actions.len() {
        let end = actions[i..]
            .iter()
            .position(|a| !matches!(a, Action::Dispatch { .. }))
            .map_or(actions.len(), |n| i + n);
        if end - i >= 2 {
            actions[i..end].shuffle(rng);
        }
        i = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::policy::{AttemptId, CallId, EndpointId, FailReason, Tier};

    fn dispatch(n: u64) -> Action {
        Action::Dispatch {
            call: CallId(n),
            attempt: AttemptId(n),
            endpoint: EndpointId(0),
            tier: Tier::PRIMARY,
        }
    }

    fn fail(n: u64) -> Action {
        Action::Fail {
            call: CallId(n),
            reason: FailReason::Shed,
        }
    }

    fn ids(actions: &[Action]) -> Vec<(bool, u64)> {
        actions
            .iter()
            .map(|a| match a {
                Action::Dispatch { call, .. } => (true, call.0),
                Action::Fail { call, .. } => (false, call.0),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn other_actions_keep_their_places_and_runs_keep_their_members() {
        let mut rng = engine::stream(1, 0, "transit");
        for _ in 0..200 {
            let mut a = vec![
                dispatch(1),
                dispatch(2),
                fail(3),
                dispatch(4),
                fail(5),
                dispatch(6),
                dispatch(7),
                dispatch(8),
            ];
            shuffle_dispatch_runs(&mut a, &mut rng);
            let got = ids(&a);
            assert_eq!(got[2], (false, 3));
            assert_eq!(got[3], (true, 4));
            assert_eq!(got[4], (false, 5));
            let mut first: Vec<u64> = got[..2].iter().map(|x| x.1).collect();
            first.sort_unstable();
            assert_eq!(first, [1, 2]);
            let mut last: Vec<u64> = got[5..].iter().map(|x| x.1).collect();
            last.sort_unstable();
            assert_eq!(last, [6, 7, 8]);
        }
    }

    /// Every order of a run of three comes up with probability 1/6: each
    /// count out of 6,000 lies within its 99.9 % normal interval
    /// (1,000 ± 3.29 · √(6000 · 1/6 · 5/6) ≈ 1,000 ± 95).
    #[test]
    fn a_run_is_ordered_uniformly() {
        let mut rng = engine::stream(7, 0, "transit");
        let mut counts = std::collections::HashMap::new();
        for _ in 0..6_000 {
            let mut a = vec![dispatch(1), dispatch(2), dispatch(3)];
            shuffle_dispatch_runs(&mut a, &mut rng);
            *counts.entry(ids(&a)).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 6);
        for (order, n) in counts {
            assert!((905..=1095).contains(&n), "{order:?} came up {n} times in 6,000");
        }
    }
}
