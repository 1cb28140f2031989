//! The runtime quota rows (SPEC 1.4).

use std::sync::LazyLock;

use tollgate_core::platform::Platform;
use tollgate_core::quota::{Lifetime, QuotaOwner, QuotaRow, WindowLimits, WindowUsage};
use tollgate_core::window::QuotaWindow;

use super::RowExt;
use crate::StoreError;

/// Each window's four columns (limit, usage, start, top-up), in [`QuotaWindow::ALL`] order;
/// `prefix` qualifies them, `zero_default` reads a missing row (outer join) as no usage.
fn window_columns(prefix: &str, zero_default: bool) -> String {
    let mut out = Vec::new();
    for w in QuotaWindow::ALL {
        let w = w.as_str();
        out.push(format!("{prefix}{w}_limit_nanos"));
        out.push(format!("{prefix}{w}_window_start_ms"));
        for col in [format!("{w}_usage_nanos"), format!("{w}_topup_nanos")] {
            out.push(if zero_default {
                format!("COALESCE({prefix}{col}, 0) AS {col}")
            } else {
                format!("{prefix}{col}")
            });
        }
    }
    out.join(", ")
}

/// A user's rows, shaped like a key's (no key, no lifetime budget).
static USER_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT user_id, CAST(NULL AS BIGINT) AS key_id, platform, {}, deleted_at_ms, \
         CAST(NULL AS BIGINT) AS lifetime_limit_nanos, CAST(0 AS BIGINT) AS lifetime_usage_nanos \
         FROM user_platform_quotas",
        window_columns("", false)
    )
});

pub(crate) fn select_one() -> String {
    format!("{} WHERE user_id = $1 AND platform = $2 AND deleted_at_ms IS NULL", *USER_SELECT)
}

pub(crate) fn select_by_user() -> String {
    format!("{} WHERE user_id = $1", *USER_SELECT)
}

/// A key's row of platform `$2` (`$1` = key id), or all zero when it has none yet: one row for every
/// key that is not revoked, so its lifetime budget is checked on a platform it never used. `lock`
/// locks the key (PostgreSQL `FOR UPDATE OF k`): every strict-mode hold of a key queues there.
pub(crate) fn select_key(lock: &str) -> String {
    format!(
        "SELECT k.user_id, k.id AS key_id, CAST($2 AS TEXT) AS platform, {}, q.deleted_at_ms, \
         k.lifetime_limit_nanos, k.lifetime_usage_nanos \
         FROM api_keys k LEFT JOIN key_platform_quotas q ON q.key_id = k.id AND q.platform = $2 \
         WHERE k.id = $1 AND k.revoked_at_ms IS NULL{}",
        window_columns("q.", true),
        if lock.is_empty() { "" } else { " FOR UPDATE OF k" }
    )
}

/// Every row of a key (soft-deleted ones included) with its lifetime budget.
pub(crate) fn select_by_key() -> String {
    format!(
        "SELECT k.user_id, k.id AS key_id, q.platform, {}, q.deleted_at_ms, k.lifetime_limit_nanos, \
         k.lifetime_usage_nanos FROM key_platform_quotas q JOIN api_keys k ON k.id = q.key_id WHERE q.key_id = $1",
        window_columns("q.", false)
    )
}

/// `$1` owner (user id, or key id with `$8` its user), `$2` platform, `$3..$6` the four limits,
/// `$7` now. Inserts a row with these limits, or sets them on the existing row (reactivating a
/// soft-deleted one); usage, starts and top-ups are untouched. `keep` leaves an existing row alone.
fn upsert_limits(table: &str, keep: bool) -> String {
    let (owner, extra_col, extra_val) = match table {
        "key_platform_quotas" => ("key_id", ", user_id", ", $8"),
        _ => ("user_id", "", ""),
    };
    let limits: Vec<String> = QuotaWindow::ALL.iter().map(|w| format!("{}_limit_nanos", w.as_str())).collect();
    let action = if keep {
        "NOTHING".to_owned()
    } else {
        let set: Vec<String> = limits.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        format!("UPDATE SET {}, deleted_at_ms = NULL, updated_at_ms = excluded.updated_at_ms", set.join(", "))
    };
    format!(
        "INSERT INTO {table} ({owner}{extra_col}, platform, {}, created_at_ms, updated_at_ms) \
         VALUES ($1{extra_val}, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT ({owner}, platform) DO {action}",
        limits.join(", ")
    )
}

