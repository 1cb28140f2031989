//! The PostgreSQL adapter, for several gateway processes sharing one database.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, Connection, Pool, Postgres, Transaction};
use tokio::sync::Mutex;

use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The settlement connection's `application_name` (visible in `pg_stat_activity`).
pub const SETTLER_NAME: &str = "tollgate-settle";

/// A store on a PostgreSQL database (or one schema of it).
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: Pool<Postgres>,
    /// The settlement worker's own connection, outside the pool: sqlx pings a pooled connection
    /// each time it goes back, one more round trip per settlement batch (docs/benchmarks.md).
    /// Empty until first used, and again after a failed statement, so a broken connection is
    /// replaced by the next batch.
    settler: Arc<Mutex<Option<PgConnection>>>,
    options: PgConnectOptions,
}

impl PgStore {
    /// Serializes read-then-write transactions on the row they read.
    pub(crate) const LOCK_ROW: &'static str = " FOR UPDATE";
    /// Multi-row inserts built at run time use `$N` placeholders.
    pub(crate) const NUMBERED_PLACEHOLDERS: bool = true;
    /// Claims rows no other transaction holds, skipping those that one does (the alert outbox).
    pub(crate) const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    /// Connects and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
        Self::connect_with(options).await
    }

    /// Connects with `search_path` set to `schema` (created if missing) and migrates inside it.
    /// Tests use one schema each.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Invalid(format!("bad schema name {schema:?}")));
        }
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
        let admin = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&admin).await?;
        admin.close().await;
        Self::connect_with(options.options([("search_path", schema)])).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let options = options.statement_cache_capacity(crate::sql::billing::STATEMENT_CACHE);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // The default pings each connection before handing it out: one more round trip to the
            // server per query. A connection that broke while idle fails its query instead (the
            // caller's retry gets a fresh one).
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, settler: Arc::default(), options })
    }

    /// Writes share the pool: PostgreSQL locks rows, not the database.
    pub(crate) async fn write_conn(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    pub(crate) async fn begin_on(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, StoreError> {
        Ok(conn.begin().await?)
    }

    /// Inserts settlements; the statement's trigger charges them (see `sql::billing`).
    pub(crate) async fn insert_settlements(
        &self,
        records: &[crate::NewUsageRecord],
        now: jiff::Timestamp,
        rollovers: &[tollgate_core::window::Rollover; 4],
    ) -> Result<Vec<String>, StoreError> {
        let mut slot = self.settler.lock().await;
        // Taken out while in use: if this future is dropped mid-statement, the connection (in an
        // unknown protocol state) goes with it.
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => self.options.clone().application_name(SETTLER_NAME).connect().await?,
        };
        let inserted = crate::sql::billing::insert_postgres(&mut conn, records, now, rollovers).await?;
        *slot = Some(conn);
        Ok(inserted)
    }
}

crate::sql::impl_row_ext!(PgRow);
crate::sql::impl_sql_store!(PgStore, Postgres);

#[async_trait::async_trait]
impl crate::Health for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    fn backend(&self) -> &'static str {
        "postgres"
    }
}
