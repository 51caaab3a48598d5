//! Judgement windows: calendar months (the default), ISO weeks, days, or
//! rolling spans of N days, within the simulated period.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{Span, Time};

/// A period a clause is judged over, in simulation time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Human label, e.g. `2026-01`, `2026-W02`, `2026-01-05`,
    /// `2026-01-01..2026-01-07`.
    pub label: String,
    /// First instant.
    pub start: Time,
    /// First instant after.
    pub end: Time,
    /// Whether the simulated period covers the whole calendar window.
    pub complete: bool,
}

/// How a clause's windows are cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Period {
    /// Calendar months (UTC).
    #[default]
    Month,
    /// ISO weeks, Monday 00:00 UTC to Monday.
    Week,
    /// Calendar days (UTC).
    Day,
    /// Every span of `days` whole days ending at a midnight (UTC), one per
    /// day: day `k` closes the window of days `k - days + 1 ..= k`.
    Rolling {
        /// Length in days, at least 1.
        days: u32,
    },
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month => f.write_str("month"),
            Period::Week => f.write_str("week"),
            Period::Day => f.write_str("day"),
            Period::Rolling { days } => write!(f, "rolling {days}d"),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    /// `month`, `week`, `day`, `rolling 7d` or `rolling 7 days`.
    fn from_str(s: &str) -> Result<Period, String> {
        let words: Vec<String> = s.split_whitespace().map(str::to_ascii_lowercase).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let days = |n: &str| -> Result<u32, String> {
            match n.parse::<u32>() {
                Ok(d) if d >= 1 => Ok(d),
                _ => Err(format!(
                    "{n:?} is not a whole number of days >= 1: expected e.g. \"rolling 7d\" or \"rolling 30 days\""
                )),
            }
        };
        match words.as_slice() {
            ["month" | "monthly" | "calendar month"] => Ok(Period::Month),
            ["week" | "weekly"] => Ok(Period::Week),
            ["day" | "daily"] => Ok(Period::Day),
            ["rolling", n] => match n.strip_suffix('d') {
                Some(n) => days(n).map(|days| Period::Rolling { days }),
                None => Err(format!("{n:?} is not a span of days: expected e.g. \"rolling 7d\"")),
            },
            ["rolling", n, "day" | "days"] => days(n).map(|days| Period::Rolling { days }),
            _ => Err(format!(
                "{s:?} is not a window: expected \"month\", \"week\", \"day\" or \"rolling Nd\" (e.g. \"rolling 7d\")"
            )),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A clause's windows and the buckets its statistics are kept in. For
/// months, weeks and days each window is one bucket; a rolling window is the
/// union of its days, so each day is kept once and merged at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The windows, in time order.
    pub windows: Vec<Window>,
    /// The buckets, in time order, covering the windows without overlap.
    pub buckets: Vec<Window>,
    /// For each window, the range of buckets it merges.
    pub members: Vec<Range<usize>>,
}

impl Layout {
    /// The layout of `period` over `[start, start + duration)`.
    pub fn new(period: Period, start: NaiveDateTime, duration: Span) -> Layout {
        match period {
            Period::Month => Layout::tumbling(calendar_months(start, duration)),
            Period::Week => Layout::tumbling(cut(
                start,
                duration,
                week_start(start.date()),
                |d| d + Duration::days(7),
                |d| {
                    let w = d.iso_week();
                    format!("{:04}-W{:02}", w.year(), w.week())
                },
            )),
            Period::Day => Layout::tumbling(days(start, duration)),
            Period::Rolling { days: n } => {
                let buckets = days(start, duration);
                let n = (n as usize).max(1);
                let mut windows = Vec::new();
                let mut members = Vec::new();
                // A window per day from the n-th on; a period shorter than
                // n days gets one incomplete window over all of it.
                let last_first = buckets.len().saturating_sub(n);
                for first in 0..=last_first {
                    let range = first..(first + n).min(buckets.len());
                    if range.is_empty() {
                        break;
                    }
                    let (a, b) = (&buckets[range.start], &buckets[range.end - 1]);
                    let first_label = &a.label;
                    windows.push(Window {
                        label: format!("{first_label}..{}", b.label),
                        start: a.start,
                        end: b.end,
                        complete: range.len() == n && buckets[range.clone()].iter().all(|w| w.complete),
                    });
                    members.push(range);
                }
                Layout {
                    windows,
                    buckets,
                    members,
                }
            }
        }
    }

    fn tumbling(windows: Vec<Window>) -> Layout {
        let members = (0..windows.len()).map(|i| i..i + 1).collect();
        Layout {
            buckets: windows.clone(),
            windows,
            members,
        }
    }
}

/// The Monday on or before `d`.
fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// The calendar days that intersect the period, clipped to it.
fn days(start: NaiveDateTime, duration: Span) -> Vec<Window> {
    cut(
        start,
        duration,
        start.date(),
        |d| d + Duration::days(1),
        |d| d.format("%Y-%m-%d").to_string(),
    )
}

/// The calendar months that intersect `[start, start + duration)`, clipped to it.
pub fn calendar_months(start: NaiveDateTime, duration: Span) -> Vec<Window> {
    let first = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start.date());
    cut(
        start,
        duration,
        first,
        |d| {
            let next = if d.month() == 12 {
                NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
            };
            next.unwrap_or(NaiveDate::MAX)
        },
        |d| format!("{:04}-{:02}", d.year(), d.month()),
    )
}

