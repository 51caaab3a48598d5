//! The future event list.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Time;

/// Identifies a scheduled event, for cancellation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u64);

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so the std max-heap pops the earliest `(at, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A min-heap of events keyed by `(time, insertion sequence)`.
///
/// Time never goes backwards: scheduling before [`EventQueue::now`] schedules
/// at `now`. Cancellation is lazy: a cancelled event stays in the heap and is
/// skipped when it reaches the top.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
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
            heap: BinaryHeap::new(),
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
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedules `event` at `at` (or at `now` if `at` is in the past).
    pub fn schedule(&mut self, at: Time, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            at: at.max(self.now),
            seq,
            event,
        });
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
        self.skip_cancelled();
        self.heap.peek().map(|e| e.at)
    }

    /// Pops the next live event if it is due at or before `end`, advancing
    /// [`EventQueue::now`] to its time.
    pub fn pop_until(&mut self, end: Time) -> Option<(Time, E)> {
        self.skip_cancelled();
        if self.heap.peek()?.at > end {
            return None;
        }
        let entry = self.heap.pop()?;
        self.now = entry.at;
        Some((entry.at, entry.event))
    }

    /// Drops every scheduled event: a model that must stop at once (see
    /// `model::World`'s overload guard) empties its queue.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.cancelled.clear();
    }

    /// Pops the next live event, advancing [`EventQueue::now`] to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_until(Time::MAX)
    }

    fn skip_cancelled(&mut self) {
        while !self.cancelled.is_empty() {
            let Some(top) = self.heap.peek() else { return };
            match self.cancelled.binary_search(&top.seq) {
                Ok(pos) => {
                    self.cancelled.remove(pos);
                    self.heap.pop();
                }
                Err(_) => return,
            }
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
