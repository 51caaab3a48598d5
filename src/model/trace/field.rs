//! Exact parsing of one trace field: decimal times, duration strings, civil
//! date-times and token counts. Integer arithmetic only, so a replay puts
//! every arrival at the nanosecond the trace wrote.

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// `digits[.digits]` times `unit` nanoseconds, exactly; `None` when malformed,
/// negative, finer than a nanosecond or too large.
pub(super) fn decimal(text: &str, unit: u64) -> Option<u64> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut whole: u128 = 0;
    for b in int.bytes() {
        whole = whole.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
        if whole > u128::from(u64::MAX) {
            return None;
        }
    }
    let mut nanos = whole.checked_mul(u128::from(unit))?;
    // The fraction: digits beyond the unit's resolution must be zeros.
    let frac = frac.trim_end_matches('0');
    if frac.len() > 30 {
        return None;
    }
    let mut numer: u128 = 0;
    let mut denom: u128 = 1;
    for b in frac.bytes() {
        numer = numer * 10 + u128::from(b - b'0');
        denom *= 10;
    }
    let scaled = numer.checked_mul(u128::from(unit))?;
    if scaled % denom != 0 {
        return None;
    }
    nanos = nanos.checked_add(scaled / denom)?;
    u64::try_from(nanos).ok()
}

/// A duration: a decimal number with an optional unit (`ns`, `us`, `ms`, `s`,
/// `m`, `h`, `d`); no unit means seconds. `"1.5"`, `"1.5s"` and `"1500ms"`
/// are the same instant.
pub(super) fn duration(text: &str) -> Option<u64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = match unit {
        "" | "s" => NANOS_PER_SEC,
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "m" | "min" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return None,
    };
    decimal(number.trim_end(), unit)
}

/// `YYYY-MM-DD HH:MM:SS[.fraction]` (or with `T`), proleptic Gregorian, no
/// time zone, to nanoseconds since 1970-01-01 00:00:00.
pub(super) fn datetime(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let rest = &text[17..];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 {
        return None;
    }
    if !rest.as_bytes().get(..2)?.iter().all(u8::is_ascii_digit) || rest.len() > 2 && rest.as_bytes()[2] != b'.' {
        return None;
    }
    if rest.ends_with('.') {
        return None;
    }
    let second_nanos = decimal(rest, NANOS_PER_SEC)?;
    if second_nanos >= 60 * NANOS_PER_SEC {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = i128::from(days) * 86_400 + i128::from(hour * 3_600 + minute * 60);
    Some(secs * i128::from(NANOS_PER_SEC) + i128::from(second_nanos))
}

/// An ISO 8601 date-time: [`datetime`] followed by `Z`, `+HH:MM` or
/// `-HH:MM` (or nothing: UTC), to nanoseconds since 1970-01-01 UTC.
pub(super) fn iso_datetime(text: &str) -> Option<i128> {
    let (civil, offset_minutes) = if let Some(civil) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        (civil, 0)
    } else if text.len() >= 25
        && text.is_char_boundary(text.len() - 6)
        && matches!(text.as_bytes()[text.len() - 6], b'+' | b'-')
    {
        let (civil, zone) = text.split_at(text.len() - 6);
        let z = zone.as_bytes();
        if z[3] != b':' || !z[1..3].iter().chain(&z[4..6]).all(u8::is_ascii_digit) {
            return None;
        }
        let digits = |a: u8, b: u8| i64::from(a - b'0') * 10 + i64::from(b - b'0');
        let (h, m) = (digits(z[1], z[2]), digits(z[4], z[5]));
        if h > 23 || m > 59 {
            return None;
        }
        let sign = if z[0] == b'-' { -1 } else { 1 };
        (civil, sign * (h * 60 + m))
    } else {
        (text, 0)
    };
    let local = datetime(civil)?;
    Some(local - i128::from(offset_minutes) * 60 * i128::from(NANOS_PER_SEC))
}

/// A JSON number of milliseconds (at least 0, no more than about 52 days
/// of nanoseconds for exactness) as nanoseconds, rounded to the nearest.
pub(super) fn millis(value: f64) -> Option<u64> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let nanos = (value * 1e6).round();
    (nanos < 1.8e19).then_some(nanos as u64)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the standard
