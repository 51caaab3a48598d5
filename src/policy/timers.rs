//! The router's timers: one min-heap of one-shot timers with lazy
//! invalidation, and one FIFO of attempt deadlines per endpoint.
//!
//! Attempt deadlines are `dispatch time + the endpoint's attempt timeout`;
//! since time only moves forward they arrive in order per endpoint, so a
//! FIFO per endpoint keeps them sorted at O(1) per attempt. Everything else
//! (retries after backoff, call deadlines, cooldown ends, ...) goes in the
//! heap, ordered by `(time, insertion order)` so that ties are deterministic.
//!
//! This module knows nothing of what a timer means: the router decides
//! whether an entry is still live and prunes dead ones from the fronts.
//! Dead entries behind a live front (a far cooldown end on top, say) are
//! dropped in bulk once they outnumber what can be live
//! ([`Timers::compact`]), so memory follows the calls alive, not the calls
//! served.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::types::AttemptId;
use crate::time::Time;

/// What a heap timer is for. Slot numbers index the router's call slab;
/// `epoch` or `call` say which incarnation of the slot the timer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    /// A call's backoff is over: route its next attempt.
    Retry {
        /// Call slot.
        slot: u32,
        /// The slot's epoch when the timer was set.
        epoch: u32,
    },
    /// A call's deadline: fail it if it is still waiting.
    Deadline {
        /// Call slot.
        slot: u32,
        /// The call the timer belongs to.
        call: u64,
    },
    /// An endpoint's cooldown (after a 429) or rate limit may be over.
    EndpointReady {
        /// The endpoint.
        endpoint: u32,
    },
    /// A rate limit has refilled enough for a parked call: route the
    /// parked calls again.
    Unpark,
    /// An open breaker may turn half-open.
    BreakerProbe {
        /// The endpoint.
        endpoint: u32,
    },
    /// An attempt reached its tenant's latency ceiling.
    Ceiling {
        /// The attempt.
        attempt: AttemptId,
    },
    /// A call's first leg reached its tenant's `hedge_after`: send a
    /// second attempt if it is still unanswered.
    Hedge {
        /// Call slot.
        slot: u32,
        /// The slot's epoch when the timer was set.
        epoch: u32,
    },
    /// A waiting call may no longer make its deadline (latency estimate).
    Hopeless {
        /// Call slot.
        slot: u32,
        /// The call the timer belongs to.
        call: u64,
    },
    /// A waiting call may have reached its tenant's `max_wait`.
    MaxWait {
        /// Call slot.
        slot: u32,
        /// The call the timer belongs to.
        call: u64,
    },
    /// A suspended call reached its tenant's `max_suspend`.
    SuspendLimit {
        /// Call slot.
        slot: u32,
        /// The slot's epoch when the timer was set.
        epoch: u32,
    },
    /// An attempt reached its endpoint's first-token timeout.
    FirstToken {
        /// The attempt.
        attempt: AttemptId,
    },
    /// A degraded tenant may send its next probe (resuming a suspended
    /// call if no new call comes).
    Probe {
        /// The tenant.
        tenant: u32,
    },
    /// A tenant's notice interval is over: tell it its tier if it changed.
    Notice {
        /// The tenant.
        tenant: u32,
    },
    /// An endpoint's rate limit may have refilled for calls waiting in its
    /// queue: pump it.
    Pump {
        /// The endpoint.
        endpoint: u32,
    },
}

/// A due timer, as handed to the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// An attempt on `endpoint` reached its timeout.
    Attempt {
        /// The endpoint.
        endpoint: u32,
        /// The attempt.
        attempt: AttemptId,
    },
    /// A heap timer.
    Timer(TimerKind),
}

/// All of the router's timers.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Time, u64, TimerKind)>>,
    /// A copy of the heap's top `(time, kind)` and its insertion number,
    /// read on every input (to prune and to poll) without reaching into the
    /// heap's buffer.
    top: Option<(Time, TimerKind, u64)>,
    seq: u64,
    attempts: Vec<VecDeque<(Time, AttemptId)>>,
    /// The time at the front of each endpoint's attempt queue, side by
    /// side so that finding the earliest does not visit every queue.
    fronts: Vec<Option<Time>>,
    /// The earliest of `fronts` and its endpoint (the lowest endpoint of
    /// those tied), kept so that finding the earliest deadline visits no
    /// front: a front only moves later (its entry is popped) or appears
    /// (an empty queue gets one), so only a change of this endpoint's
    /// front calls for a new look at all of them.
    first: Option<(Time, u32)>,
    /// Endpoints whose attempt front may have died since the last prune:
    /// an attempt on them ended, or their front was popped. Every other
    /// front was live at the last prune and, since an attempt never comes
    /// back to life, still is.
    stale: Vec<u32>,
    /// `stale` as a set, indexed by endpoint.
    is_stale: Vec<bool>,
    /// Tests only: the router arms call deadlines at submission instead of
    /// deferring them (`Router::defer_deadline`), to compare the two.
    #[cfg(test)]
    pub eager_deadlines: bool,
}

