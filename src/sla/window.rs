//! Judgement windows: calendar months of the simulated period.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::time::{Span, Time};

/// A period a clause is judged over, in simulation time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Human label, e.g. `2026-01`.
    pub label: String,
    /// First instant.
    pub start: Time,
    /// First instant after.
    pub end: Time,
    /// Whether the simulated period covers the whole calendar window.
    pub complete: bool,
}

/// The calendar months that intersect `[start, start + duration)`, clipped to it.
pub fn calendar_months(start: NaiveDateTime, duration: Span) -> Vec<Window> {
    let origin = start;
    let end_time = Time::ZERO + duration;
    let mut windows = Vec::new();
    let mut month_start = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start.date());
    loop {
        let next = if month_start.month() == 12 {
            NaiveDate::from_ymd_opt(month_start.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(month_start.year(), month_start.month() + 1, 1)
        };
        let Some(next) = next else { break };
        let offset = |d: NaiveDate| -> i128 {
            d.and_hms_opt(0, 0, 0)
                .map(|dt| dt.signed_duration_since(origin).num_nanoseconds().unwrap_or(i64::MAX))
                .unwrap_or(i64::MAX) as i128
        };
        let (raw_start, raw_end) = (offset(month_start), offset(next));
        let clip = |x: i128| -> Time { Time::from_nanos(x.clamp(0, end_time.as_nanos() as i128) as u64) };
        let (ws, we) = (clip(raw_start), clip(raw_end));
        if ws >= end_time {
            break;
        }
        windows.push(Window {
            label: format!("{:04}-{:02}", month_start.year(), month_start.month()),
            start: ws,
            end: we,
            complete: raw_start >= 0 && raw_end <= end_time.as_nanos() as i128,
        });
        month_start = next;
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
}
