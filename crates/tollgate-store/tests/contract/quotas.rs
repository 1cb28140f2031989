use jiff::Timestamp;
use jiff::tz::TimeZone;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{QuotaRow, WindowLimits, view};
use tollgate_core::window::{MonthlyMode, QuotaWindow, WindowClock};
use tollgate_store::testing::TestDb;
use tollgate_store::{NewQuota, Store, StoreError};

use crate::util::{clock, ts, usd, user};

fn limits(d: Option<&str>, w: Option<&str>, m: Option<&str>) -> WindowLimits {
    WindowLimits { five_hour: None, daily: d.map(usd), weekly: w.map(usd), monthly: m.map(usd) }
}

async fn row(s: &dyn Store, uid: i64, p: Platform) -> QuotaRow {
    s.list_by_user(uid).await.unwrap().into_iter().find(|r| r.platform == p).expect("a row")
}

/// Daily, weekly, monthly (the 5-hour window has its own tests).
fn usages(r: &QuotaRow) -> [Money; 3] {
    [r.usage[1].usage, r.usage[2].usage, r.usage[3].usage]
}

pub async fn get_returns_active_row_or_none(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "a@example.com").await;
    assert!(s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().is_none());
    s.upsert_for_user(uid, &[(Platform::Anthropic, limits(Some("10.1"), None, None))]).await.unwrap();
    let got = s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().unwrap();
    assert_eq!(got.limits.daily, Some(usd("10.1")));
    assert!(got.active);
    s.upsert_for_user(uid, &[]).await.unwrap();
    assert!(s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().is_none());
    assert!(s.get_by_user_platform(uid + 999, Platform::Anthropic).await.unwrap().is_none());
}

pub async fn bulk_insert_is_idempotent_and_never_overwrites(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "b@example.com").await;
    let records = [
        NewQuota { user_id: uid, platform: Platform::OpenAi, limits: limits(Some("5"), Some("0"), None) },
        NewQuota { user_id: uid, platform: Platform::Gemini, limits: limits(None, None, Some("30")) },
    ];
    s.bulk_insert_initial(&records).await.unwrap();
    let first = s.list_by_user(uid).await.unwrap();
    s.bulk_insert_initial(&records).await.unwrap();
    assert_eq!(s.list_by_user(uid).await.unwrap(), first);
    assert_eq!(first.len(), 2);
    // An admin-set limit survives a later initial insert with other values.
    s.upsert_for_user(uid, &[(Platform::OpenAi, limits(Some("7"), None, None))]).await.unwrap();
    s.bulk_insert_initial(&records).await.unwrap();
    assert_eq!(row(&*s, uid, Platform::OpenAi).await.limits, limits(Some("7"), None, None));
}

pub async fn increment_creates_a_row_without_limits(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "c@example.com").await;
    let c = clock("Asia/Shanghai");
    let now = ts("2026-11-25T04:00:00Z");
    s.increment_usage_with_reset(uid, Platform::Gemini, usd("0.000000001"), now, &c).await.unwrap();
    let r = row(&*s, uid, Platform::Gemini).await;
    assert_eq!(r.limits, WindowLimits::default());
    assert_eq!(usages(&r), [Money::from_nanos(1).unwrap(); 3]);
    assert_eq!(r.usage[1].start, Some(ts("2026-11-24T16:00:00Z")));
    assert_eq!(r.usage[2].start, Some(ts("2026-11-22T16:00:00Z")));
    assert_eq!(r.usage[3].start, Some(ts("2026-10-31T16:00:00Z")));
}

pub async fn increment_rolls_over_daily_weekly_monthly(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "d@example.com").await;
    let c = clock("Asia/Shanghai");
    let p = Platform::Anthropic;
    // Sat 2026-11-28 23:59:59 local, then Sun 00:00:00 (new day, same week and month).
    s.increment_usage_with_reset(uid, p, usd("1"), ts("2026-11-28T15:59:59Z"), &c).await.unwrap();
    s.increment_usage_with_reset(uid, p, usd("2"), ts("2026-11-28T15:59:59.999Z"), &c).await.unwrap();
    s.increment_usage_with_reset(uid, p, usd("4"), ts("2026-11-28T16:00:00Z"), &c).await.unwrap();
    assert_eq!(usages(&row(&*s, uid, p).await), [usd("4"), usd("7"), usd("7")]);
    // Mon 2026-11-30 00:00 local: new day and week, same month.
    s.increment_usage_with_reset(uid, p, usd("8"), ts("2026-11-29T16:00:00Z"), &c).await.unwrap();
    assert_eq!(usages(&row(&*s, uid, p).await), [usd("8"), usd("8"), usd("15")]);
    // Tue 2026-12-01 00:00 local: new day and month, same week.
    s.increment_usage_with_reset(uid, p, usd("16"), ts("2026-11-30T16:00:00Z"), &c).await.unwrap();
    let r = row(&*s, uid, p).await;
    assert_eq!(usages(&r), [usd("16"), usd("24"), usd("16")]);
    assert_eq!(r.usage[3].start, Some(ts("2026-11-30T16:00:00Z")));
    // Read a week later, every window has expired: the view shows 0 without any write.
    let v = view(&r, &c, ts("2026-12-08T16:00:00Z")).unwrap();
    assert_eq!(v.windows.map(|w| w.usage)[1..], [Money::ZERO, Money::ZERO, usd("16")]);
    let v = view(&r, &c, ts("2027-01-01T00:00:00Z")).unwrap();
    assert_eq!(v.windows.map(|w| w.usage)[1..], [Money::ZERO; 3]);
}

