use super::*;
use proptest::prelude::*;

fn clock(zone: &str) -> WindowClock {
    WindowClock::new(TimeZone::get(zone).unwrap(), MonthlyMode::Calendar)
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn span(c: &WindowClock, w: QuotaWindow, now: &str) -> (Timestamp, Timestamp) {
    let s = c.current(w, None, ts(now)).unwrap();
    (s.start, s.end)
}

#[test]
fn daily_in_shanghai() {
    let c = clock("Asia/Shanghai");
    // 2026-11-25 15:59:59Z is 23:59:59 local; one second later is the next local day.
    assert_eq!(
        span(&c, QuotaWindow::Daily, "2026-11-25T15:59:59Z"),
        (ts("2026-11-24T16:00:00Z"), ts("2026-11-25T16:00:00Z"))
    );
    assert_eq!(
        span(&c, QuotaWindow::Daily, "2026-11-25T16:00:00Z"),
        (ts("2026-11-25T16:00:00Z"), ts("2026-11-26T16:00:00Z"))
    );
}

#[test]
fn dst_days_have_23_and_25_hours_in_new_york() {
    let c = clock("America/New_York");
    let (s, e) = span(&c, QuotaWindow::Daily, "2026-03-08T12:00:00Z");
    assert_eq!(s, ts("2026-03-08T05:00:00Z"));
    assert_eq!(e.duration_since(s), SignedDuration::from_hours(23));
    let (s, e) = span(&c, QuotaWindow::Daily, "2026-11-01T12:00:00Z");
    assert_eq!(s, ts("2026-11-01T04:00:00Z"));
    assert_eq!(e.duration_since(s), SignedDuration::from_hours(25));
}

#[test]
fn midnight_in_a_dst_gap_starts_the_day_at_the_first_real_instant() {
    // Havana springs forward at 00:00 → 01:00 (2026-03-08).
    let c = clock("America/Havana");
    let (s, _) = span(&c, QuotaWindow::Daily, "2026-03-08T12:00:00Z");
    assert_eq!(s, ts("2026-03-08T05:00:00Z")); // 01:00 CDT
}

#[test]
fn weekly_starts_monday() {
    let c = clock("Asia/Shanghai");
    // Sunday 2026-11-29 23:30 local → week of Monday 2026-11-23.
    assert_eq!(
        span(&c, QuotaWindow::Weekly, "2026-11-29T15:30:00Z"),
        (ts("2026-11-22T16:00:00Z"), ts("2026-11-29T16:00:00Z"))
    );
    // Monday 00:00 local starts the next week.
    assert_eq!(span(&c, QuotaWindow::Weekly, "2026-11-29T16:00:00Z").0, ts("2026-11-29T16:00:00Z"));
    // A week across the New York fall-back change is 7 days + 1 hour.
    let ny = clock("America/New_York");
    let (s, e) = span(&ny, QuotaWindow::Weekly, "2026-10-30T12:00:00Z");
    assert_eq!(s, ts("2026-10-26T04:00:00Z"));
    assert_eq!(e, ts("2026-11-02T05:00:00Z"));
}

#[test]
fn calendar_month() {
    let ny = clock("America/New_York");
    assert_eq!(
        span(&ny, QuotaWindow::Monthly, "2026-03-01T04:59:59Z"),
        (ts("2026-02-01T05:00:00Z"), ts("2026-03-01T05:00:00Z"))
    );
    assert_eq!(
        span(&ny, QuotaWindow::Monthly, "2026-03-31T12:00:00Z"),
        (ts("2026-03-01T05:00:00Z"), ts("2026-04-01T04:00:00Z"))
    );
    let sh = clock("Asia/Shanghai");
    assert_eq!(span(&sh, QuotaWindow::Monthly, "2026-12-31T16:00:00Z").0, ts("2026-12-31T16:00:00Z"));
}

#[test]
fn rolling_month_starts_at_first_charge_after_expiry() {
    let c = WindowClock::new(TimeZone::UTC, MonthlyMode::Rolling30d);
    let now = ts("2026-11-25T10:00:00Z");
    // No stored window: one would start now.
    assert_eq!(c.current(QuotaWindow::Monthly, None, now).unwrap().start, now);
    // Stored 10 days ago: still current.
    let ten = ts("2026-11-15T10:00:00Z");
    let s = c.current(QuotaWindow::Monthly, Some(ten), now).unwrap();
    assert_eq!((s.start, s.end), (ten, ts("2026-12-15T10:00:00Z")));
    let r = c.rollover(QuotaWindow::Monthly, now).unwrap();
    assert!(r.is_current(Some(ten)));
    // Exactly 30 days ago: expired.
    let thirty = ts("2026-10-26T10:00:00Z");
    assert!(!r.is_current(Some(thirty)));
    assert!(r.is_current(Some(ts("2026-10-26T10:00:00.001Z"))));
    assert_eq!(r.new_start, now);
    // Daily stays calendar in rolling mode.
    assert_eq!(c.rollover(QuotaWindow::Daily, now).unwrap().new_start, ts("2026-11-25T00:00:00Z"));
}

#[test]
fn rollover_treats_a_start_slightly_ahead_as_current() {
    let c = clock("UTC");
    let r = c.rollover(QuotaWindow::Daily, ts("2026-11-25T23:59:59Z")).unwrap();
    assert!(r.is_current(Some(ts("2026-11-25T00:00:00Z"))));
    assert!(r.is_current(Some(ts("2026-11-26T00:00:00Z")))); // another node's clock is ahead
    assert!(!r.is_current(Some(ts("2026-11-24T00:00:00Z"))));
    assert!(!r.is_current(None));
}

#[test]
fn retry_after_rounds_up() {
    let now = ts("2026-11-25T10:00:00.2Z");
    assert_eq!(WindowClock::seconds_until(now, ts("2026-11-25T10:00:10Z")), 10);
    assert_eq!(WindowClock::seconds_until(now, ts("2026-11-25T10:00:10.2Z")), 10);
    assert_eq!(WindowClock::seconds_until(now, ts("2026-11-25T10:00:00Z")), 0);
}

const ZONES: &[&str] = &[
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Havana",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "America/St_Johns",
];

proptest! {
    #[test]
    fn every_instant_lies_in_its_window(
        secs in -2_208_988_800_i64..7_258_118_400, // 1900..2200
        zone in proptest::sample::select(ZONES),
        rolling in any::<bool>(),
        w in proptest::sample::select(&QuotaWindow::ALL[..]),
    ) {
        let mode = if rolling { MonthlyMode::Rolling30d } else { MonthlyMode::Calendar };
        let c = WindowClock::new(TimeZone::get(zone).unwrap(), mode);
        let now = Timestamp::from_second(secs).unwrap();
        let s = c.current(w, None, now).unwrap();
        prop_assert!(s.start <= now && now < s.end, "{w} {zone} {now}: {:?}", s);
        // The window just before this one ends where this one starts (no gaps, no overlaps).
        if c.rolling_length(w).is_none() {
            let prev = c.current(w, None, s.start.checked_sub(SignedDuration::from_secs(1)).unwrap()).unwrap();
            prop_assert_eq!(prev.end, s.start);
            // Every instant in the window maps to the same window.
            let last = s.end.checked_sub(SignedDuration::from_nanos(1)).unwrap();
            prop_assert_eq!(c.current(w, None, last).unwrap(), s);
            let r = c.rollover(w, now).unwrap();
            prop_assert_eq!(r.new_start, s.start);
        }
    }
}

#[test]
fn five_hour_window_is_rolling_in_every_zone_and_mode() {
    for mode in [MonthlyMode::Calendar, MonthlyMode::Rolling30d] {
        let c = WindowClock::new(TimeZone::get("America/New_York").unwrap(), mode);
        // A charge at 06:30:00.123 starts the window on its second, across the DST change of that night.
        let r = c.rollover(QuotaWindow::FiveHour, ts("2026-03-08T06:30:00.123Z")).unwrap();
        let first = ts("2026-03-08T06:30:00Z");
        assert_eq!(r.new_start, first);
        let s = c.current(QuotaWindow::FiveHour, Some(first), ts("2026-03-08T09:00:00Z")).unwrap();
        assert_eq!((s.start, s.end), (first, ts("2026-03-08T11:30:00Z")));
        let r = c.rollover(QuotaWindow::FiveHour, ts("2026-03-08T11:29:59.999Z")).unwrap();
        assert!(r.is_current(Some(first)));
        let r = c.rollover(QuotaWindow::FiveHour, ts("2026-03-08T11:30:00Z")).unwrap();
        assert!(!r.is_current(Some(first)));
        assert_eq!(r.new_start, ts("2026-03-08T11:30:00Z"));
        // Every charge of one second shares one rule (a settlement batch is written under one).
        assert_eq!(c.rollovers(ts("2026-03-08T11:30:00.001Z")), c.rollovers(ts("2026-03-08T11:30:00.999Z")));
        // A start stored at the millisecond (by an earlier version) ends within its second.
        let legacy = ts("2026-03-08T06:30:00.123Z");
        assert!(c.rollover(QuotaWindow::FiveHour, ts("2026-03-08T11:30:00.500Z")).unwrap().is_current(Some(legacy)));
        assert!(!c.rollover(QuotaWindow::FiveHour, ts("2026-03-08T11:30:01Z")).unwrap().is_current(Some(legacy)));
    }
    assert_eq!("five_hour".parse::<QuotaWindow>().unwrap(), QuotaWindow::FiveHour);
    assert!("hourly".parse::<QuotaWindow>().unwrap_err().to_string().contains("five_hour, daily"));
}
