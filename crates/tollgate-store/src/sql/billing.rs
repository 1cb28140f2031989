//! Settlement and strict-mode reservations.

const RECORD_COLUMNS: usize = 24;
/// Records per INSERT statement (24 parameters each keeps a statement far below both backends'
/// parameter limits).
pub(crate) const RECORDS_PER_INSERT: usize = 64;
/// Prepared statements kept per connection: every batch size of the settlement insert plus the
/// other queries.
pub(crate) const STATEMENT_CACHE: usize = RECORDS_PER_INSERT + 192;

/// A multi-row insert of `n` usage records that skips request ids already settled and returns the
/// ids it inserted. The `usage_records_charge` trigger (migration 0002) charges each inserted record:
/// the quota increment and the release of its hold happen inside this one statement.
///
/// `numbered`: `$N` placeholders (PostgreSQL) or plain `?` (SQLite). sqlx resolves every `$N` on
/// SQLite through `sqlite3_bind_parameter_name`, a linear scan, which makes a statement of a thousand
/// parameters quadratic; `?` binds by position.
pub(crate) fn insert_records(n: usize, numbered: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO usage_records (request_id, user_id, api_key_id, platform, model, input_tokens, output_tokens, \
         cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_nanos, status, http_status, \
         latency_ms, upstream_id, output_estimated, created_at_ms, daily_from_ms, daily_start_ms, weekly_from_ms, \
         weekly_start_ms, monthly_from_ms, monthly_start_ms, held) VALUES ",
    );
    for row in 0..n {
        let params: Vec<String> = (1..=RECORD_COLUMNS)
            .map(|c| if numbered { format!("${}", row * RECORD_COLUMNS + c) } else { "?".to_owned() })
            .collect();
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (request_id) DO NOTHING RETURNING request_id");
    sql
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

pub(crate) const INSERT_RESERVATION: &str = "INSERT INTO quota_reservations \
     (request_id, user_id, platform, amount_nanos, expires_at_ms) VALUES ($1, $2, $3, $4, $5)";

/// Token counts are u64 in the domain and BIGINT in storage.
pub(crate) fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

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
                use $crate::sql::RowExt as _;
                use $crate::sql::billing::tokens;
                use $crate::sql::ms;
                let [d, w, m] = clock.rollovers(now).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                // One statement per chunk, each atomic on its own (the trigger runs inside it), so
                // no transaction is needed: every record is charged exactly once whatever happens.
                let mut inserted = Vec::with_capacity(records.len());
                for chunk in records.chunks($crate::sql::billing::RECORDS_PER_INSERT) {
                    let sql = $crate::sql::billing::insert_records(chunk.len(), Self::NUMBERED_PARAMS);
                    // Prepared once per connection and size (up to `RECORDS_PER_INSERT` of them, see
                    // `STATEMENT_CACHE`): planning a 64-row insert on every batch cost PostgreSQL
                    // a fifth of its settlement throughput.
                    let mut q = sqlx::query(&sql);
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
                            .bind(ms(now))
                            .bind(ms(d.current_from))
                            .bind(ms(d.new_start))
                            .bind(ms(w.current_from))
                            .bind(ms(w.new_start))
                            .bind(ms(m.current_from))
                            .bind(ms(m.new_start))
                            .bind(r.held);
                    }
                    for row in q.fetch_all(&mut *self.write_conn().await?).await? {
                        inserted.push(row.string("request_id")?);
                    }
                }
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
                let decision = tollgate_core::quota::admit(row.as_ref(), clock, now, pending)
                    .map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                if decision == tollgate_core::quota::Admission::Allow {
                    sqlx::query($crate::sql::billing::INSERT_RESERVATION)
                        .bind(&r.request_id)
                        .bind(r.user_id)
                        .bind(r.platform.as_str())
                        .bind(r.amount.nanos())
                        .bind($crate::sql::ms(r.expires_at))
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
        }
    };
}
pub(crate) use impl_billing_repo;
