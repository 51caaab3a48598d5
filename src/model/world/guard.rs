//! The overload guard: a replication whose calls in flight pass the
//! scenario's `max_live_calls` stops at once, as an error that names where
//! the calls piled up, instead of growing until the machine runs out of
//! memory (a typo such as `rate = 10000000` once took 4.6 GB in 8 s).

use std::fmt;

use super::{Event, World};
use crate::engine::EventQueue;
use crate::policy::EndpointId;
use crate::time::{Span, Time};

/// Why a replication stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overload {
    /// The replication.
    pub replication: u64,
    /// When, from the period's start.
    pub at: Span,
    /// Calls in flight then.
    pub live: u64,
    /// The limit they passed.
    pub limit: u64,
    /// The endpoint with the most calls waiting in the router's queue for
    /// it, and how many (none: nothing waits in the router).
    pub queue: Option<(String, usize)>,
    /// The tenants with the most calls in flight, most first (at most 3).
    pub tenants: Vec<(String, u64)>,
}

impl fmt::Display for Overload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replication {} stopped {:.3} s into the period: {} calls in flight, over the limit of {} \
             (`max_live_calls`, or --max-live-calls)",
            self.replication,
            self.at.as_secs_f64(),
            self.live,
            self.limit
        )?;
        if let Some((endpoint, waiting)) = &self.queue {
            write!(
                f,
                "; the router's queue for endpoint {endpoint:?} grew to {waiting} calls"
            )?;
        }
        if !self.tenants.is_empty() {
            let tenants: Vec<String> = self.tenants.iter().map(|(t, n)| format!("{t:?} ({n})")).collect();
            write!(f, "; calls in flight by tenant: {}", tenants.join(", "))?;
        }
        write!(
            f,
            ". The scenario offers more load than its endpoints serve (see the warnings of \
             `slaplan validate`); bound the queue with `max_queue` to shed instead"
        )
    }
}

impl World {
    /// The overload guard fired: note where the calls piled up and stop
    /// (an empty queue ends the engine's loop).
    pub(super) fn stop_overloaded(&mut self, now: Time, live: u64, q: &mut EventQueue<Event>) {
        let queue = (0..self.endpoint_names.len())
            .map(|e| (e, self.router.queue_depth(EndpointId(e as u32))))
            .filter(|&(_, waiting)| waiting > 0)
            .max_by_key(|&(e, waiting)| (waiting, std::cmp::Reverse(e)))
            .map(|(e, waiting)| (self.endpoint_names[e].clone(), waiting));
        let mut by_tenant = vec![0u64; self.router.config().tenants.len()];
        for (_, call) in self.calls.entries() {
            if let Some(n) = by_tenant.get_mut(call.observed.tenant as usize) {
                *n += 1;
            }
        }
        let mut tenants: Vec<(String, u64)> = by_tenant
            .into_iter()
            .enumerate()
            .filter(|&(_, n)| n > 0)
            .map(|(t, n)| (self.router.config().tenants[t].name.clone(), n))
            .collect();
        tenants.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        tenants.truncate(3);
        self.overload = Some(Overload {
            replication: self.replication,
            at: now - Time::ZERO,
            live,
            limit: self.live_limit.unwrap_or(0),
            queue,
            tenants,
        });
        q.clear();
    }
}
