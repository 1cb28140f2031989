//! Rate limit overrides (both backends) and PostgreSQL's shared counters (docs/rate-limits.md).

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tollgate_core::platform::Platform;
use tollgate_core::rate::{RateKind, RateLimit, RateSubject};
use tollgate_store::testing::TestDb;
use tollgate_store::{NewAuditEntry, RateAdmission, Store};

use crate::util::user;

fn limit(rpm: Option<u64>, tpm: Option<u64>, concurrency: Option<u64>) -> RateLimit {
    RateLimit { rpm, tpm, concurrency }
}

pub async fn overrides_are_replaced_whole_with_their_audit(db: &TestDb) {
    let s = db.open().await.unwrap();
    let u = user(&*s, "rate@example.com").await;
    let now = Timestamp::now();
    let first = [(Platform::Anthropic, limit(Some(10), None, Some(2))), (Platform::Gemini, limit(None, None, None))];
    let audit = NewAuditEntry {
        at: now,
        actor_id: None,
        action: "user.rate_limits.update".into(),
        target_user_id: Some(u),
        platform: None,
        before_json: None,
        after_json: Some("[]".into()),
    };
    s.replace_rate_limits_audited(RateSubject::User, u, &first, now, Some(&audit)).await.unwrap();
    assert_eq!(s.subject_rate_limits(RateSubject::User, u).await.unwrap(), first.to_vec());
    // A key with the same id is another subject.
    assert!(s.subject_rate_limits(RateSubject::Key, u).await.unwrap().is_empty());
    let second = [(Platform::OpenAi, limit(None, Some(1000), None))];
    s.replace_rate_limits_audited(RateSubject::User, u, &second, now, None).await.unwrap();
    assert_eq!(s.subject_rate_limits(RateSubject::User, u).await.unwrap(), second.to_vec());
    let all = s.list_rate_limits().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].subject, all[0].subject_id, all[0].platform), (RateSubject::User, u, Platform::OpenAi));
    assert_eq!(s.list_audit(Some(u), 1, 10).await.unwrap().total, 1);
    assert_eq!(s.api_key_owner(999_999).await.unwrap(), None);
}

/// Two pools (two processes) admit against one RPM and one concurrency limit: never more than the
/// limit; an expired lease counts no more; a released one frees its slot; settled tokens refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_counters_are_shared_and_exact() {
    let Some(db) = TestDb::postgres("rate_counters_shared").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    let (a, b) = (db.open().await.unwrap(), db.open().await.unwrap());
    assert!(a.shares_rate_counters());
    // Start of a minute bucket far from now, so the test never straddles a boundary.
    let now = Timestamp::from_second(1_900_000_020).unwrap();
    let later = now + SignedDuration::from_secs(90);
    let run = |stores: [Arc<dyn Store>; 2], subjects: Vec<(RateSubject, i64, RateLimit)>, tag: &'static str| async move {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..100 {
            let (s, subjects) = (stores[i % 2].clone(), subjects.clone());
            set.spawn(async move {
                let id = format!("{tag}-{i}");
                let a = RateAdmission {
                    request_id: &id,
                    platform: Platform::OpenAi,
                    now,
                    lease_until: later,
                    subjects: &subjects,
                };
                s.rate_admit(&a).await.unwrap()
            });
        }
        let mut admitted = 0;
        while let Some(r) = set.join_next().await {
            if r.unwrap().is_none() {
                admitted += 1;
            }
        }
        admitted
    };
    let rpm = vec![(RateSubject::User, 1, limit(Some(7), None, None))];
    assert_eq!(run([a.clone(), b.clone()], rpm, "rpm").await, 7);
    let conc =
        vec![(RateSubject::User, 2, limit(None, None, Some(3))), (RateSubject::Key, 20, limit(None, None, None))];
    assert_eq!(run([a.clone(), b.clone()], conc.clone(), "conc").await, 3);
    let admit = |id: &'static str, at: Timestamp| {
        let (s, subjects) = (a.clone(), conc.clone());
        async move {
            let until = at + SignedDuration::from_secs(90);
            let adm = RateAdmission {
                request_id: id,
                platform: Platform::OpenAi,
                now: at,
                lease_until: until,
                subjects: &subjects,
            };
            s.rate_admit(&adm).await.unwrap()
        }
    };
    assert_eq!(admit("x1", now).await, Some((RateSubject::User, RateKind::Concurrency)));
    // Which three were admitted is up to the race: release every one of them.
    for i in 0..100 {
        a.rate_release(&format!("conc-{i}")).await.unwrap();
    }
    assert_eq!(admit("x2", now).await, None, "a released slot is free");
    assert_eq!(admit("x4", now).await, None);
    assert_eq!(admit("x5", now).await, None);
    assert_eq!(admit("x6", now).await, Some((RateSubject::User, RateKind::Concurrency)));
    // Leases past their expiry (a crashed process) count no more.
    assert_eq!(admit("x3", later + SignedDuration::from_secs(91)).await, None);
    // TPM: settled tokens at or over the limit refuse the next request in that minute.
    let tpm = vec![(RateSubject::Key, 30, limit(None, Some(500), None))];
    let minute = now.as_millisecond() / 60_000;
    b.rate_add_tokens(RateSubject::Key, 30, Platform::OpenAi, minute, 499).await.unwrap();
    let adm = RateAdmission { request_id: "t1", platform: Platform::OpenAi, now, lease_until: later, subjects: &tpm };
    assert_eq!(a.rate_admit(&adm).await.unwrap(), None);
    b.rate_add_tokens(RateSubject::Key, 30, Platform::OpenAi, minute, 1).await.unwrap();
    assert_eq!(a.rate_admit(&adm).await.unwrap(), Some((RateSubject::Key, RateKind::Tpm)));
}
