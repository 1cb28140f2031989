//! Settlement and strict-mode reservations.

pub(crate) const INSERT_RECORD: &str = "INSERT INTO usage_records \
     (request_id, user_id, api_key_id, platform, model, input_tokens, output_tokens, cache_read_tokens, \
      cache_write_5m_tokens, cache_write_1h_tokens, cost_nanos, status, http_status, latency_ms, upstream_id, \
      output_estimated, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
     ON CONFLICT (request_id) DO NOTHING";

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
                use $crate::sql::billing::tokens;
                let mut outcomes = Vec::with_capacity(records.len());
                let mut tx = self.begin_write().await?;
                for r in records {
                    let inserted = sqlx::query($crate::sql::billing::INSERT_RECORD)
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
                        .bind($crate::sql::ms(now))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        outcomes.push($crate::SettleOutcome::AlreadySettled);
                        continue;
                    }
                    if r.held {
                        sqlx::query($crate::sql::billing::DELETE_RESERVATION)
                            .bind(&r.request_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Self::increment(&mut *tx, r.user_id, r.platform, r.cost, now, clock).await?;
                    outcomes.push($crate::SettleOutcome::Charged);
                }
                tx.commit().await?;
                Ok(outcomes)
            }

            async fn reserve(
                &self,
                r: &$crate::NewReservation,
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
            ) -> Result<tollgate_core::quota::Admission, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let now_ms = $crate::sql::ms(now);
                let mut tx = self.begin_write().await?;
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
                sqlx::query($crate::sql::billing::DELETE_RESERVATION).bind(request_id).execute(self.writer()).await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_billing_repo;
