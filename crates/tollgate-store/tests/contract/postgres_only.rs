//! Behaviour only the PostgreSQL adapter has.

use jiff::Timestamp;
use sqlx::Connection as _;
use tollgate_core::money::Money;
use tollgate_store::postgres::{PgStore, SETTLER_NAME};
use tollgate_store::testing::PG_URL_VAR;
use tollgate_store::{BillingRepo as _, NewUsageRecord, QuotaRepo as _, SettleOutcome};

use crate::util::{clock, usd, user};

fn record(request_id: &str, user_id: i64, cost: Money) -> NewUsageRecord {
    NewUsageRecord {
        request_id: request_id.to_owned(),
        user_id,
        api_key_id: None,
        platform: tollgate_core::platform::Platform::OpenAi,
        model: "gpt-5".to_owned(),
        usage: tollgate_core::usage::Usage { input_tokens: 1, ..Default::default() },
        cost,
        status: "ok".to_owned(),
        http_status: Some(200),
        latency_ms: 1,
        upstream_id: None,
        output_estimated: false,
        held: false,
        tool_cost: Default::default(),
        ttfb_ms: None,
        client_request_id: None,
    }
}

/// The settlement connection lives outside the pool; when the server drops it, the next batch
/// fails (the gateway retries it) and the one after reconnects. Nothing is charged twice or lost.
/// Runs in a database of its own so that killing its settler cannot touch other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settler_reconnects_after_losing_its_connection() {
    let Some(url) = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty() && u != "none") else {
        eprintln!("skipped: {PG_URL_VAR} is not set");
        return;
    };
    let admin = sqlx::PgPool::connect(&url).await.expect("the test database answers");
    let name = format!("tg_settler_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    let (base, query) = url.split_once('?').map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let own = match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    };
    let store = PgStore::connect(&own).await.unwrap();
    let uid = user(&store, "settler@example.com").await;
    let c = clock("UTC");
    let now = Timestamp::now();
    assert_eq!(store.settle(&record("r1", uid, usd("1")), now, &c).await.unwrap(), SettleOutcome::Charged);

    let settlers: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2")
            .bind(&name)
            .bind(SETTLER_NAME)
            .fetch_all(&admin)
            .await
            .unwrap();
    assert_eq!(settlers.len(), 1, "one settlement connection");
    let mut killed = Vec::new();
    for pid in settlers {
        let ok: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&admin).await.unwrap();
        killed.push(ok);
    }
    assert_eq!(killed, [true]);

    // The dead connection fails one batch at most; the settlement is retried as the gateway does.
    let r2 = record("r2", uid, usd("2"));
    let mut outcome = store.settle(&r2, now, &c).await;
    if outcome.is_err() {
        outcome = store.settle(&r2, now, &c).await;
    }
    assert_eq!(outcome.unwrap(), SettleOutcome::Charged);
    assert_eq!(store.settle(&r2, now, &c).await.unwrap(), SettleOutcome::AlreadySettled);
    let row = store.list_by_user(uid).await.unwrap().remove(0);
    assert_eq!(row.usage[1].usage, usd("3"));

    drop(store);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.unwrap();
}

/// A strict-mode hold on a key queues on the key's lock behind a settlement of the same key; once
/// it has the lock it must see that settlement's charge, since the settlement also dropped its hold.
/// A user without limits has no quota row to queue on first, so only the key orders the two.
/// (PostgreSQL re-reads only the locked row of a join after such a wait: the key's usage row was
/// once read as it stood before the settlement, and a hold passed the key's cap.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_hold_that_waited_for_a_settlement_sees_its_charge() {
    use tollgate_core::platform::Platform;
    use tollgate_core::quota::{Admission, WindowLimits};
    use tollgate_store::testing::TestDb;
    use tollgate_store::{NewApiKey, NewReservation};
    let Some(db) = TestDb::postgres("pg_key_hold_after_settlement").await else {
        eprintln!("skipped: {PG_URL_VAR} is not set");
        return;
    };
    let store = db.open().await.unwrap();
    let uid = user(&*store, "keyhold@example.com").await;
    let daily = WindowLimits { five_hour: None, daily: Some(usd("1")), ..Default::default() };
    let key = store
        .create_api_key(
            &NewApiKey {
                user_id: uid,
                name: "k".into(),
                prefix: "tg-keyhold".into(),
                key_hash: "keyhold".into(),
                platforms: None,
                limits: vec![(Platform::Anthropic, daily)],
                lifetime_limit: None,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let c = clock("UTC");
    let now = Timestamp::now();
    let hold = |id: &str, amount: &str| NewReservation {
        request_id: id.to_owned(),
        user_id: uid,
        api_key_id: Some(key.id),
        platform: Platform::Anthropic,
        amount: usd(amount),
        expires_at: now.checked_add(jiff::SignedDuration::from_mins(10)).unwrap(),
    };
    assert_eq!(store.reserve(&hold("a", "0.6"), now, &c).await.unwrap(), Admission::Allow);

    // Another session holds the key's lock, so the settlement of "a" (0.6 USD) waits inside its
    // trigger, then the hold of "b" (0.5 USD) waits behind it.
    let mut blocker = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT id FROM api_keys WHERE id = $1 FOR UPDATE").bind(key.id).execute(&mut blocker).await.unwrap();
    let mut settled = tokio::task::JoinSet::new();
    {
        let (store, c) = (store.clone(), c.clone());
        let mut r = record("a", uid, usd("0.6"));
        (r.api_key_id, r.platform, r.held) = (Some(key.id), Platform::Anthropic, true);
        settled.spawn(async move { store.settle(&r, now, &c).await.unwrap() });
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut second = tokio::task::JoinSet::new();
    {
        let (store, c, b) = (store.clone(), c.clone(), hold("b", "0.5"));
        second.spawn(async move { store.reserve(&b, now, &c).await.unwrap() });
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    assert_eq!(settled.join_next().await.unwrap().unwrap(), SettleOutcome::Charged);
    // 0.6 charged + 0.5 asked > 1: refused, however the two were ordered.
    let decision = second.join_next().await.unwrap().unwrap();
    assert!(matches!(decision, Admission::Reject(_)), "a key hold passed its cap");
    let key_row = store.get_key_quota(key.id, Platform::Anthropic).await.unwrap().unwrap();
    assert_eq!(key_row.usage[1].usage, usd("0.6"));
}
