//! When tasks arrive: a Poisson process whose rate is shaped by a diurnal
//! profile (24 hourly factors), a weekly profile (7 daily factors, Monday
//! first) and on/off bursts (a two-state Markov-modulated Poisson process),
//! plus scheduled daily batches.
//!
//! The non-homogeneous process is drawn by thinning (Lewis & Shedler 1979):
//! candidates arrive at the peak rate and each is kept with probability
//! `rate(t) / peak`, which gives exactly the intended intensity.

use chrono::{Datelike, NaiveDateTime, Timelike};
use rand::RngExt;
use rand_distr::{Distribution, Exp, Exp1};

use crate::engine::Rng;
use crate::scenario::{Batch, Bursts, Workflow};
use crate::time::{Span, Time};

const NANOS_PER_HOUR: u64 = 3_600_000_000_000;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

/// The on/off state of a bursty source.
struct BurstState {
    factor: f64,
    mean_on_ns: f64,
    mean_off_ns: f64,
    on: bool,
    switch_at: Time,
}

/// A shaped Poisson arrival process.
pub struct Arrivals {
    /// Base rate per nanosecond.
    base: f64,
    diurnal: [f64; 24],
    weekly: [f64; 7],
    /// Nanoseconds from the Monday 00:00 before the simulation start to the start.
    week_offset: u64,
    bursts: Option<BurstState>,
    peak: f64,
    /// The candidates' mean gap, `1 / peak` (as `Exp::new(peak)` keeps
    /// it), computed once rather than per arrival; `None` without arrivals.
    mean_gap: Option<f64>,
    /// The hour of the week the latest candidate fell in, with its rate.
    hour: HourRate,
    rng: Rng,
}

/// The rate of one hour of the week, kept because consecutive candidates
/// mostly fall in the same hour: it spares the divisions that find the
/// hour and the day.
#[derive(Clone, Copy, Debug)]
struct HourRate {
    /// The hour's span, in nanoseconds since the Monday 00:00 before the
    /// start (`week_offset + t`, not wrapped to the week).
    start: u64,
    end: u64,
    /// `base * diurnal[hour] * weekly[day]` for that hour (bursts aside).
    rate: f64,
}

impl Arrivals {
    /// The arrival process of `workflow`, for a simulation starting at `start`.
    pub fn new(workflow: &Workflow, start: NaiveDateTime, mut rng: Rng) -> Arrivals {
        let mut diurnal = [1.0; 24];
        if let Some(d) = &workflow.diurnal {
            for (slot, f) in diurnal.iter_mut().zip(d) {
                *slot = f.max(0.0);
            }
        }
        let mut weekly = [1.0; 7];
        if let Some(w) = &workflow.weekly {
            for (slot, f) in weekly.iter_mut().zip(w) {
                *slot = f.max(0.0);
            }
        }
        let week_offset = u64::from(start.weekday().num_days_from_monday()) * NANOS_PER_DAY
            + u64::from(start.num_seconds_from_midnight()) * 1_000_000_000
            + u64::from(start.nanosecond());
        let bursts = workflow.bursts.as_ref().map(|b| BurstState::start(b, &mut rng));
        let burst_peak = bursts.as_ref().map_or(1.0, |b| b.factor.max(1.0));
        let max = |xs: &[f64]| xs.iter().copied().fold(0.0, f64::max);
        // A replaying workflow has no rate: the trace gives its arrivals.
        let base = (workflow.rate.unwrap_or(0.0) / 1e9).max(0.0);
        let peak = base * max(&diurnal) * max(&weekly) * burst_peak;
        let mean_gap = (peak > 0.0).then(|| 1.0 / peak);
        Arrivals {
            base,
            diurnal,
            weekly,
            week_offset,
            bursts,
            peak,
            mean_gap,
            // Empty: the first candidate fills it.
            hour: HourRate {
                start: 0,
                end: 0,
                rate: 0.0,
            },
            rng,
        }
    }

    /// The intensity at `t` (per nanosecond), given the current burst state.
    fn rate_per_ns(&mut self, t: Time) -> f64 {
        let at = self.week_offset + t.as_nanos();
        if !(self.hour.start..self.hour.end).contains(&at) {
            let in_week = at % (7 * NANOS_PER_DAY);
            let day = (in_week / NANOS_PER_DAY) as usize;
            let in_day = in_week % NANOS_PER_DAY;
            let hour = (in_day / NANOS_PER_HOUR) as usize;
            let start = at - in_day % NANOS_PER_HOUR;
            self.hour = HourRate {
                start,
                end: start + NANOS_PER_HOUR,
                rate: self.base * self.diurnal[hour] * self.weekly[day],
            };
        }
        let burst = self.bursts.as_ref().map_or(1.0, |b| if b.on { b.factor } else { 1.0 });
        self.hour.rate * burst
    }

