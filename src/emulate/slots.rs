//! One emulated endpoint in wall-clock time: the simulator's
//! [`EndpointSim`] behind a lock, with the provider queue's waiters woken
//! when a slot frees, and guards that give a slot back (or leave the queue)
//! however a request ends, a client hanging up included.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::gateway::clock::Clock;
use crate::model::EndpointSim;
use crate::policy::AttemptId;
use crate::time::Span;

/// Counters an emulated endpoint keeps, for tests and operators
/// (`GET /emulator/stats`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests received for this endpoint.
    pub requests: AtomicU64,
    /// Requests answered in full (any status).
    pub answered: AtomicU64,
    /// Requests whose client went away before the answer was complete.
    pub cancelled: AtomicU64,
}

/// The endpoint's state under its lock.
pub struct Slots {
    /// The simulator's endpoint: slots, queue, latency, limits, outages.
    pub sim: EndpointSim,
    waiting: HashMap<u64, oneshot::Sender<Span>>,
    next: u64,
}

/// One endpoint of the scenario, emulated.
pub struct Emulated {
    /// The endpoint's name (also the model id it answers to).
    pub name: String,
    /// The key clients must present, when the scenario names one and it is
    /// set in the emulator's environment.
    pub key: Option<String>,
    /// Counters.
    pub counters: Counters,
    slots: Mutex<Slots>,
}

impl Emulated {
    /// Wraps a simulated endpoint.
    pub fn new(name: String, key: Option<String>, sim: EndpointSim) -> Emulated {
        Emulated {
            name,
            key,
            counters: Counters::default(),
            slots: Mutex::new(Slots {
                sim,
                waiting: HashMap::new(),
                next: 0,
            }),
        }
    }

    /// The endpoint's state, locked (never held across an await).
    pub fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Frees a slot at the clock's now, passing it to the next waiter whose
    /// request is still there.
    fn release(&self, clock: &Clock) {
        let mut s = self.lock();
        let now = clock.now();
        while let Some((next, service)) = s.sim.release(now) {
            let granted = s
                .waiting
                .remove(&next.0)
                .is_some_and(|grant| grant.send(service).is_ok());
            if granted {
                break;
            }
            // The waiter left: the slot it was given frees again.
        }
    }
}

impl Slots {
    /// A fresh attempt id for [`EndpointSim::admit`].
    pub fn next_attempt(&mut self) -> AttemptId {
        self.next += 1;
        AttemptId(self.next)
    }

    /// Registers a queued attempt; the receiver gets its service time when
    /// a slot passes to it.
    pub fn wait(&mut self, attempt: AttemptId) -> oneshot::Receiver<Span> {
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(attempt.0, tx);
        rx
    }
}

/// A slot held by a request; given back when dropped.
pub struct SlotGuard {
    endpoint: Arc<Emulated>,
    clock: Clock,
}

impl SlotGuard {
    /// Takes ownership of a slot `admit` gave.
    pub fn new(endpoint: Arc<Emulated>, clock: Clock) -> SlotGuard {
        SlotGuard { endpoint, clock }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.endpoint.release(&self.clock);
    }
}

/// A request waiting in the provider queue; leaves it when dropped, or
/// gives back the slot it was granted but never used.
pub struct QueueGuard {
    endpoint: Arc<Emulated>,
    clock: Clock,
    attempt: AttemptId,
    granted: bool,
}

impl QueueGuard {
    /// Guards `attempt`, queued at `endpoint`.
    pub fn new(endpoint: Arc<Emulated>, clock: Clock, attempt: AttemptId) -> QueueGuard {
        QueueGuard {
            endpoint,
            clock,
            attempt,
            granted: false,
        }
    }

    /// The slot arrived: from now on a [`SlotGuard`] holds it.
    pub fn granted(mut self) -> SlotGuard {
        self.granted = true;
        SlotGuard::new(Arc::clone(&self.endpoint), self.clock)
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        if self.granted {
            return;
        }
        let still_queued = {
            let mut s = self.endpoint.lock();
            let queued = s.waiting.remove(&self.attempt.0).is_some();
            if queued {
                s.sim.remove_queued(self.attempt);
            }
            queued
        };
        if !still_queued {
            // Granted while we were leaving: the slot is ours to give back.
            self.endpoint.release(&self.clock);
        }
    }
}

/// Counts a request as cancelled unless it was marked answered first.
pub struct RequestLife {
    endpoint: Arc<Emulated>,
    answered: bool,
}

impl RequestLife {
    /// Counts a new request.
    pub fn start(endpoint: Arc<Emulated>) -> RequestLife {
        endpoint.counters.requests.fetch_add(1, Ordering::Relaxed);
        RequestLife {
            endpoint,
            answered: false,
        }
    }

    /// The whole answer went out.
    pub fn answered(mut self) {
        self.answered = true;
        self.endpoint.counters.answered.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for RequestLife {
    fn drop(&mut self) {
        if !self.answered {
            self.endpoint.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}
