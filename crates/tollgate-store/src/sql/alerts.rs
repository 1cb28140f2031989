//! Threshold alerts, the delivery outbox, dashboard notices, the user's language (docs/alerts.md).

use tollgate_core::platform::Platform;
use tollgate_core::window::QuotaWindow;

use super::RowExt;
use crate::StoreError;
use crate::models::{DeliveryState, NewAlert};

pub(crate) const INSERT_ALERT: &str = "INSERT INTO quota_alerts \
     (user_id, platform, window_name, threshold, window_start_ms, usage_nanos, limit_nanos, resets_at_ms, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (user_id, platform, window_name, threshold, window_start_ms) DO NOTHING RETURNING id";

pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO alert_outbox \
     (alert_id, channel, recipient, payload, next_attempt_at_ms) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const INSERT_NOTICE: &str =
    "INSERT INTO notices (user_id, kind, payload, created_at_ms) VALUES ($1, $2, $3, $4)";

const DUE: &str =
    "delivered_at_ms IS NULL AND dead_at_ms IS NULL AND next_attempt_at_ms <= $1 AND locked_until_ms <= $1";

/// `$1` now, `$2` lease end, `$3` how many. The outer condition repeats the inner one, so a row
/// another transaction claimed meanwhile is not claimed twice (PostgreSQL rechecks it after the
/// other commits; `skip_locked` makes it skip such rows outright).
pub(crate) fn claim(skip_locked: &str) -> String {
    format!(
        "UPDATE alert_outbox SET locked_until_ms = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM alert_outbox WHERE {DUE} ORDER BY id LIMIT $3{skip_locked}) AND {DUE} \
         RETURNING id, alert_id, channel, recipient, payload, attempts"
    )
}

/// Whether any delivery is due (`$1` now): a read, so an idle outbox costs no write transaction.
pub(crate) fn any_due() -> String {
    format!("SELECT id FROM alert_outbox WHERE {DUE} LIMIT 1")
}

pub(crate) const DELIVERED: &str =
    "UPDATE alert_outbox SET delivered_at_ms = $2, locked_until_ms = 0, last_error = NULL WHERE id = $1";
pub(crate) const RETRY: &str =
    "UPDATE alert_outbox SET next_attempt_at_ms = $2, locked_until_ms = 0, last_error = $3 WHERE id = $1";
pub(crate) const DEAD: &str =
    "UPDATE alert_outbox SET dead_at_ms = $2, locked_until_ms = 0, last_error = $3 WHERE id = $1";

pub(crate) const RECIPIENT: &str = "SELECT email, language FROM users WHERE id = $1";
pub(crate) const ADMINS: &str = "SELECT email FROM users WHERE role = 'admin' AND status = 'active' ORDER BY id";
pub(crate) const SET_LANGUAGE: &str = "UPDATE users SET language = $2, updated_at_ms = $3 WHERE id = $1";
pub(crate) const LANGUAGE: &str = "SELECT language FROM users WHERE id = $1";

pub(crate) const NOTICES: &str = "SELECT id, kind, payload, created_at_ms, read_at_ms FROM notices \
     WHERE user_id = $1 ORDER BY id DESC LIMIT $2";
pub(crate) const READ_ONE: &str =
    "UPDATE notices SET read_at_ms = COALESCE(read_at_ms, $3) WHERE id = $1 AND user_id = $2";
pub(crate) const READ_ALL: &str = "UPDATE notices SET read_at_ms = $2 WHERE user_id = $1 AND read_at_ms IS NULL";

pub(crate) const ALERTS: &str = "SELECT a.id, a.user_id, u.email, a.platform, a.window_name, a.threshold, \
     a.window_start_ms, a.usage_nanos, a.limit_nanos, a.resets_at_ms, a.created_at_ms \
     FROM quota_alerts a JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT $1";
pub(crate) const ALERT_DELIVERIES: &str = "SELECT id, alert_id, channel, recipient, attempts, next_attempt_at_ms, \
     delivered_at_ms, dead_at_ms, last_error FROM alert_outbox \
     WHERE alert_id IN (SELECT id FROM quota_alerts ORDER BY id DESC LIMIT $1) ORDER BY id";