    /// The next arrival strictly after `now`, or `None` if there is none
    /// before `horizon`.
    pub fn next_after(&mut self, now: Time, horizon: Time) -> Option<Time> {
        if self.peak <= 0.0 {
            return None;
        }
        let mean_gap = self.mean_gap?;
        let mut t = now;
        loop {
            // `Exp::new(peak)`'s draw, written out: a standard exponential
            // times the mean.
            let step = Distribution::<f64>::sample(&Exp1, &mut self.rng) * mean_gap;
            t += Span::from_nanos(step.max(1.0) as u64);
            if t >= horizon {
                return None;
            }
            if let Some(b) = &mut self.bursts {
                b.advance_to(t, &mut self.rng);
            }
            let keep = self.rate_per_ns(t) / self.peak;
            if keep >= 1.0 || self.rng.random::<f64>() < keep {
                return Some(t);
            }
        }
    }

    /// The mean intensity over a whole week, per second, with bursts at
    /// their stationary share: what the long-run count per second converges to.
    pub fn mean_rate_per_sec(&self) -> f64 {
        let d: f64 = self.diurnal.iter().sum::<f64>() / 24.0;
        let w: f64 = self.weekly.iter().sum::<f64>() / 7.0;
        let burst = self.bursts.as_ref().map_or(1.0, |b| {
            let p_on = b.mean_on_ns / (b.mean_on_ns + b.mean_off_ns);
            1.0 + (b.factor - 1.0) * p_on
        });
        self.base * 1e9 * d * w * burst
    }
}

impl BurstState {
    fn start(b: &Bursts, rng: &mut Rng) -> BurstState {
        let (on_ns, off_ns) = (b.mean_on.as_nanos().max(1) as f64, b.mean_off.as_nanos().max(1) as f64);
        // Start in the stationary distribution so the process has no warm-up.
        let on = rng.random::<f64>() < on_ns / (on_ns + off_ns);
        let mut s = BurstState {
            factor: b.factor.max(0.0),
            mean_on_ns: on_ns,
            mean_off_ns: off_ns,
            on,
            switch_at: Time::ZERO,
        };
        s.switch_at = Time::ZERO + s.draw_period(rng);
        s
    }

    fn draw_period(&self, rng: &mut Rng) -> Span {
        let mean = if self.on { self.mean_on_ns } else { self.mean_off_ns };
        let x: f64 = Exp::new(1.0 / mean).map(|d| d.sample(rng)).unwrap_or(mean);
        Span::from_nanos(x.max(1.0) as u64)
    }

    fn advance_to(&mut self, t: Time, rng: &mut Rng) {
        while self.switch_at <= t {
            self.on = !self.on;
            self.switch_at += self.draw_period(rng);
        }
    }
}

/// The tasks of one daily batch, in time order: on every day of the period,
/// `tasks` arrivals evenly spaced over `spread` from `at`.
pub struct BatchCursor {
    first: i128,
    spacing: u64,
    tasks: u32,
    day: u64,
    index: u32,
}

impl BatchCursor {
    /// A cursor for `batch` in a simulation starting at `start`; `None` if
    /// the batch has no valid time or no task.
    pub fn new(batch: &Batch, start: NaiveDateTime) -> Option<BatchCursor> {
        let tod = batch.time_of_day()?;
        if batch.tasks == 0 {
            return None;
        }
        let since_midnight =
            u64::from(start.num_seconds_from_midnight()) * 1_000_000_000 + u64::from(start.nanosecond());
        Some(BatchCursor {
            first: i128::from(tod.as_nanos()) - i128::from(since_midnight),
            spacing: batch.spread.as_nanos() / u64::from(batch.tasks),
            tasks: batch.tasks,
            day: 0,
            index: 0,
        })
    }