pub async fn increment_rolls_over_in_new_york_across_dst(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "e@example.com").await;
    let c = clock("America/New_York");
    let p = Platform::OpenAi;
    // 2026-11-01 is the 25-hour fall-back day (00:00 EDT = 04:00Z to 00:00 EST = 05:00Z next day).
    s.increment_usage_with_reset(uid, p, usd("1"), ts("2026-11-01T04:00:00Z"), &c).await.unwrap();
    // 24 h later it is still 2026-11-01 23:00 local: same day.
    s.increment_usage_with_reset(uid, p, usd("2"), ts("2026-11-02T04:00:00Z"), &c).await.unwrap();
    assert_eq!(row(&*s, uid, p).await.usage[1].usage, usd("3"));
    // 2026-11-02 00:00 EST = 05:00Z: a new day and (Monday) a new week.
    s.increment_usage_with_reset(uid, p, usd("4"), ts("2026-11-02T05:00:00Z"), &c).await.unwrap();
    let r = row(&*s, uid, p).await;
    assert_eq!(usages(&r), [usd("4"), usd("4"), usd("7")]);
    assert_eq!(r.usage[1].start, Some(ts("2026-11-02T05:00:00Z")));
    // Spring forward: 2026-03-08 is 23 hours long.
    let uid2 = user(&*s, "e2@example.com").await;
    s.increment_usage_with_reset(uid2, p, usd("1"), ts("2026-03-08T05:00:00Z"), &c).await.unwrap();
    s.increment_usage_with_reset(uid2, p, usd("1"), ts("2026-03-09T03:59:59Z"), &c).await.unwrap();
    assert_eq!(row(&*s, uid2, p).await.usage[1].usage, usd("2"));
    s.increment_usage_with_reset(uid2, p, usd("1"), ts("2026-03-09T04:00:00Z"), &c).await.unwrap();
    assert_eq!(row(&*s, uid2, p).await.usage[1].usage, usd("1"));
}

pub async fn rolling_month_starts_at_first_charge_after_expiry(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "f@example.com").await;
    let c = WindowClock::new(TimeZone::UTC, MonthlyMode::Rolling30d);
    let p = Platform::Gemini;
    // Rolling windows count in whole seconds: a charge at 10:00:00.123 starts the window at 10:00:00.
    s.increment_usage_with_reset(uid, p, usd("1"), ts("2026-10-01T10:00:00.123Z"), &c).await.unwrap();
    let t0 = ts("2026-10-01T10:00:00Z");
    s.increment_usage_with_reset(uid, p, usd("1"), ts("2026-10-31T09:59:59.999Z"), &c).await.unwrap();
    assert_eq!(row(&*s, uid, p).await.usage[3], tollgate_core::quota::WindowUsage { usage: usd("2"), start: Some(t0) });
    // Exactly 30 days after the start the window has expired; the next charge starts a new one.
    s.increment_usage_with_reset(uid, p, usd("5"), ts("2026-10-31T10:00:00.123Z"), &c).await.unwrap();
    let t1 = ts("2026-10-31T10:00:00Z");
    let r = row(&*s, uid, p).await;
    assert_eq!(r.usage[3].usage, usd("5"));
    assert_eq!(r.usage[3].start, Some(t1));
    let v = view(&r, &c, t1).unwrap();
    assert_eq!(v.windows[3].resets_at, Some(ts("2026-11-30T10:00:00Z")));
}

