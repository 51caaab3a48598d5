//! A simulated endpoint: provider-side slots, a bounded queue, service times,
//! random errors and scripted outages. It decides what happens to an attempt;
//! the world schedules it.

use std::collections::VecDeque;

use rand_distr::{Distribution, Exp, StandardNormal};

use crate::engine::{EventId, Rng};
use crate::policy::AttemptId;
use crate::scenario::{self, Latency, OutageMode};
use crate::time::{Span, Time};
use rand::RngExt;

/// A scripted incident in simulation time.
#[derive(Clone, Copy, Debug)]
pub struct Incident {
    /// First affected instant.
    pub start: Time,
    /// First unaffected instant.
    pub end: Time,
    /// Behaviour meanwhile.
    pub mode: OutageMode,
}

/// The service-time law of an endpoint.
#[derive(Clone, Copy, Debug)]
pub enum ServiceTime {
    /// Token-driven base time with multiplicative lognormal noise of mean 1.
    Lognormal {
        /// Fixed part (ns).
        ttft: f64,
        /// Per input token (ns).
        per_input: f64,
        /// Per output token (ns).
        per_output: f64,
        /// Log-space deviation.
        sigma: f64,
    },
    /// Exponential, independent of tokens.
    Exponential {
        /// Mean (ns).
        mean: f64,
    },
}

impl ServiceTime {
    fn from_config(latency: &Latency) -> ServiceTime {
        match *latency {
            Latency::Lognormal {
                ttft,
                per_input_token,
                per_output_token,
                sigma,
            } => ServiceTime::Lognormal {
                ttft: ttft.as_nanos() as f64,
                per_input: per_input_token.as_nanos() as f64,
                per_output: per_output_token.as_nanos() as f64,
                sigma,
            },
            Latency::Exponential { mean } => ServiceTime::Exponential {
                mean: mean.as_nanos() as f64,
            },
        }
    }

    /// Draws one service time for a call of the given size.
    pub fn sample(&self, rng: &mut Rng, input_tokens: u32, output_tokens: u32) -> Span {
        let nanos = match *self {
            ServiceTime::Lognormal {
                ttft,
                per_input,
                per_output,
                sigma,
            } => {
                let base = ttft + per_input * f64::from(input_tokens) + per_output * f64::from(output_tokens);
                if sigma > 0.0 {
                    let z: f64 = StandardNormal.sample(rng);
                    base * (sigma * z - 0.5 * sigma * sigma).exp()
                } else {
                    base
                }
            }
            ServiceTime::Exponential { mean } => {
                let exp = Exp::new(1.0).map(|d| d.sample(rng)).unwrap_or(1.0);
                mean * exp
            }
        };
        Span::from_nanos(nanos.max(1.0) as u64)
    }
}

/// What the endpoint does with a newly arrived attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It holds a slot now; its service ends after the span.
    Serve(Span),
    /// It waits in the provider queue.
    Queued,
    /// It fails after the span (a 5xx: outage or full queue).
    Reject(Span),
    /// It never answers.
    Hang,
}

/// Runtime state of one endpoint.
pub struct EndpointSim {
    /// Provider slots.
    pub concurrency: u32,
    /// Provider queue capacity.
    pub queue_limit: u32,
    /// Probability an attempt ends in a 5xx.
    pub error_probability: f64,
    /// How fast errors come back.
    pub error_latency: Span,
    /// Service-time law.
    pub service: ServiceTime,
    /// Scripted incidents, sorted by start.
    pub incidents: Vec<Incident>,
    /// Attempts holding a slot, with their completion events.
    pub busy: u32,
    /// Attempts waiting for a slot, with their token counts.
    pub queue: VecDeque<(AttemptId, u32, u32)>,
    /// Draws for service times and errors.
    pub rng: Rng,
}

impl EndpointSim {
    /// Builds the runtime endpoint from its scenario entry.
    pub fn new(config: &scenario::Endpoint, start: chrono::NaiveDateTime, rng: Rng) -> EndpointSim {
        let mut incidents: Vec<Incident> = config
            .outages
            .iter()
            .filter_map(|o| {
                let offset = scenario::parse_offset(&o.start, start)?;
                let begin = Time::ZERO + offset;
                Some(Incident {
                    start: begin,
                    end: begin + o.duration,
                    mode: o.mode,
                })
            })
            .collect();
        incidents.sort_by_key(|i| i.start);
        EndpointSim {
            concurrency: config.concurrency,
            queue_limit: config.queue_limit,
            error_probability: config.error_probability,
            error_latency: config.error_latency,
            service: ServiceTime::from_config(&config.latency),
            incidents,
            busy: 0,
            queue: VecDeque::new(),
            rng,
        }
    }

    /// The incident in force at `now`, if any.
    pub fn incident_at(&self, now: Time) -> Option<OutageMode> {
        let idx = self.incidents.partition_point(|i| i.start <= now);
        self.incidents[..idx].iter().rev().find(|i| now < i.end).map(|i| i.mode)
    }

    /// Admits an attempt arriving at `now`.
    pub fn admit(&mut self, now: Time, attempt: AttemptId, input_tokens: u32, output_tokens: u32) -> Admission {
        match self.incident_at(now) {
            Some(OutageMode::Down) => return Admission::Reject(self.error_latency),
            Some(OutageMode::Hang) => return Admission::Hang,
            None => {}
        }
        if self.busy < self.concurrency {
            self.busy += 1;
            Admission::Serve(self.service.sample(&mut self.rng, input_tokens, output_tokens))
        } else if (self.queue.len() as u64) < u64::from(self.queue_limit) {
            self.queue.push_back((attempt, input_tokens, output_tokens));
            Admission::Queued
        } else {
            Admission::Reject(self.error_latency)
        }
    }

    /// Whether a finished service ends in a 5xx.
    pub fn draw_error(&mut self) -> bool {
        self.error_probability > 0.0 && self.rng.random::<f64>() < self.error_probability
    }

    /// Frees a slot; returns the next queued attempt to start, with its
    /// service time, if one is waiting (the slot passes to it).
    pub fn release(&mut self) -> Option<(AttemptId, Span)> {
        self.busy = self.busy.saturating_sub(1);
        let (attempt, input, output) = self.queue.pop_front()?;
        self.busy += 1;
        Some((attempt, self.service.sample(&mut self.rng, input, output)))
    }

    /// Removes a queued attempt (cancelled before it got a slot).
    pub fn remove_queued(&mut self, attempt: AttemptId) -> bool {
        match self.queue.iter().position(|(a, _, _)| *a == attempt) {
            Some(pos) => {
                self.queue.remove(pos);
                true
            }
            None => false,
        }
    }
}

/// Where an attempt the world knows about stands.
#[derive(Clone, Copy, Debug)]
pub enum AttemptState {
    /// Holding a slot; its completion event.
    InService(EventId),
    /// Waiting in the provider queue.
    Queued,
    /// An error reply is on its way; its event.
    Replying(EventId),
    /// Hanging until the router gives up.
    Hung,
}