    /// The next batch arrival before `horizon`.
    pub fn next(&mut self, horizon: Time) -> Option<Time> {
        loop {
            let at = self.first
                + i128::from(self.day) * i128::from(NANOS_PER_DAY)
                + i128::from(self.index) * i128::from(self.spacing);
            self.index += 1;
            if self.index >= self.tasks {
                self.index = 0;
                self.day += 1;
            }
            if at < 0 {
                continue;
            }
            let at = Time::from_nanos(u64::try_from(at).ok()?);
            return (at < horizon).then_some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::scenario::{Shape, TokenDist};

    fn workflow(rate: f64) -> Workflow {
        Workflow {
            router: crate::policy::WorkflowPolicy {
                name: "w".into(),
                allowed_tiers: None,
            },
            rate: Some(rate),
            diurnal: None,
            weekly: None,
            bursts: None,
            batches: Vec::new(),
            deadline: None,
            shape: Shape::Single,
            input_tokens: TokenDist::Constant { value: 1 },
            output_tokens: TokenDist::Constant { value: 1 },
            migration_tokens: 0,
            replay: None,
        }
    }

    fn monday() -> NaiveDateTime {
        // 2026-03-02 is a Monday.
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    #[test]
    fn batches_are_evenly_spread_every_day() {
        let b = Batch {
            at: "02:00".into(),
            tasks: 4,
            spread: Span::from_mins(20),
        };
        let mut c = BatchCursor::new(&b, monday()).unwrap();
        let horizon = Time::ZERO + Span::from_days(2);
        let times: Vec<Time> = std::iter::from_fn(|| c.next(horizon)).collect();
        let h2 = Time::ZERO + Span::from_hours(2);
        let expected: Vec<Time> = [0u64, 1]
            .iter()
            .flat_map(|d| (0..4).map(move |i| h2 + Span::from_days(*d) + Span::from_mins(5 * i)))
            .collect();
        assert_eq!(times, expected);
    }

    #[test]
    fn a_batch_earlier_than_the_start_time_waits_for_the_next_day() {
        let start = monday() + chrono::Duration::hours(3);
        let b = Batch {
            at: "02:00".into(),
            tasks: 1,
            spread: Span::ZERO,
        };
        let mut c = BatchCursor::new(&b, start).unwrap();
        assert_eq!(c.next(Time::MAX), Some(Time::ZERO + Span::from_hours(23)));
    }

    /// The kept hour's rate is the rate computed from scratch, at times
    /// that go forwards in small and large steps and back again.
    #[test]
    fn the_kept_hour_gives_the_plain_rate() {
        use rand::RngExt;
        let mut w = workflow(0.7);
        w.diurnal = Some((0..24).map(|h| 0.3 + f64::from(h) * 0.05).collect());
        w.weekly = Some(vec![1.0, 1.1, 1.2, 0.9, 0.8, 0.4, 0.3]);
        let start = monday() + chrono::Duration::minutes(95) + chrono::Duration::nanoseconds(17);
        let mut a = Arrivals::new(&w, start, engine::stream(3, 0, "t"));
        let plain = |a: &Arrivals, t: Time| {
            let in_week = (a.week_offset + t.as_nanos()) % (7 * NANOS_PER_DAY);
            let day = (in_week / NANOS_PER_DAY) as usize;
            let hour = ((in_week % NANOS_PER_DAY) / NANOS_PER_HOUR) as usize;
            a.base * a.diurnal[hour] * a.weekly[day]
        };
        let mut rng = engine::stream(4, 0, "steps");
        let mut t = Time::ZERO;
        for i in 0..50_000u64 {
            t = match i % 5 {
                0 => Time::from_nanos(rng.random_range(0..30 * NANOS_PER_DAY)),
                // An hour's first nanosecond, and the last one before it.
                1 | 2 => Time::from_nanos(
                    (t.as_nanos() / NANOS_PER_HOUR + 1) * NANOS_PER_HOUR - a.week_offset % NANOS_PER_HOUR - i % 5 + 1,
                ),
                _ => t + Span::from_nanos(rng.random_range(0..NANOS_PER_HOUR / 3)),
            };
            assert_eq!(a.rate_per_ns(t).to_bits(), plain(&a, t).to_bits(), "at {t:?}");
        }
    }

    #[test]
    fn a_zero_weekend_factor_silences_weekends() {
        let mut w = workflow(1.0);
        w.weekly = Some(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let mut a = Arrivals::new(&w, monday(), engine::stream(1, 0, "t"));
        let horizon = Time::ZERO + Span::from_days(7);
        let mut t = Time::ZERO;
        let mut n = 0;
        while let Some(next) = a.next_after(t, horizon) {
            let day = next.as_nanos() / NANOS_PER_DAY;
            assert!(day < 5, "arrival on day {day}");
            t = next;
            n += 1;
        }
        assert!(n > 400_000, "{n}");
        assert!((a.mean_rate_per_sec() - 5.0 / 7.0).abs() < 1e-12);
    }
}