pub async fn concurrent_increments_from_two_pools_are_exact(db: &TestDb) {
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let uid = user(&*a, "g@example.com").await;
    let c = clock("Asia/Shanghai");
    let now = Timestamp::now();
    let mut tasks = tokio::task::JoinSet::new();
    let n = 96_i64;
    for i in 0..n {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let c = c.clone();
        // Costs 1..=96 nano-USD plus a whole cent each, so any lost or doubled update shows.
        let cost = Money::from_nanos(10_000_000 + i + 1).unwrap();
        tasks.spawn(async move { s.increment_usage_with_reset(uid, Platform::Anthropic, cost, now, &c).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let expected = Money::from_nanos(n * 10_000_000 + n * (n + 1) / 2).unwrap();
    assert_eq!(usages(&row(&*b, uid, Platform::Anthropic).await), [expected; 3]);
}

pub async fn upsert_replaces_limits_and_keeps_usage(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "h@example.com").await;
    let c = clock("UTC");
    let now = Timestamp::now();
    s.upsert_for_user(
        uid,
        &[(Platform::Anthropic, limits(Some("10"), None, None)), (Platform::OpenAi, limits(None, Some("0"), None))],
    )
    .await
    .unwrap();
    s.increment_usage_with_reset(uid, Platform::Anthropic, usd("3.5"), now, &c).await.unwrap();
    s.increment_usage_with_reset(uid, Platform::OpenAi, usd("1"), now, &c).await.unwrap();
    let before = row(&*s, uid, Platform::Anthropic).await;
    // Change anthropic's limits, leave openai out.
    s.upsert_for_user(uid, &[(Platform::Anthropic, limits(Some("20"), Some("50"), None))]).await.unwrap();
    let after = row(&*s, uid, Platform::Anthropic).await;
    assert_eq!(after.limits, limits(Some("20"), Some("50"), None));
    assert_eq!(after.usage, before.usage);
    let openai = row(&*s, uid, Platform::OpenAi).await;
    assert!(!openai.active);
    assert_eq!(openai.effective_limits(), WindowLimits::default());
    assert_eq!(openai.usage[1].usage, usd("1"));
    // Usage is still metered on the soft-deleted row, and re-adding it reactivates it with its usage.
    s.increment_usage_with_reset(uid, Platform::OpenAi, usd("1"), now, &c).await.unwrap();
    s.upsert_for_user(
        uid,
        &[
            (Platform::Anthropic, limits(Some("20"), Some("50"), None)),
            (Platform::OpenAi, limits(Some("9"), None, None)),
        ],
    )
    .await
    .unwrap();
    let openai = s.get_by_user_platform(uid, Platform::OpenAi).await.unwrap().unwrap();
    assert!(openai.active);
    assert_eq!(openai.limits, limits(Some("9"), None, None));
    assert_eq!(openai.usage[1].usage, usd("2"));
    // Empty records remove every limit.
    s.upsert_for_user(uid, &[]).await.unwrap();
    assert!(s.list_by_user(uid).await.unwrap().iter().all(|r| !r.active));
    assert!(s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().is_none());
}

pub async fn upsert_rejects_duplicates_and_unknown_user(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "i@example.com").await;
    s.upsert_for_user(uid, &[(Platform::Gemini, limits(Some("1"), None, None))]).await.unwrap();
    let dup = [(Platform::Anthropic, WindowLimits::default()), (Platform::Anthropic, WindowLimits::default())];
    assert!(matches!(s.upsert_for_user(uid, &dup).await, Err(StoreError::Invalid(_))));
    // Nothing changed.
    assert_eq!(s.get_by_user_platform(uid, Platform::Gemini).await.unwrap().unwrap().limits.daily, Some(usd("1")));
    assert!(matches!(s.upsert_for_user(uid + 1000, &[]).await, Err(StoreError::NotFound)));
}

pub async fn reset_zeroes_without_moving_the_boundary(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "j@example.com").await;
    let c = clock("Asia/Shanghai");
    let p = Platform::Antigravity;
    assert!(matches!(s.reset_window(uid, p, QuotaWindow::Daily, Timestamp::now()).await, Err(StoreError::NotFound)));
    s.upsert_for_user(uid, &[(p, limits(Some("5"), Some("10"), None))]).await.unwrap();
    s.increment_usage_with_reset(uid, p, usd("5"), ts("2026-11-25T01:00:00Z"), &c).await.unwrap();
    // Admin resets the daily window at 15:00 local.
    s.reset_window(uid, p, QuotaWindow::Daily, ts("2026-11-25T07:00:00Z")).await.unwrap();
    let r = row(&*s, uid, p).await;
    assert_eq!(usages(&r), [Money::ZERO, usd("5"), usd("5")]);
    let v = view(&r, &c, ts("2026-11-25T07:00:00Z")).unwrap();
    // The window still ends at local midnight.
    assert_eq!(v.windows[1].resets_at, Some(ts("2026-11-25T16:00:00Z")));
    assert_eq!(v.windows[1].window_start, Some(ts("2026-11-24T16:00:00Z")));
    // A charge later the same day adds to the zeroed window; after midnight it resets.
    s.increment_usage_with_reset(uid, p, usd("1"), ts("2026-11-25T08:00:00Z"), &c).await.unwrap();
    assert_eq!(row(&*s, uid, p).await.usage[1].usage, usd("1"));
    s.increment_usage_with_reset(uid, p, usd("2"), ts("2026-11-25T16:00:00Z"), &c).await.unwrap();
    assert_eq!(usages(&row(&*s, uid, p).await), [usd("2"), usd("8"), usd("8")]);
}
