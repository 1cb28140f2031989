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
    assert_eq!(rej.code(), "platform_quota_disabled");
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
    assert_eq!(v.windows[QuotaWindow::Daily.index()].usage, Money::ZERO);
    assert_eq!(v.windows[QuotaWindow::Daily.index()].window_start, None);
    assert_eq!(v.windows[QuotaWindow::Daily.index()].resets_at, Some(ts("2026-11-25T16:00:00Z")));
    // Weekly: the stored start (Monday 2026-11-23 00:00 local) is current.
    assert_eq!(v.windows[QuotaWindow::Weekly.index()].usage, usd("9"));
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
    assert_eq!(v.windows[QuotaWindow::Daily.index()].resets_at, None);
    assert_eq!(v.windows[QuotaWindow::Monthly.index()].resets_at, Some(ts("2026-11-30T16:00:00Z")));
    assert!(v.is_meaningful());
    assert!(!view(&QuotaRow::empty(1, Platform::Gemini), &c, ts("2026-11-25T04:00:00Z")).unwrap().is_meaningful());
}

#[test]
fn five_hour_window_is_checked_first_and_rolls_five_hours_after_its_first_charge() {
    let c = shanghai();
    let mut r = QuotaRow::empty(1, Platform::Anthropic);
    r.limits.five_hour = Some(usd("2"));
    r.limits.daily = Some(usd("1"));
    let first = ts("2026-11-25T03:10:00.250Z");
    r.charge(usd("2"), &c.rollovers(first).unwrap()).unwrap();
    // Both windows are over their caps; the shortest is named.
    let Admission::Reject(rej) = admit(Some(&r), &c, ts("2026-11-25T04:00:00Z"), Money::ZERO).unwrap() else {
        panic!("expected a rejection")
    };
    assert_eq!((rej.window, rej.code()), (QuotaWindow::FiveHour, "platform_quota_exhausted"));
    // The window started on the second of the first charge.
    assert_eq!(rej.resets_at, ts("2026-11-25T08:10:00Z"));
    assert_eq!(rej.retry_after_secs, 4 * 3600 + 10 * 60);
    // One millisecond before five hours the window still counts; at five hours it is over, and the
    // next charge starts a new window at its own time.
    let last = ts("2026-11-25T08:09:59.999Z");
    assert_eq!(r.current_usage(&c, QuotaWindow::FiveHour, last).unwrap(), usd("2"));
    let after = ts("2026-11-25T08:10:00Z");
    assert_eq!(r.current_usage(&c, QuotaWindow::FiveHour, after).unwrap(), Money::ZERO);
    r.limits.daily = None;
    assert_eq!(admit(Some(&r), &c, after, Money::ZERO).unwrap(), Admission::Allow);
    let later = ts("2026-11-25T09:00:00Z");
    r.charge(usd("0.5"), &c.rollovers(later).unwrap()).unwrap();
    let v = view(&r, &c, later).unwrap();
    let five = v.windows[QuotaWindow::FiveHour.index()];
    assert_eq!(
        (five.usage, five.window_start, five.resets_at),
        (usd("0.5"), Some(later), Some(ts("2026-11-25T14:00:00Z")))
    );
    // The daily window kept adding up.
    assert_eq!(v.windows[QuotaWindow::Daily.index()].usage, usd("2.5"));
}

#[test]
fn a_top_up_raises_the_cap_of_its_window_only_until_that_window_ends() {
    let c = shanghai();
    let mut r = row(Some("1"), None, "1", "2026-11-24T16:00:00Z");
    let now = ts("2026-11-25T04:00:00Z");
    assert!(matches!(admit(Some(&r), &c, now, Money::ZERO).unwrap(), Admission::Reject(_)));
    r.topup[QuotaWindow::Daily.index()] = usd("0.5");
    assert_eq!(admit(Some(&r), &c, now, Money::ZERO).unwrap(), Admission::Allow);
    assert_eq!(view(&r, &c, now).unwrap().windows[QuotaWindow::Daily.index()].topup, usd("0.5"));
    r.charge(usd("0.5"), &c.rollovers(now).unwrap()).unwrap();
    let Admission::Reject(rej) = admit(Some(&r), &c, now, Money::ZERO).unwrap() else { panic!("expected a rejection") };
    assert_eq!((rej.usage, rej.limit), (usd("1.5"), usd("1.5")));
    // The next day: the top-up is gone with its window (in the view, and once charged, in the row).
    let tomorrow = ts("2026-11-25T17:00:00Z");
    assert_eq!(r.current_topup(&c, QuotaWindow::Daily, tomorrow).unwrap(), Money::ZERO);
    r.charge(usd("0.1"), &c.rollovers(tomorrow).unwrap()).unwrap();
    assert_eq!(r.topup[QuotaWindow::Daily.index()], Money::ZERO);
    // A top-up never turns a disabled window on.
    let mut off = row(Some("0"), None, "0", "2026-11-24T16:00:00Z");
    off.topup[QuotaWindow::Daily.index()] = usd("5");
    assert!(matches!(admit(Some(&off), &c, now, Money::ZERO).unwrap(), Admission::Reject(_)));
}

#[test]
fn a_key_row_names_the_key_and_its_lifetime_budget() {
    let c = shanghai();
    let now = ts("2026-11-25T04:00:00Z");
    let mut k = row(Some("1"), None, "1", "2026-11-24T16:00:00Z");
    k.key_id = Some(7);
    let Admission::Reject(rej) = admit(Some(&k), &c, now, Money::ZERO).unwrap() else { panic!("expected a rejection") };
    assert_eq!((rej.owner, rej.code()), (QuotaOwner::Key(7), "key_quota_exhausted"));
    assert!(rej.message(&c).starts_with("API key anthropic daily quota of this key exhausted"), "{}", rej.message(&c));
    k.limits.daily = None;
    k.lifetime = Lifetime { limit: Some(usd("3")), usage: usd("2.5") };
    assert_eq!(admit(Some(&k), &c, now, Money::ZERO).unwrap(), Admission::Allow);
    // Strict: what is held on every platform counts against the lifetime budget.
    assert_eq!(admit_with_lifetime(Some(&k), &c, now, usd("0.1"), usd("0.5")).unwrap(), Admission::Allow);
    let Admission::Reject(rej) = admit_with_lifetime(Some(&k), &c, now, usd("0.1"), usd("0.6")).unwrap() else {
        panic!("expected a rejection")
    };
    // Not spent: what running requests hold plus this one's bound does not fit. Retryable.
    assert_eq!(
        (rej.kind, rej.code(), rej.window_name(), rej.retry_after_secs),
        (RejectKind::Reserved { lifetime: true }, "key_quota_exhausted", "lifetime", 5)
    );
    assert!(rej.message(&c).contains("upper bound does not fit"), "{}", rej.message(&c));
    k.charge(usd("0.5"), &c.rollovers(now).unwrap()).unwrap();
    assert_eq!(k.lifetime.usage, usd("3"));
    let Admission::Reject(rej) = admit(Some(&k), &c, now, Money::ZERO).unwrap() else { panic!("expected a rejection") };
    assert!(rej.message(&c).contains("lifetime budget spent: used 3 USD of 3 USD"), "{}", rej.message(&c));
}
