//! Behaviour only the PostgreSQL adapter has.

use jiff::Timestamp;
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
