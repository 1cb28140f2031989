use jiff::{SignedDuration, Timestamp};
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{Admission, RejectKind, WindowLimits};
use tollgate_core::usage::Usage;
use tollgate_store::testing::TestDb;
use tollgate_store::{NewReservation, NewUsageRecord, SettleOutcome};

use crate::util::{clock, ts, usd, user};

fn record(request_id: &str, user_id: i64, cost: Money) -> NewUsageRecord {
    NewUsageRecord {
        request_id: request_id.to_owned(),
        user_id,
        api_key_id: None,
        platform: Platform::Anthropic,
        model: "claude-sonnet-4-5".to_owned(),
        usage: Usage { input_tokens: 10, output_tokens: 20, ..Default::default() },
        cost,
        status: "ok".to_owned(),
        http_status: Some(200),
        latency_ms: 12,
        upstream_id: None,
        output_estimated: false,
        held: true,
        tool_cost: Default::default(),
        ttfb_ms: None,
        client_request_id: None,
    }
}

pub async fn settle_is_idempotent_per_request_id(db: &TestDb) {
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let uid = user(&*a, "s@example.com").await;
    let c = clock("UTC");
    let now = Timestamp::now();
    let r = record("req-1", uid, usd("0.25"));
    assert_eq!(a.settle(&r, now, &c).await.unwrap(), SettleOutcome::Charged);
    // A retry, from another pool (another process), changes nothing.
    assert_eq!(b.settle(&r, now, &c).await.unwrap(), SettleOutcome::AlreadySettled);
    // Many concurrent retries of one new request charge once.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (r, c) = (record("req-2", uid, usd("1")), c.clone());
        set.spawn(async move { s.settle(&r, now, &c).await.unwrap() });
    }
    let mut charged = 0;
    while let Some(o) = set.join_next().await {
        charged += usize::from(o.unwrap() == SettleOutcome::Charged);
    }
    assert_eq!(charged, 1);
    let row = a.list_by_user(uid).await.unwrap().remove(0);
    assert_eq!(row.usage[1].usage, usd("1.25"));
    // A batch commits together; a request id repeated inside it is charged once.
    let batch = [record("req-3", uid, usd("2")), record("req-3", uid, usd("2")), record("req-1", uid, usd("9"))];
    let outcomes = b.settle_batch(&batch, now, &c).await.unwrap();
    assert_eq!(outcomes, [SettleOutcome::Charged, SettleOutcome::AlreadySettled, SettleOutcome::AlreadySettled]);
    let row = a.list_by_user(uid).await.unwrap().remove(0);
    assert_eq!(row.usage[1].usage, usd("3.25"));
}

pub async fn strict_reservations_never_pass_the_limit(db: &TestDb) {
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let uid = user(&*a, "r@example.com").await;
    a.upsert_for_user(
        uid,
        &[(Platform::Anthropic, WindowLimits { five_hour: None, daily: Some(usd("1")), ..Default::default() })],
    )
    .await
    .unwrap();
    let c = clock("UTC");
    let now = Timestamp::now();
    let expires = now.checked_add(SignedDuration::from_mins(10)).unwrap();
    // 64 concurrent requests each holding 0.1 USD: exactly 10 fit under 1 USD.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..64 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let c = c.clone();
        let res = NewReservation {
            request_id: format!("hold-{i}"),
            user_id: uid,
            api_key_id: None,
            platform: Platform::Anthropic,
            amount: usd("0.1"),
            expires_at: expires,
        };
        set.spawn(async move { (res.request_id.clone(), s.reserve(&res, now, &c).await.unwrap()) });
    }
    let mut admitted = Vec::new();
    while let Some(o) = set.join_next().await {
        let (id, decision) = o.unwrap();
        match decision {
            Admission::Allow => admitted.push(id),
            // Usage is still 0: the holds of the admitted ones fill the cap (retryable).
            Admission::Reject(r) => assert_eq!(r.kind, RejectKind::Reserved { lifetime: false }),
        }
    }
    assert_eq!(admitted.len(), 10);
    // Settling each for less than it held frees the difference.
    for id in &admitted {
        a.settle(&record(id, uid, usd("0.05")), now, &c).await.unwrap();
    }
    let row = a.list_by_user(uid).await.unwrap().remove(0);
    assert_eq!(row.usage[1].usage, usd("0.5"));
    let fits = |id: &str, amount: &str, at: Timestamp| NewReservation {
        request_id: id.to_owned(),
        user_id: uid,
        api_key_id: None,
        platform: Platform::Anthropic,
        amount: usd(amount),
        expires_at: at.checked_add(SignedDuration::from_mins(10)).unwrap(),
    };
    assert_eq!(a.reserve(&fits("x1", "0.5", now), now, &c).await.unwrap(), Admission::Allow);
    assert!(matches!(a.reserve(&fits("x2", "0.000000001", now), now, &c).await.unwrap(), Admission::Reject(_)));
    // A released hold no longer counts; an expired one lapses by itself.
    a.release("x1").await.unwrap();
    assert_eq!(a.reserve(&fits("x3", "0.5", now), now, &c).await.unwrap(), Admission::Allow);
    let later = now.checked_add(SignedDuration::from_mins(11)).unwrap();
    assert_eq!(a.reserve(&fits("x4", "0.5", later), later, &c).await.unwrap(), Admission::Allow);
}

/// The gateway keeps an in-process copy of hot quota rows by applying each committed charge with
/// `QuotaRow::charge`; that copy must equal what the settlement trigger stored, across every kind
/// of rollover, in both monthly modes.
pub async fn settlement_matches_the_in_memory_charge(db: &TestDb) {
    use tollgate_core::window::{MonthlyMode, WindowClock};
    let s = db.open().await.unwrap();
    let zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
    for (n, monthly) in [MonthlyMode::Calendar, MonthlyMode::Rolling30d].into_iter().enumerate() {
        let c = WindowClock::new(zone.clone(), monthly);
        let uid = user(&*s, &format!("copy{n}@example.com")).await;
        let limits =
            WindowLimits { five_hour: None, daily: Some(usd("100")), weekly: None, monthly: Some(usd("1000")) };
        s.upsert_for_user(uid, &[(Platform::Anthropic, limits)]).await.unwrap();
        let mut copy = s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().unwrap();
        // Same day; next day (DST ends 2026-11-01 in New York); next week; next month; 40 days on
        // (the rolling month restarts); sub-millisecond instants (stored at the millisecond).
        let times = [
            "2026-10-31T12:00:00.123456789Z",
            "2026-10-31T13:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-02T04:59:59.999999Z",
            "2026-11-02T05:00:00Z",
            "2026-12-01T05:00:00.000001Z",
            "2027-01-10T17:00:00.5Z",
        ];
        for (i, t) in times.iter().enumerate() {
            let now = ts(t);
            let mut r = record(&format!("copy{n}-{i}"), uid, usd(&format!("0.{}", i + 1)));
            r.held = false;
            assert_eq!(s.settle_batch(&[r.clone()], now, &c).await.unwrap(), [SettleOutcome::Charged]);
            copy.charge(r.cost, &c.rollovers(now).unwrap()).unwrap();
            let stored = s.get_by_user_platform(uid, Platform::Anthropic).await.unwrap().unwrap();
            assert_eq!(stored, copy, "{monthly:?} after a charge at {t}");
        }
    }
}
