//! Raw engine throughput on an M/M/1 queue: events per second of the event
//! queue and run loop alone, with exponential draws from an RNG stream; and
//! the same model on a bare `BinaryHeap` keyed by `(time, seq)`, measured in
//! the same run as the baseline. The `hold` pair keeps 1,000 events pending
//! (each event schedules one more, exponential gaps), closer to the
//! world's queue of in-flight attempts, arrivals and think times.
//!
//! Run: `cargo bench --bench engine`. Criterion reports the time per batch of
//! `EVENTS` events and the throughput in events per second.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_distr::{Distribution, Exp};
use slaplan::engine::{self, EventQueue, Model, Rng};
use slaplan::time::{Span, Time};

const EVENTS: u64 = 1_000_000;

#[derive(Clone, Copy)]
enum Event {
    Arrival,
    Departure,
}

/// M/M/1 at ρ = 0.8: arrivals every 12.5 ms on average, service 10 ms.
struct Mm1 {
    rng: Rng,
    gap: Exp<f64>,
    service: Exp<f64>,
    in_system: u64,
}

impl Model for Mm1 {
    type Event = Event;
    fn handle(&mut self, now: Time, event: Event, q: &mut EventQueue<Event>) {
        match event {
            Event::Arrival => {
                q.schedule(
                    now + Span::from_nanos(self.gap.sample(&mut self.rng) as u64),
                    Event::Arrival,
                );
                self.in_system += 1;
                if self.in_system == 1 {
                    q.schedule(
                        now + Span::from_nanos(self.service.sample(&mut self.rng) as u64),
                        Event::Departure,
                    );
                }
            }
            Event::Departure => {
                self.in_system -= 1;
                if self.in_system > 0 {
                    q.schedule(
                        now + Span::from_nanos(self.service.sample(&mut self.rng) as u64),
                        Event::Departure,
                    );
                }
            }
        }
    }
}

fn run_events(n: u64) -> u64 {
    let mut model = Mm1 {
        rng: engine::stream(1, 0, "bench"),
        gap: Exp::new(1.0 / 12.5e6).expect("valid rate"),
        service: Exp::new(1.0 / 10e6).expect("valid rate"),
        in_system: 0,
    };
    let mut q = EventQueue::new();
    q.schedule(Time::ZERO, Event::Arrival);
    let mut handled = 0;
    while handled < n {
        let Some((now, ev)) = q.pop() else { break };
        model.handle(now, ev, &mut q);
        handled += 1;
    }
    black_box(model.in_system);
    handled
}

/// The M/M/1 model on a bare binary heap of `(time, seq, event)`: the
/// baseline for the engine's queue.
fn run_events_heap(n: u64) -> u64 {
    let mut rng = engine::stream(1, 0, "bench");
    let gap = Exp::new(1.0 / 12.5e6).expect("valid rate");
    let service = Exp::new(1.0 / 10e6).expect("valid rate");
    let mut in_system = 0u64;
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, u8)>>, at: u64, ev: u8| {
        seq += 1;
        heap.push(Reverse((at, seq, ev)));
    };
    push(&mut heap, 0, 0);
    let mut handled = 0;
    while handled < n {
        let Some(Reverse((now, _, ev))) = heap.pop() else { break };
        if ev == 0 {
            push(&mut heap, now + gap.sample(&mut rng) as u64, 0);
            in_system += 1;
            if in_system == 1 {
                push(&mut heap, now + service.sample(&mut rng) as u64, 1);
            }
        } else {
            in_system -= 1;
            if in_system > 0 {
                push(&mut heap, now + service.sample(&mut rng) as u64, 1);
            }
        }
        handled += 1;
    }
    black_box(in_system);
    handled
}

/// Pending events in the hold benchmarks.
const HOLD: u64 = 1_000;

/// The hold model on the engine's queue: `HOLD` events pending, each
/// replaced by one an exponential time later (mean 1 s).
fn hold_queue(n: u64) -> u64 {
    let mut rng = engine::stream(1, 0, "hold");
    let gap = Exp::new(1.0 / 1e9).expect("valid rate");
    let mut q = EventQueue::new();
    for i in 0..HOLD {
        q.schedule(Time::from_nanos(gap.sample(&mut rng) as u64), i);
    }
    for _ in 0..n {
        let Some((now, ev)) = q.pop() else { break };
        q.schedule(now + Span::from_nanos(gap.sample(&mut rng) as u64), ev);
    }
    q.len() as u64
}

/// The hold model on a bare binary heap.
fn hold_heap(n: u64) -> u64 {
    let mut rng = engine::stream(1, 0, "hold");
    let gap = Exp::new(1.0 / 1e9).expect("valid rate");
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    for i in 0..HOLD {
        seq += 1;
        heap.push(Reverse((gap.sample(&mut rng) as u64, seq, i)));
    }
    for _ in 0..n {
        let Some(Reverse((now, _, ev))) = heap.pop() else { break };
        seq += 1;
        heap.push(Reverse((now + gap.sample(&mut rng) as u64, seq, ev)));
    }
    heap.len() as u64
}

fn engine_mm1(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("mm1_events", |b| b.iter(|| run_events(black_box(EVENTS))));
    group.bench_function("mm1_events_binary_heap", |b| {
        b.iter(|| run_events_heap(black_box(EVENTS)))
    });
    group.bench_function("hold1000_events", |b| b.iter(|| hold_queue(black_box(EVENTS))));
    group.bench_function("hold1000_events_binary_heap", |b| {
        b.iter(|| hold_heap(black_box(EVENTS)))
    });
    group.finish();
}

criterion_group!(benches, engine_mm1);
criterion_main!(benches);
