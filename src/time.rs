//! Virtual and wall time as integers: [`Time`] is an instant, [`Span`] a
//! duration, both in nanoseconds.
//!
//! This module owns the one time vocabulary shared by the router core, the
//! engine and the planner, and the human form of durations used in scenario
//! files and on the command line (`"800ms"`, `"2h"`, `"30d"`).
//!
//! **Architecture Invariant:** nothing here reads a clock. A [`Time`] is only
//! ever produced from a number the caller supplies, so the router core stays
//! sans-IO and the simulator stays deterministic.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

/// An instant, in nanoseconds since an origin the driver chooses (the start
/// of the simulated period in the simulator, an arbitrary epoch in a gateway).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Time(u64);

/// A non-negative duration in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(u64);

impl Time {
    /// The origin.
    pub const ZERO: Time = Time(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Time = Time(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the origin, as a float (for reports only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Span {
        Span(self.0.saturating_sub(earlier.0))
    }

    /// `self + span`, clamped at [`Time::MAX`].
    pub const fn saturating_add(self, span: Span) -> Time {
        Time(self.0.saturating_add(span.0))
    }
}

impl Add<Span> for Time {
    type Output = Time;
    fn add(self, rhs: Span) -> Time {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Span> for Time {
    fn add_assign(&mut self, rhs: Span) {
        *self = *self + rhs;
    }
}

impl Sub<Time> for Time {
    type Output = Span;
    fn sub(self, rhs: Time) -> Span {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}", Span(self.0))
    }
}

impl Span {
    /// The empty duration.
    pub const ZERO: Span = Span(0);
    /// The longest representable duration.
    pub const MAX: Span = Span(u64::MAX);

    /// A span of `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Span {
        Span(n)
    }
    /// A span of `n` microseconds.
    pub const fn from_micros(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_MICRO))
    }
    /// A span of `n` milliseconds.
    pub const fn from_millis(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_MILLI))
    }
    /// A span of `n` seconds.
    pub const fn from_secs(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_SEC))
    }
    /// A span of `n` minutes.
    pub const fn from_mins(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_MIN))
    }
    /// A span of `n` hours.
    pub const fn from_hours(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_HOUR))
    }
    /// A span of `n` days.
    pub const fn from_days(n: u64) -> Span {
        Span(n.saturating_mul(NANOS_PER_DAY))
    }
    /// A span of `secs` seconds, rounded to the nearest nanosecond; negative
    /// and NaN inputs give zero, huge ones saturate.
    pub fn from_secs_f64(secs: f64) -> Span {
        let nanos = secs * NANOS_PER_SEC as f64;
        if nanos.is_nan() || nanos <= 0.0 {
            Span(0)
        } else if nanos >= u64::MAX as f64 {
            Span::MAX
        } else {
            Span(round_half_away(nanos) as u64)
        }
    }

    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Length in whole microseconds (truncated).
    pub const fn as_micros(self) -> u64 {
        self.0 / NANOS_PER_MICRO
    }
    /// Length in whole milliseconds (truncated).
    pub const fn as_millis(self) -> u64 {
        self.0 / NANOS_PER_MILLI
    }
    /// Length in seconds, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Length in milliseconds, as a float.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_MILLI as f64
    }
    /// `self * k`, saturating.
    pub const fn saturating_mul(self, k: u64) -> Span {
        Span(self.0.saturating_mul(k))
    }
    /// `self * factor` for a non-negative float factor.
    pub fn mul_f64(self, factor: f64) -> Span {
        Span::from_secs_f64(self.as_secs_f64() * factor)
    }

    /// Parses the human form: a non-negative decimal number followed by a
    /// unit, `ns`, `us`, `ms`, `s`, `m` (minutes), `h` or `d`, e.g. `"800ms"`,
    /// `"1.5s"`, `"2h"`, `"30d"`. Whitespace between number and unit is allowed.
    pub fn parse(text: &str) -> Result<Span, SpanParseError> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| SpanParseError::new(text, "a unit (ns, us, ms, s, m, h or d) after the number"))?;
        let (number, unit) = t.split_at(split);
        let unit = unit.trim();
        if number.is_empty() {
            return Err(SpanParseError::new(text, "a non-negative number before the unit"));
        }
        let per_unit = match unit {
            "ns" => 1,
            "us" | "µs" => NANOS_PER_MICRO,
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SEC,
            "m" | "min" => NANOS_PER_MIN,
            "h" => NANOS_PER_HOUR,
            "d" => NANOS_PER_DAY,
            _ => {
                return Err(SpanParseError::new(text, "a unit of ns, us, ms, s, m, h or d"));
            }
        };
        if let Some((whole, frac)) = number.split_once('.') {
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole
                    .parse()
                    .map_err(|_| SpanParseError::new(text, "a non-negative number"))?
            };
            if frac.is_empty() || frac.contains('.') || frac.len() > 9 {
                return Err(SpanParseError::new(text, "a number with at most 9 decimals"));
            }
            let frac_value: u64 = frac
                .parse()
                .map_err(|_| SpanParseError::new(text, "a non-negative number"))?;
            let frac_nanos = (frac_value as u128 * per_unit as u128) / 10u128.pow(frac.len() as u32);
            let total = whole as u128 * per_unit as u128 + frac_nanos;
            u64::try_from(total)
                .map(Span)
                .map_err(|_| SpanParseError::new(text, "a duration under 584 years"))
        } else {
            let whole: u64 = number
                .parse()
                .map_err(|_| SpanParseError::new(text, "a non-negative number"))?;
            whole
                .checked_mul(per_unit)
                .map(Span)
                .ok_or_else(|| SpanParseError::new(text, "a duration under 584 years"))
        }
    }
}