pub(crate) static INSERT_INITIAL: LazyLock<String> = LazyLock::new(|| upsert_limits("user_platform_quotas", true));

/// Sets limits, reactivating a soft-deleted row; usage and window starts are untouched.
pub(crate) static UPSERT_LIMITS: LazyLock<String> = LazyLock::new(|| upsert_limits("user_platform_quotas", false));

pub(crate) static UPSERT_KEY_LIMITS: LazyLock<String> = LazyLock::new(|| upsert_limits("key_platform_quotas", false));

/// The statements of a full replacement of an owner's limits: its active platforms (`$1` owner),
/// the soft delete of one (`$1` owner, `$2` platform, `$3` now) and the upsert ([`upsert_limits`]).
pub(crate) struct Replace {
    pub active: String,
    pub soft_delete: String,
    pub upsert: &'static str,
}

pub(crate) fn replace(owner: QuotaOwner) -> Replace {
    let (table, column, upsert) = match owner {
        QuotaOwner::User(_) => ("user_platform_quotas", "user_id", UPSERT_LIMITS.as_str()),
        QuotaOwner::Key(_) => ("key_platform_quotas", "key_id", UPSERT_KEY_LIMITS.as_str()),
    };
    Replace {
        active: format!("SELECT platform FROM {table} WHERE {column} = $1 AND deleted_at_ms IS NULL"),
        soft_delete: format!(
            "UPDATE {table} SET deleted_at_ms = $3, updated_at_ms = $3 \
             WHERE {column} = $1 AND platform = $2 AND deleted_at_ms IS NULL"
        ),
        upsert,
    }
}

pub(crate) const USER_EXISTS: &str = "SELECT id FROM users WHERE id = $1";

/// The user's key that is not revoked (`$1` user, `$2` key).
pub(crate) const OWN_KEY: &str = "SELECT id FROM api_keys WHERE user_id = $1 AND id = $2 AND revoked_at_ms IS NULL";

pub(crate) const SET_LIFETIME: &str = "UPDATE api_keys SET lifetime_limit_nanos = $2 WHERE id = $1";

/// The atomic increment (the `usage_records_charge` trigger of migration 0007 applies the same rule
/// to each settled record, and resets top-ups with their window). `$3` = cost, `$4` = now; then per
/// window in [`QuotaWindow::ALL`] order `$current_from`, `$new_start`. A stored start at or after
/// `current_from` is the current window: add to it and keep its start; anything else (older, or
/// NULL) is replaced by the cost under the new start. NULL comparisons are NULL, so a never-started
/// window takes the ELSE branch.
pub(crate) static INCREMENT: LazyLock<String> = LazyLock::new(|| {
    let mut usage = Vec::new();
    let mut starts = Vec::new();
    let mut set = Vec::new();
    for (i, w) in QuotaWindow::ALL.iter().enumerate() {
        let w = w.as_str();
        let (from, start) = (5 + 2 * i, 6 + 2 * i);
        usage.push(format!("{w}_usage_nanos"));
        starts.push(format!("{w}_window_start_ms"));
        let cur = format!("user_platform_quotas.{w}_window_start_ms >= ${from}");
        set.push(format!(
            "{w}_usage_nanos = CASE WHEN {cur} THEN user_platform_quotas.{w}_usage_nanos + $3 ELSE $3 END"
        ));
        set.push(format!("{w}_topup_nanos = CASE WHEN {cur} THEN user_platform_quotas.{w}_topup_nanos ELSE 0 END"));
        set.push(format!(
            "{w}_window_start_ms = CASE WHEN {cur} THEN user_platform_quotas.{w}_window_start_ms ELSE ${start} END"
        ));
    }
    format!(
        "INSERT INTO user_platform_quotas (user_id, platform, {}, {}, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $3, $3, $3, $6, $8, $10, $12, $4, $4) \
         ON CONFLICT (user_id, platform) DO UPDATE SET {}, updated_at_ms = $4",
        usage.join(", "),
        starts.join(", "),
        set.join(", ")
    )
});

/// Zeroing one window's usage keeps its start, so the boundary does not move.
pub(crate) fn reset(window: QuotaWindow) -> String {
    format!(
        "UPDATE user_platform_quotas SET {}_usage_nanos = 0, updated_at_ms = $3 WHERE user_id = $1 AND platform = $2",
        window.as_str()
    )
}