/// Windows from boundary `first` (on or before `start`), each ending at
/// `next(boundary)`, clipped to the period.
fn cut(
    start: NaiveDateTime,
    duration: Span,
    first: NaiveDate,
    next: impl Fn(NaiveDate) -> NaiveDate,
    label: impl Fn(NaiveDate) -> String,
) -> Vec<Window> {
    let origin = start;
    let end_time = Time::ZERO + duration;
    let offset = |d: NaiveDate| -> i128 {
        d.and_hms_opt(0, 0, 0)
            .map(|dt| dt.signed_duration_since(origin).num_nanoseconds().unwrap_or(i64::MAX))
            .unwrap_or(i64::MAX) as i128
    };
    let clip = |x: i128| -> Time { Time::from_nanos(x.clamp(0, end_time.as_nanos() as i128) as u64) };
    let mut windows = Vec::new();
    let mut boundary = first;
    loop {
        let after = next(boundary);
        if after <= boundary {
            break;
        }
        let (raw_start, raw_end) = (offset(boundary), offset(after));
        let (ws, we) = (clip(raw_start), clip(raw_end));
        if ws >= end_time {
            break;
        }
        if we > ws {
            windows.push(Window {
                label: label(boundary),
                start: ws,
                end: we,
                complete: raw_start >= 0 && raw_end <= end_time.as_nanos() as i128,
            });
        }
        boundary = after;
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap()
    }

    #[test]
    fn january_is_one_complete_window() {
        let w = calendar_months(at(2026, 1, 1), Span::from_days(31));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].label, "2026-01");
        assert!(w[0].complete);
        assert_eq!(w[0].end, Time::ZERO + Span::from_days(31));
    }

    #[test]
    fn a_period_across_new_year_splits_and_clips() {
        // 15 Dec + 50 days = 3 Feb: 17 days of December, all of January
        // (31 days), 2 days of February.
        let w = calendar_months(at(2025, 12, 15), Span::from_days(50));
        let labels: Vec<_> = w.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(labels, ["2025-12", "2026-01", "2026-02"]);
        assert!(!w[0].complete && w[1].complete && !w[2].complete);
        assert_eq!(w[1].start, Time::ZERO + Span::from_days(17));
        assert_eq!(w[1].end, Time::ZERO + Span::from_days(48));
        assert_eq!(w[2].end, Time::ZERO + Span::from_days(50));
        // Ending exactly on a month boundary adds no empty window.
        assert_eq!(calendar_months(at(2025, 12, 15), Span::from_days(48)).len(), 2);
    }

    #[test]
    fn february_of_a_leap_year_has_29_days() {
        let w = calendar_months(at(2028, 2, 1), Span::from_days(29));
        assert_eq!(w.len(), 1);
        assert!(w[0].complete);
    }

    #[test]
    fn weeks_are_iso_weeks_from_monday() {
        // Thu 1 Jan 2026 + 14 days: Thu-Sun of W01, all of W02 (5-11 Jan),
        // Mon-Wed of W03.
        let l = Layout::new(Period::Week, at(2026, 1, 1), Span::from_days(14));
        let labels: Vec<_> = l.windows.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(labels, ["2026-W01", "2026-W02", "2026-W03"]);
        assert_eq!(l.windows[0].end, Time::ZERO + Span::from_days(4));
        assert!(!l.windows[0].complete && l.windows[1].complete && !l.windows[2].complete);
        assert_eq!(l.windows[2].end, Time::ZERO + Span::from_days(14));
        assert_eq!(l.buckets, l.windows);
    }

    #[test]
    fn days_cover_the_period_one_by_one() {
        let l = Layout::new(Period::Day, at(2026, 2, 27), Span::from_days(3));
        let labels: Vec<_> = l.windows.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(labels, ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert!(l.windows.iter().all(|w| w.complete));
    }

    #[test]
    fn rolling_windows_slide_by_one_day() {
        // 10 days, rolling 7: windows end on days 7, 8, 9, 10.
        let l = Layout::new(Period::Rolling { days: 7 }, at(2026, 1, 1), Span::from_days(10));
        assert_eq!(l.buckets.len(), 10);
        assert_eq!(l.members, vec![0..7, 1..8, 2..9, 3..10]);
        assert_eq!(l.windows[0].label, "2026-01-01..2026-01-07");
        assert_eq!(l.windows[3].start, Time::ZERO + Span::from_days(3));
        assert_eq!(l.windows[3].end, Time::ZERO + Span::from_days(10));
        assert!(l.windows.iter().all(|w| w.complete));
        // Shorter than the span: one incomplete window over everything.
        let l = Layout::new(Period::Rolling { days: 30 }, at(2026, 1, 1), Span::from_days(3));
        assert_eq!(l.members, vec![0..3]);
        assert!(!l.windows[0].complete);
    }

    #[test]
    fn periods_parse_and_print() {
        for (text, p) in [
            ("month", Period::Month),
            ("week", Period::Week),
            ("Day", Period::Day),
            ("rolling 7d", Period::Rolling { days: 7 }),
            ("rolling 30 days", Period::Rolling { days: 30 }),
        ] {
            assert_eq!(text.parse::<Period>(), Ok(p), "{text}");
            assert_eq!(p.to_string().parse::<Period>(), Ok(p));
        }
        assert!("rolling 0d".parse::<Period>().unwrap_err().contains(">= 1"));
        assert!(
            "fortnight"
                .parse::<Period>()
                .unwrap_err()
                .contains("expected \"month\"")
        );
    }
}