/// era-based day count).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A whole, non-negative number of tokens that fits in `u32`.
pub(super) fn tokens(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_exact() {
        assert_eq!(decimal("1.5", NANOS_PER_SEC), Some(1_500_000_000));
        assert_eq!(decimal("0.000000001", NANOS_PER_SEC), Some(1));
        assert_eq!(decimal("46.6805900", NANOS_PER_SEC), Some(46_680_590_000));
        assert_eq!(decimal("12", 1_000_000), Some(12_000_000));
        assert_eq!(decimal("0.1000000000000", NANOS_PER_SEC), Some(100_000_000));
        assert_eq!(decimal(".5", NANOS_PER_SEC), Some(500_000_000));
        assert_eq!(decimal("5.", NANOS_PER_SEC), Some(5_000_000_000));
        for bad in ["", ".", "-1", "1e3", "0.0000000001", "1.2.3", "abc", "18446744074"] {
            assert_eq!(decimal(bad, NANOS_PER_SEC), None, "{bad}");
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(duration("1.5s"), Some(1_500_000_000));
        assert_eq!(duration("1500ms"), Some(1_500_000_000));
        assert_eq!(duration("1.5"), Some(1_500_000_000));
        assert_eq!(duration("2m"), Some(120_000_000_000));
        assert_eq!(duration("7ns"), Some(7));
        assert_eq!(duration("1.5 s"), Some(1_500_000_000));
        assert_eq!(duration("1.5x"), None);
        assert_eq!(duration("s"), None);
    }

    #[test]
    fn datetimes_count_from_the_epoch() {
        assert_eq!(datetime("1970-01-01 00:00:00"), Some(0));
        assert_eq!(datetime("1970-01-02T00:00:01.5"), Some(86_401_500_000_000));
        // 2023-11-16 is day 19677 since the epoch.
        let day = 19_677_i128 * 86_400 * 1_000_000_000;
        let t = (18 * 3600 + 15 * 60 + 46) as i128 * 1_000_000_000 + 680_590_000;
        assert_eq!(datetime("2023-11-16 18:15:46.6805900"), Some(day + t));
        assert_eq!(
            datetime("2024-02-29 00:00:00"),
            Some(19_782_i128 * 86_400 * 1_000_000_000)
        );
        for bad in [
            "2023-02-29 00:00:00",
            "2023-13-01 00:00:00",
            "2023-11-16 24:00:00",
            "2023-11-16 18:15:60",
            "2023-11-16 18:15:4",
            "2023-11-16 18:15:46,5",
            "2023/11/16 18:15:46",
            "2023-11-16",
            "2023-11-16 18:15:46.",
        ] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso_datetimes_take_zones() {
        let base = datetime("2026-06-01 12:00:00").unwrap();
        assert_eq!(iso_datetime("2026-06-01T12:00:00Z"), Some(base));
        assert_eq!(iso_datetime("2026-06-01T12:00:00"), Some(base));
        assert_eq!(iso_datetime("2026-06-01T12:00:00+00:00"), Some(base));
        assert_eq!(iso_datetime("2026-06-01T14:00:00+02:00"), Some(base));
        assert_eq!(iso_datetime("2026-06-01T07:30:00-04:30"), Some(base));
        assert_eq!(iso_datetime("2026-06-01T12:00:00.1234567Z"), Some(base + 123_456_700));
        assert_eq!(iso_datetime("2026-06-01T13:00:00.5+01:00"), Some(base + 500_000_000));
        assert_eq!(iso_datetime("2026-06-01T12:00:00.1234567"), Some(base + 123_456_700));
        assert_eq!(iso_datetime("2026-06-02T00:00:00+12:00"), Some(base));
        for bad in [
            "2026-06-01T12:00:00+2:00",
            "2026-06-01T12:00:00+24:00",
            "2026-06-01T12:00:00+02:60",
            "2026-06-01T12:00:00+0200",
            "2026-06-01",
            "12:00:00Z",
            "2026-06-01T12:00:00ZZ",
        ] {
            assert_eq!(iso_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn millis_round_to_the_nanosecond() {
        assert_eq!(millis(1234.567), Some(1_234_567_000));
        assert_eq!(millis(0.0), Some(0));
        assert_eq!(millis(0.0000004), Some(0));
        assert_eq!(millis(1.5e9), Some(1_500_000_000_000_000));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e20] {
            assert_eq!(millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_whole_u32() {
        assert_eq!(tokens("0"), Some(0));
        assert_eq!(tokens("4294967295"), Some(u32::MAX));
        for bad in ["", "-1", "1.0", "4294967296", "abc", "+1"] {
            assert_eq!(tokens(bad), None, "{bad}");
        }
    }
}
