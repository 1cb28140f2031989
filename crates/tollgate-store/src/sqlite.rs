//! The SQLite adapter: WAL, `synchronous=NORMAL`, a busy timeout, and `BEGIN IMMEDIATE` for every
//! transaction that reads then writes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A store on one SQLite file.
///
/// Reads use a pool of connections; every write goes through one dedicated writer connection, so
/// writers in this process queue on it (asynchronously) instead of colliding on SQLite's file lock
/// and sleeping in its busy handler.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: Pool<Sqlite>,
    writer: Pool<Sqlite>,
}

impl SqliteStore {
    /// SQLite has no row locks; `BEGIN IMMEDIATE` already holds the database's write lock.
    pub(crate) const LOCK_ROW: &'static str = "";
    /// Large generated statements use positional `?` here (see `sql::billing::insert_records`).
    pub(crate) const NUMBERED_PARAMS: bool = false;

    /// Opens (creating the file and its folder if missing) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // Checkpoints fsync the database file; run them from `maintain` (off the commit path),
            // not inside whichever commit crosses the WAL size threshold.
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        MIGRATOR.run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }

    /// The connection every write uses.
    pub(crate) fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    /// A write transaction that takes the write lock up front.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
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
        // PASSIVE never blocks writers or readers; it copies what it can.
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        Ok(())
    }
}
