//! Raw engine throughput on an M/M/1 queue: events per second of the event
//! queue and run loop alone, with exponential draws from an RNG stream.
//!
//! Run: `cargo bench --bench engine`. Criterion reports the time per batch of
//! `EVENTS` events and the throughput in events per second.

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

fn engine_mm1(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("mm1_events", |b| b.iter(|| run_events(black_box(EVENTS))));
    group.finish();
}

criterion_group!(benches, engine_mm1);
criterion_main!(benches);
