use super::*;
use jiff::tz::TimeZone;

use crate::window::MonthlyMode;

fn usd(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn row(daily: Option<&str>, weekly: Option<&str>, usage: &str, start: &str) -> QuotaRow {
    let mut r = QuotaRow::empty(1, Platform::Anthropic);
    r.limits.daily = daily.map(usd);
    r.limits.weekly = weekly.map(usd);
    for u in &mut r.usage {
        *u = WindowUsage { usage: usd(usage), start: Some(ts(start)) };
    }
    r
}

fn shanghai() -> WindowClock {
    WindowClock::new(TimeZone::get("Asia/Shanghai").unwrap(), MonthlyMode::Calendar)
}

#[test]
fn no_row_or_unlimited_is_allowed() {
    let c = shanghai();
    let now = ts("2026-11-25T04:00:00Z");
    assert_eq!(admit(None, &c, now, Money::ZERO).unwrap(), Admission::Allow);
    let r = row(None, None, "1000", "2026-11-24T16:00:00Z");
    assert_eq!(admit(Some(&r), &c, now, Money::ZERO).unwrap(), Admission::Allow);
}

#[test]
fn zero_limit_is_disabled() {
    let c = shanghai();
    let r = row(None, Some("0"), "0", "2026-11-24T16:00:00Z");
    let Admission::Reject(rej) = admit(Some(&r), &c, ts("2026-11-25T04:00:00Z"), Money::ZERO).unwrap() else {
        panic!("expected a rejection")
    };
    assert_eq!((rej.kind, rej.window), (RejectKind::Disabled, QuotaWindow::Weekly));
    assert_eq!(rej.kind.code(), "platform_quota_disabled");
}

#[test]
fn usage_at_the_cap_is_exhausted_until_midnight() {
    let c = shanghai();
    // Daily window started 2026-11-25 00:00 +08:00; now is 12:00:00.5 local.
    let r = row(Some("10.1"), Some("50"), "10.1", "2026-11-24T16:00:00Z");
    let now = ts("2026-11-25T04:00:00.5Z");
    let Admission::Reject(rej) = admit(Some(&r), &c, now, Money::ZERO).unwrap() else { panic!("expected a rejection") };
    assert_eq!(rej.kind, RejectKind::Exhausted);
    assert_eq!(rej.window, QuotaWindow::Daily);
    assert_eq!(rej.resets_at, ts("2026-11-25T16:00:00Z"));
    assert_eq!(rej.retry_after_secs, 12 * 3600); // 11:59:59.5 rounded up
    let msg = rej.message(&c);
    assert!(msg.contains("anthropic daily quota exhausted: used 10.1 USD of 10.1 USD"), "{msg}");
    assert!(msg.contains("2026-11-26T00:00:00+08:00"), "{msg}");
    // Just under the cap passes.
    let r = row(Some("10.1"), None, "10.099999999", "2026-11-24T16:00:00Z");
    assert_eq!(admit(Some(&r), &c, now, Money::ZERO).unwrap(), Admission::Allow);
}

#[test]
fn expired_usage_counts_as_zero() {
    let c = shanghai();
    // Yesterday's usage is over the daily cap, but today is a new window.
    let r = row(Some("5"), None, "9", "2026-11-23T16:00:00Z");
    let now = ts("2026-11-25T04:00:00Z");
    assert_eq!(admit(Some(&r), &c, now, Money::ZERO).unwrap(), Admission::Allow);
    let v = view(&r, &c, now).unwrap();
    assert_eq!(v.windows[0].usage, Money::ZERO);
    assert_eq!(v.windows[0].window_start, None);
    assert_eq!(v.windows[0].resets_at, Some(ts("2026-11-25T16:00:00Z")));
    // Weekly: the stored start (Monday 2026-11-23 00:00 local) is current.
    assert_eq!(v.windows[1].usage, usd("9"));
}

#[test]
fn soft_deleted_rows_have_no_limits() {
    let c = shanghai();
    let mut r = row(Some("0"), None, "0", "2026-11-24T16:00:00Z");
    r.active = false;
    assert_eq!(admit(Some(&r), &c, ts("2026-11-25T04:00:00Z"), Money::ZERO).unwrap(), Admission::Allow);
}

#[test]
fn strict_pending_counts_against_the_cap() {
    let c = shanghai();
    let r = row(Some("10"), None, "9", "2026-11-24T16:00:00Z");
    let now = ts("2026-11-25T04:00:00Z");
    assert_eq!(admit(Some(&r), &c, now, usd("1")).unwrap(), Admission::Allow);
    assert!(matches!(admit(Some(&r), &c, now, usd("1.000000001")).unwrap(), Admission::Reject(_)));
}

#[test]
fn view_of_unlimited_unused_window_has_no_reset() {
    let c = shanghai();
    let mut r = QuotaRow::empty(1, Platform::Gemini);
    r.limits.monthly = Some(usd("3"));
    let v = view(&r, &c, ts("2026-11-25T04:00:00Z")).unwrap();
    assert_eq!(v.windows[0].resets_at, None);
    assert_eq!(v.windows[2].resets_at, Some(ts("2026-11-30T16:00:00Z")));
    assert!(v.is_meaningful());
    assert!(!view(&QuotaRow::empty(1, Platform::Gemini), &c, ts("2026-11-25T04:00:00Z")).unwrap().is_meaningful());
}