pub(crate) fn decode_alert(r: &impl RowExt) -> Result<(i64, String, NewAlert), StoreError> {
    let platform = r.string("platform")?;
    let window = r.string("window_name")?;
    let bad = |what: &str, v: &str| StoreError::Invalid(format!("stored alert {what} {v:?} is not known"));
    let alert = NewAlert {
        user_id: r.i64("user_id")?,
        platform: platform.parse::<Platform>().map_err(|_| bad("platform", &platform))?,
        window: window.parse::<QuotaWindow>().map_err(|_| bad("window", &window))?,
        threshold: r.i64("threshold")?,
        window_start: r.time("window_start_ms")?,
        usage: r.money("usage_nanos")?,
        limit: r.money("limit_nanos")?,
        resets_at: r.opt_time("resets_at_ms")?,
        created_at: r.time("created_at_ms")?,
    };
    Ok((r.i64("id")?, r.string("email")?, alert))
}

pub(crate) fn decode_delivery(r: &impl RowExt) -> Result<(i64, DeliveryState), StoreError> {
    Ok((
        r.i64("alert_id")?,
        DeliveryState {
            id: r.i64("id")?,
            channel: r.string("channel")?,
            recipient: r.string("recipient")?,
            attempts: r.i64("attempts")?,
            next_attempt_at: r.time("next_attempt_at_ms")?,
            delivered_at: r.opt_time("delivered_at_ms")?,
            dead_at: r.opt_time("dead_at_ms")?,
            last_error: r.opt_string("last_error")?,
        },
    ))
}

