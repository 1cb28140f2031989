//! SQLite WAL checkpoints, kept off the commit path: a settlement's answer waits for its commit
//! (SPEC 2.4), so whatever slows commits shows in every answer's latency.
//!
//! Measured (docs/benchmarks.md): at 1,000 settlements a second the WAL grows by about 5,000 frames a
//! second, and copying them back into the database takes 50–110 ms each second. So:
//! - the copying runs on a connection of its own (not the writer, not a reader of the pool);
//! - a checkpoint by a connection other than the writer can never catch up with a writer that keeps
//!   appending, so under steady load the WAL would never start over and would grow without bound.
//!   Once it passes [`WAL_RESTART_FRAMES`], the writer checkpoints the few frames left itself
//!   (holding the writer, so none are added meanwhile) and its next commit starts the WAL over.

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::StoreError;

/// 64 MiB of 4 KiB pages.
pub(crate) const WAL_RESTART_FRAMES: i64 = 16_384;

/// A passive checkpoint on `conn` (never waits for readers or writers). Returns the frames in the
/// WAL.
pub(crate) async fn passive(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(conn).await?;
    Ok(row.try_get::<i64, _>(1)?)
}
