//! The discrete-event engine: an event queue ordered by `(time, seq)`, a run
//! loop, and RNG streams derived from `(seed, replication, stream name)`.
//!
//! **Architecture Invariant:** the engine knows nothing of LLMs, routers or
//! SLAs. Events are a type parameter; the model that handles them lives in
//! `model`. Ties in time run in insertion order, so a run is a pure function
//! of the model and its seed.

mod queue;
mod rng;

pub use queue::{EventId, EventQueue};
pub use rng::{Keyed, Rng, keyed, keyed_seed, stream, stream_seed};

use crate::time::Time;

/// A model the engine can run: it handles one event at a time and may
/// schedule more.
pub trait Model {
    /// The events this model schedules and handles.
    type Event;

    /// Handles `event`, due at `now`.
    fn handle(&mut self, now: Time, event: Self::Event, queue: &mut EventQueue<Self::Event>);
}

/// Runs `model` until the queue is empty or the next event is after `end`.
/// Events at exactly `end` run. Returns the number of events handled.
pub fn run_until<M: Model>(model: &mut M, queue: &mut EventQueue<M::Event>, end: Time) -> u64 {
    let mut handled = 0;
    while let Some((now, event)) = queue.pop_until(end) {
        model.handle(now, event, queue);
        handled += 1;
    }
    handled
}
