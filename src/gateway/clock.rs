//! The wall clock of the gateway and the emulator: the one place outside the
//! CLI's run timer that reads time. Everything else takes `now: Time`.
//!
//! [`Clock`] maps a monotonic instant to a [`Time`] counted from the moment
//! the server started, so the router core, the emulated endpoints and the
//! logs all see the same integer nanoseconds; [`Clock::utc`] adds the UTC
//! start for human-readable times.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::time::{Span, Time};

/// Monotonic time since the server started, as [`Time`].
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
    /// UTC at `origin`, in nanoseconds since the Unix epoch.
    utc_origin: i64,
}

impl Clock {
    /// A clock whose [`Time::ZERO`] is now.
    #[allow(clippy::disallowed_methods)] // the gateway's one wall clock
    pub fn start() -> Clock {
        let utc = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Clock {
            origin: Instant::now(),
            utc_origin: utc,
        }
    }

    /// Time since the start.
    #[allow(clippy::disallowed_methods)] // the gateway's one wall clock
    pub fn now(&self) -> Time {
        Time::ZERO + Span::from_nanos(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The monotonic instant of `t`, for sleeping until it.
    pub fn instant(&self, t: Time) -> Instant {
        self.origin + Duration::from_nanos(t.as_nanos())
    }

    /// UTC at the start, as a naive date-time.
    pub fn utc_start(&self) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp_nanos(self.utc_origin).naive_utc()
    }

    /// Milliseconds since the Unix epoch at `t`.
    pub fn unix_millis(&self, t: Time) -> i64 {
        (self.utc_origin + i64::try_from(t.as_nanos()).unwrap_or(i64::MAX)) / 1_000_000
    }
}
