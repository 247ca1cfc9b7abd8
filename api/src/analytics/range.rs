//! Time ranges and trend buckets. Presets end with the bucket holding "now" and start
//! on a bucket boundary (UTC), so every bucket is whole and the counts of the ban table,
//! the charts and the trend agree: `24h` = 24 hourly buckets, `7d` = 28 six-hour
//! buckets, `30d` = 30 days, `365d` = 53 weeks (Monday to Monday). A custom `from`/`to`
//! is counted exactly; its buckets are the grain boundaries inside it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use shared::archive::{DAY_MS, Grain, HOUR_MS, WEEK_ALIGN_MS, WEEK_MS};

/// A validated range with its trend layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Where bucket 0 starts (on or before `from_ms`).
    pub bucket_start_ms: i64,
    pub bucket_ms: i64,
    pub buckets: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("range must be one of 24h, 7d, 30d, 365d{0}")]
    UnknownPreset(&'static str),
    #[error("{0}: not an RFC 3339 time like 2026-11-01T00:00:00Z")]
    BadTime(&'static str),
    #[error("from must be before to")]
    Inverted,
    #[error("give both from and to, or a range preset")]
    HalfOpen,
    #[error("the range spans more than {0} buckets; choose a shorter one")]
    TooLong(i64),
}

/// The most buckets a trend may have (about ten years of weeks).
pub const MAX_BUCKETS: i64 = 520;

fn preset(name: &str, now_ms: i64) -> Option<Range> {
    let (size, count, align) = match name {
        "24h" => (HOUR_MS, 24, 0),
        "7d" => (6 * HOUR_MS, 28, 0),
        "30d" => (DAY_MS, 30, 0),
        "365d" => (WEEK_MS, 53, WEEK_ALIGN_MS),
        _ => return None,
    };
    let last = now_ms - (now_ms - align).rem_euclid(size);
    let start = last - (count - 1) * size;
    Some(Range {
        from_ms: start,
        to_ms: last + size,
        bucket_start_ms: start,
        bucket_ms: size,
        buckets: count,
    })
}

/// Buckets for a custom range: finer for shorter spans.
fn custom(from_ms: i64, to_ms: i64) -> Result<Range, RangeError> {
    let span = to_ms - from_ms;
    let (size, align) = if span <= 2 * DAY_MS {
        (HOUR_MS, 0)
    } else if span <= 14 * DAY_MS {
        (6 * HOUR_MS, 0)
    } else if span <= 90 * DAY_MS {
        (DAY_MS, 0)
    } else {
        (WEEK_MS, WEEK_ALIGN_MS)
    };
    let start = from_ms - (from_ms - align).rem_euclid(size);
    let buckets = (to_ms - start + size - 1) / size;
    if buckets > MAX_BUCKETS {
        return Err(RangeError::TooLong(MAX_BUCKETS));
    }
    Ok(Range {
        from_ms,
        to_ms,
        bucket_start_ms: start,
        bucket_ms: size,
        buckets,
    })
}

fn parse_time(raw: &str, field: &'static str) -> Result<i64, RangeError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
        .map_err(|_| RangeError::BadTime(field))
}

/// Resolves the range parameters. `all_time` allows `range=all` (history), which spans
/// from the first possible event to the end of the current hour.
pub fn resolve(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
    all_time: bool,
) -> Result<Range, RangeError> {
    match (from, to) {
        (Some(f), Some(t)) => {
            let (f, t) = (parse_time(f, "from")?, parse_time(t, "to")?);
            if f >= t {
                return Err(RangeError::Inverted);
            }
            if all_time {
                // History lists need no buckets; any span is fine.
                return Ok(Range {
                    from_ms: f,
                    to_ms: t,
                    bucket_start_ms: f,
                    bucket_ms: t - f,
                    buckets: 1,
                });
            }
            custom(f, t)
        }
        (None, None) => {
            let name = range.unwrap_or(if all_time { "all" } else { "24h" });
            if all_time && name == "all" {
                let end = Grain::Hour.floor(now_ms) + HOUR_MS;
                return Ok(Range {
                    from_ms: 0,
                    to_ms: end,
                    bucket_start_ms: 0,
                    bucket_ms: end,
                    buckets: 1,
                });
            }
            preset(name, now_ms).ok_or(RangeError::UnknownPreset(if all_time {
                " or all"
            } else {
                ""
            }))
        }
        _ => Err(RangeError::HalfOpen),
    }
}

/// A time zone for display fields: an IANA name; default UTC.
pub fn parse_tz(raw: Option<&str>) -> Result<Tz, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Tz::UTC),
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| format!("{name:?} is not an IANA time zone like Europe/Berlin")),
    }
}

