//! A simulated endpoint: provider-side slots, a bounded queue, service times
//! (with background load by hour of day), random errors, the provider's
//! per-key RPM/TPM limits, a context window, prices, a quality score, and
//! its outage timeline. It decides what happens to an attempt; the world
//! schedules it.
//!
//! Order of the checks on an arriving attempt: the outage in force (down:
//! fast 5xx; hang: no answer), then the context window (too long: fast
//! error, reported as a 5xx since the router has no 4xx outcome; another
//! endpoint with a larger window may serve it; the emulator answers 400), then the provider's rate
//! limits (over: a 429 with retry-after, also after `error_latency`), then
//! slots and queue (full: a 503).
//!
//! An attempt's randomness comes with it as [`AttemptDraws`]: standardized
//! variates keyed by its call's identity and its attempt number, which the
//! endpoint that serves it maps through its own laws. So an attempt gets
//! the same noise whatever the order attempts reach the endpoint, and a
//! call sent elsewhere keeps its noise; the emulator, given the same key,
//! draws the same. Outages and background load stay functions of time.

use std::cell::Cell;
use std::collections::VecDeque;

use chrono::Timelike;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::engine::{self, EventId, Rng};
use crate::policy::AttemptId;
use crate::scenario::{self, Latency, OutageMode};
use crate::time::{Span, Time, round_half_away};
use rand::RngExt;

pub use super::outage::Incident;
use super::outage::timeline;

const MINUTE_NANOS: u128 = 60_000_000_000;
const SECOND_NANOS: u64 = 1_000_000_000;

/// A provider-side token bucket in simulated time: holds up to `capacity`
/// units (a minute's worth) and refills at `capacity` per minute. Levels are
/// kept in units × 60 s (in ns), so refill is exact integer arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    capacity: u64,
    /// Units × 60e9.
    level: u128,
    last: Time,
}

impl Bucket {
    /// A full bucket of `per_minute` units.
    pub fn full(per_minute: u64, now: Time) -> Bucket {
        Bucket {
            capacity: per_minute,
            level: u128::from(per_minute) * MINUTE_NANOS,
            last: now,
        }
    }

    fn refill(&mut self, now: Time) {
        let elapsed = u128::from((now - self.last).as_nanos());
        let cap = u128::from(self.capacity) * MINUTE_NANOS;
        self.level = (self.level + elapsed * u128::from(self.capacity)).min(cap);
        self.last = self.last.max(now);
    }

    /// How long until `units` fit (zero if they do now); a request larger
    /// than the capacity waits a whole minute (it never fits).
    pub fn wait(&mut self, now: Time, units: u64) -> Span {
        self.refill(now);
        if units > self.capacity {
            return Span::from_secs(60);
        }
        let need = u128::from(units) * MINUTE_NANOS;
        if self.level >= need {
            Span::ZERO
        } else {
            let short = need - self.level;
            let per_ns = u128::from(self.capacity);
            Span::from_nanos(u64::try_from(short.div_ceil(per_ns)).unwrap_or(u64::MAX))
        }
    }

    /// Takes `units` (call only after `wait` returned zero).
    pub fn take(&mut self, units: u64) {
        self.level = self.level.saturating_sub(u128::from(units) * MINUTE_NANOS);
    }
}

/// `span` rounded up to whole seconds, at least one second, as a 429's
/// `Retry-After` header carries it.
fn whole_seconds(span: Span) -> Span {
    let secs = span.as_nanos().div_ceil(SECOND_NANOS).max(1);
    Span::from_secs(secs)
}

/// The random part of one attempt, as standardized variates that any
/// endpoint maps through its own laws: a standard normal (lognormal noise),
/// a standard exponential (exponential service) and a uniform on [0, 1)
/// (the error draw).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttemptDraws {
    /// Standard normal.
    pub normal: f64,
    /// Exponential of mean 1.
    pub exponential: f64,
    /// Uniform on [0, 1).
    pub uniform: f64,
}

impl AttemptDraws {
    /// The draws of attempt `attempt` (0 for the first) of the call whose
    /// key is `call_key` (see `model::task`): the simulator and the
    /// emulator both draw here.
    pub fn keyed(call_key: u64, attempt: u32) -> AttemptDraws {
        AttemptDraws::from_rng(&mut engine::keyed(call_key, u64::from(attempt)))
    }

    /// The next draws of `rng`.
    pub fn from_rng<R: rand::Rng + ?Sized>(rng: &mut R) -> AttemptDraws {
        AttemptDraws {
            normal: StandardNormal.sample(rng),
            exponential: Exp1.sample(rng),
            uniform: rng.random(),
        }
    }
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

