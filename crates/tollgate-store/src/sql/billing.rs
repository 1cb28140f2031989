//! Settlement and strict-mode reservations.

use std::sync::LazyLock;

use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use tollgate_core::window::Rollover;

use super::{RowExt as _, ms};
use crate::{NewUsageRecord, StoreError};

const RECORD_COLUMNS: usize = 30;
/// Records per INSERT statement on SQLite (30 parameters each keeps a statement far below its
/// parameter limit).
pub(crate) const RECORDS_PER_INSERT: usize = 64;
/// Prepared statements kept per connection: every batch size of the SQLite settlement insert plus
/// the other queries.
pub(crate) const STATEMENT_CACHE: usize = RECORDS_PER_INSERT + 192;

const INSERT_COLUMNS: &str = "INSERT INTO usage_records (request_id, user_id, api_key_id, platform, model, \
     input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_nanos, \
     status, http_status, latency_ms, upstream_id, output_estimated, held, tool_calls, tool_cost_nanos, ttfb_ms, \
     client_request_id, created_at_ms, five_hour_from_ms, five_hour_start_ms, daily_from_ms, daily_start_ms, \
     weekly_from_ms, weekly_start_ms, monthly_from_ms, monthly_start_ms)";

/// The SQLite insert of `n` records (index `n - 1`), built once: a multi-row VALUES with plain `?`.
/// sqlx resolves every `$N` on SQLite through `sqlite3_bind_parameter_name`, a linear scan, which
/// makes a statement of a thousand parameters quadratic; `?` binds by position.
static SQLITE_INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let row = format!("({})", vec!["?"; RECORD_COLUMNS].join(", "));
    (1..=RECORDS_PER_INSERT)
        .map(|n| format!("{INSERT_COLUMNS} VALUES {} {RETURNING}", vec![row.as_str(); n].join(", ")))
        .collect()
});

/// Skips request ids already settled and returns the ids inserted. The `usage_records_charge`
/// trigger (migrations 0002/0003) charges the inserted records inside the same statement: quota
/// increment and the release of strict-mode holds.
const RETURNING: &str = "ON CONFLICT (request_id) DO NOTHING RETURNING request_id";

/// The PostgreSQL insert of any number of records: one array per column, so one prepared statement
/// serves every batch size and a batch binds 30 values instead of 30 per record.
static POSTGRES_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{INSERT_COLUMNS} SELECT r.*, $22, $23, $24, $25, $26, $27, $28, $29, $30 FROM UNNEST($1::text[], \
         $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], \
         $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[], $16::boolean[], \
         $17::boolean[], $18::text[], $19::bigint[], $20::bigint[], $21::text[]) AS r {RETURNING}"
    )
});

/// A record's tool calls as stored: a JSON object, NULL when there were none.
pub(crate) fn tool_calls(r: &NewUsageRecord) -> Option<String> {
    let calls = &r.usage.tool_calls;
    if calls.is_empty() { None } else { serde_json::to_string(calls).ok() }
}

/// Token counts are u64 in the domain and BIGINT in storage.
pub(crate) fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The batch's own columns: when it was settled and its window rule (the same for every record),
/// in the order of `INSERT_COLUMNS` (windows in `QuotaWindow::ALL` order).
fn batch_columns(now: jiff::Timestamp, [f, d, w, m]: &[Rollover; 4]) -> [i64; 9] {
    [
        ms(now),
        ms(f.current_from),
        ms(f.new_start),
        ms(d.current_from),
        ms(d.new_start),
        ms(w.current_from),
        ms(w.new_start),
        ms(m.current_from),
        ms(m.new_start),
    ]
}

/// Inserts (and so charges) `records` on SQLite, 64 per statement. Each statement is atomic on its
/// own (the trigger runs inside it), so no transaction is needed: every record is charged exactly
/// once whatever happens.
pub(crate) async fn insert_sqlite(
    conn: &mut SqliteConnection,
    records: &[NewUsageRecord],
    now: jiff::Timestamp,
    rollovers: &[Rollover; 4],
) -> Result<Vec<String>, StoreError> {
    let batch = batch_columns(now, rollovers);
    let mut inserted = Vec::with_capacity(records.len());
    for chunk in records.chunks(RECORDS_PER_INSERT) {
        // Prepared once per connection and size (see `STATEMENT_CACHE`).
        let mut q = sqlx::query(&SQLITE_INSERTS[chunk.len() - 1]);
        for r in chunk {
            q = q
                .bind(&r.request_id)
                .bind(r.user_id)
                .bind(r.api_key_id)
                .bind(r.platform.as_str())
                .bind(&r.model)
                .bind(tokens(r.usage.input_tokens))
                .bind(tokens(r.usage.output_tokens))
                .bind(tokens(r.usage.cache_read_tokens))
                .bind(tokens(r.usage.cache_write_5m_tokens))
                .bind(tokens(r.usage.cache_write_1h_tokens))
                .bind(r.cost.nanos())
                .bind(&r.status)
                .bind(r.http_status)
                .bind(r.latency_ms)
                .bind(r.upstream_id)
                .bind(r.output_estimated)
                .bind(r.held)
                .bind(tool_calls(r))
                .bind(r.tool_cost.nanos())
                .bind(r.ttfb_ms)
                .bind(&r.client_request_id);
            for v in batch {
                q = q.bind(v);
            }
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.push(row.string("request_id")?);
        }
    }
    Ok(inserted)
}

