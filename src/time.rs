//! Dates and times as switches write them, without a date library.
//!
//! Call-center metadata says `2026-11-02T10:42:18+08:00`, `2026-11-02 10:42:18` or
//! `2026/11/02 10:42`; reports group calls by the date as written (the site's local day) and
//! compare customer numbers across days, which needs an absolute instant. Both come from the
//! proleptic Gregorian day count (Howard Hinnant's `days_from_civil`).

use std::fmt;

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parse `YYYY-MM-DD` (also `/` or `.` separated); the date is checked, so `2026-02-30`
    /// is an error.
    pub fn parse(s: &str) -> Option<Date> {
        let s = s.trim();
        let mut it = s.split(['-', '/', '.']);
        let year: i32 = it.next()?.trim().parse().ok()?;
        let month: u32 = it.next()?.trim().parse().ok()?;
        let day: u32 = it.next()?.trim().parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        let ok = (1900..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A call start time as written by the switch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stamp {
    /// The local date as written (the site's day).
    pub date: Date,
    /// Seconds since 1970-01-01T00:00:00Z when the text has an offset; otherwise the local
    /// wall-clock time read as if it were UTC (consistent within one site, which is what
    /// comparing calls needs).
    pub epoch_s: i64,
}

impl Stamp {
    /// Parse `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:]MM]`. A bare date is midnight.
    pub fn parse(s: &str) -> Option<Stamp> {
        let s = s.trim();
        let split = s.find(['T', ' ']).unwrap_or(s.len());
        let date = Date::parse(&s[..split])?;
        let mut secs = 0i64;
        let rest = s[split..].trim_start_matches(['T', ' ']);
        if !rest.is_empty() {
            // Separate the offset (Z, +hh:mm, -hh:mm) from the clock.
            let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
                Some(i) => (&rest[..i], Some(&rest[i..])),
                None => (rest, None),
            };
            let mut parts = clock.trim().split(':');
            let h: i64 = parts.next()?.parse().ok()?;
            let m: i64 = parts.next()?.parse().ok()?;
            let sec: f64 = parts.next().map_or(Some(0.0), |x| x.parse().ok())?;
            if parts.next().is_some() || h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
                return None;
            }
            secs = h * 3600 + m * 60 + sec.floor() as i64;
            if let Some(o) = offset {
                if !o.eq_ignore_ascii_case("z") {
                    let sign = if o.starts_with('-') { -1 } else { 1 };
                    let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
                    if digits.len() != 4 && digits.len() != 2 {
                        return None;
                    }
                    let oh: i64 = digits[..2].parse().ok()?;
                    let om: i64 = if digits.len() == 4 {
                        digits[2..].parse().ok()?
                    } else {
                        0
                    };
                    secs -= sign * (oh * 3600 + om * 60);
                }
            }
        }
        Some(Stamp {
            date,
            epoch_s: date.days() * 86_400 + secs,
        })
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC` (for "generated at" lines).
pub fn now_utc() -> String {
    let secs = now_secs();
    let d = Date::from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{d} {:02}:{:02} UTC", t / 3600, (t % 3600) / 60)
}

/// The current UTC time as RFC 3339 (`2026-11-02T10:42:18Z`), for audit columns.
pub fn now_rfc3339() -> String {
    let secs = now_secs();
    let d = Date::from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{d}T{:02}:{:02}:{:02}Z", t / 3600, (t % 3600) / 60, t % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("2000-03-01").unwrap().days(), 11_017);
        for n in [-1000, 0, 19_000, 20_758, 40_000] {
            assert_eq!(Date::from_days(n).days(), n);
        }
        assert_eq!(
            Date::parse("2024-02-29").unwrap().add_days(1).to_string(),
            "2024-03-01"
        );
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2026/11/2").unwrap().to_string(), "2026-11-02");
    }

    #[test]
    fn stamps_with_and_without_offset() {
        let a = Stamp::parse("2026-11-02T10:42:18+08:00").unwrap();
        let b = Stamp::parse("2026-11-02T02:42:18Z").unwrap();
        assert_eq!(a.epoch_s, b.epoch_s);
        assert_eq!(a.date.to_string(), "2026-11-02");
        let c = Stamp::parse("2026-11-02 10:42").unwrap();
        assert_eq!(
            c.epoch_s - Stamp::parse("2026-11-02").unwrap().epoch_s,
            38_520
        );
        assert_eq!(
            Stamp::parse("2026-11-01T23:00:00-0130").unwrap().epoch_s,
            Stamp::parse("2026-11-02T00:30:00Z").unwrap().epoch_s
        );
        assert!(Stamp::parse("yesterday").is_none());
        assert!(Stamp::parse("2026-11-02T25:00").is_none());
    }
}