    /// The service time of a call of the given size with the attempt's
    /// `draws`.
    pub fn sample(&self, draws: &AttemptDraws, input_tokens: u32, output_tokens: u32) -> Span {
        let nanos = match *self {
            ServiceTime::Lognormal {
                ttft,
                per_input,
                per_output,
                sigma,
            } => {
                let base = ttft + per_input * f64::from(input_tokens) + per_output * f64::from(output_tokens);
                if sigma > 0.0 {
                    base * (sigma * draws.normal - 0.5 * sigma * sigma).exp()
                } else {
                    base
                }
            }
            ServiceTime::Exponential { mean } => mean * draws.exponential,
        };
        Span::from_nanos(nanos.max(1.0) as u64)
    }

    /// Splits a service time drawn by [`sample`](ServiceTime::sample) into
    /// the time to the first output token and the gap between later
    /// tokens, for serving it as a stream (the emulator). Lognormal: the
    /// first token comes after the fixed and prefill parts, the rest is
    /// decode, in the proportions of the law's mean, so the noise scales
    /// both alike. Exponential (no token structure): the time is spread
    /// evenly, one share per output token. No draw is made.
    pub fn pace(&self, total: Span, input_tokens: u32, output_tokens: u32) -> Pace {
        let total_ns = total.as_nanos() as f64;
        let tokens = f64::from(output_tokens.max(1));
        let first = match *self {
            ServiceTime::Lognormal {
                ttft,
                per_input,
                per_output,
                ..
            } => {
                let prefill = ttft + per_input * f64::from(input_tokens);
                let base = prefill + per_output * f64::from(output_tokens);
                if base > 0.0 {
                    total_ns * prefill / base
                } else {
                    total_ns
                }
            }
            ServiceTime::Exponential { .. } => total_ns / tokens,
        };
        let later = f64::from(output_tokens.saturating_sub(1));
        let gap = if later > 0.0 {
            (total_ns - first).max(0.0) / later
        } else {
            0.0
        };
        Pace {
            first_token: Span::from_nanos(round_half_away(first) as u64),
            token_gap: Span::from_nanos(round_half_away(gap) as u64),
        }
    }
}

/// How a served attempt's output is paced when streamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// From holding a slot to the first output token.
    pub first_token: Span,
    /// Between two later output tokens.
    pub token_gap: Span,
}

/// What the endpoint does with a newly arrived attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It holds a slot now; its service ends after the span.
    Serve(Span),
    /// It waits in the provider queue.
    Queued,
    /// It fails after the span with a 5xx (the endpoint is down).
    Reject(Span),
    /// It fails after the span because the input is longer than the
    /// context window (a real provider answers 400; the simulator reports
    /// it as a server error, since another endpoint with a larger window
    /// may serve it).
    TooLong(Span),
    /// It fails after the span with a 5xx because every slot is busy and
    /// the provider queue is full: capacity turned it away.
    Full(Span),
    /// A 429 arrives after `after`; the provider asks for `retry_after`
    /// (whole seconds, at least one).
    RateLimited {
        /// When the answer arrives (the endpoint's `error_latency`).
        after: Span,
        /// The Retry-After the provider sends.
        retry_after: Span,
    },
    /// It never answers.
    Hang,
}

/// The stretch of `incidents` (disjoint, sorted by start) in force at
/// `now`, if any (the index of the last one started by `now`, unless it
/// ended), and the span `[from, until)` around `now` over which that
/// answer holds.
fn stretch_around(incidents: &[Incident], now: Time) -> (Time, Time, Option<usize>) {
    let idx = incidents.partition_point(|i| i.start <= now);
    // The answer holds until the next stretch starts, and before that
    // until the last one ends (if it is in force at `now`).
    let next = incidents.get(idx).map_or(Time::MAX, |i| i.start);
    match idx.checked_sub(1).map(|i| (i, incidents[i])) {
        None => (Time::ZERO, next, None),
        Some((i, last)) if now < last.end => (last.start, last.end.min(next), Some(i)),
        Some((_, last)) => (last.end.max(last.start), next, None),
    }
}

