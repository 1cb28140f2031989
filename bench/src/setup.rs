//! A fresh database per backend, seeded with a caller whose quotas are enforced on every request.

use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::WindowLimits;
use tollgate_server::keys;
use tollgate_server::mock_upstream::MOCK_KEY;
use tollgate_store::{NewApiKey, NewUpstream, NewUser, UpstreamProtocol};

pub struct Seeded {
    pub user_id: i64,
    pub secret: String,
}

fn schema() -> String {
    format!("bench_{}", std::process::id())
}

/// A database URL for `backend`: a temp SQLite file, or a fresh schema of the PostgreSQL database.
pub async fn database(backend: &str, pg_url: &str) -> anyhow::Result<String> {
    match backend {
        "sqlite" => {
            let path = std::env::temp_dir().join(format!("tollgate-bench-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Ok(format!("sqlite://{}", path.display()))
        }
        "postgres" => {
            let pool = sqlx::PgPool::connect(pg_url).await?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema())).execute(&pool).await?;
            sqlx::query(&format!("CREATE SCHEMA {}", schema())).execute(&pool).await?;
            pool.close().await;
            let sep = if pg_url.contains('?') { '&' } else { '?' };
            Ok(format!("{pg_url}{sep}options=-c%20search_path%3D{}", schema()))
        }
        other => anyhow::bail!("unknown backend {other:?} (sqlite, postgres)"),
    }
}

pub async fn drop_database(backend: &str, db_url: &str, pg_url: &str) -> anyhow::Result<()> {
    if backend == "postgres" {
        let pool = sqlx::PgPool::connect(pg_url).await?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema())).execute(&pool).await?;
    } else if let Some(path) = db_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    Ok(())
}

/// A user with limits on every window of the anthropic platform (high enough never to refuse, so
/// every request takes the full admission and settlement path), an API key with its own limits on
/// every window and a lifetime budget (checked and charged on top of the user's), and the mock
/// upstream.
pub async fn seed(db_url: &str, mock_url: &str) -> anyhow::Result<Seeded> {
    let store = tollgate_store::connect(db_url).await?;
    let cap = Some(Money::from_units(1_000_000)?);
    let limits = WindowLimits { five_hour: cap, daily: cap, weekly: cap, monthly: cap };
    let user = store
        .create_user(
            &NewUser::new("bench@example.com", AuthSource::Email),
            &[(Platform::Anthropic, limits)],
            Timestamp::now(),
        )
        .await?;
    let secret = keys::generate_secret();
    let key = NewApiKey {
        user_id: user.id,
        name: "bench".into(),
        prefix: keys::shown_prefix(&secret),
        key_hash: keys::hash_secret(&secret),
        platforms: None,
        limits: vec![(Platform::Anthropic, limits)],
        lifetime_limit: cap,
    };
    store.create_api_key(&key, Timestamp::now()).await?;
    let upstream = NewUpstream {
        platform: Platform::Anthropic,
        name: "bench-mock".into(),
        base_url: mock_url.to_owned(),
        api_key: MOCK_KEY.into(),
        enabled: true,
        priority: 0,
        protocol: UpstreamProtocol::Native,
    };
    store.create_upstream(&upstream, Timestamp::now()).await?;
    Ok(Seeded { user_id: user.id, secret })
}

/// What the caller was charged today, in USD.
pub async fn charged_today(db_url: &str, user_id: i64) -> anyhow::Result<String> {
    let store = tollgate_store::connect(db_url).await?;
    let rows = store.list_by_user(user_id).await?;
    Ok(rows.first().map_or(Money::ZERO, |r| r.usage[0].usage).to_string())
}
