//! The future event list: a radix heap on integer time.
//!
//! Event times are `u64` nanoseconds and never go below the time of the
//! event popped last, which is what a radix heap needs: an entry lives in
//! the bucket named by the highest bit in which its time differs from that
//! of the last popped event (bucket 0: the same time). Popping takes the
//! lowest non-empty bucket, makes its earliest time the new reference and
//! spreads the bucket over lower ones, so each entry moves at most 64 times
//! and in practice a few: no comparisons between events at all.
//!
//! Ties run in insertion order. Every bucket holds its entries in insertion
//! order: entries are appended, and a bucket is spread (in order) only into
//! buckets that are empty at that moment, so the entries due at one time
//! leave bucket 0 oldest first.

use std::collections::VecDeque;

use crate::time::Time;

/// Identifies a scheduled event, for cancellation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u64);

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

/// Buckets 1..=64 (bucket 0 is [`EventQueue::due`]).
const BUCKETS: usize = 64;

/// A min-queue of events keyed by `(time, insertion sequence)`.
///
/// Time never goes backwards: scheduling before [`EventQueue::now`] schedules
/// at `now`. Cancellation is lazy: a cancelled event stays queued and is
/// skipped when it comes due.
pub struct EventQueue<E> {
    /// Entries at exactly `base`, oldest first.
    due: VecDeque<Entry<E>>,
    /// `spread[i]`: entries whose time first differs from `base` at bit `i`
    /// (so they are later than every entry of `spread[..i]`), oldest first.
    spread: [Vec<Entry<E>>; BUCKETS],
    /// Bit `i` set: `spread[i]` is not empty.
    occupied: u64,
    /// The reference time of the buckets: the time of the last entry
    /// taken out (popped or skipped as cancelled); no entry is earlier.
    base: Time,
    len: usize,
    next_seq: u64,
    now: Time,
    cancelled: Vec<u64>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            due: VecDeque::new(),
            spread: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            base: Time::ZERO,
            len: 0,
            next_seq: 0,
            now: Time::ZERO,
            cancelled: Vec::new(),
        }
    }

    /// The time of the event handled last (zero before the first).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Number of events scheduled and not yet popped, cancelled ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `event` at `at` (or at `now` if `at` is in the past).
    pub fn schedule(&mut self, at: Time, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = at.max(self.now);
        if at < self.base {
            self.rebase(at);
        }
        self.insert(Entry { at, seq, event });
        self.len += 1;
        EventId(seq)
    }

    /// Cancels a scheduled event; cancelling one already run is a no-op.
    pub fn cancel(&mut self, id: EventId) {
        if let Err(pos) = self.cancelled.binary_search(&id.0) {
            self.cancelled.insert(pos, id.0);
        }
    }

    /// The time of the next live event, if any.
    pub fn peek_time(&mut self) -> Option<Time> {
        self.skip_cancelled_due();
        if let Some(e) = self.due.front() {
            return Some(e.at);
        }
        let mut occupied = self.occupied;
        while occupied != 0 {
            let i = occupied.trailing_zeros() as usize;
            occupied &= occupied - 1;
            let live = self.spread[i]
                .iter()
                .filter(|e| self.cancelled.binary_search(&e.seq).is_err())
                .map(|e| e.at)
                .min();
            if live.is_some() {
                return live;
            }
        }
        None
    }

    /// Pops the next live event if it is due at or before `end`, advancing
    /// [`EventQueue::now`] to its time.
    pub fn pop_until(&mut self, end: Time) -> Option<(Time, E)> {
        loop {
            self.skip_cancelled_due();
            if let Some(front) = self.due.front() {
                if front.at > end {
                    return None;
                }
                let entry = self.due.pop_front()?;
                self.len -= 1;
                self.now = entry.at;
                return Some((entry.at, entry.event));
            }
            if self.occupied == 0 {
                return None;
            }
            let i = self.occupied.trailing_zeros() as usize;
            let earliest = self.spread[i].iter().map(|e| e.at).min()?;
            if earliest > end {
                return None;
            }
            self.base = earliest;
            self.occupied &= !(1 << i);
            let mut bucket = std::mem::take(&mut self.spread[i]);
            for entry in bucket.drain(..) {
                self.insert(entry);
            }
            self.spread[i] = bucket;
        }
    }

    /// Drops every scheduled event: a model that must stop at once (see
    /// `model::World`'s overload guard) empties its queue.
    pub fn clear(&mut self) {
        self.due.clear();
        for bucket in &mut self.spread {
            bucket.clear();
        }
        self.occupied = 0;
        self.len = 0;
        self.cancelled.clear();
    }

    /// Pops the next live event, advancing [`EventQueue::now`] to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_until(Time::MAX)
    }

    /// Files `entry` (not earlier than `base`) in its bucket, after the
    /// entries already there.
    fn insert(&mut self, entry: Entry<E>) {
        let diff = entry.at.as_nanos() ^ self.base.as_nanos();
        if diff == 0 {
            self.due.push_back(entry);
        } else {
            let i = (63 - diff.leading_zeros()) as usize;
            self.spread[i].push(entry);
            self.occupied |= 1 << i;
        }
    }

    /// Drops cancelled entries from the front of `due`.
    fn skip_cancelled_due(&mut self) {
        while !self.cancelled.is_empty() {
            let Some(front) = self.due.front() else { return };
            match self.cancelled.binary_search(&front.seq) {
                Ok(pos) => {
                    self.cancelled.remove(pos);
                    self.due.pop_front();
                    self.len -= 1;
                }
                Err(_) => return,
            }
        }
    }

    /// Makes `at` (earlier than `base`) the reference time, refiling every
    /// entry in insertion order. Only needed when cancelled entries were
    /// skipped past `now` and an event is then scheduled between the two.
    fn rebase(&mut self, at: Time) {
        let mut all: Vec<Entry<E>> = self.due.drain(..).collect();
        for bucket in &mut self.spread {
            all.append(bucket);
        }
        all.sort_by_key(|e| e.seq);
        self.occupied = 0;
        self.base = at;
        for entry in all {
            self.insert(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_run_in_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule(Time::from_nanos(5), "b1");
        q.schedule(Time::from_nanos(1), "a");
        q.schedule(Time::from_nanos(5), "b2");
        q.schedule(Time::from_nanos(5), "b3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b1", "b2", "b3"]);
    }

    #[test]
    fn cancelled_events_never_run() {
        let mut q = EventQueue::new();
        let a = q.schedule(Time::from_nanos(1), 'a');
        q.schedule(Time::from_nanos(2), 'b');
        let c = q.schedule(Time::from_nanos(3), 'c');
        q.cancel(a);
        q.cancel(c);
        assert_eq!(q.pop(), Some((Time::from_nanos(2), 'b')));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn time_never_goes_backwards() {
        let mut q = EventQueue::new();
        q.schedule(Time::from_nanos(10), 1);
        assert_eq!(q.pop(), Some((Time::from_nanos(10), 1)));
        q.schedule(Time::from_nanos(3), 2);
        assert_eq!(q.pop(), Some((Time::from_nanos(10), 2)));
    }

    /// What the queue must do, by brute force: the earliest `(time, seq)`
    /// among the live entries.
    #[derive(Default)]
    struct Reference {
        entries: Vec<(Time, u64)>,
        cancelled: Vec<u64>,
        now: Time,
        seq: u64,
    }

    impl Reference {
        fn schedule(&mut self, at: Time) -> u64 {
            self.seq += 1;
            self.entries.push((at.max(self.now), self.seq - 1));
            self.seq - 1
        }
        fn pop_until(&mut self, end: Time) -> Option<(Time, u64)> {
            self.entries.retain(|(_, s)| !self.cancelled.contains(s));
            let (i, &next) = self.entries.iter().enumerate().min_by_key(|(_, e)| **e)?;
            if next.0 > end {
                return None;
            }
            self.entries.swap_remove(i);
            self.now = next.0;
            Some(next)
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Schedule(u64),
        Cancel(usize),
        PopUntil(u64),
        Peek,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0u64..3).prop_flat_map(|scale| match scale {
                0 => (0u64..4).boxed(),
                1 => (0u64..5_000).boxed(),
                _ => (0u64..u64::MAX / 4).boxed(),
            }).prop_map(Op::Schedule),
            1 => (0usize..64).prop_map(Op::Cancel),
            3 => (0u64..6_000).prop_map(Op::PopUntil),
            1 => Just(Op::Peek),
        ]
    }

    proptest::proptest! {
        /// Any interleaving of scheduling (ties, near and far times),
        /// cancelling, popping up to a horizon and peeking gives what the
        /// brute-force reference gives, event for event.
        #[test]
        fn agrees_with_a_brute_force_queue(ops in proptest::collection::vec(op(), 0..300)) {
            let mut q = EventQueue::new();
            let mut r = Reference::default();
            let mut ids = Vec::new();
            for op in ops {
                match op {
                    Op::Schedule(delta) => {
                        let at = Time::from_nanos(q.now().as_nanos().saturating_add(delta));
                        let id = q.schedule(at, r.seq);
                        let seq = r.schedule(at);
                        ids.push((id, seq));
                    }
                    Op::Cancel(k) => {
                        if let Some(&(id, seq)) = ids.get(k % ids.len().max(1)) {
                            q.cancel(id);
                            r.cancelled.push(seq);
                        }
                    }
                    Op::PopUntil(delta) => {
                        let end = Time::from_nanos(q.now().as_nanos().saturating_add(delta));
                        proptest::prop_assert_eq!(q.pop_until(end), r.pop_until(end));
                    }
                    Op::Peek => {
                        r.entries.retain(|(_, s)| !r.cancelled.contains(s));
                        let expected = r.entries.iter().min().map(|e| e.0);
                        proptest::prop_assert_eq!(q.peek_time(), expected);
                    }
                }
                proptest::prop_assert_eq!(q.now(), r.now);
            }
            while let Some(next) = r.pop_until(Time::MAX) {
                proptest::prop_assert_eq!(q.pop(), Some(next));
            }
            proptest::prop_assert_eq!(q.pop(), None);
        }
    }

    #[test]
    fn pop_until_stops_at_the_horizon() {
        let mut q = EventQueue::new();
        q.schedule(Time::from_nanos(10), 1);
        q.schedule(Time::from_nanos(20), 2);
        assert_eq!(q.pop_until(Time::from_nanos(10)), Some((Time::from_nanos(10), 1)));
        assert_eq!(q.pop_until(Time::from_nanos(15)), None);
        assert_eq!(q.len(), 1);
    }
}