/// A top-up of one window of the row (`$1` owner, `$2` platform, `$3` amount, `$4` current_from,
/// `$5` new_start, `$6` now): added to a window that is current; a window that is not (expired, or
/// never started) is started now, empty, with this top-up, exactly as a charge would start it.
pub(crate) fn top_up(owner: QuotaOwner, window: QuotaWindow) -> String {
    let (table, column) = match owner {
        QuotaOwner::User(_) => ("user_platform_quotas", "user_id"),
        QuotaOwner::Key(_) => ("key_platform_quotas", "key_id"),
    };
    let w = window.as_str();
    let cur = format!("{w}_window_start_ms >= $4");
    format!(
        "UPDATE {table} SET {w}_topup_nanos = CASE WHEN {cur} THEN {w}_topup_nanos + $3 ELSE $3 END, \
         {w}_usage_nanos = CASE WHEN {cur} THEN {w}_usage_nanos ELSE 0 END, \
         {w}_window_start_ms = CASE WHEN {cur} THEN {w}_window_start_ms ELSE $5 END, updated_at_ms = $6 \
         WHERE {column} = $1 AND platform = $2 AND deleted_at_ms IS NULL"
    )
}

/// Decodes a row; `Ok(None)` for a platform this build does not know (kept, never deleted).
pub(crate) fn decode(r: &impl RowExt) -> Result<Option<QuotaRow>, StoreError> {
    let name = r.string("platform")?;
    let Ok(platform) = name.parse::<Platform>() else {
        tracing::warn!(platform = %name, "skipping a quota row of an unknown platform");
        return Ok(None);
    };
    let mut row = QuotaRow::empty(r.i64("user_id")?, platform);
    row.key_id = r.opt_i64("key_id")?;
    for w in QuotaWindow::ALL {
        let w_name = w.as_str();
        row.limits.set(w, r.opt_money(&format!("{w_name}_limit_nanos"))?);
        row.usage[w.index()] = WindowUsage {
            usage: r.money(&format!("{w_name}_usage_nanos"))?,
            start: r.opt_time(&format!("{w_name}_window_start_ms"))?,
        };
        row.topup[w.index()] = r.money(&format!("{w_name}_topup_nanos"))?;
    }
    row.lifetime = Lifetime { limit: r.opt_money("lifetime_limit_nanos")?, usage: r.money("lifetime_usage_nanos")? };
    row.active = r.opt_i64("deleted_at_ms")?.is_none();
    Ok(Some(row))
}

