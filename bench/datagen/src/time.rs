//! Timestamps as 100-nanosecond ticks since the Unix epoch, formatted the way
//! Log Analytics and Entra write them (7 fractional digits).

pub const TICKS_PER_SEC: i64 = 10_000_000;
pub const TICKS_PER_MIN: i64 = 60 * TICKS_PER_SEC;
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MIN;
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// A UTC instant in 100-ns ticks since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

/// How the UTC offset is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// `2026-07-16T02:00:45.0159703Z` (Log Analytics, Graph activity logs).
    Z,
    /// `2026-07-16T02:00:45.0159703+00:00` (sign-in `properties.createdDateTime`).
    Offset,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Ts {
    pub fn from_unix_seconds(s: i64) -> Ts {
        Ts(s * TICKS_PER_SEC)
    }

    /// Appends the text form, e.g. `2026-07-16T02:00:45.0159703Z`.
    pub fn write(self, buf: &mut Vec<u8>, zone: Zone) {
        let days = self.0.div_euclid(TICKS_PER_DAY);
        let rem = self.0.rem_euclid(TICKS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = rem / TICKS_PER_SEC;
        let frac = rem % TICKS_PER_SEC;
        let mut out = [0u8; 27];
        put_digits(&mut out[0..4], y as u64);
        out[4] = b'-';
        put_digits(&mut out[5..7], m as u64);
        out[7] = b'-';
        put_digits(&mut out[8..10], d as u64);
        out[10] = b'T';
        put_digits(&mut out[11..13], (secs / 3600) as u64);
        out[13] = b':';
        put_digits(&mut out[14..16], (secs / 60 % 60) as u64);
        out[16] = b':';
        put_digits(&mut out[17..19], (secs % 60) as u64);
        out[19] = b'.';
        put_digits(&mut out[20..27], frac as u64);
        buf.extend_from_slice(&out);
        match zone {
            Zone::Z => buf.push(b'Z'),
            Zone::Offset => buf.extend_from_slice(b"+00:00"),
        }
    }

    /// The text form as a `String`.
    pub fn format(self, zone: Zone) -> String {
        let mut b = Vec::with_capacity(34);
        self.write(&mut b, zone);
        String::from_utf8(b).expect("ascii")
    }
}

fn put_digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Parses `2026-07-16T12:00:00Z` (optionally with a fraction, and `Z`,
/// `+00:00` or no zone, all taken as UTC) or a plain integer of Unix seconds.
/// Returns Unix seconds (a fraction is truncated).
pub fn parse_utc_seconds(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    let err = || format!("not a UTC timestamp like 2026-07-16T12:00:00Z: {s:?}");
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let t = &s[r];
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        t.parse::<i64>().map_err(|_| err())
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(err());
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(err());
        }
        rest = &r[n..];
    }
    if !matches!(rest, "" | "Z" | "z" | "+00:00" | "-00:00") {
        return Err(err());
    }
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = parse_utc_seconds("2026-07-16T12:00:00Z").unwrap();
        assert_eq!(s, 1_784_203_200);
        let t = Ts(s * TICKS_PER_SEC + 159_703);
        assert_eq!(t.format(Zone::Z), "2026-07-16T12:00:00.0159703Z");
        assert_eq!(t.format(Zone::Offset), "2026-07-16T12:00:00.0159703+00:00");
        assert_eq!(Ts(0).format(Zone::Z), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(parse_utc_seconds("1784203200").unwrap(), s);
        assert_eq!(parse_utc_seconds("2024-02-29T23:59:59.5+00:00").unwrap() % 86_400, 86_399);
        assert!(parse_utc_seconds("2026-13-01T00:00:00Z").is_err());
        for days in [-800_000, -1, 0, 1, 19_000, 20_650, 800_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
