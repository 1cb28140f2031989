//! The runtime quota rows (SPEC 1.4).

use tollgate_core::platform::Platform;
use tollgate_core::quota::{QuotaRow, WindowLimits, WindowUsage};
use tollgate_core::window::QuotaWindow;

use super::RowExt;
use crate::StoreError;

pub(crate) const COLUMNS: &str = "user_id, platform, daily_limit_nanos, weekly_limit_nanos, monthly_limit_nanos, \
     daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos, \
     daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, deleted_at_ms";

pub(crate) fn select_one() -> String {
    format!("SELECT {COLUMNS} FROM user_platform_quotas WHERE user_id = $1 AND platform = $2 AND deleted_at_ms IS NULL")
}

pub(crate) fn select_by_user() -> String {
    format!("SELECT {COLUMNS} FROM user_platform_quotas WHERE user_id = $1")
}

pub(crate) const INSERT_INITIAL: &str = "INSERT INTO user_platform_quotas \
     (user_id, platform, daily_limit_nanos, weekly_limit_nanos, monthly_limit_nanos, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id, platform) DO NOTHING";

/// Sets limits, reactivating a soft-deleted row; usage and window starts are untouched.
pub(crate) const UPSERT_LIMITS: &str = "INSERT INTO user_platform_quotas \
     (user_id, platform, daily_limit_nanos, weekly_limit_nanos, monthly_limit_nanos, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id, platform) DO UPDATE SET \
     daily_limit_nanos = excluded.daily_limit_nanos, weekly_limit_nanos = excluded.weekly_limit_nanos, \
     monthly_limit_nanos = excluded.monthly_limit_nanos, deleted_at_ms = NULL, updated_at_ms = excluded.updated_at_ms";

pub(crate) const SOFT_DELETE: &str = "UPDATE user_platform_quotas SET deleted_at_ms = $3, updated_at_ms = $3 \
     WHERE user_id = $1 AND platform = $2 AND deleted_at_ms IS NULL";

pub(crate) const ACTIVE_PLATFORMS: &str =
    "SELECT platform FROM user_platform_quotas WHERE user_id = $1 AND deleted_at_ms IS NULL";

pub(crate) const USER_EXISTS: &str = "SELECT id FROM users WHERE id = $1";

/// The atomic increment (the `usage_records_charge` trigger of migration 0002 applies the same rule
/// to each settled record). `$3` = cost; per window `W` (4/5, 6/7, 8/9): `$current_from`,
/// `$new_start`. A stored start at or after `current_from` is the current window: add to it and keep
/// its start; anything else (older, or NULL) is replaced by the cost under the new start. NULL
/// comparisons are NULL, so a never-started window takes the ELSE branch.
pub(crate) const INCREMENT: &str = "INSERT INTO user_platform_quotas \
     (user_id, platform, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos, \
      daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $3, $3, $5, $7, $9, $10, $10) \
     ON CONFLICT (user_id, platform) DO UPDATE SET \
     daily_usage_nanos = CASE WHEN user_platform_quotas.daily_window_start_ms >= $4 \
         THEN user_platform_quotas.daily_usage_nanos + $3 ELSE $3 END, \
     daily_window_start_ms = CASE WHEN user_platform_quotas.daily_window_start_ms >= $4 \
         THEN user_platform_quotas.daily_window_start_ms ELSE $5 END, \
     weekly_usage_nanos = CASE WHEN user_platform_quotas.weekly_window_start_ms >= $6 \
         THEN user_platform_quotas.weekly_usage_nanos + $3 ELSE $3 END, \
     weekly_window_start_ms = CASE WHEN user_platform_quotas.weekly_window_start_ms >= $6 \
         THEN user_platform_quotas.weekly_window_start_ms ELSE $7 END, \
     monthly_usage_nanos = CASE WHEN user_platform_quotas.monthly_window_start_ms >= $8 \
         THEN user_platform_quotas.monthly_usage_nanos + $3 ELSE $3 END, \
     monthly_window_start_ms = CASE WHEN user_platform_quotas.monthly_window_start_ms >= $8 \
         THEN user_platform_quotas.monthly_window_start_ms ELSE $9 END, \
     updated_at_ms = $10";

/// Zeroing one window's usage keeps its start, so the boundary does not move.
pub(crate) fn reset(window: QuotaWindow) -> &'static str {
    match window {
        QuotaWindow::Daily => {
            "UPDATE user_platform_quotas SET daily_usage_nanos = 0, updated_at_ms = $3 WHERE user_id = $1 AND platform = $2"
        }
        QuotaWindow::Weekly => {
            "UPDATE user_platform_quotas SET weekly_usage_nanos = 0, updated_at_ms = $3 WHERE user_id = $1 AND platform = $2"
        }
        QuotaWindow::Monthly => {
            "UPDATE user_platform_quotas SET monthly_usage_nanos = 0, updated_at_ms = $3 WHERE user_id = $1 AND platform = $2"
        }
    }
}