/// No stretch in force (see `EndpointSim::stretch_cache`).
const NO_STRETCH: u32 = u32::MAX;

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
    /// Incidents (scripted and generated), merged into disjoint stretches
    /// sorted by start, each with the mode in force (fixed once built).
    incidents: Vec<Incident>,
    /// The last answer of [`EndpointSim::stretch_at`] (an index into
    /// `incidents`, [`NO_STRETCH`]: none) and the span of time
    /// `[from, until)` over which it holds: the endpoint is asked about the
    /// present several times per call, and the answer changes only at an
    /// incident's start or end. An index rather than the incident, so the
    /// hit path copies three words.
    stretch_cache: Cell<(Time, Time, u32)>,
    /// The provider's requests-per-minute bucket for our key.
    pub provider_rpm: Option<Bucket>,
    /// The provider's tokens-per-minute bucket for our key.
    pub provider_tpm: Option<Bucket>,
    /// The bucket of the quota squeeze in force, keyed by its stretch start.
    pub squeeze: Option<(Time, Bucket)>,
    /// Service-time factor per UTC hour of day.
    pub background: [f64; 24],
    /// Seconds from midnight UTC to simulation time 0.
    pub day_offset: u64,
    /// USD per input token.
    pub cost_input: f64,
    /// USD per output token.
    pub cost_output: f64,
    /// Quality score, 0 to 1.
    pub quality: f64,
    /// Largest accepted input, in tokens.
    pub context_window: Option<u32>,
    /// Attempts holding a slot, with their completion events.
    pub busy: u32,
    /// Attempts waiting for a slot, with their token counts and draws.
    pub queue: VecDeque<(AttemptId, u32, u32, AttemptDraws)>,
    /// The endpoint's own stream, for attempts that come without a key
    /// (requests to the emulator from other clients), in arrival order.
    pub rng: Rng,
}

impl EndpointSim {
    /// Builds the runtime endpoint from its scenario entry; `generated` are
    /// the incidents of outage processes that hit it, merged with its
    /// scripted ones.
    pub fn new(
        config: &scenario::Endpoint,
        start: chrono::NaiveDateTime,
        rng: Rng,
        generated: &[Incident],
    ) -> EndpointSim {
        let mut incidents: Vec<Incident> = config
            .outages
            .iter()
            .filter_map(|o| {
                let offset = scenario::parse_offset(&o.start, start)?;
                let begin = Time::ZERO + offset;
                Some(Incident {
                    start: begin,
                    end: begin + o.duration,
                    mode: o.behaviour(),
                })
            })
            .collect();
        incidents.extend_from_slice(generated);
        let mut background = [1.0; 24];
        if config.background.len() == 24 {
            background.copy_from_slice(&config.background);
        }
        EndpointSim {
            concurrency: config.concurrency,
            queue_limit: config.queue_limit,
            error_probability: config.error_probability,
            error_latency: config.error_latency,
            service: ServiceTime::from_config(&config.latency),
            incidents: timeline(&incidents),
            stretch_cache: Cell::new((Time::ZERO, Time::ZERO, NO_STRETCH)),
            provider_rpm: config.provider_rpm.map(|r| Bucket::full(u64::from(r), Time::ZERO)),
            provider_tpm: config.provider_tpm.map(|t| Bucket::full(t, Time::ZERO)),
            squeeze: None,
            background,
            day_offset: u64::from(start.time().num_seconds_from_midnight()),
            cost_input: config.cost_per_million_input / 1e6,
            cost_output: config.cost_per_million_output / 1e6,
            quality: config.quality,
            context_window: config.context_window,
            busy: 0,
            queue: VecDeque::new(),
            rng,
        }
    }

    /// The outage mode in force at `now`, if any.
    pub fn incident_at(&self, now: Time) -> Option<OutageMode> {
        self.stretch_at(now).map(|i| i.mode)
    }

    /// The incidents (disjoint stretches sorted by start).
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// The stretch in force at `now`, if any.
    #[inline]
    fn stretch_at(&self, now: Time) -> Option<&Incident> {
        let (from, until, cached) = self.stretch_cache.get();
        let idx = if from <= now && now < until {
            cached
        } else {
            self.refresh_stretch(now)
        };
        self.incidents.get(idx as usize)
    }

    /// Looks the stretch in force at `now` up and caches the answer with
    /// the span it holds for (rare: at an incident's start or end).
    #[cold]
    #[inline(never)]
    fn refresh_stretch(&self, now: Time) -> u32 {
        let (from, until, idx) = stretch_around(&self.incidents, now);
        let idx = idx.map_or(NO_STRETCH, |i| i as u32);
        self.stretch_cache.set((from, until, idx));
        idx
    }

    /// Price in USD of a call with these token counts.
    pub fn cost(&self, input_tokens: u32, output_tokens: u32) -> f64 {
        f64::from(input_tokens) * self.cost_input + f64::from(output_tokens) * self.cost_output
    }

