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
//!
//! Cancellation is eager: an [`EventId`] carries its event's time, which
//! names the one bucket the entry can be in, and the entry is taken out of
//! it there. So popping never checks for cancelled entries (the hot path),
//! and the reference time only ever moves to the time of an event that is
//! then handled: it is always [`EventQueue::now`], and nothing can be
//! scheduled before it.

use crate::time::Time;

/// Identifies a scheduled event, for cancellation: its time (which names
/// its bucket) and its insertion sequence (which names it there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    at: Time,
    seq: u64,
}

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
/// at `now`.
pub struct EventQueue<E> {
    /// Entries at exactly `now`, the oldest last: popping takes the last
    /// entry of a `Vec`, cheaper than the front of a `VecDeque`, and nearly
    /// every pop spreads a bucket that leaves a single entry here.
    due: Vec<Entry<E>>,
    /// Entries scheduled at exactly `now` while `due` is being taken, oldest
    /// first: they follow all of `due`, which they become (reversed) once
    /// it is empty.
    due_later: Vec<Entry<E>>,
    /// `spread[i]`: entries whose time first differs from `now` at bit `i`
    /// (so they are later than every entry of `spread[..i]`), oldest first.
    spread: [Vec<Entry<E>>; BUCKETS],
    /// Bit `i` set: `spread[i]` is not empty.
    occupied: u64,
    len: usize,
    next_seq: u64,
    /// The time of the event popped last: the reference time of the
    /// buckets (no entry is earlier).
    now: Time,
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
            due: Vec::new(),
            due_later: Vec::new(),
            spread: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            len: 0,
            next_seq: 0,
            now: Time::ZERO,
        }
    }

    /// The time of the event handled last (zero before the first).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Number of events scheduled and neither popped nor cancelled.
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
        self.insert(Entry { at, seq, event });
        self.len += 1;
        EventId { at, seq }
    }

    /// Cancels a scheduled event; cancelling one already run (or already
    /// cancelled) is a no-op.
    pub fn cancel(&mut self, id: EventId) {
        if id.at < self.now {
            return;
        }
        let diff = id.at.as_nanos() ^ self.now.as_nanos();
        let found = if diff == 0 {
            remove_seq(&mut self.due, id.seq) || remove_seq(&mut self.due_later, id.seq)
        } else {
            let i = bucket(diff);
            let found = remove_seq(&mut self.spread[i], id.seq);
            if self.spread[i].is_empty() {
                self.occupied &= !(1 << i);
            }
            found
        };
        if found {
            self.len -= 1;
        }
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        if !self.due.is_empty() || !self.due_later.is_empty() {
            return Some(self.now);
        }
        if self.occupied == 0 {
            return None;
        }
        let i = self.occupied.trailing_zeros() as usize;
        self.spread[i].iter().map(|e| e.at).min()
    }

    /// Pops the next event if it is due at or before `end`, advancing
    /// [`EventQueue::now`] to its time.
    pub fn pop_until(&mut self, end: Time) -> Option<(Time, E)> {
        if self.due.is_empty() {
            if !self.due_later.is_empty() {
                std::mem::swap(&mut self.due, &mut self.due_later);
                self.due.reverse();
            } else if !self.spread_lowest(end) {
                return None;
            }
        }
        if self.now > end {
            return None;
        }
        let entry = self.due.pop()?;
        self.len -= 1;
        Some((entry.at, entry.event))
    }

    /// With nothing due at `now`: makes the earliest time of the lowest
    /// non-empty bucket the new `now`, if it is not after `end`, and
    /// spreads that bucket over `due` and the buckets below it. Returns
    /// whether it did.
    fn spread_lowest(&mut self, end: Time) -> bool {
        if self.occupied == 0 {
            return false;
        }
        let i = self.occupied.trailing_zeros() as usize;
        let Some(earliest) = self.spread[i].iter().map(|e| e.at).min() else {
            return false;
        };
        if earliest > end {
            return false;
        }
        self.now = earliest;
        self.occupied &= !(1 << i);
        // Every entry of bucket `i` now differs from `now` below bit `i`:
        // it moves to `due` or to a lower bucket, never to `i` itself.
        let (lower, rest) = self.spread.split_at_mut(i);
        for entry in rest[0].drain(..) {
            let diff = entry.at.as_nanos() ^ earliest.as_nanos();
            if diff == 0 {
                self.due.push(entry);
            } else {
                let j = bucket(diff);
                lower[j].push(entry);
                self.occupied |= 1 << j;
            }
        }
        // Oldest last (ties at one time are rare: usually one entry).
        if self.due.len() > 1 {
            self.due.reverse();
        }
        true
    }

    /// Drops every scheduled event: a model that must stop at once (see
    /// `model::World`'s overload guard) empties its queue.
    pub fn clear(&mut self) {
        self.due.clear();
        self.due_later.clear();
        for bucket in &mut self.spread {
            bucket.clear();
        }
        self.occupied = 0;
        self.len = 0;
    }

    /// Pops the next event, advancing [`EventQueue::now`] to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_until(Time::MAX)
    }

    /// Files `entry` (not earlier than `now`) in its bucket, after the
    /// entries already there.
    fn insert(&mut self, entry: Entry<E>) {
        let diff = entry.at.as_nanos() ^ self.now.as_nanos();
        if diff == 0 {
            self.due_later.push(entry);
        } else {
            let i = bucket(diff);
            self.spread[i].push(entry);
            self.occupied |= 1 << i;
        }
    }
}

/// Removes the entry numbered `seq` from `entries`, keeping the others'
/// order; returns whether it was there.
fn remove_seq<E>(entries: &mut Vec<Entry<E>>, seq: u64) -> bool {
    let pos = entries.iter().position(|e| e.seq == seq);
    if let Some(pos) = pos {
        entries.remove(pos);
    }
    pos.is_some()
}

/// The bucket of an entry whose time differs from the reference time by
/// `diff` (XOR, not zero): its highest set bit.
fn bucket(diff: u64) -> usize {
    (63 - diff.leading_zeros()) as usize
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
    fn cancelling_finds_the_event_at_now_and_ignores_run_ones() {
        let mut q = EventQueue::new();
        let a = q.schedule(Time::from_nanos(4), 'a');
        let b = q.schedule(Time::from_nanos(4), 'b');
        q.schedule(Time::from_nanos(4), 'c');
        assert_eq!(q.pop(), Some((Time::from_nanos(4), 'a')));
        // `b` waits among the entries due at `now`; `a` has run.
        q.cancel(a);
        q.cancel(b);
        q.cancel(b);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((Time::from_nanos(4), 'c')));
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
                let live = r.entries.iter().filter(|(_, s)| !r.cancelled.contains(s)).count();
                proptest::prop_assert_eq!(q.len(), live);
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