impl Timers {
    /// Timers for `endpoints` endpoints.
    pub fn new(endpoints: usize) -> Timers {
        Timers {
            heap: BinaryHeap::new(),
            top: None,
            seq: 0,
            attempts: vec![VecDeque::new(); endpoints],
            fronts: vec![None; endpoints],
            first: None,
            stale: Vec::new(),
            is_stale: vec![false; endpoints],
            #[cfg(test)]
            eager_deadlines: false,
        }
    }

    /// Arms a heap timer.
    pub fn set(&mut self, at: Time, kind: TimerKind) {
        let seq = self.reserve();
        self.set_reserved(at, seq, kind);
    }

    /// Takes the insertion number of a timer that may be armed later with
    /// [`Timers::set_reserved`]: it then fires in the place it would have
    /// had if armed now (ties at one instant go by insertion order).
    pub fn reserve(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Arms a heap timer under an insertion number from
    /// [`Timers::reserve`].
    pub fn set_reserved(&mut self, at: Time, seq: u64, kind: TimerKind) {
        self.heap.push(Reverse((at, seq, kind)));
        if self.top.is_none_or(|(t, _, s)| (at, seq) < (t, s)) {
            self.top = Some((at, kind, seq));
        }
    }

    /// Arms an attempt deadline; `at` must not be earlier than the last one
    /// armed for the same endpoint (true when time only moves forward and
    /// the endpoint's timeout is fixed).
    pub fn set_attempt(&mut self, endpoint: u32, at: Time, attempt: AttemptId) {
        if let Some(q) = self.attempts.get_mut(endpoint as usize) {
            q.push_back((at, attempt));
            if q.len() == 1 {
                self.fronts[endpoint as usize] = Some(at);
                if self.first.is_none_or(|first| (at, endpoint) < first) {
                    self.first = Some((at, endpoint));
                }
            }
        }
    }

    /// Sets `endpoint`'s front from its queue after entries were popped
    /// from it, keeping `first` right.
    fn refresh_front(&mut self, endpoint: u32) {
        let front = self.attempts[endpoint as usize].front().map(|&(t, _)| t);
        self.fronts[endpoint as usize] = front;
        if self.first.is_some_and(|(_, e)| e == endpoint) {
            // A plain loop: this runs for most attempts' ends, and the
            // iterator chain it replaces cost twice the instructions.
            let mut first: Option<(Time, u32)> = None;
            for (e, &front) in self.fronts.iter().enumerate() {
                if let Some(t) = front
                    && first.is_none_or(|(f, _)| t < f)
                {
                    first = Some((t, e as u32));
                }
            }
            self.first = first;
        }
    }

    /// Notes that `attempt` on `endpoint` ended, so its deadline is dead.
    /// The next prune looks at the endpoint if that deadline is the
    /// endpoint's front, or if the FIFO holds more than twice `in_flight`
    /// (the endpoint's attempts in flight after this one) plus some slack:
    /// a FIFO can only outgrow that bound when an attempt on it ends (a
    /// dispatch adds one entry and one attempt in flight). A front that is
    /// another attempt's stays live: it was at the last prune, and an
    /// attempt never comes back.
    pub fn attempt_ended(&mut self, endpoint: u32, attempt: AttemptId, in_flight: u32) {
        let Some(q) = self.attempts.get(endpoint as usize) else {
            return;
        };
        let front = q.front().is_some_and(|&(_, a)| a == attempt);
        if front || q.len() > 2 * in_flight as usize + 16 {
            self.mark_stale(endpoint);
        }
    }

    /// Makes the next prune look at `endpoint`'s attempt FIFO.
    fn mark_stale(&mut self, endpoint: u32) {
        if let Some(s) = self.is_stale.get_mut(endpoint as usize)
            && !*s
        {
            *s = true;
            self.stale.push(endpoint);
        }
    }

    /// The earliest entry and where it is, live or not. A heap timer comes
    /// before an attempt deadline due at the same instant.
    #[inline]
    fn earliest(&self) -> Option<(Time, Due)> {
        let top = self.top.map(|(t, k, _)| (t, Due::Timer(k)));
        match (top, self.first) {
            (Some((b, _)), Some((t, _))) if b <= t => top,
            (_, Some((t, e))) => match self.attempts[e as usize].front() {
                Some(&(_, attempt)) => Some((t, Due::Attempt { endpoint: e, attempt })),
                None => top,
            },
            (top, None) => top,
        }
    }

    /// The earliest deadline, live or not (prune first for a live one).
    pub fn next(&self) -> Option<Time> {
        self.earliest().map(|(t, _)| t)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Time) -> Option<Due> {
        let (t, due) = self.earliest()?;
        if t > now {
            return None;
        }
        self.remove(due);
        Some(due)
    }

    fn remove(&mut self, due: Due) {
        match due {
            Due::Attempt { endpoint, .. } => {
                if let Some(q) = self.attempts.get_mut(endpoint as usize) {
                    q.pop_front();
                    self.refresh_front(endpoint);
                }
                self.mark_stale(endpoint);
            }
            Due::Timer(_) => {
                self.pop_heap();
            }
        }
    }

    /// Removes the heap's top.
    fn pop_heap(&mut self) {
        self.heap.pop();
        self.sync_top();
    }

    /// Copies the heap's top into `top`.
    fn sync_top(&mut self) {
        self.top = self.heap.peek().map(|&Reverse((t, s, k))| (t, k, s));
    }

    /// Drops entries from the fronts while `live` says they are dead, so
    /// that [`Timers::next`] is a live deadline; and drops every dead
    /// attempt deadline of an endpoint whose FIFO holds more than twice
    /// `in_flight(endpoint)` plus some slack. Only endpoints whose front
    /// may have died since the last prune, or whose FIFO may have outgrown
    /// its bound, are visited ([`Timers::attempt_ended`]). Each compaction
    /// removes at least half of what it visits, so this costs amortized
    /// O(1) per timer set.
    pub fn prune(&mut self, in_flight: impl Fn(usize) -> usize, mut live: impl FnMut(Time, Due) -> bool) {
        while let Some((at, k, _)) = self.top {
            if live(at, Due::Timer(k)) {
                break;
            }
            self.pop_heap();
        }
        while let Some(endpoint) = self.stale.pop() {
            let e = endpoint as usize;
            self.is_stale[e] = false;
            let q = &mut self.attempts[e];
            while let Some(&(at, attempt)) = q.front() {
                if live(at, Due::Attempt { endpoint, attempt }) {
                    break;
                }
                q.pop_front();
            }
            if q.len() > 2 * in_flight(e) + 16 {
                q.retain(|&(at, attempt)| live(at, Due::Attempt { endpoint, attempt }));
            }
            self.refresh_front(endpoint);
        }
    }

    /// Drops every dead heap entry if the heap holds more than twice
    /// `bound` (an upper bound on the live timers) plus some slack; each
    /// compaction removes at least half of what it visits.
    pub fn compact(&mut self, bound: usize, mut live: impl FnMut(Time, Due) -> bool) {
        if self.heap.len() > 2 * bound + 64 {
            self.heap.retain(|&Reverse((at, _, k))| live(at, Due::Timer(k)));
            self.sync_top();
        }
    }

    /// Re-arms attempt deadlines from scratch (after a reload): `deadlines`
    /// per endpoint, in any order.
    pub fn reset_attempts(&mut self, endpoints: usize, mut deadlines: Vec<(u32, Time, AttemptId)>) {
        deadlines.sort();
        self.attempts = vec![VecDeque::new(); endpoints];
        self.fronts = vec![None; endpoints];
        self.first = None;
        self.stale.clear();
        self.is_stale = vec![false; endpoints];
        for (e, at, attempt) in deadlines {
            self.set_attempt(e, at, attempt);
        }
    }

    /// Keeps the heap timers `keep` returns (possibly rewritten), drops the
    /// others (after a reload).
    pub fn rewrite(&mut self, mut keep: impl FnMut(TimerKind) -> Option<TimerKind>) {
        let heap = std::mem::take(&mut self.heap);
        self.heap = heap
            .into_iter()
            .filter_map(|Reverse((at, seq, k))| keep(k).map(|k| Reverse((at, seq, k))))
            .collect();
        self.sync_top();
    }

    /// Entries held, live or not (for tests of memory bounds).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len() + self.attempts.iter().map(VecDeque::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::rng::SplitMix64;
    use super::*;
    use crate::time::Span;

    /// A timer the model holds: due time, then heap timers (rank 0, by
    /// insertion) before attempt deadlines (rank 1, by endpoint, then in
    /// the order armed).
    type Key = (Time, u8, u64, u64);

    /// The copy of the heap's top, the kept earliest attempt front and the
    /// pruning of an endpoint only when its front attempt ends give what one
    /// sorted list of every live timer gives: after each prune, `next` is
    /// the earliest live timer, and every live timer `pop_due` hands out is
    /// the earliest live one left. Times are a few nanoseconds apart so
    /// that ties are common; timers die at random, attempts end at random.
    #[test]
    fn timers_come_out_in_the_order_of_one_sorted_list_of_the_live_ones() {
        let mut rng = SplitMix64::new(15);
        let mut draw = |n: u64| rng.next_u64() % n;
        let timeouts = [3u64, 5, 5, 2];
        let mut timers = Timers::new(timeouts.len());
        // The model: every timer armed (live or not), and which are live.
        let mut model: Vec<(Key, Due)> = Vec::new();
        let (mut live_timers, mut live_attempts) = (HashSet::new(), HashSet::new());
        let mut in_flight = [0u32; 4];
        let (mut seq, mut next_attempt, mut now) = (0u64, 0u64, Time::ZERO);
        let mut checked_pops = 0;
        for step in 0..20_000u32 {
            now += Span::from_nanos(draw(2));
            match draw(6) {
                0 | 1 => {
                    seq += 1;
                    let at = now + Span::from_nanos(draw(6));
                    let kind = TimerKind::Retry { slot: step, epoch: 0 };
                    timers.set(at, kind);
                    live_timers.insert(step);
                    model.push(((at, 0, seq, 0), Due::Timer(kind)));
                }
                2 | 3 => {
                    let e = draw(4) as usize;
                    let attempt = AttemptId(next_attempt);
                    next_attempt += 1;
                    let at = now + Span::from_nanos(timeouts[e]);
                    timers.set_attempt(e as u32, at, attempt);
                    live_attempts.insert(attempt);
                    in_flight[e] += 1;
                    let endpoint = e as u32;
                    model.push(((at, 1, e as u64, attempt.0), Due::Attempt { endpoint, attempt }));
                }
                4 => {
                    // An attempt ends (answered before its timeout).
                    let ended = model.iter().find_map(|&(_, due)| match due {
                        Due::Attempt { endpoint, attempt } if live_attempts.contains(&attempt) && draw(3) == 0 => {
                            Some((endpoint, attempt))
                        }
                        _ => None,
                    });
                    if let Some((endpoint, attempt)) = ended {
                        live_attempts.remove(&attempt);
                        in_flight[endpoint as usize] -= 1;
                        timers.attempt_ended(endpoint, attempt, in_flight[endpoint as usize]);
                    }
                }
                _ => {
                    // A heap timer dies (its call moved on).
                    let slot = draw(u64::from(step) + 1) as u32;
                    live_timers.remove(&slot);
                }
            }
            let is_live = |due: Due, live_timers: &HashSet<u32>, live_attempts: &HashSet<AttemptId>| match due {
                Due::Timer(TimerKind::Retry { slot, .. }) => live_timers.contains(&slot),
                Due::Attempt { attempt, .. } => live_attempts.contains(&attempt),
                _ => unreachable!("the test arms no other timer"),
            };
            let flights = in_flight;
            timers.prune(
                |e| flights[e] as usize,
                |_, due| is_live(due, &live_timers, &live_attempts),
            );
            if step % 500 == 0 {
                timers.compact(8, |_, due| is_live(due, &live_timers, &live_attempts));
            }
            model.retain(|&(_, due)| is_live(due, &live_timers, &live_attempts));
            model.sort_by_key(|&(key, _)| key);
            assert_eq!(timers.next(), model.first().map(|&((at, ..), _)| at), "step {step}");
            while let Some(due) = timers.pop_due(now) {
                if !is_live(due, &live_timers, &live_attempts) {
                    continue; // died while earlier ones fired: the router ignores it
                }
                let (_, expected) = model.remove(0);
                assert_eq!(due, expected, "step {step}");
                checked_pops += 1;
                match due {
                    Due::Attempt { endpoint, attempt } => {
                        live_attempts.remove(&attempt);
                        in_flight[endpoint as usize] -= 1;
                    }
                    Due::Timer(TimerKind::Retry { slot, .. }) => {
                        live_timers.remove(&slot);
                    }
                    Due::Timer(_) => unreachable!("the test arms no other timer"),
                }
            }
        }
        assert!(checked_pops > 5_000, "only {checked_pops} timers fired");
        assert!(timers.len() < 200, "{} entries held", timers.len());
    }
}