/// Decodes a row; `Ok(None)` for a platform this build does not know (kept, never deleted).
pub(crate) fn decode(r: &impl RowExt) -> Result<Option<QuotaRow>, StoreError> {
    let name = r.string("platform")?;
    let Ok(platform) = name.parse::<Platform>() else {
        tracing::warn!(platform = %name, "skipping a quota row of an unknown platform");
        return Ok(None);
    };
    let usage = |u: &str, s: &str| -> Result<WindowUsage, StoreError> {
        Ok(WindowUsage { usage: r.money(u)?, start: r.opt_time(s)? })
    };
    Ok(Some(QuotaRow {
        user_id: r.i64("user_id")?,
        platform,
        limits: WindowLimits {
            daily: r.opt_money("daily_limit_nanos")?,
            weekly: r.opt_money("weekly_limit_nanos")?,
            monthly: r.opt_money("monthly_limit_nanos")?,
        },
        usage: [
            usage("daily_usage_nanos", "daily_window_start_ms")?,
            usage("weekly_usage_nanos", "weekly_window_start_ms")?,
            usage("monthly_usage_nanos", "monthly_window_start_ms")?,
        ],
        active: r.opt_i64("deleted_at_ms")?.is_none(),
    }))
}

/// Refuses a platform listed twice in a full replacement.
pub(crate) fn check_unique(records: &[(Platform, WindowLimits)]) -> Result<(), StoreError> {
    for (i, (p, _)) in records.iter().enumerate() {
        if records[..i].iter().any(|(q, _)| q == p) {
            return Err(StoreError::Invalid(format!("platform {p} is listed twice")));
        }
    }
    Ok(())
}

macro_rules! impl_quota_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::QuotaRepo for $store {
            async fn get_by_user_platform(
                &self,
                user_id: i64,
                platform: tollgate_core::platform::Platform,
            ) -> Result<Option<tollgate_core::quota::QuotaRow>, $crate::StoreError> {
                let row = sqlx::query(&$crate::sql::quotas::select_one())
                    .bind(user_id)
                    .bind(platform.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => $crate::sql::quotas::decode(&r),
                    None => Ok(None),
                }
            }

            async fn bulk_insert_initial(&self, records: &[$crate::NewQuota]) -> Result<(), $crate::StoreError> {
                let now = $crate::sql::ms(jiff::Timestamp::now());
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                for r in records {
                    sqlx::query($crate::sql::quotas::INSERT_INITIAL)
                        .bind(r.user_id)
                        .bind(r.platform.as_str())
                        .bind($crate::sql::opt_nanos(r.limits.daily))
                        .bind($crate::sql::opt_nanos(r.limits.weekly))
                        .bind($crate::sql::opt_nanos(r.limits.monthly))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn increment_usage_with_reset(
                &self,
                user_id: i64,
                platform: tollgate_core::platform::Platform,
                cost: tollgate_core::money::Money,
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
            ) -> Result<(), $crate::StoreError> {
                Self::increment(&mut *self.write_conn().await?, user_id, platform, cost, now, clock).await
            }

            async fn list_by_user(
                &self,
                user_id: i64,
            ) -> Result<Vec<tollgate_core::quota::QuotaRow>, $crate::StoreError> {
                let rows =
                    sqlx::query(&$crate::sql::quotas::select_by_user()).bind(user_id).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::quotas::decode(r)?);
                }
                out.sort_by_key(|q| q.platform);
                Ok(out)
            }

            async fn upsert_for_user_audited(
                &self,
                user_id: i64,
                records: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::RowExt as _;
                $crate::sql::quotas::check_unique(records)?;
                let now = $crate::sql::ms(jiff::Timestamp::now());
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                sqlx::query($crate::sql::quotas::USER_EXISTS)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let active =
                    sqlx::query($crate::sql::quotas::ACTIVE_PLATFORMS).bind(user_id).fetch_all(&mut *tx).await?;
                for row in &active {
                    let name = row.string("platform")?;
                    if !records.iter().any(|(p, _)| p.as_str() == name) {
                        sqlx::query($crate::sql::quotas::SOFT_DELETE)
                            .bind(user_id)
                            .bind(&name)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for (platform, limits) in records {
                    sqlx::query($crate::sql::quotas::UPSERT_LIMITS)
                        .bind(user_id)
                        .bind(platform.as_str())
                        .bind($crate::sql::opt_nanos(limits.daily))
                        .bind($crate::sql::opt_nanos(limits.weekly))
                        .bind($crate::sql::opt_nanos(limits.monthly))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn reset_window_audited(
                &self,
                user_id: i64,
                platform: tollgate_core::platform::Platform,
                window: tollgate_core::window::QuotaWindow,
                now: jiff::Timestamp,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let done = sqlx::query($crate::sql::quotas::reset(window))
                    .bind(user_id)
                    .bind(platform.as_str())
                    .bind($crate::sql::ms(now))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err($crate::StoreError::NotFound);
                }
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            /// The increment on any executor, so settlement can run it inside its transaction.
            pub(crate) async fn increment<'e, E>(
                ex: E,
                user_id: i64,
                platform: tollgate_core::platform::Platform,
                cost: tollgate_core::money::Money,
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
            ) -> Result<(), $crate::StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                use tollgate_core::window::QuotaWindow;
                let roll = |w| clock.rollover(w, now).map_err(|e| $crate::StoreError::Invalid(e.to_string()));
                let (d, w, m) = (roll(QuotaWindow::Daily)?, roll(QuotaWindow::Weekly)?, roll(QuotaWindow::Monthly)?);
                use $crate::sql::ms;
                sqlx::query($crate::sql::quotas::INCREMENT)
                    .bind(user_id)
                    .bind(platform.as_str())
                    .bind(cost.nanos())
                    .bind(ms(d.current_from))
                    .bind(ms(d.new_start))
                    .bind(ms(w.current_from))
                    .bind(ms(w.new_start))
                    .bind(ms(m.current_from))
                    .bind(ms(m.new_start))
                    .bind(ms(now))
                    .execute(ex)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_quota_repo;