    /// The share of an attempt's service time before its first token: for
    /// the token-driven model, (`ttft` + prefill) over the whole base time
    /// (noise, background load and brownouts scale both parts alike); for
    /// the exponential model, which has no tokens, the whole service (the
    /// answer comes at once).
    pub fn first_token_share(&self, input_tokens: u32, output_tokens: u32) -> f64 {
        match self.service {
            ServiceTime::Lognormal {
                ttft,
                per_input,
                per_output,
                ..
            } => {
                let before = ttft + per_input * f64::from(input_tokens);
                let total = before + per_output * f64::from(output_tokens);
                if total > 0.0 { before / total } else { 1.0 }
            }
            ServiceTime::Exponential { .. } => 1.0,
        }
    }

    /// Quality score of the model served here, 0 to 1.
    pub fn quality(&self) -> f64 {
        self.quality
    }

    /// UTC hour of day at simulation time `now`.
    pub fn hour_of_day(&self, now: Time) -> usize {
        ((self.day_offset + now.as_nanos() / SECOND_NANOS) / 3600 % 24) as usize
    }

    /// Draws for an attempt that comes without a key, from the endpoint's
    /// own stream.
    pub fn unkeyed_draws(&mut self) -> AttemptDraws {
        AttemptDraws::from_rng(&mut self.rng)
    }

    /// A service time for an attempt starting service at `now`, when
    /// `stretch` is in force: the law's value for its draws × the
    /// background factor of the hour × a brownout's factor.
    fn service_time(
        &self,
        now: Time,
        stretch: Option<&Incident>,
        draws: &AttemptDraws,
        input_tokens: u32,
        output_tokens: u32,
    ) -> Span {
        let base = self.service.sample(draws, input_tokens, output_tokens);
        let mut factor = self.background[self.hour_of_day(now)];
        if let Some(Incident {
            mode: OutageMode::Brownout { latency_factor, .. },
            ..
        }) = stretch
        {
            factor *= latency_factor;
        }
        if factor == 1.0 {
            base
        } else {
            Span::from_nanos((base.as_nanos() as f64 * factor).clamp(1.0, 1e18) as u64)
        }
    }

    /// The provider's rate limits, when `stretch` is in force: zero if the
    /// attempt fits (and it is charged), else how long until it would.
    fn rate_wait(&mut self, now: Time, stretch: Option<Incident>, tokens: u64) -> Span {
        let squeezed = match stretch {
            Some(Incident {
                start,
                mode: OutageMode::QuotaSqueeze { rpm },
                ..
            }) => {
                if self.squeeze.is_none_or(|(s, _)| s != start) {
                    self.squeeze = Some((start, Bucket::full(u64::from(rpm), start)));
                }
                true
            }
            _ => false,
        };
        let mut wait = Span::ZERO;
        if squeezed && let Some((_, b)) = self.squeeze.as_mut() {
            wait = wait.max(b.wait(now, 1));
        }
        if let Some(b) = self.provider_rpm.as_mut() {
            wait = wait.max(b.wait(now, 1));
        }
        if let Some(b) = self.provider_tpm.as_mut() {
            wait = wait.max(b.wait(now, tokens));
        }
        if wait == Span::ZERO {
            if squeezed && let Some((_, b)) = self.squeeze.as_mut() {
                b.take(1);
            }
            if let Some(b) = self.provider_rpm.as_mut() {
                b.take(1);
            }
            if let Some(b) = self.provider_tpm.as_mut() {
                b.take(tokens);
            }
        }
        wait
    }

    /// Admits an attempt arriving at `now`, with its draws.
    pub fn admit(
        &mut self,
        now: Time,
        attempt: AttemptId,
        draws: AttemptDraws,
        input_tokens: u32,
        output_tokens: u32,
    ) -> Admission {
        // Looked up once: the rate limits and the service time ask too.
        let stretch = self.stretch_at(now).copied();
        match stretch.map(|i| i.mode) {
            Some(OutageMode::Down) => return Admission::Reject(self.error_latency),
            Some(OutageMode::Hang) => return Admission::Hang,
            Some(OutageMode::Brownout { .. } | OutageMode::QuotaSqueeze { .. }) | None => {}
        }
        if self.context_window.is_some_and(|w| input_tokens > w) {
            return Admission::TooLong(self.error_latency);
        }
        let wait = self.rate_wait(now, stretch, u64::from(input_tokens) + u64::from(output_tokens));
        if wait > Span::ZERO {
            return Admission::RateLimited {
                after: self.error_latency,
                retry_after: whole_seconds(wait),
            };
        }
        if self.busy < self.concurrency {
            self.busy += 1;
            Admission::Serve(self.service_time(now, stretch.as_ref(), &draws, input_tokens, output_tokens))
        } else if (self.queue.len() as u64) < u64::from(self.queue_limit) {
            self.queue.push_back((attempt, input_tokens, output_tokens, draws));
            Admission::Queued
        } else {
            Admission::Full(self.error_latency)
        }
    }