/// Inserts (and so charges) `records` on PostgreSQL in one statement.
pub(crate) async fn insert_postgres(
    conn: &mut PgConnection,
    records: &[NewUsageRecord],
    now: jiff::Timestamp,
    rollovers: &[Rollover; 4],
) -> Result<Vec<String>, StoreError> {
    fn column<'a, T>(records: &'a [NewUsageRecord], f: impl Fn(&'a NewUsageRecord) -> T) -> Vec<T> {
        records.iter().map(f).collect()
    }
    let mut q = sqlx::query(&POSTGRES_INSERT)
        .bind(column(records, |r| r.request_id.as_str()))
        .bind(column(records, |r| r.user_id))
        .bind(column(records, |r| r.api_key_id))
        .bind(column(records, |r| r.platform.as_str()))
        .bind(column(records, |r| r.model.as_str()))
        .bind(column(records, |r| tokens(r.usage.input_tokens)))
        .bind(column(records, |r| tokens(r.usage.output_tokens)))
        .bind(column(records, |r| tokens(r.usage.cache_read_tokens)))
        .bind(column(records, |r| tokens(r.usage.cache_write_5m_tokens)))
        .bind(column(records, |r| tokens(r.usage.cache_write_1h_tokens)))
        .bind(column(records, |r| r.cost.nanos()))
        .bind(column(records, |r| r.status.as_str()))
        .bind(column(records, |r| r.http_status))
        .bind(column(records, |r| r.latency_ms))
        .bind(column(records, |r| r.upstream_id))
        .bind(column(records, |r| r.output_estimated))
        .bind(column(records, |r| r.held))
        .bind(column(records, tool_calls))
        .bind(column(records, |r| r.tool_cost.nanos()))
        .bind(column(records, |r| r.ttfb_ms))
        .bind(column(records, |r| r.client_request_id.as_deref()));
    for v in batch_columns(now, rollovers) {
        q = q.bind(v);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(|row| row.string("request_id")).collect()
}

/// Which records of a batch were charged: the first occurrence of each id the insert returned.
pub(crate) fn outcomes(records: &[crate::NewUsageRecord], inserted: &[String]) -> Vec<crate::SettleOutcome> {
    let mut fresh: std::collections::HashSet<&str> = inserted.iter().map(String::as_str).collect();
    records
        .iter()
        .map(|r| {
            if fresh.remove(r.request_id.as_str()) {
                crate::SettleOutcome::Charged
            } else {
                crate::SettleOutcome::AlreadySettled
            }
        })
        .collect()
}

pub(crate) const DELETE_RESERVATION: &str = "DELETE FROM quota_reservations WHERE request_id = $1";

pub(crate) const DELETE_EXPIRED: &str =
    "DELETE FROM quota_reservations WHERE user_id = $1 AND platform = $2 AND expires_at_ms <= $3";

// PostgreSQL sums BIGINT as NUMERIC; the cast keeps one decoded type on both backends.
pub(crate) const RESERVED: &str = "SELECT CAST(COALESCE(SUM(amount_nanos), 0) AS BIGINT) AS n FROM quota_reservations \
     WHERE user_id = $1 AND platform = $2 AND expires_at_ms > $3";

pub(crate) const RENEW_RESERVATION: &str = "UPDATE quota_reservations SET expires_at_ms = $2 WHERE request_id = $1";

pub(crate) const INSERT_RESERVATION: &str = "INSERT INTO quota_reservations \
     (request_id, user_id, platform, amount_nanos, expires_at_ms, api_key_id) VALUES ($1, $2, $3, $4, $5, $6)";

/// What is held on a key: on one platform (`$2`), and on all of them (`$2` NULL) for its lifetime
/// budget.
pub(crate) const RESERVED_KEY: &str = "SELECT CAST(COALESCE(SUM(amount_nanos), 0) AS BIGINT) AS n \
     FROM quota_reservations WHERE api_key_id = $1 AND (CAST($2 AS TEXT) IS NULL OR platform = $2) \
     AND expires_at_ms > $3";

macro_rules! impl_billing_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::BillingRepo for $store {
            async fn settle_batch(
                &self,
                records: &[$crate::NewUsageRecord],
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
            ) -> Result<Vec<$crate::SettleOutcome>, $crate::StoreError> {
                let rollovers = clock.rollovers(now).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let inserted = self.insert_settlements(records, now, &rollovers).await?;
                Ok($crate::sql::billing::outcomes(records, &inserted))
            }

            async fn reserve(
                &self,
                r: &$crate::NewReservation,
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
            ) -> Result<tollgate_core::quota::Admission, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let now_ms = $crate::sql::ms(now);
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                // Lock the quota row first: every reserve and settle of this (user, platform) queues here.
                let row = sqlx::query(&format!("{}{}", $crate::sql::quotas::select_one(), Self::LOCK_ROW))
                    .bind(r.user_id)
                    .bind(r.platform.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let row = match row {
                    Some(row) => $crate::sql::quotas::decode(&row)?,
                    None => None,
                };
                sqlx::query($crate::sql::billing::DELETE_EXPIRED)
                    .bind(r.user_id)
                    .bind(r.platform.as_str())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                let held = sqlx::query($crate::sql::billing::RESERVED)
                    .bind(r.user_id)
                    .bind(r.platform.as_str())
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await?
                    .money("n")?;
                let pending = held.saturating_add(r.amount);
                let window_error = |e: tollgate_core::window::WindowError| $crate::StoreError::Invalid(e.to_string());
                let mut decision =
                    tollgate_core::quota::admit(row.as_ref(), clock, now, pending).map_err(window_error)?;
                // The key's own rows: locked after the user's (the settlement trigger's order), then
                // checked with what is held on the key (this platform; all platforms for its
                // lifetime budget).
                if let (Some(key_id), tollgate_core::quota::Admission::Allow) = (r.api_key_id, decision) {
                    let mut key_row = sqlx::query(&$crate::sql::quotas::select_key(Self::LOCK_ROW))
                        .bind(key_id)
                        .bind(r.platform.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    // PostgreSQL locks the key (`FOR UPDATE OF k`), and a lock that had to wait for
                    // a settlement re-reads only that locked row: the joined usage row would still
                    // be the one from before the settlement, whose hold is gone by now, so its
                    // charge would count nowhere. Read the row again, after the lock.
                    if !Self::LOCK_ROW.is_empty() {
                        key_row = sqlx::query(&$crate::sql::quotas::select_key(""))
                            .bind(key_id)
                            .bind(r.platform.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                    }
                    let key_row = match key_row {
                        Some(row) => $crate::sql::quotas::decode(&row)?,
                        None => None,
                    };
                    let mut key_held = [tollgate_core::money::Money::ZERO; 2];
                    for (slot, platform) in key_held.iter_mut().zip([Some(r.platform.as_str()), None]) {
                        *slot = sqlx::query($crate::sql::billing::RESERVED_KEY)
                            .bind(key_id)
                            .bind(platform)
                            .bind(now_ms)
                            .fetch_one(&mut *tx)
                            .await?
                            .money("n")?;
                    }
                    decision = tollgate_core::quota::admit_with_lifetime(
                        key_row.as_ref(),
                        clock,
                        now,
                        key_held[0].saturating_add(r.amount),
                        key_held[1].saturating_add(r.amount),
                    )
                    .map_err(window_error)?;
                }
                if decision == tollgate_core::quota::Admission::Allow {
                    sqlx::query($crate::sql::billing::INSERT_RESERVATION)
                        .bind(&r.request_id)
                        .bind(r.user_id)
                        .bind(r.platform.as_str())
                        .bind(r.amount.nanos())
                        .bind($crate::sql::ms(r.expires_at))
                        .bind(r.api_key_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(decision)
            }

            async fn release(&self, request_id: &str) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::billing::DELETE_RESERVATION)
                    .bind(request_id)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }

            async fn renew_reservation(
                &self,
                request_id: &str,
                expires_at: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::billing::RENEW_RESERVATION)
                    .bind(request_id)
                    .bind($crate::sql::ms(expires_at))
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_billing_repo;