macro_rules! impl_alert_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::AlertRepo for $store {
            async fn record_alert(
                &self,
                alert: &$crate::NewAlert,
                build: &(dyn Fn(i64) -> (Vec<$crate::NewDelivery>, Option<$crate::NewNotice>) + Send + Sync),
            ) -> Result<Option<i64>, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                use $crate::sql::ms;
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let created = sqlx::query($crate::sql::alerts::INSERT_ALERT)
                    .bind(alert.user_id)
                    .bind(alert.platform.as_str())
                    .bind(alert.window.as_str())
                    .bind(alert.threshold)
                    .bind(ms(alert.window_start))
                    .bind(alert.usage.nanos())
                    .bind(alert.limit.nanos())
                    .bind(alert.resets_at.map(ms))
                    .bind(ms(alert.created_at))
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = created else {
                    // Already recorded (by this process earlier, or by another one): nothing to send.
                    return Ok(None);
                };
                let id = row.i64("id")?;
                let (deliveries, notice) = build(id);
                for d in &deliveries {
                    sqlx::query($crate::sql::alerts::INSERT_DELIVERY)
                        .bind(id)
                        .bind(&d.channel)
                        .bind(&d.recipient)
                        .bind(&d.payload)
                        .bind(ms(d.next_attempt_at))
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(n) = &notice {
                    sqlx::query($crate::sql::alerts::INSERT_NOTICE)
                        .bind(n.user_id)
                        .bind(&n.kind)
                        .bind(&n.payload)
                        .bind(ms(n.created_at))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Some(id))
            }

            async fn claim_deliveries(
                &self,
                now: jiff::Timestamp,
                lease_until: jiff::Timestamp,
                limit: i64,
            ) -> Result<Vec<$crate::Delivery>, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let due = sqlx::query(&$crate::sql::alerts::any_due())
                    .bind($crate::sql::ms(now))
                    .fetch_optional(&self.pool)
                    .await?;
                if due.is_none() {
                    return Ok(Vec::new());
                }
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let rows = sqlx::query(&$crate::sql::alerts::claim(Self::SKIP_LOCKED))
                    .bind($crate::sql::ms(now))
                    .bind($crate::sql::ms(lease_until))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut out = rows
                    .iter()
                    .map(|r| {
                        Ok($crate::Delivery {
                            id: r.i64("id")?,
                            alert_id: r.i64("alert_id")?,
                            channel: r.string("channel")?,
                            recipient: r.string("recipient")?,
                            payload: r.string("payload")?,
                            attempts: r.i64("attempts")?,
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::StoreError>>()?;
                out.sort_by_key(|d| d.id);
                Ok(out)
            }

            async fn finish_delivery(
                &self,
                id: i64,
                outcome: &$crate::DeliveryOutcome,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::ms;
                let mut conn = self.write_conn().await?;
                let q = match outcome {
                    $crate::DeliveryOutcome::Delivered => {
                        sqlx::query($crate::sql::alerts::DELIVERED).bind(id).bind(ms(now))
                    }
                    $crate::DeliveryOutcome::Retry { at, error } => {
                        sqlx::query($crate::sql::alerts::RETRY).bind(id).bind(ms(*at)).bind(error.clone())
                    }
                    $crate::DeliveryOutcome::Dead { error } => {
                        sqlx::query($crate::sql::alerts::DEAD).bind(id).bind(ms(now)).bind(error.clone())
                    }
                };
                q.execute(&mut *conn).await?;
                Ok(())
            }

            async fn alert_recipients(&self, user_id: i64) -> Result<$crate::AlertRecipients, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let row = sqlx::query($crate::sql::alerts::RECIPIENT)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let admins = sqlx::query($crate::sql::alerts::ADMINS).fetch_all(&self.pool).await?;
                Ok($crate::AlertRecipients {
                    email: row.string("email")?,
                    language: row.string("language")?,
                    admins: admins.iter().map(|r| r.string("email")).collect::<Result<_, _>>()?,
                })
            }

            async fn set_language(
                &self,
                user_id: i64,
                language: &str,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let done = sqlx::query($crate::sql::alerts::SET_LANGUAGE)
                    .bind(user_id)
                    .bind(language)
                    .bind($crate::sql::ms(now))
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn language(&self, user_id: i64) -> Result<String, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let row = sqlx::query($crate::sql::alerts::LANGUAGE)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                row.string("language")
            }

            async fn list_notices(&self, user_id: i64, limit: i64) -> Result<Vec<$crate::Notice>, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let rows =
                    sqlx::query($crate::sql::alerts::NOTICES).bind(user_id).bind(limit).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::Notice {
                            id: r.i64("id")?,
                            kind: r.string("kind")?,
                            payload: r.string("payload")?,
                            created_at: r.time("created_at_ms")?,
                            read_at: r.opt_time("read_at_ms")?,
                        })
                    })
                    .collect()
            }

            async fn mark_notices_read(
                &self,
                user_id: i64,
                id: Option<i64>,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::ms;
                let mut conn = self.write_conn().await?;
                match id {
                    Some(id) => {
                        let done = sqlx::query($crate::sql::alerts::READ_ONE)
                            .bind(id)
                            .bind(user_id)
                            .bind(ms(now))
                            .execute(&mut *conn)
                            .await?;
                        if done.rows_affected() == 0 {
                            return Err($crate::StoreError::NotFound);
                        }
                    }
                    None => {
                        sqlx::query($crate::sql::alerts::READ_ALL)
                            .bind(user_id)
                            .bind(ms(now))
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn list_alerts(&self, limit: i64) -> Result<Vec<$crate::AlertSummary>, $crate::StoreError> {
                let rows = sqlx::query($crate::sql::alerts::ALERTS).bind(limit).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let (id, user_email, alert) = $crate::sql::alerts::decode_alert(r)?;
                    out.push($crate::AlertSummary {
                        id,
                        user_id: alert.user_id,
                        user_email,
                        alert,
                        deliveries: vec![],
                    });
                }
                let rows = sqlx::query($crate::sql::alerts::ALERT_DELIVERIES).bind(limit).fetch_all(&self.pool).await?;
                for r in &rows {
                    let (alert_id, d) = $crate::sql::alerts::decode_delivery(r)?;
                    if let Some(a) = out.iter_mut().find(|a| a.id == alert_id) {
                        a.deliveries.push(d);
                    }
                }
                Ok(out)
            }
        }
    };
}
pub(crate) use impl_alert_repo;