/// An epoch-ms time shown in `tz`, RFC 3339 with the zone's offset.
pub fn local(ms: i64, tz: Tz) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_003_723_456; // 2025-11-24 17:02:03.456 UTC, a Monday

    #[test]
    fn presets_have_the_documented_buckets() {
        for (name, size, count) in [
            ("24h", HOUR_MS, 24),
            ("7d", 6 * HOUR_MS, 28),
            ("30d", DAY_MS, 30),
            ("365d", WEEK_MS, 53),
        ] {
            let r = resolve(Some(name), None, None, NOW, false).expect(name);
            assert_eq!((r.bucket_ms, r.buckets), (size, count), "{name}");
            assert_eq!(r.to_ms - r.from_ms, size * count, "{name}");
            assert!(
                r.from_ms <= NOW - (count - 1) * size && NOW < r.to_ms,
                "{name}"
            );
        }
        let r = resolve(Some("24h"), None, None, NOW, false).expect("24h");
        assert_eq!(r.to_ms, 1_764_007_200_000); // 18:00 UTC
        let r = resolve(Some("365d"), None, None, NOW, false).expect("365d");
        assert!(Grain::Week.is_aligned(r.from_ms));
        assert_eq!(r.to_ms, 1_764_547_200_000); // Monday 2025-12-01
    }

    #[test]
    fn custom_ranges_are_exact_and_bucketed_by_span() {
        let r = resolve(
            None,
            Some("2025-11-01T10:30:00Z"),
            Some("2025-11-02T10:30:00Z"),
            NOW,
            false,
        )
        .expect("custom");
        assert_eq!(r.bucket_ms, HOUR_MS);
        assert_eq!(r.buckets, 25);
        assert_eq!(r.from_ms, 1_761_993_000_000);
        let r = resolve(
            None,
            Some("2025-01-01T00:00:00+02:00"),
            Some("2025-12-01T00:00:00Z"),
            NOW,
            false,
        )
        .expect("long");
        assert_eq!(r.bucket_ms, WEEK_MS);
        assert_eq!(r.from_ms, 1_735_682_400_000);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert_eq!(
            resolve(Some("2d"), None, None, NOW, false),
            Err(RangeError::UnknownPreset(""))
        );
        assert_eq!(
            resolve(Some("all"), None, None, NOW, false),
            Err(RangeError::UnknownPreset(""))
        );
        assert!(resolve(Some("all"), None, None, NOW, true).is_ok());
        assert_eq!(
            resolve(None, Some("2025-01-01T00:00:00Z"), None, NOW, false),
            Err(RangeError::HalfOpen)
        );
        assert_eq!(
            resolve(
                None,
                Some("2025-01-02T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                NOW,
                false
            ),
            Err(RangeError::Inverted)
        );
        assert_eq!(
            resolve(
                None,
                Some("yesterday"),
                Some("2025-01-01T00:00:00Z"),
                NOW,
                false
            ),
            Err(RangeError::BadTime("from"))
        );
        assert_eq!(
            resolve(
                None,
                Some("1990-01-01T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                NOW,
                false
            ),
            Err(RangeError::TooLong(MAX_BUCKETS))
        );
    }

    #[test]
    fn display_fields_follow_the_zone() {
        let tz = parse_tz(Some("Europe/Berlin")).expect("tz");
        assert_eq!(
            local(1_764_003_723_456, tz),
            "2025-11-24T18:02:03.456+01:00"
        );
        assert_eq!(local(1_751_328_000_000, tz), "2025-07-01T02:00:00+02:00");
        assert_eq!(
            local(0, parse_tz(None).expect("utc")),
            "1970-01-01T00:00:00+00:00"
        );
        assert!(parse_tz(Some("Mars/Olympus")).is_err());
    }
}
