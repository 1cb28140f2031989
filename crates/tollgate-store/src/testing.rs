//! Test databases: a fresh SQLite file, or a fresh schema of the PostgreSQL database named by
//! `TOLLGATE_TEST_PG_URL`. Used by this crate's contract suite and the server's integration tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Store, StoreError};

/// The environment variable naming the PostgreSQL database for tests. Unset or `none`: PostgreSQL
/// tests are skipped (the project's test script always sets it). Set but unreachable: they fail.
pub const PG_URL_VAR: &str = "TOLLGATE_TEST_PG_URL";

/// A test database that can be opened more than once (several pools, several gateway processes).
#[derive(Debug, Clone)]
pub enum TestDb {
    Sqlite { url: String },
    Postgres { url: String, schema: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A new SQLite file under the system temp folder.
    pub fn sqlite() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("tollgate-test-{}-{nanos}-{n}.db", std::process::id()));
        TestDb::Sqlite { url: format!("sqlite://{}", path.display()) }
    }

    /// A fresh schema named after `name` in the PostgreSQL test database, or `None` when PostgreSQL
    /// tests are not requested. Panics when the variable names a database that does not answer, so
    /// a missing database fails the suite instead of skipping it.
    pub async fn postgres(name: &str) -> Option<Self> {
        let url = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty() && u != "none")?;
        let schema = format!(
            "tg_{}_{}",
            name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id()
        );
        let pool = sqlx::PgPool::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{PG_URL_VAR}={} does not answer: {e}", crate::redact_url(&url)));
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("cannot reset schema {schema}: {e}"));
        pool.close().await;
        Some(TestDb::Postgres { url, schema })
    }

    /// Opens a new pool on this database (migrating it on first use).
    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            TestDb::Sqlite { url } => Ok(Arc::new(crate::sqlite::SqliteStore::connect(url).await?)),
            TestDb::Postgres { url, schema } => {
                Ok(Arc::new(crate::postgres::PgStore::connect_in_schema(url, schema).await?))
            }
        }
    }

    /// The URL a separate process would use (PostgreSQL: with the schema as its search path).
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { url } => url.clone(),
            TestDb::Postgres { url, schema } => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}options=-c%20search_path%3D{schema}")
            }
        }
    }
}

impl TestDb {
    /// Runs raw SQL on this database, for tests that need rows no repository writes yet (usage
    /// records) or states no repository produces.
    pub async fn exec(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            TestDb::Sqlite { url } => {
                let pool = sqlx::SqlitePool::connect(url).await?;
                sqlx::raw_sql(sql).execute(&pool).await?;
                pool.close().await;
            }
            TestDb::Postgres { url, schema } => {
                use std::str::FromStr;
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?
                    .options([("search_path", schema.as_str())]);
                let pool = sqlx::PgPool::connect_with(options).await?;
                sqlx::raw_sql(sql).execute(&pool).await?;
                pool.close().await;
            }
        }
        Ok(())
    }
}