impl Add for Span {
    type Output = Span;
    fn add(self, rhs: Span) -> Span {
        Span(self.0.saturating_add(rhs.0))
    }
}

impl fmt::Display for Span {
    /// The shortest exact human form: `800ms`, `2h`, `1500us`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let units = [
            (NANOS_PER_DAY, "d"),
            (NANOS_PER_HOUR, "h"),
            (NANOS_PER_MIN, "m"),
            (NANOS_PER_SEC, "s"),
            (NANOS_PER_MILLI, "ms"),
            (NANOS_PER_MICRO, "us"),
        ];
        if n == 0 {
            return write!(f, "0s");
        }
        for (per, unit) in units {
            if n.is_multiple_of(per) {
                return write!(f, "{}{}", n / per, unit);
            }
        }
        write!(f, "{n}ns")
    }
}

/// A duration string that is not of the form `<number><unit>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanParseError {
    /// The text that was given.
    pub text: String,
    /// What was expected instead.
    pub expected: &'static str,
}

impl SpanParseError {
    fn new(text: &str, expected: &'static str) -> Self {
        SpanParseError {
            text: text.to_string(),
            expected,
        }
    }
}

impl fmt::Display for SpanParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration {:?}: expected {}", self.text, self.expected)
    }
}

impl std::error::Error for SpanParseError {}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        struct SpanVisitor;
        impl Visitor<'_> for SpanVisitor {
            type Value = Span;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"800ms\", \"2h\" or \"30d\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
                Span::parse(v).map_err(|e| E::custom(e))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Span, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration: add a unit, e.g. \"{v}ms\""
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Span, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Span, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration: add a unit, e.g. \"{v}ms\""
                )))
            }
        }
        d.deserialize_any(SpanVisitor)
    }
}

/// `x` rounded to the nearest integer, halves away from zero: what
/// `f64::round` gives (up to the sign of a zero result), without its call
/// into libm on CPUs without SSE4.1, which the simulator's per-call draws
/// used to pay several times a call (BENCHMARKS.md, issue 15).
pub fn round_half_away(x: f64) -> f64 {
    // Beyond 2^52 every double is an integer already.
    const EXACT: f64 = 4_503_599_627_370_496.0;
    if x.abs() >= EXACT || x.is_nan() {
        return x;
    }
    // Truncation is exact here, and so is the fraction left.
    let t = x as i64 as f64;
    let fraction = x - t;
    if fraction >= 0.5 {
        t + 1.0
    } else if fraction <= -0.5 {
        t - 1.0
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(Span::parse("800ms"), Ok(Span::from_millis(800)));
        assert_eq!(Span::parse("2h"), Ok(Span::from_hours(2)));
        assert_eq!(Span::parse("30d"), Ok(Span::from_days(30)));
        assert_eq!(Span::parse("1.5s"), Ok(Span::from_millis(1500)));
        assert_eq!(Span::parse("250us"), Ok(Span::from_micros(250)));
        assert_eq!(Span::parse("7ns"), Ok(Span::from_nanos(7)));
        assert_eq!(Span::parse("5m"), Ok(Span::from_mins(5)));
        assert_eq!(Span::parse(" 10 ms "), Ok(Span::from_millis(10)));
        assert_eq!(Span::parse(".5s"), Ok(Span::from_millis(500)));
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in [
            "",
            "ms",
            "10",
            "-5ms",
            "10 parsecs",
            "1.2.3s",
            "1.s",
            "99999999999999999999d",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["800ms", "2h", "30d", "1500us", "7ns", "5m", "0s", "61s"] {
            let span = Span::parse(text).unwrap();
            assert_eq!(Span::parse(&span.to_string()), Ok(span), "{text}");
        }
        assert_eq!(Span::from_millis(1500).to_string(), "1500ms");
    }

    #[test]
    fn time_arithmetic_saturates() {
        assert_eq!(Time::MAX + Span::from_secs(1), Time::MAX);
        assert_eq!(Time::ZERO - Time::from_nanos(5), Span::ZERO);
        assert_eq!(Time::from_nanos(10) - Time::from_nanos(4), Span::from_nanos(6));
    }

    /// The same value as `f64::round` (zeros compared by value): halves,
    /// neighbours of halves, the edge of exact integers, huge values,
    /// infinities, and random doubles over many magnitudes.
    #[test]
    fn round_half_away_is_std_round() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        for k in 0..60 {
            let h = (1u64 << k) as f64 + 0.5;
            xs.extend([h, -h, h.next_up(), h.next_down()]);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() && x.abs() < 1e20 {
                xs.push(x);
            }
            xs.push((state >> 11) as f64 / (1u64 << 20) as f64);
        }
        for x in xs {
            assert_eq!(round_half_away(x), x.round(), "{x:e}");
        }
        assert!(round_half_away(f64::NAN).is_nan());
    }
}
