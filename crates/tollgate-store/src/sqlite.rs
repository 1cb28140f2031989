//! The SQLite adapter: WAL, `synchronous=NORMAL`, a busy timeout, and `BEGIN IMMEDIATE` for every
//! transaction that reads then writes.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Pool, Sqlite, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A store on one SQLite file.
///
/// Reads use a pool of connections; every write goes through one dedicated writer connection, so
/// writers in this process queue on it (asynchronously) instead of colliding on SQLite's file lock
/// and sleeping in its busy handler. The writer is a plain connection behind a mutex, not a pool
/// of one: sqlx's pool pings a connection each time it is returned, which doubled the work of
/// every write on this hot path (settlement) and held the writer while it did.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: Pool<Sqlite>,
    writer: Arc<Mutex<SqliteConnection>>,
    /// Runs the WAL checkpoints (see `checkpoint`).
    checkpointer: Arc<Mutex<SqliteConnection>>,
}

impl SqliteStore {
    /// SQLite has no row locks; `BEGIN IMMEDIATE` already holds the database's write lock.
    pub(crate) const LOCK_ROW: &'static str = "";
    /// A claim needs no row lock either (see `LOCK_ROW`).
    pub(crate) const SKIP_LOCKED: &'static str = "";
    /// Multi-row inserts built at run time use `?`: sqlx binds `$N` on SQLite by a linear name scan.
    pub(crate) const NUMBERED_PLACEHOLDERS: bool = false;

    /// Opens (creating the file and its folder if missing) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .page_size(1024)
            .statement_cache_capacity(crate::sql::billing::STATEMENT_CACHE)
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Checkpoints run from `maintain` (off the commit path), not inside whichever commit crosses
        // the WAL size threshold. When the WAL starts over, its file is cut back to 64 MiB.
        let mut writer = options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", (crate::checkpoint::WAL_RESTART_FRAMES * 4096).to_string())
            .connect()
            .await?;
        MIGRATOR.run(&mut writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            // The default pings a connection before each use: a round trip to its worker thread
            // per read, for a file that cannot go away under us.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let checkpointer = options.connect().await?;
        Ok(Self { pool, writer: Arc::new(Mutex::new(writer)), checkpointer: Arc::new(Mutex::new(checkpointer)) })
    }

    /// The connection every write uses, held until the guard drops. A transaction dropped without
    /// commit queues its rollback on the connection first, so the next holder starts clean.
    pub(crate) async fn write_conn(&self) -> Result<MutexGuard<'_, SqliteConnection>, StoreError> {
        Ok(self.writer.lock().await)
    }

    /// A write transaction on `conn` that takes the write lock up front.
    pub(crate) async fn begin_on(conn: &mut SqliteConnection) -> Result<Transaction<'_, Sqlite>, StoreError> {
        Ok(conn.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Inserts settlements; the statement's trigger charges them (see `sql::billing`).
    pub(crate) async fn insert_settlements(
        &self,
        records: &[crate::NewUsageRecord],
        now: jiff::Timestamp,
        rollovers: &[tollgate_core::window::Rollover; 4],
    ) -> Result<Vec<String>, StoreError> {
        crate::sql::billing::insert_sqlite(&mut *self.write_conn().await?, records, now, rollovers).await
    }
}

crate::sql::impl_row_ext!(SqliteRow);
crate::sql::impl_sql_store!(SqliteStore, Sqlite);

#[async_trait::async_trait]
impl crate::Health for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        let frames = crate::checkpoint::passive(&mut *self.checkpointer.lock().await).await?;
        if frames >= crate::checkpoint::WAL_RESTART_FRAMES {
            crate::checkpoint::passive(&mut *self.writer.lock().await).await?;
        }
        Ok(())
    }
}