    /// Whether a service finishing at `now` ends in a 5xx, for the
    /// attempt's uniform draw `u`: the endpoint's own errors and, during a
    /// brownout, the brownout's, independently.
    pub fn draw_error(&self, now: Time, u: f64) -> bool {
        let p = match self.incident_at(now) {
            Some(OutageMode::Brownout { error_probability, .. }) => {
                1.0 - (1.0 - self.error_probability) * (1.0 - error_probability)
            }
            _ => self.error_probability,
        };
        p > 0.0 && u < p
    }

    /// Frees a slot; returns the next queued attempt to start, with its
    /// service time, if one is waiting (the slot passes to it).
    pub fn release(&mut self, now: Time) -> Option<(AttemptId, Span)> {
        self.busy = self.busy.saturating_sub(1);
        let (attempt, input, output, draws) = self.queue.pop_front()?;
        self.busy += 1;
        Some((
            attempt,
            self.service_time(now, self.stretch_at(now), &draws, input, output),
        ))
    }

    /// Removes a queued attempt (cancelled before it got a slot).
    pub fn remove_queued(&mut self, attempt: AttemptId) -> bool {
        match self.queue.iter().position(|(a, ..)| *a == attempt) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An attempt's standardized draws, mapped through two endpoints' laws,
    /// worked by hand: lognormal, base 300 ms + 100 × 20 µs + 10 × 10 ms =
    /// 402 ms, σ = 0.5, z = 1: 402 ms × exp(0.5 − 0.125) = 584.906549 ms;
    /// exponential of mean 900 ms with a unit exponential of 0.5: 450 ms.
    /// The error draw is the uniform against the error probability.
    #[test]
    fn attempt_draws_map_through_each_endpoints_laws() {
        let draws = AttemptDraws {
            normal: 1.0,
            exponential: 0.5,
            uniform: 0.3,
        };
        let lognormal = ServiceTime::Lognormal {
            ttft: 300e6,
            per_input: 20e3,
            per_output: 10e6,
            sigma: 0.5,
        };
        let ns = lognormal.sample(&draws, 100, 10).as_nanos();
        assert!(ns.abs_diff(584_906_549) <= 1, "{ns}");
        let exponential = ServiceTime::Exponential { mean: 900e6 };
        assert_eq!(exponential.sample(&draws, 100, 10), Span::from_millis(450));
        // Keyed draws are reproducible and differ between attempts.
        assert_eq!(AttemptDraws::keyed(99, 0), AttemptDraws::keyed(99, 0));
        assert_ne!(AttemptDraws::keyed(99, 0), AttemptDraws::keyed(99, 1));
    }

    /// The answer of [`stretch_around`] is the plain one (the last stretch
    /// started, if not ended) at `now` and everywhere in the span it gives,
    /// over random timelines, gaps and back-to-back stretches included.
    #[test]
    fn stretch_answers_hold_over_their_span() {
        let mut rng = crate::engine::stream(1, 0, "test");
        let mut draw = |n: u64| rand::RngExt::random_range(&mut rng, 0..n);
        let plain = |incidents: &[Incident], now: Time| {
            let idx = incidents.partition_point(|i| i.start <= now);
            incidents[..idx].last().copied().filter(|last| now < last.end)
        };
        for _ in 0..300 {
            let mut incidents = Vec::new();
            let mut t = draw(3) * 50;
            for _ in 0..draw(6) {
                let start = t + draw(3) * 20;
                let end = start + 1 + draw(40);
                incidents.push(Incident {
                    start: Time::from_nanos(start),
                    end: Time::from_nanos(end),
                    mode: OutageMode::Down,
                });
                t = end;
            }
            for q in 0..400 {
                let now = Time::from_nanos(q);
                let (from, until, answer) = stretch_around(&incidents, now);
                let answer = answer.map(|i| incidents[i]);
                assert!(from <= now && now < until, "{now:?} outside [{from:?}, {until:?})");
                assert_eq!(answer, plain(&incidents, now));
                for u in [
                    from.as_nanos(),
                    until.as_nanos().saturating_sub(1).min(500),
                    from.as_nanos() + draw(5),
                ] {
                    let u = Time::from_nanos(u);
                    if from <= u && u < until {
                        assert_eq!(answer, plain(&incidents, u), "at {u:?} in [{from:?}, {until:?})");
                    }
                }
            }
        }
    }
}