/// The four limits of `limits` as bound values, in [`QuotaWindow::ALL`] order.
pub(crate) fn limit_values(limits: &WindowLimits) -> [Option<i64>; 4] {
    QuotaWindow::ALL.map(|w| super::opt_nanos(limits.get(w)))
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
                    Self::insert_initial_quota(&mut *tx, r.user_id, r.platform, &r.limits, now).await?;
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
                $crate::sql::quotas::check_unique(records)?;
                let now = $crate::sql::ms(jiff::Timestamp::now());
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                sqlx::query($crate::sql::quotas::USER_EXISTS)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let owner = tollgate_core::quota::QuotaOwner::User(user_id);
                Self::replace_limits(&mut *tx, owner, user_id, records, now).await?;
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
                let done = sqlx::query(&$crate::sql::quotas::reset(window))
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

        #[async_trait::async_trait]
        impl $crate::KeyQuotaRepo for $store {
            async fn get_key_quota(
                &self,
                key_id: i64,
                platform: tollgate_core::platform::Platform,
            ) -> Result<Option<tollgate_core::quota::QuotaRow>, $crate::StoreError> {
                let row = sqlx::query(&$crate::sql::quotas::select_key(""))
                    .bind(key_id)
                    .bind(platform.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => $crate::sql::quotas::decode(&r),
                    None => Ok(None),
                }
            }

            async fn list_key_quotas(
                &self,
                key_id: i64,
            ) -> Result<Vec<tollgate_core::quota::QuotaRow>, $crate::StoreError> {
                let rows =
                    sqlx::query(&$crate::sql::quotas::select_by_key()).bind(key_id).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::quotas::decode(r)?);
                }
                out.sort_by_key(|q| q.platform);
                Ok(out)
            }

            async fn set_key_limits_audited(
                &self,
                user_id: i64,
                key_id: i64,
                records: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                lifetime: tollgate_core::quota::LimitValue,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                $crate::sql::quotas::check_unique(records)?;
                let now = $crate::sql::ms(jiff::Timestamp::now());
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                sqlx::query($crate::sql::quotas::OWN_KEY)
                    .bind(user_id)
                    .bind(key_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                Self::write_key_limits(&mut *tx, user_id, key_id, records, lifetime, now).await?;
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn top_up_audited(
                &self,
                owner: tollgate_core::quota::QuotaOwner,
                platform: tollgate_core::platform::Platform,
                window: tollgate_core::window::QuotaWindow,
                amount: tollgate_core::money::Money,
                now: jiff::Timestamp,
                clock: &tollgate_core::window::WindowClock,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::ms;
                let roll = clock.rollover(window, now).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let id = match owner {
                    tollgate_core::quota::QuotaOwner::User(id) | tollgate_core::quota::QuotaOwner::Key(id) => id,
                };
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let done = sqlx::query(&$crate::sql::quotas::top_up(owner, window))
                    .bind(id)
                    .bind(platform.as_str())
                    .bind(amount.nanos())
                    .bind(ms(roll.current_from))
                    .bind(ms(roll.new_start))
                    .bind(ms(now))
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
            /// A user's initial row of a platform; an existing row is left as it is.
            pub(crate) async fn insert_initial_quota(
                tx: &mut <$db as sqlx::Database>::Connection,
                user_id: i64,
                platform: tollgate_core::platform::Platform,
                limits: &tollgate_core::quota::WindowLimits,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                let [a, b, c, d] = $crate::sql::quotas::limit_values(limits);
                sqlx::query(&$crate::sql::quotas::INSERT_INITIAL)
                    .bind(user_id)
                    .bind(platform.as_str())
                    .bind(a)
                    .bind(b)
                    .bind(c)
                    .bind(d)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            }

            /// The owner's active limits become exactly `records` (platforms left out are
            /// soft-deleted; usage, starts and top-ups are kept), inside the caller's transaction.
            pub(crate) async fn replace_limits(
                tx: &mut <$db as sqlx::Database>::Connection,
                owner: tollgate_core::quota::QuotaOwner,
                user_id: i64,
                records: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                use tollgate_core::quota::QuotaOwner;
                use $crate::sql::RowExt as _;
                let sql = $crate::sql::quotas::replace(owner);
                let id = match owner {
                    QuotaOwner::User(id) | QuotaOwner::Key(id) => id,
                };
                let active = sqlx::query(&sql.active).bind(id).fetch_all(&mut *tx).await?;
                for row in &active {
                    let name = row.string("platform")?;
                    if !records.iter().any(|(p, _)| p.as_str() == name) {
                        sqlx::query(&sql.soft_delete).bind(id).bind(&name).bind(now).execute(&mut *tx).await?;
                    }
                }
                for (platform, limits) in records {
                    let [a, b, c, d] = $crate::sql::quotas::limit_values(limits);
                    let mut q = sqlx::query(sql.upsert)
                        .bind(id)
                        .bind(platform.as_str())
                        .bind(a)
                        .bind(b)
                        .bind(c)
                        .bind(d)
                        .bind(now);
                    if let QuotaOwner::Key(_) = owner {
                        q = q.bind(user_id);
                    }
                    q.execute(&mut *tx).await?;
                }
                Ok(())
            }

            /// A key's limits become exactly `records` (platforms left out are soft-deleted) and its
            /// lifetime budget `lifetime`, inside the caller's transaction.
            pub(crate) async fn write_key_limits(
                tx: &mut <$db as sqlx::Database>::Connection,
                user_id: i64,
                key_id: i64,
                records: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                lifetime: tollgate_core::quota::LimitValue,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                let owner = tollgate_core::quota::QuotaOwner::Key(key_id);
                Self::replace_limits(&mut *tx, owner, user_id, records, now).await?;
                sqlx::query($crate::sql::quotas::SET_LIFETIME)
                    .bind(key_id)
                    .bind($crate::sql::opt_nanos(lifetime))
                    .execute(&mut *tx)
                    .await?;
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
                use $crate::sql::ms;
                let rollovers = clock.rollovers(now).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let mut q = sqlx::query(&$crate::sql::quotas::INCREMENT)
                    .bind(user_id)
                    .bind(platform.as_str())
                    .bind(cost.nanos())
                    .bind(ms(now));
                for r in rollovers {
                    q = q.bind(ms(r.current_from)).bind(ms(r.new_start));
                }
                q.execute(ex).await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_quota_repo;
