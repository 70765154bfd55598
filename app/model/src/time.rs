//! Timestamps are Unix seconds (UTC) everywhere; these render them for people.

/// `2026-11-25 08:49 UTC`. Pure arithmetic so that server and browser render the same text
/// (a mismatch would break hydration).
pub fn format_timestamp(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// `2026-11-25`: the UTC day an instant falls on.
pub fn format_day(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A coarse "how long ago": `just now`, `5 min ago`, `3 h ago`, `12 days ago`.
pub fn format_age(unix_seconds: i64, now: i64) -> String {
    let delta = now - unix_seconds;
    match delta {
        d if d < 60 => "just now".to_string(),
        d if d < 3600 => format!("{} min ago", d / 60),
        d if d < 86_400 => format!("{} h ago", d / 3600),
        d => format!("{} days ago", d / 86_400),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(951_827_696), "2000-02-29");
        // 2000-02-29 12:34:56 UTC, a leap day.
        assert_eq!(format_timestamp(951_827_696), "2000-02-29 12:34 UTC");
        // 2026-11-25 08:49:43 UTC.
        assert_eq!(format_timestamp(1_795_596_583), "2026-11-25 08:49 UTC");
    }

    #[test]
    fn formats_ages() {
        assert_eq!(format_age(100, 130), "just now");
        assert_eq!(format_age(0, 600), "10 min ago");
        assert_eq!(format_age(0, 7200), "2 h ago");
        assert_eq!(format_age(0, 3 * 86_400), "3 days ago");
    }
}
