//! Kusto datetimes and timespans as 100-nanosecond ticks, the unit Azure
//! writes: `2026-07-16T02:00:45.0159703Z` has 7 fractional digits, and every
//! one of them is kept, so comparisons are exact.

use chrono::NaiveDate;

pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;

/// Parses a timestamp in one of the forms Kusto's datetime type documents
/// into ticks since the Unix epoch: ISO 8601 / RFC 3339 (`T` or space
/// between date and time; `Z`, `+HH:MM`, `+HHMM` or no zone, meaning UTC; up
/// to 7 fractional digits kept, more are truncated), read first and fast;
/// else the sortable form with a `GMT`/`UTC` zone (`2014-11-08 15:05:25
/// GMT`), RFC 822 (`Sat, 8 Nov 14 15:05:02 GMT`, `8 Nov 2014 15:05`), RFC
/// 850 (`Saturday, 08-Nov-14 15:05:02 GMT`) and US dates (`12-02-2022`,
/// month first).
pub fn parse(s: &str) -> Option<i64> {
    parse_iso(s).or_else(|| parse_other(s))
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`): what chrono's `NaiveDate` gave, without its
/// checks' cost on every time column of every record.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    // Two or four digits, read in place.
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?)?;
    let mut ticks = days * TICKS_PER_DAY;
    let mut i = 10;
    if i == b.len() {
        return Some(ticks);
    }
    if b[i] != b'T' && b[i] != b't' && b[i] != b' ' {
        return None;
    }
    i += 1;
    let (h, m) = (num(i..i + 2)?, num(i + 3..i + 5)?);
    if b.get(i + 2) != Some(&b':') || h > 23 || m > 59 {
        return None;
    }
    i += 5;
    let mut sec = 0;
    if b.get(i) == Some(&b':') {
        sec = num(i + 1..i + 3)?;
        if sec > 60 {
            return None;
        }
        i += 3;
    }
    ticks += (h * 3600 + m * 60 + sec) * TICKS_PER_SECOND;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let mut frac = 0;
        for k in 0..7 {
            let digit = if start + k < i { (b[start + k] - b'0') as i64 } else { 0 };
            frac = frac * 10 + digit;
        }
        ticks += frac;
    }
    match b.get(i) {
        None => Some(ticks),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ticks),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = match b.get(i + 3) {
                Some(b':') if b.len() == i + 6 => num(i + 4..i + 6)?,
                Some(_) if b.len() == i + 5 => num(i + 3..i + 5)?,
                None => 0,
                _ => return None,
            };
            let offset = (oh * 3600 + om * 60) * TICKS_PER_SECOND;
            Some(if sign == b'+' { ticks - offset } else { ticks + offset })
        }
        _ => None,
    }
}

/// The forms [`parse`] reads after ISO 8601 (Kusto's "datetime data type"
/// page): an optional weekday and comma, a date (`8 Nov 14`, `08-Nov-14`,
/// `12-02-2022`), an optional time `HH:MM[:SS]`, an optional `GMT`/`UTC`.
fn parse_other(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut words: Vec<&str> = s.split_whitespace().collect();
    if words.last().is_some_and(|z| z.eq_ignore_ascii_case("gmt") || z.eq_ignore_ascii_case("utc")) {
        words.pop();
        // The sortable form with a zone name.
        if let Some(t) = parse_iso(&words.join(" ")) {
            return Some(t);
        }
    }
    if words.first().is_some_and(|w| w.ends_with(',')) {
        words.remove(0);
    }
    let number =
        |w: &str| -> Option<i64> { (!w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())).then(|| w.parse().ok())? };
    let year = |w: &str| -> Option<i64> {
        let y = number(w)?;
        match w.len() {
            2 => Some(if y < 50 { 2000 + y } else { 1900 + y }),
            4 => Some(y),
            _ => None,
        }
    };
    let (date, rest): ((i64, i64, i64), &[&str]) = match words.as_slice() {
        // `8 Nov 14 ...`
        [d, mon, y, rest @ ..] if number(d).is_some() && month(mon).is_some() => {
            ((year(y)?, month(mon)?, number(d)?), rest)
        }
        // `08-Nov-14 ...` or `12-02-2022 ...`
        [date, rest @ ..] => {
            let parts: Vec<&str> = date.split('-').collect();
            let [a, b, c] = parts.as_slice() else { return None };
            match month(b) {
                Some(m) => ((year(c)?, m, number(a)?), rest),
                None if c.len() == 4 => ((year(c)?, number(a)?, number(b)?), rest),
                None => return None,
            }
        }
        [] => return None,
    };
    let (y, m, d) = date;
    let day = NaiveDate::from_ymd_opt(y as i32, u32::try_from(m).ok()?, u32::try_from(d).ok()?)?;
    let days = day.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days();
    let seconds = match rest {
        [] => 0,
        [time] => {
            let parts: Vec<i64> = time.split(':').map(number).collect::<Option<_>>()?;
            match parts.as_slice() {
                [h, mi] if *h < 24 && *mi < 60 => h * 3600 + mi * 60,
                [h, mi, sec] if *h < 24 && *mi < 60 && *sec <= 60 => h * 3600 + mi * 60 + sec,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(days * TICKS_PER_DAY + seconds * TICKS_PER_SECOND)
}

/// `Nov` or `November`, any case: its number.
fn month(w: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let w = w.to_ascii_lowercase();
    let i = MONTHS.iter().position(|m| w.len() >= 3 && (w == *m || (w.starts_with(m) && w.len() > 3)))?;
    Some(i as i64 + 1)
}

/// The current time in ticks.
pub fn now_ticks() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_secs() as i64 * TICKS_PER_SECOND + (d.subsec_nanos() / 100) as i64
}

/// Formats ticks as Kusto prints a datetime: `2026-07-16T02:00:45.0159703Z`.
pub fn format(ticks: i64) -> String {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let date = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(days)))
        .unwrap_or(NaiveDate::MIN);
    let secs = rem / TICKS_PER_SECOND;
    let frac = rem % TICKS_PER_SECOND;
    format!("{}T{:02}:{:02}:{:02}.{:07}Z", date.format("%Y-%m-%d"), secs / 3600, secs / 60 % 60, secs % 60, frac)
}

/// Formats a timespan as Kusto prints one: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ticks: i64) -> String {
    let sign = if ticks < 0 { "-" } else { "" };
    let t = ticks.unsigned_abs();
    let tps = TICKS_PER_SECOND as u64;
    let (days, rem) = (t / (86_400 * tps), t % (86_400 * tps));
    let secs = rem / tps;
    let frac = rem % tps;
    let mut s = String::from(sign);
    if days > 0 {
        s += &format!("{days}.");
    }
    s += &format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac > 0 {
        s += &format!(".{frac:07}");
    }
    s
}

/// Ticks in one unit of a duration literal (`d`, `h`, `ms`, ...).
pub fn unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600 * TICKS_PER_SECOND,
        "m" | "min" | "minute" | "minutes" => 60 * TICKS_PER_SECOND,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_agrees_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for year in [0, 1, 4, 100, 400, 1600, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9999] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let want = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
                        .map(|d| d.signed_duration_since(epoch).num_days());
                    assert_eq!(days_from_civil(year, month, day), want, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn keeps_all_seven_fraction_digits() {
        let a = parse("2026-07-16T02:00:45.0159703Z").unwrap();
        let b = parse("2026-07-16T02:00:45.0159704Z").unwrap();
        assert_eq!(b - a, 1);
        assert_eq!(format(a), "2026-07-16T02:00:45.0159703Z");
    }

    /// The other forms of Kusto's "The datetime data type" page: each is the
    /// same instant as its ISO form.
    #[test]
    fn rfc_822_850_sortable_and_us_forms() {
        let at = |iso: &str| parse(iso).unwrap();
        let cases = [
            ("Sat, 8 Nov 14 15:05:02 GMT", "2014-11-08T15:05:02Z"),
            ("Sat, 8 Nov 14 15:05:02", "2014-11-08T15:05:02Z"),
            ("Sat, 8 Nov 14 15:05", "2014-11-08T15:05:00Z"),
            ("8 Nov 14 15:05", "2014-11-08T15:05:00Z"),
            ("8 Nov 2014 15:05:02 UTC", "2014-11-08T15:05:02Z"),
            ("Saturday, 08-Nov-14 15:05:02 GMT", "2014-11-08T15:05:02Z"),
            ("08-Nov-14 15:05", "2014-11-08T15:05:00Z"),
            ("2014-11-08 15:05:25 GMT", "2014-11-08T15:05:25Z"),
            ("2014-11-08T15:05:25 GMT", "2014-11-08T15:05:25Z"),
            ("12-02-2022", "2022-12-02T00:00:00Z"),
        ];
        for (text, iso) in cases {
            assert_eq!(parse(text), Some(at(iso)), "{text}");
        }
        for bad in
            ["8 Nov", "Sat, 31 Feb 14 10:00", "8 Nob 14 15:05", "8 Nov 14 25:05", "13-40-2022", "GMT", "a, b c d"]
        {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_and_short_forms() {
        let z = parse("2026-07-16T02:00:45Z").unwrap();
        assert_eq!(parse("2026-07-16T02:00:45+00:00"), Some(z));
        assert_eq!(parse("2026-07-16T04:00:45+02:00"), Some(z));
        assert_eq!(parse("2026-07-16T00:00:45-0200"), Some(z));
        assert_eq!(parse("2026-07-16 02:00:45"), Some(z));
        assert_eq!(parse("2026-07-16T02:00:45.5Z"), Some(z + 5_000_000));
        assert_eq!(parse("2026-07-16"), Some(z - (2 * 3600 + 45) * TICKS_PER_SECOND));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("1969-12-31T23:59:59.9999999Z"), Some(-1));
    }

    #[test]
    fn rejects_garbage() {
        for s in
            ["", "yesterday", "2026-13-01", "2026-07-16T25:00:00Z", "2026-07-16T02:00:45Zjunk", "2026-07-16T02:00:45."]
        {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn timespans_print_like_kusto() {
        assert_eq!(format_timespan(30 * TICKS_PER_DAY), "30.00:00:00");
        assert_eq!(format_timespan(-90 * TICKS_PER_SECOND), "-00:01:30");
        assert_eq!(format_timespan(15), "00:00:00.0000015");
    }
}
